"""Run code cells in one fresh IPython kernel (nbclient) and read back what they print as
``@@{json}`` lines: for measurements that need a real kernel (memory of re-run cells)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_cells(
    cells: list[str], *, src: Path | None = None, timeout: int = 600
) -> list[dict[str, Any]]:
    """Execute ``cells`` in order in a fresh ``python3`` kernel of this interpreter, with
    ``src`` (default: this checkout's ``src``) first on ``PYTHONPATH`` and a fixed glibc mmap
    threshold (large blocks mapped and unmapped, so RSS follows live memory); return every
    ``@@{json}`` line printed, parsed. A failing cell raises nbclient's ``CellExecutionError``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    env = {
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(src or REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
        "MALLOC_MMAP_THRESHOLD_": str(128 * 1024),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        # the kernel spec runs "python": make it this interpreter
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3").execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in str(out.get("text", "")).splitlines():
                if line.startswith("@@"):
                    found.append(json.loads(line[2:]))
    return found


#: A first cell for memory measurements: ``rss()`` (live RSS after gc + malloc_trim) and
#: ``text_ids(n, salt)`` (``n`` token ids of ``iw.copying_text()`` repeated, BOS first).
MEMORY_SETUP = """\
import ctypes, gc, json, time, warnings
warnings.filterwarnings("ignore")
import psutil, torch
torch.set_num_threads(1)
import induction_widgets as iw
from induction_widgets.compute._model import to_tokens
model = iw.load_model(__MODEL__, progress=False)

def text_ids(n, salt=""):
    para = salt + iw.copying_text()
    ids = to_tokens(model, "\\n\\n".join([para] * (n // 100 + 2)), truncate=True)[0]
    return ids[:n]

def rss():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss
"""
