"""One object for the two TransformerLens generations.

TransformerLens 4 ships ``TransformerBridge`` (wrapping a Hugging Face module) and no
``HookedTransformer``; TransformerLens 3.9 ships ``HookedTransformer`` (TL 3.x also has a beta
``transformer_lens.model_bridge.TransformerBridge``, not at top level, which this package does not
use for loading). :func:`backend` returns the :class:`Backend` for the installed version; every
place that differs between the two asks it instead of branching on the version itself.

Both backends give a model processed like ``HookedTransformer.from_pretrained`` (fold_ln,
center_writing_weights, center_unembed, fold_value_biases) with the legacy hook names
(``blocks.{l}.attn.hook_pattern`` ...), in eval mode.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import InputError

if TYPE_CHECKING:
    from .hub import Placement


def has_transformer_bridge() -> bool:
    """True with TransformerLens >= 4 (``from transformer_lens import TransformerBridge``)."""
    try:
        from transformer_lens import TransformerBridge  # noqa: F401
    except ImportError:
        return False
    return True


class Backend:
    """What differs between TransformerLens 3 and 4: model classes and the loaders."""

    name: str = ""

    def model_classes(self) -> tuple[type, ...]:
        """Model classes accepted as already loaded (whichever are importable here)."""
        classes: list[type] = []
        try:
            from transformer_lens.model_bridge import TransformerBridge
        except ImportError:  # pragma: no cover - TL without the bridge
            pass
        else:
            classes.append(TransformerBridge)
        try:
            from transformer_lens import HookedTransformer  # type: ignore[attr-defined]
        except ImportError:  # TL4 raises ImportError with a migration hint
            pass
        else:
            classes.append(HookedTransformer)
        return tuple(classes)

    def tiny(
        self, device: str | torch.device | None, weights: dict[str, torch.Tensor] | None = None
    ) -> Any:
        """The tiny model with its shipped weights, or ``weights`` (a training checkpoint)."""
        raise NotImplementedError

    def from_hf_model(
        self, hf_model: Any, tokenizer: Any, hf_dir: Path, name: str, place: Placement, steps: Any
    ) -> Any:
        """A TransformerLens model around an already loaded HF ``*ForCausalLM``."""
        raise NotImplementedError

    def from_hub(self, name: str, place: Placement) -> Any:
        raise NotImplementedError

    def finish(self, model: Any, steps: Any) -> Any:
        """Last step of every load: eval mode (and, for the bridge, compatibility mode)."""
        model.eval()
        steps.done()
        return model


class BridgeBackend(Backend):
    """TransformerLens 4: ``TransformerBridge`` + ``enable_compatibility_mode()``."""

    name = "TransformerBridge"

    def tiny(
        self, device: str | torch.device | None, weights: dict[str, torch.Tensor] | None = None
    ) -> Any:
        from .tiny import load_tiny_bridge

        return load_tiny_bridge(device, weights)

    def from_hf_model(
        self, hf_model: Any, tokenizer: Any, hf_dir: Path, name: str, place: Placement, steps: Any
    ) -> Any:
        from transformer_lens import TransformerBridge

        steps.start("building TransformerBridge")
        device = None
        if place.device_map is None:
            # TL 4 takes a pre-loaded ``hf_model`` as it is: ``device`` only goes into
            # ``cfg.device``. Place the weights ourselves, on ``device`` or else TL's own default
            # (``get_device()``: CUDA where there is one, as for a hub name), so they and
            # ``cfg.device`` agree.
            from transformer_lens.utilities import get_device

            device = place.device if place.device is not None else get_device()
            hf_model.to(device)
        bridge = TransformerBridge.boot_transformers(
            name, hf_model=hf_model, tokenizer=tokenizer, device=device, dtype=place.dtype
        )
        steps.done()
        return self.finish(bridge, steps)

    def from_hub(self, name: str, place: Placement) -> Any:
        from transformer_lens import TransformerBridge

        extra: dict[str, Any] = {}
        if place.device_map is not None:
            extra["device_map"] = place.device_map
        return TransformerBridge.boot_transformers(
            name, device=place.device, dtype=place.dtype, **extra
        )

    def finish(self, model: Any, steps: Any) -> Any:
        """Switch a fresh bridge to TransformerLens 3's hook names and weight layout."""
        steps.start("processing weights (compatibility mode)")
        model.enable_compatibility_mode(disable_warnings=True)
        return super().finish(model, steps)


