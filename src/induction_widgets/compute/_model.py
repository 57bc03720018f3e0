"""One small adapter over the two TransformerLens model classes.

TransformerLens 4 ships ``TransformerBridge`` (wrapping a HuggingFace or native module) and no
``HookedTransformer``; TransformerLens 3.9 ships ``HookedTransformer``. Both expose the hook names
this package needs and nothing else is assumed:

=============================  ================================================
hook                            shape
=============================  ================================================
``blocks.{l}.attn.hook_pattern``  ``[batch, head, dst, src]``
``blocks.{l}.attn.hook_q``        ``[batch, pos, head, d_head]`` (``hook_rot_q`` after rotary)
``blocks.{l}.attn.hook_k``        ``[batch, pos, kv_head, d_head]`` (``hook_rot_k`` after rotary)
``blocks.{l}.attn.hook_v``        ``[batch, pos, kv_head, d_head]``
``blocks.{l}.attn.hook_z``        ``[batch, pos, head, d_head]``
``ln_final.hook_scale``           ``[batch, pos, 1]``
=============================  ================================================

With grouped-query attention (SmolLM2: 9 query heads share 3 key/value heads) query head ``h``
reads key/value head ``h // (n_heads // n_kv_heads)``, as in HuggingFace's ``repeat_kv``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..checks import check_weights
from ..errors import InputError, NotAModelError

Hook = tuple[str, Callable[..., Any]]


def model_classes() -> tuple[type, ...]:
    """The TransformerLens model classes installed here (``TransformerBridge``, ``HookedTransformer``)."""
    from ..models.backend import backend

    return backend().model_classes()


def check_model(model: Any) -> None:
    """Raise :class:`NotAModelError` unless ``model`` is a TransformerLens model."""
    classes = model_classes()
    if not isinstance(model, classes):
        names = " or ".join(c.__name__ for c in classes)
        raise NotAModelError(
            f"expected a TransformerLens model ({names}), got {type(model).__name__}. "
            "Load one with induction_widgets.load_model('tiny' | 'smollm2' | <HF name or path>), "
            "or wrap a HuggingFace model with TransformerBridge.boot_transformers(name, hf_model=m, "
            "tokenizer=tok) followed by enable_compatibility_mode()."
        )


@dataclass(frozen=True)
class ModelInfo:
    """Sizes and conventions of a model, read once from its config and hooks."""

    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_head: int
    d_model: int
    d_vocab: int
    n_ctx: int
    final_norm: str | None  # "LN", "LNPre", "RMS", "RMSPre" or None
    q_hook: str  # "hook_rot_q" where the model has one (it may not fire: see TextActivations)
    k_hook: str
    bos_token_id: int | None
    post_attn_norm: bool = False  # a norm between attention output and residual (ln1_post)

    def kv_head(self, head: int) -> int:
        """The key/value head that query head ``head`` reads (grouped-query attention)."""
        return head // (self.n_heads // self.n_kv_heads)

    def depth(self, layer: int) -> str:
        """The paper's "layer depth" label: 1-based layer over the number of layers, e.g. "17 / 30"."""
        return f"{layer + 1} / {self.n_layers}"


def model_info(model: Any) -> ModelInfo:
    """Read :class:`ModelInfo` from ``model`` (raises :class:`NotAModelError` for other objects)."""
    check_model(model)
    cfg = model.cfg
    n_heads = int(cfg.n_heads)
    n_kv = getattr(cfg, "n_key_value_heads", None) or n_heads
    hooks = model.hook_dict
    rotary = "blocks.0.attn.hook_rot_q" in hooks and "blocks.0.attn.hook_rot_k" in hooks
    tokenizer = getattr(model, "tokenizer", None)
    bos = getattr(tokenizer, "bos_token_id", None) if tokenizer is not None else None
    norm = "RMS" if getattr(cfg, "final_rms", False) else getattr(cfg, "normalization_type", None)
    return ModelInfo(
        n_layers=int(cfg.n_layers),
        n_heads=n_heads,
        n_kv_heads=int(n_kv),
        d_head=int(cfg.d_head),
        d_model=int(cfg.d_model),
        d_vocab=int(cfg.d_vocab),
        n_ctx=int(cfg.n_ctx),
        final_norm=norm,
        q_hook="hook_rot_q" if rotary else "hook_q",
        k_hook="hook_rot_k" if rotary else "hook_k",
        bos_token_id=None if bos is None else int(bos),
        post_attn_norm="blocks.0.ln1_post.hook_scale" in hooks,
    )


