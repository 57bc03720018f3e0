"""Training checkpoints you can name: ``load_model(spec, revision=...)``.

=========================  ==================================================================
spec                       what ``revision`` names
=========================  ==================================================================
``"tiny"``                 a checkpoint of the shipped training run
                           (``data/tiny/checkpoints.safetensors``): ``"step600"`` or ``600``
a local directory          a sub-directory holding a model (``checkpoint-600/``,
                           ``step600/`` ...): ``revision="checkpoint-600"``
a Hugging Face Hub name    a branch, tag or commit of the repository (Pythia: ``"step3000"``),
                           fetched with ``huggingface_hub.snapshot_download`` (offline: read
                           from the local cache, ``refs/<revision>`` → ``snapshots/<commit>``)
=========================  ==================================================================

TransformerLens's ``checkpoint_index`` / ``checkpoint_value`` are accepted too and turned into a
revision with TransformerLens's own checkpoint schedule (``get_checkpoint_labels``): Pythia
``step{value}``, stanford-crfm ``checkpoint-{value}``; for ``"tiny"`` the shipped steps.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Files of a hub snapshot a model load reads (weights, configs, tokenizer).
HUB_PATTERNS = ["*.json", "*.safetensors", "*.bin", "*.txt", "*.model", "*.tiktoken", "*.py"]


def _check_label(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"load_model({name}=...) takes an int, got {value!r}")
    return int(value)


def tl_checkpoint_labels(name: str) -> tuple[list[int], str]:
    """TransformerLens's checkpoint schedule of ``name`` (TL 4 or TL 3.9, whichever is here)."""
    try:
        from transformer_lens.tools.model_registry.checkpoints import get_checkpoint_labels
    except ImportError:  # TransformerLens 3.9
        from transformer_lens.loading_from_pretrained import (  # type: ignore[no-redef]
            get_checkpoint_labels,
        )
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # TL warns about Pythia's v0/v1 on every call
    try:
        labels, kind = get_checkpoint_labels(name)
    finally:
        logging.disable(previous)
    return [int(v) for v in labels], str(kind)


def resolve_revision(
    spec: str,
    revision: Any = None,
    checkpoint_index: Any = None,
    checkpoint_value: Any = None,
    *,
    tiny_steps: Callable[[], list[int]] | None = None,
) -> str | None:
    """The one revision named by ``revision`` or ``checkpoint_index`` / ``checkpoint_value``
    (at most one of the three), as a string (``None``: the model as published).

    ``tiny_steps``: gives the shipped run's steps when ``spec`` is the tiny model (its labels).
    """
    index = _check_label("checkpoint_index", checkpoint_index)
    value = _check_label("checkpoint_value", checkpoint_value)
    given = [n for n, v in (("revision", revision), ("checkpoint_index", index)) if v is not None]
    if value is not None:
        given.append("checkpoint_value")
    if len(given) > 1:
        raise InputError(
            f"load_model({spec!r}): give one of revision=, checkpoint_index=, checkpoint_value=; "
            f"got {', '.join(given)}"
        )
    if revision is not None:
        if isinstance(revision, bool) or not isinstance(revision, (str, int)):
            raise InputError(
                f"load_model({spec!r}, revision=...): a revision is a string (a branch, tag or "
                f"commit such as 'step3000') or, for 'tiny', a step; got {revision!r}"
            )
        text = str(revision).strip()
        if not text:
            raise InputError(f"load_model({spec!r}, revision=''): the revision is empty")
        return text
    if index is None and value is None:
        return None
    if tiny_steps is not None:
        labels, prefix = tiny_steps(), "step"
    else:
        try:
            labels, _ = tl_checkpoint_labels(spec)
        except ValueError as exc:
            raise InputError(
                f"load_model({spec!r}): TransformerLens knows no checkpoint schedule for this "
                "model; name the checkpoint with revision= (a branch, tag or commit of the hub "
                "repository)"
            ) from exc
        if spec.startswith("EleutherAI/pythia"):
            prefix = "step"
        elif spec.startswith("stanford-crfm/"):
            prefix = "checkpoint-"
        else:
            raise InputError(
                f"load_model({spec!r}): its checkpoints are files, not hub revisions; load them "
                "with TransformerLens (HookedTransformer.from_pretrained(checkpoint_value=...)) and "
                "pass the model"
            )
    if index is not None:
        if not -len(labels) <= index < len(labels):
            raise InputError(
                f"load_model({spec!r}, checkpoint_index={index}): out of range, the run has "
                f"{len(labels)} checkpoints (index 0..{len(labels) - 1}, or negative from the end)"
            )
        value = labels[index]
    if value not in labels:
        near = sorted(labels, key=lambda v: abs(v - int(value or 0)))[:3]
        raise InputError(
            f"load_model({spec!r}, checkpoint_value={value}): no checkpoint at that step; the "
            f"nearest are {sorted(near)}"
        )
    return f"{prefix}{value}"


def tiny_step(revision: str, steps: list[int]) -> int:
    """The step named by a tiny-run revision (``"step600"``, ``"600"``)."""
    match = re.fullmatch(r"(?:step)?(\d+)", revision.strip().lower())
    if match is None or int(match.group(1)) not in steps:
        raise InputError(
            f"load_model('tiny', revision={revision!r}): the shipped run has checkpoints at "
            f"steps {steps}; name one as 'step600' or 600"
        )
    return int(match.group(1))


def local_revision(path: Path, revision: str) -> Path:
    """The sub-directory ``revision`` of a local checkpoint folder (it must hold a model)."""
    sub = (path / revision).resolve()
    if sub.is_dir() and ((sub / "config.json").is_file() or any(sub.glob("*.gguf"))):
        return sub
    here = sorted(
        p.name
        for p in path.iterdir()
        if p.is_dir() and ((p / "config.json").is_file() or any(p.glob("*.gguf")))
    )
    raise InputError(
        f"load_model({os.fspath(path)!r}, revision={revision!r}): no model in {sub}; a local "
        f"folder's revisions are its sub-directories holding a model: {here or 'none here'}"
    )


def hub_snapshot(name: str, revision: str) -> Path:
    """The local folder of hub repository ``name`` at ``revision`` (downloaded unless cached;
    with ``HF_HUB_OFFLINE=1`` only the cache is read: ``refs/<revision>`` → ``snapshots/<sha>``)."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(name, revision=revision, allow_patterns=HUB_PATTERNS)
    except Exception as exc:
        from ._util import hub_offline, shorten

        hint = (
            "HF_HUB_OFFLINE is set, so only revisions already in the local Hugging Face cache "
            "can load"
            if hub_offline()
            else "is the revision misspelt (Pythia: 'step1000' ... 'step143000'), or the machine "
            "offline?"
        )
        raise OSError(
            f"load_model({name!r}, revision={revision!r}): the revision could not be fetched "
            f"({hint}). Underlying error: {type(exc).__name__}: {shorten(str(exc))}"
        ) from exc
    return Path(folder)


def revision_tag(model: Any, spec: str, revision: str | None) -> Any:
    """Record what was loaded on ``model.cfg`` (``checkpoint_revision``), for sweeps and pages."""
    cfg = getattr(model, "cfg", None)
    if cfg is not None and revision is not None:
        with contextlib.suppress(Exception):  # frozen configs keep no tag
            cfg.checkpoint_revision = revision
    return model