class HookedBackend(Backend):
    """TransformerLens 3.9: ``HookedTransformer`` processed like ``from_pretrained``."""

    name = "HookedTransformer"

    def tiny(
        self, device: str | torch.device | None, weights: dict[str, torch.Tensor] | None = None
    ) -> Any:
        from .tiny import load_tiny_hooked

        return load_tiny_hooked(device, weights)

    def from_hf_model(
        self, hf_model: Any, tokenizer: Any, hf_dir: Path, name: str, place: Placement, steps: Any
    ) -> Any:
        """For a model TL3 has no official name for (e.g. SmolLM2, a local folder).

        ``HookedTransformer.from_pretrained`` only accepts TL3's official names, but its
        config/weight converters accept a local directory holding ``config.json``; this repeats
        what ``from_pretrained`` does, without any hub request.
        """
        import transformer_lens.loading_from_pretrained as loading
        from transformer_lens import HookedTransformer  # type: ignore[attr-defined]

        self._no_device_map(place)
        steps.start("building HookedTransformer")
        device = str(place.device) if place.device is not None else "cpu"
        cfg = loading.get_pretrained_model_config(
            str(hf_dir),
            hf_cfg=hf_model.config.to_dict(),
            fold_ln=True,
            device=device,
            dtype=place.dtype,
            # TL3 allocates [n_ctx, n_ctx] masks per layer; SmolLM2's config says 8192.
            n_ctx=min(2048, int(getattr(hf_model.config, "max_position_embeddings", 2048) or 2048)),
        )
        state_dict = loading.get_pretrained_state_dict(
            str(hf_dir), cfg, hf_model, dtype=place.dtype
        )
        model = HookedTransformer(cfg, tokenizer, move_to_device=False)
        steps.done()
        steps.start("processing weights")
        model.load_and_process_state_dict(
            state_dict,
            fold_ln=True,
            center_writing_weights=True,
            center_unembed=True,
            fold_value_biases=True,
        )
        model.cfg.model_name = name.split("/")[-1]
        pos_embed = getattr(model, "pos_embed", None)
        if pos_embed is not None and model.cfg.positional_embedding_type != "standard":
            # unused W_pos (ALiBi, rotary) is left uninitialised by TL3 when the checkpoint has
            # none (Bloom): zero it so the NaN check before every forward pass stays meaningful
            with torch.no_grad():
                w_pos = pos_embed.W_pos
                if not torch.isfinite(w_pos).all():
                    w_pos.zero_()
        if place.device is not None:
            model.to(place.device)
        return self.finish(model, steps)

    def from_hub(self, name: str, place: Placement) -> Any:
        from transformer_lens import HookedTransformer  # type: ignore[attr-defined]

        self._no_device_map(place)
        return HookedTransformer.from_pretrained(name, device=place.device, dtype=place.dtype)

    @staticmethod
    def _no_device_map(place: Placement) -> None:
        if place.device_map is not None:
            raise InputError(
                "load_model(device_map=...) needs TransformerLens 4 (TransformerBridge); with "
                "TransformerLens 3 give device= (one device) instead"
            )


@functools.cache
def backend() -> Backend:
    """The :class:`Backend` of the installed TransformerLens (4: bridge; 3: HookedTransformer)."""
    return BridgeBackend() if has_transformer_bridge() else HookedBackend()