def post_attn_gain(model: Any, info: ModelInfo) -> torch.Tensor | None:
    """Per-layer gain ``g [n_layers, d_model]`` (float32, CPU) of the RMS norm between the attention
    output and the residual stream (Gemma 2/3 and OLMo 2's ``ln1_post``), or ``None`` without one.

    Such a block adds ``RMSNorm(Σ_h o_h) = (Σ_h o_h) ⊙ g / σ_post`` with ``σ_post`` the per-position
    scale (``blocks.{l}.ln1_post.hook_scale``). ``g`` is read by running the norm module on a
    constant vector ``c·1`` (``rms = c``, so the output is ``g`` to float precision), which covers
    every weight convention (Gemma's ``1 + w``, OLMo 2's ``w``, TL 3's folded ``w``).
    """
    if not info.post_attn_norm:
        return None
    gains = []
    with torch.no_grad():
        for layer in range(info.n_layers):
            norm = model.blocks[layer].ln1_post
            param = next(norm.parameters(), None)
            ref = param if param is not None else torch.zeros(())
            probe = torch.full((1, 1, info.d_model), 1e3, dtype=ref.dtype, device=ref.device)
            gains.append(norm(probe)[0, 0].float().cpu())  # c / sqrt(c² + eps) = 1 - 5e-12
    return torch.stack(gains)


def model_device(model: Any) -> torch.device:
    """The device the model's weights live on."""
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.device("cpu")


def to_tokens(model: Any, text_or_tokens: Any, *, truncate: bool = False) -> torch.Tensor:
    """Turn text or token ids into a ``[batch, pos]`` long tensor on the model's device.

    Text is tokenised with the model's tokenizer (BOS prepended as the model is configured).
    Token ids may be a list, a numpy array or a tensor, 1-D ``[pos]`` or 2-D ``[batch, pos]``.
    A sequence longer than the model's context ``n_ctx`` raises unless ``truncate=True``, which
    keeps the first ``n_ctx`` tokens.
    """
    info = model_info(model)
    if isinstance(text_or_tokens, str):
        if text_or_tokens == "":
            raise InputError("the text is empty: give at least one character")
        if getattr(model, "tokenizer", None) is None:
            raise InputError(
                "this model has no tokenizer, so it cannot read text: pass token ids (a list or "
                "a tensor of ints) instead, or give the model a tokenizer"
            )
        tokens = model.to_tokens(text_or_tokens, truncate=False)
    else:
        tokens = _as_token_tensor(text_or_tokens, info)
    if tokens.shape[-1] == 0:
        raise InputError("no tokens: give at least one token")
    if tokens.shape[-1] > info.n_ctx:
        if not truncate:
            raise InputError(
                f"the input is {tokens.shape[-1]} tokens long but the model's context is "
                f"n_ctx={info.n_ctx} tokens: pass truncate=True to keep the first {info.n_ctx}, "
                "or shorten the text"
            )
        tokens = tokens[:, : info.n_ctx]
    return tokens.to(model_device(model))


def _as_token_tensor(value: Any, info: ModelInfo) -> torch.Tensor:
    try:
        tokens = torch.as_tensor(np.asarray(value) if isinstance(value, (list, tuple)) else value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"expected text (str) or token ids (list/array/tensor of ints), got {type(value).__name__}"
        ) from exc
    if tokens.numel() == 0:
        raise InputError("no tokens: give at least one token")
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise InputError(f"token ids must be integers, got dtype {tokens.dtype}")
    if tokens.ndim == 1:
        tokens = tokens[None]
    if tokens.ndim != 2:
        raise InputError(
            f"token ids must be 1-D [pos] or 2-D [batch, pos], got shape {tuple(tokens.shape)}"
        )
    tokens = tokens.long()
    bad = (tokens < 0) | (tokens >= info.d_vocab)
    if bad.any():
        first = int(tokens[bad][0])
        raise InputError(
            f"token id {first} is outside the vocabulary: ids must be in 0..{info.d_vocab - 1}"
        )
    return tokens


