"""The bundled tiny model: a 2-layer attention-only character model (``data/tiny/``), its
tokenizer (built in code), and its two loaders (TransformerBridge / HookedTransformer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import InputError

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer  # TL3 only
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import PreTrainedTokenizerBase

TINY_DIR: Path = Path(__file__).resolve().parent.parent / "data" / "tiny"
"""Directory of the shipped tiny model: ``model.safetensors``, ``config.json``,
``reference_logits.pt``."""

TINY_NAME = "induction-widgets/tiny-char"

_TINY_SPECIAL_TOKENS: list[str] = ["<|bos|>", "<|pad|>", "<|unk|>"]
TINY_VOCAB: list[str] = _TINY_SPECIAL_TOKENS + ["\n"] + [chr(i) for i in range(32, 127)]
"""Character vocabulary of the tiny model: id 0 ``<|bos|>``, 1 ``<|pad|>``, 2 ``<|unk|>``,
3 ``"\\n"``, then printable ASCII 32..126 (ids 4..98). Other characters map to ``<|unk|>``."""

TINY_CONFIG: dict[str, Any] = {
    "d_model": 64,
    "n_heads": 4,
    "d_head": 16,
    "n_layers": 2,
    "n_ctx": 256,
    "d_vocab": len(TINY_VOCAB),
    "d_vocab_out": len(TINY_VOCAB),
    "attn_only": True,
    "normalization_type": "LN",
    "positional_embedding_type": "standard",
    "act_fn": "gelu",  # unused: the model is attention-only
    "eps": 1e-5,
    "default_prepend_bos": True,
}
"""TransformerLens config fields of the tiny model (valid for both ``TransformerBridgeConfig``
and TL3's ``HookedTransformerConfig``). The shipped ``config.json`` repeats them."""


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    """Build the tiny model's character-level tokenizer, entirely in code (no files, no hub).

    Every character is one token; ``tok("abc")["input_ids"] == [0, 69, 70, 71]`` (BOS first,
    added by the post-processor and announced with ``add_bos_token=True`` so TransformerLens
    neither re-adds it nor tries to reload the tokenizer). ``decode`` concatenates.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(TINY_VOCAB)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|unk|>"))
    # "." in the tokenizers (Oniguruma) regex also matches "\n"; every char is isolated.
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    backend.decoder = decoders.Fuse()
    backend.post_processor = processors.TemplateProcessing(
        single="<|bos|> $A",
        pair="<|bos|> $A <|bos|> $B",
        special_tokens=[("<|bos|>", 0)],
    )
    backend.add_special_tokens(_TINY_SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|bos|>",
        eos_token="<|bos|>",  # GPT-2 style: one document-boundary token
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        add_bos_token=True,
        name_or_path=TINY_NAME,
        model_max_length=TINY_CONFIG["n_ctx"],
    )
    tokenizer.padding_side = "right"
    return tokenizer


def _tiny_weights() -> dict[str, torch.Tensor]:
    """The shipped float32 weights, keyed like TL's ``NativeModel``.

    Shapes: ``tok_embed.weight`` [d_vocab, d_model], ``pos.weight`` [n_ctx, d_model],
    ``layers.{l}.attn.{q,k,v}.weight`` [n_heads*d_head, d_model] (+ bias [n_heads*d_head]),
    ``layers.{l}.attn.o.weight`` [d_model, n_heads*d_head], ``head.weight`` [d_vocab, d_model].
    """
    from safetensors.torch import load_file

    path = TINY_DIR / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled tiny model is missing ({path}); reinstall induction_widgets or "
            "regenerate it with scripts/train_tiny_model.py."
        )
    return load_file(str(path))


def load_tiny_bridge(
    device: str | torch.device | None, weights: dict[str, torch.Tensor] | None = None
) -> TransformerBridge:
    """Boot the TL-native architecture, copy the shipped weights in (or ``weights``, named like
    them: a training checkpoint), enable compat mode."""
    from transformer_lens import TransformerBridge, TransformerBridgeConfig

    shipped = weights is None
    if weights is None:
        weights = _tiny_weights()
    cfg = TransformerBridgeConfig(**TINY_CONFIG, init_weights=False)
    bridge = TransformerBridge.boot_native(
        cfg, tokenizer=tiny_tokenizer(), device=device, model_name=TINY_NAME
    )
    # The bridge wraps each native submodule (keys gain "_original_component" segments and
    # some tensors appear under two names); strip the wrappers to match the shipped names.
    used: set[str] = set()
    with torch.no_grad():
        for key, tensor in bridge.original_model.state_dict(keep_vars=True).items():
            clean = key.replace("._original_component", "").replace("_original_component.", "")
            if clean in weights:
                tensor.copy_(weights[clean].to(tensor.device, tensor.dtype))
                used.add(clean)
            elif clean == "head.bias":  # added by the unembedding wrapper; the model has none
                tensor.zero_()
            elif shipped:
                raise RuntimeError(f"tiny model: no shipped weight for bridge parameter {key!r}")
            else:
                raise InputError(f"the checkpoint has no weight for {clean!r}")
    missing = set(weights) - used
    if shipped and missing:
        raise RuntimeError(f"tiny model: shipped weights not loaded: {sorted(missing)}")
    bridge.enable_compatibility_mode(disable_warnings=True)
    bridge.eval()
    return bridge


def _tiny_hooked_state_dict(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert the shipped (NativeModel-named) weights to TL3 ``HookedTransformer`` names.

    ``W_Q/W_K/W_V``: [n_heads, d_model, d_head]; ``b_Q/b_K/b_V``: [n_heads, d_head];
    ``W_O``: [n_heads, d_head, d_model]; ``W_U``: [d_model, d_vocab].
    """
    n_heads, d_head, d_model = (TINY_CONFIG[k] for k in ("n_heads", "d_head", "d_model"))
    sd: dict[str, torch.Tensor] = {
        "embed.W_E": weights["tok_embed.weight"],
        "pos_embed.W_pos": weights["pos.weight"],
        "ln_final.w": weights["ln_out.weight"],
        "ln_final.b": weights["ln_out.bias"],
        "unembed.W_U": weights["head.weight"].T.contiguous(),
        "unembed.b_U": torch.zeros(TINY_CONFIG["d_vocab_out"]),
    }
    for layer in range(TINY_CONFIG["n_layers"]):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = weights[src + "ln1.weight"]
        sd[dst + "ln1.b"] = weights[src + "ln1.bias"]
        for name in "qkv":
            w = weights[src + f"attn.{name}.weight"]  # [n_heads*d_head, d_model]
            sd[dst + f"attn.W_{name.upper()}"] = (
                w.T.reshape(d_model, n_heads, d_head).permute(1, 0, 2).contiguous()
            )
            sd[dst + f"attn.b_{name.upper()}"] = weights[src + f"attn.{name}.bias"].reshape(
                n_heads, d_head
            )
        sd[dst + "attn.W_O"] = (
            weights[src + "attn.o.weight"].T.reshape(n_heads, d_head, d_model).contiguous()
        )
        sd[dst + "attn.b_O"] = weights[src + "attn.o.bias"]
    return sd


def load_tiny_hooked(
    device: str | torch.device | None, weights: dict[str, torch.Tensor] | None = None
) -> HookedTransformer:
    """TL3 path: a ``HookedTransformer`` processed like ``from_pretrained`` (and TL4 compat), with
    the shipped weights or ``weights`` (named like them: a training checkpoint)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(
        **TINY_CONFIG,
        model_name=TINY_NAME,
        tokenizer_prepends_bos=True,
        device=str(device) if device is not None else "cpu",
    )
    model = HookedTransformer(cfg, tokenizer=tiny_tokenizer(), move_to_device=False)
    model.load_and_process_state_dict(
        _tiny_hooked_state_dict(_tiny_weights() if weights is None else weights),
        fold_ln=True,
        center_writing_weights=True,
        center_unembed=True,
        fold_value_biases=True,
    )
    if device is not None:
        model.to(device)
    model.eval()
    return model


def tiny_model_from_weights(
    weights: dict[str, torch.Tensor], device: str | torch.device | None = None
) -> Any:
    """The tiny model's architecture with ``weights`` (native names, as in ``model.safetensors``:
    a training checkpoint), built like :func:`load_model` ``("tiny")`` with the installed
    TransformerLens: a ``TransformerBridge`` in compatibility mode (TL 4) or a ``HookedTransformer``
    with fold_ln / centring (TL 3.9). Loader output (warnings, prints) is silenced."""
    from ._util import quiet
    from .backend import backend

    with quiet():
        return backend().tiny(device, weights)
