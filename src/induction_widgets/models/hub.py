"""Local Hugging Face model folders and Hub names, and where/how the weights are placed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ._util import Steps, hub_offline, quiet, shorten
from .backend import backend


@dataclass(frozen=True)
class Placement:
    """Where and in which dtype the weights live (``load_model``'s ``device`` / ``dtype`` /
    ``device_map``). ``device_map`` (``"auto"`` or a module → device dict) is handed to
    ``transformers``/``accelerate`` and excludes ``device``."""

    device: str | torch.device | None = None
    dtype: torch.dtype = torch.float32
    device_map: str | dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.device is not None and self.device_map is not None:
            raise InputError(
                "load_model: give device= or device_map=, not both (device_map places each "
                "module itself; device moves the whole model)"
            )
        if not isinstance(self.dtype, torch.dtype) or not self.dtype.is_floating_point:
            raise InputError(
                f"load_model: dtype must be a floating torch dtype such as torch.float32 or "
                f"torch.bfloat16, got {self.dtype!r}"
            )


def load_hf_dir(hf_dir: Path, place: Placement) -> tuple[Any, Any]:
    """Load an HF checkpoint directory as (eager ``*ForCausalLM`` in ``place.dtype``, tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        # TransformerLens wants a BOS-prepending tokenizer and otherwise reloads it itself
        tokenizer = AutoTokenizer.from_pretrained(
            str(hf_dir), local_files_only=True, add_bos_token=True
        )
    except ValueError:  # tokenizers without a BOS token
        tokenizer = AutoTokenizer.from_pretrained(str(hf_dir), local_files_only=True)
    extra: dict[str, Any] = {}
    if place.device_map is not None:
        extra["device_map"] = place.device_map
    hf_model = AutoModelForCausalLM.from_pretrained(
        str(hf_dir),
        dtype=place.dtype,
        attn_implementation="eager",
        local_files_only=True,
        **extra,
    )
    hf_model.eval()
    _patch_for_transformer_lens(hf_model)
    return hf_model, tokenizer


def _patch_for_transformer_lens(hf_model: Any) -> None:
    """Adapt a freshly loaded HF model to what TransformerLens's adapters still expect.

    * CodeGen: transformers 5 moved the sinusoidal rotary table from each ``CodeGenAttention``
      (``attn.embed_positions``) to one ``transformer.rotary_emb.embed_positions``; TL 4's
      ``CodeGenAttentionBridge`` reads the old attribute. The same buffer is attached to every
      attention module (a reference, no copy), and the bridge's ``scale_attn`` (transformers 4's
      ``sqrt(head_dim)``, now ``scaling = head_dim ** -0.5``) is restored from ``head_dim``.
    """
    if getattr(hf_model.config, "model_type", None) == "codegen":
        rotary = getattr(getattr(hf_model, "transformer", None), "rotary_emb", None)
        table = getattr(rotary, "embed_positions", None)
        if table is not None:
            for block in hf_model.transformer.h:
                attn = block.attn
                if not hasattr(attn, "embed_positions"):
                    attn.embed_positions = table
                if not hasattr(attn, "scale_attn"):
                    attn.scale_attn = torch.tensor(float(attn.head_dim) ** 0.5)


def load_local_hf_dir(path: Path, place: Placement, progress: bool) -> Any:
    """A local Hugging Face model directory (``config.json`` + weights + tokenizer)."""
    steps = Steps(f"Loading {path.name}", total=3, enabled=progress)
    try:
        with quiet():
            steps.start("loading weights")
            hf_model, tokenizer = load_hf_dir(path, place)
            steps.done()
            return backend().from_hf_model(hf_model, tokenizer, path, path.name, place, steps)
    finally:
        steps.close()


def load_hub_name(name: str, place: Placement, progress: bool) -> Any:
    """A Hugging Face Hub model name (downloads unless already in the local HF cache)."""
    steps = Steps(f"Loading {name}", total=2, enabled=progress)
    try:
        with quiet():
            steps.start("loading model")
            try:
                model = backend().from_hub(name, place)
            except Exception as exc:
                hint = (
                    "HF_HUB_OFFLINE is set, so only models already in the local Hugging Face "
                    "cache can load"
                    if hub_offline()
                    else "is the machine offline, or the name misspelt?"
                )
                raise OSError(
                    f"load_model({name!r}): {name!r} is not 'tiny', 'smollm2' or an existing "
                    f"local path, so it was treated as a Hugging Face Hub model name, and "
                    f"loading it failed ({hint}). Underlying error: "
                    f"{type(exc).__name__}: {shorten(str(exc))}"
                ) from exc
            steps.done()
            return backend().finish(model, steps)
    finally:
        steps.close()