def str_tokens(model: Any, tokens: torch.Tensor) -> list[str]:
    """The string of each token of a ``[pos]`` or ``[1, pos]`` tensor (``str(id)`` without a tokenizer)."""
    ids = tokens.reshape(-1).tolist()
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        return [str(i) for i in ids]
    return [tokenizer.decode([i], clean_up_tokenization_spaces=False) for i in ids]


def head_W_O(model: Any, layer: int, head: int) -> torch.Tensor:
    """``W_O`` of one head: ``[d_head, d_model]`` (float32)."""
    return model.W_O[layer, head].float()


def head_W_V(model: Any, info: ModelInfo, layer: int, head: int) -> torch.Tensor:
    """``W_V`` read by query head ``head``: ``[d_model, d_head]`` (float32; GQA-aware)."""
    w_v = model.W_V[layer]
    return (w_v[head] if w_v.shape[0] == info.n_heads else w_v[info.kv_head(head)]).float()


def kv_index(info: ModelInfo, n_kv_in_tensor: int, head: int) -> int:
    """Index into a ``[..., kv_head, d_head]`` activation for query head ``head``."""
    return head if n_kv_in_tensor == info.n_heads else info.kv_head(head)


class StopForward(Exception):
    """Raised by a hook to end a forward pass once everything needed was captured."""


def stop_forward() -> None:
    """Called from a hook run by :func:`run_with_hooks`: end the forward pass here (quietly)."""
    raise StopForward


def run_with_hooks(
    model: Any, tokens: torch.Tensor, hooks: Sequence[Hook], *, stop_at: str | None = None
) -> None:
    """Run ``model`` on ``tokens`` with ``hooks`` and no gradient; stop early after hook ``stop_at``.

    Hooks are removed afterwards, also when the pass is stopped early or fails.
    """
    check_weights(model)
    hooks = list(hooks)
    if stop_at is not None:

        def _stop(_x: torch.Tensor, hook: Any) -> None:
            stop_forward()

        hooks.append((stop_at, _stop))
    with torch.no_grad(), contextlib.suppress(StopForward):
        model.run_with_hooks(tokens, fwd_hooks=hooks, return_type=None)


# -- memory-efficient attention for the pass that reads a text ---------------------------------------

