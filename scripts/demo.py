#!/usr/bin/env python
"""``make demo``: run the example notebooks on SmolLM2 offline, export them, write the report.

1. Executes ``examples/NN_*.ipynb`` top to bottom with nbclient (kernel ``python3`` of this
   interpreter, working directory ``examples/``), one at a time, and writes the executed copies to
   ``out/notebooks/`` (``examples/`` is never modified).
2. Exports each executed notebook to one offline HTML file in ``out/html/`` with
   :func:`induction_widgets.export.export_notebook` (the views render without a kernel or network).
3. Writes ``out/report.html`` exactly as ``induction-widgets report --model smollm2 --out
   out/report.html`` does.

Everything runs offline. Problem counts come from the notebooks' defaults unless ``IW_N_EXAMPLES`` /
``IW_N_PROBLEMS`` are set. Usage::

    .venv/bin/python scripts/demo.py                    # everything
    .venv/bin/python scripts/demo.py --only 04          # notebooks whose name contains "04"
    .venv/bin/python scripts/demo.py --no-report
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
OUT = REPO / "out"

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_name, _value)
# The kernel spec says "python": make sure that is this interpreter (the venv), not another one.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The example notebooks, in order (``only``: keep names containing one of these strings)."""
    found = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(o in p.name for o in only)]
    return found


def execute(src: Path, dst: Path, timeout: int = 1800) -> None:
    """Run ``src`` top to bottom in a fresh kernel (cwd ``examples/``) and write it to ``dst``.

    The executed notebook is written also when a cell fails, so the error can be read there; the
    exception is then re-raised.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(src.parent)}},
    )
    try:
        client.execute()
    finally:
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name contains these")
    parser.add_argument("--no-report", action="store_true", help="skip out/report.html")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=OUT, help="output directory (default out/)")
    args = parser.parse_args(argv)

    from induction_widgets.export import export_notebook

    out: Path = args.out
    written: list[tuple[str, Path, float]] = []
    failed = []
    for src in notebooks(args.only):
        start = time.monotonic()
        executed = out / "notebooks" / src.name
        print(f"running {src.relative_to(REPO)} …", flush=True)
        try:
            execute(src, executed, timeout=args.timeout)
        except Exception as exc:  # report every notebook, then fail
            print(f"  FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
            failed.append(src.name)
            continue
        (out / "html").mkdir(parents=True, exist_ok=True)
        html = export_notebook(executed, out / "html" / src.with_suffix(".html").name)
        written.append((src.name, executed, time.monotonic() - start))
        written.append((src.name, html, 0.0))
        print(f"  done in {time.monotonic() - start:.0f} s", flush=True)

    if not args.no_report:
        from induction_widgets.export.cli import main as cli

        start = time.monotonic()
        report = out / "report.html"
        print("writing the report (induction-widgets report --model smollm2) …", flush=True)
        cli(["report", "--model", "smollm2", "--out", str(report)])
        written.append(("report", report, time.monotonic() - start))

    print("\nOutputs (offline; open the HTML files in any browser):")
    for _, path, _ in written:
        print(f"  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if failed:
        print(f"\nFAILED notebooks (see out/notebooks/): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