#: (layer, query [batch, head, pos, d_head], key [batch, kv_head, pos, d_head] (both after rotary),
#: value [batch, kv_head, pos, d_head], output [batch, pos, head, d_head], logsumexp
#: [batch, head, pos] of each row's scaled scores or None) → None
AttentionSink = Callable[
    [int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None"], None
]

_CAPTURE = "induction_widgets_capture"
_CAPTURE_LOCK = threading.RLock()
_CAPTURE_SINK: list[AttentionSink] = []


def _flash_cpu(
    module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: Any, kw: dict
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """PyTorch's CPU flash attention, which also returns each row's log-sum-exp: ``(output
    [batch, pos, head, d_head], lse [batch, head, pos])``, or None where it does not apply (a mask,
    dropout, sliding window, another device, a torch without it)."""
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    plain = mask is None and not kw.get("dropout") and kw.get("sliding_window") is None
    if op is None or not plain or query.device.type != "cpu" or query.shape[2] != key.shape[2]:
        return None
    if not getattr(module, "is_causal", True) or kw.get("is_causal") is False:
        return None
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    try:
        out, lse = op(query, key, value, 0.0, True, scale=kw.get("scaling"))
    except (RuntimeError, TypeError):
        return None
    return out.transpose(1, 2).contiguous(), lse


def _capture_attention(
    module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: Any, **kw: Any
) -> tuple[torch.Tensor, Any]:
    """An HF attention function (``AttentionInterface``): the model's own attention by SDPA (CPU
    flash attention where it applies, which also gives each row's log-sum-exp), its rotated
    queries/keys, values, output and log-sum-exp handed to the active sink."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    flash = _flash_cpu(module, query, key, value, mask, kw)
    if flash is not None:
        out, lse = flash
        weights = None
    else:
        out, weights = sdpa_attention_forward(module, query, key, value, mask, **kw)
        lse = None
    if _CAPTURE_SINK:
        _CAPTURE_SINK[-1](int(module.layer_idx), query, key, value, out, lse)
    return out, weights


def _hf_attention_modules(model: Any) -> list[Any] | None:
    """The HF attention module under each block's bridge, where every one dispatches through
    ``ALL_ATTENTION_FUNCTIONS`` (so SDPA can run it) and nothing the SDPA path lacks is in play
    (soft-capping, learned sinks); else ``None``."""
    hf = getattr(model, "original_model", None)
    config = getattr(hf, "config", None)
    if config is None or not hasattr(config, "_attn_implementation"):
        return None
    modules = []
    for block in getattr(model, "blocks", []):
        attn = getattr(block, "attn", None)
        hf_attn = getattr(attn, "original_component", None)
        source = sys.modules.get(type(hf_attn).__module__)
        if (
            hf_attn is None
            or "ALL_ATTENTION_FUNCTIONS" not in vars(source or object)
            or not isinstance(getattr(hf_attn, "layer_idx", None), int)
            or getattr(hf_attn, "config", None) is None
            or getattr(hf_attn, "sinks", None) is not None
            or getattr(hf_attn, "attn_logit_softcapping", None) is not None
            or getattr(getattr(hf_attn, "config", None), "attn_logit_softcapping", None)
        ):
            return None
        modules.append((attn, hf_attn))
    return modules or None


def sdpa_available(model: Any) -> bool:
    """Whether :func:`sdpa_capture` can run ``model``'s attention memory-efficiently: a
    TransformerLens 4 ``TransformerBridge`` over a Hugging Face model whose attention modules
    dispatch through ``ALL_ATTENTION_FUNCTIONS`` (Llama, Mistral, Qwen 2/3, ... ; not the bundled
    native models, not TransformerLens 3's ``HookedTransformer``, not soft-capped or sink
    attention)."""
    return _hf_attention_modules(model) is not None


@contextlib.contextmanager
def sdpa_capture(model: Any, sink: AttentionSink) -> Any:
    """Within the block, ``model``'s attention runs the Hugging Face module under each bridge with
    PyTorch's ``scaled_dot_product_attention`` (no ``[head, dst, src]`` tensor), and ``sink`` gets
    each layer's rotated queries/keys, values and attention output. Yields ``True``; yields
    ``False`` (and changes nothing) where :func:`sdpa_available` is false.

    TransformerLens 4's attention bridges recompute attention themselves, eagerly (scores,
    ``hook_attn_scores``, softmax, ``hook_pattern``: ``[batch, head, pos, pos]`` floats per layer);
    here each bridge's ``forward`` is the HF module's for the duration, so the hooks *inside*
    attention (``hook_rot_q``/``k``, ``hook_attn_scores``, ``hook_pattern``, ``hook_z``) do not fire;
    the projections' hooks (``hook_q``/``k``/``v``, via the bridge's ``LinearBridge``) and every hook
    outside attention (norm scales) still do."""
    modules = _hf_attention_modules(model)
    if modules is None:
        yield False
        return
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    from transformers.modeling_utils import AttentionInterface

    AttentionInterface.register(_CAPTURE, _capture_attention)
    AttentionMaskInterface.register(_CAPTURE, sdpa_mask)
    configs = {id(model.original_model.config): model.original_model.config}
    for _, hf_attn in modules:
        configs.setdefault(id(hf_attn.config), hf_attn.config)
    with _CAPTURE_LOCK:
        saved = {key: config._attn_implementation for key, config in configs.items()}
        _CAPTURE_SINK.append(sink)
        try:
            for config in configs.values():
                config._attn_implementation = _CAPTURE
            for attn, hf_attn in modules:
                attn.__dict__["forward"] = hf_attn.forward
            yield True
        finally:
            for attn, _ in modules:
                attn.__dict__.pop("forward", None)
            for key, config in configs.items():
                config._attn_implementation = saved[key]
            _CAPTURE_SINK.pop()
