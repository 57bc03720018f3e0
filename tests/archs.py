"""Random-init 2-layer models of every decoder-only family TransformerLens supports, built offline.

Each family is one ``transformers`` config (2 layers, d_model 64, 4 heads of 16, vocabulary 128)
saved with ``save_pretrained`` beside the bundled tiny model's character tokenizer (99 tokens, BOS
id 0), so ``induction_widgets.load_model(folder)`` opens it like any checkpoint a user brings. No
download; a folder takes well under a second to write.

Usage: ``build(family, root) -> Path`` (cached on disk under ``root``), ``FAMILIES`` (name →
config factory), ``DEVICE`` (where the suites that read it place the models).

``IW_TEST_DEVICE`` (e.g. ``cuda``) makes the conformance and placement suites load every model with
``load_model(folder, device=IW_TEST_DEVICE)`` and compare against TransformerLens's own quantities
on that device; unset (CI, and the default), nothing is passed and the models stay where
``load_model`` puts them on a machine without a GPU: the CPU. No test needs a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

#: TransformerLens major version of this environment (4: TransformerBridge; 3: HookedTransformer).
#: Here, not imported from conftest: with tests/browser/conftest.py also on the path, ``conftest``
#: names whichever was imported first when the whole suite is collected.
TL_MAJOR = int(version("transformer_lens").split(".")[0])

#: ``IW_TEST_DEVICE`` (``cuda``, ``cuda:1``, ``cpu``…) or ``None``: the ``device=`` of the suites'
#: ``load_model`` calls; ``None`` passes nothing (the default path, unchanged).
DEVICE: str | None = os.environ.get("IW_TEST_DEVICE") or None

VOCAB = 128  # >= the tiny tokenizer's 99 ids
D_MODEL, N_HEADS, N_LAYERS, N_CTX = 64, 4, 2, 256
_IDS = {"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 1}


def _llama_like(cls_name: str, **extra: Any) -> Callable[[], Any]:
    def make() -> Any:
        import transformers

        cls = getattr(transformers, cls_name)
        fields = dict(
            vocab_size=VOCAB,
            hidden_size=D_MODEL,
            intermediate_size=128,
            num_hidden_layers=N_LAYERS,
            num_attention_heads=N_HEADS,
            num_key_value_heads=2,
            max_position_embeddings=N_CTX,
            tie_word_embeddings=False,
            **_IDS,
        )
        fields.update(extra)
        return cls(**fields)

    return make


def _config(cls_name: str, **fields: Any) -> Callable[[], Any]:
    def make() -> Any:
        import transformers

        return getattr(transformers, cls_name)(**{**_IDS, **fields})

    return make


FAMILIES: dict[str, Callable[[], Any]] = {
    "gpt2": _config(
        "GPT2Config",
        vocab_size=VOCAB,
        n_embd=D_MODEL,
        n_layer=N_LAYERS,
        n_head=N_HEADS,
        n_positions=N_CTX,
    ),
    "gpt_neo": _config(
        "GPTNeoConfig",
        vocab_size=VOCAB,
        hidden_size=D_MODEL,
        num_layers=N_LAYERS,
        num_heads=N_HEADS,
        attention_types=[[["global", "local"], 1]],
        window_size=8,
        max_position_embeddings=N_CTX,
    ),
    "gpt_neox": _config(
        "GPTNeoXConfig",
        vocab_size=VOCAB,
        hidden_size=D_MODEL,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        intermediate_size=128,
        max_position_embeddings=N_CTX,
        rotary_pct=0.25,
    ),
    "gptj": _config(
        "GPTJConfig",
        vocab_size=VOCAB,
        n_embd=D_MODEL,
        n_layer=N_LAYERS,
        n_head=N_HEADS,
        rotary_dim=8,
        n_positions=N_CTX,
    ),
    "opt": _config(
        "OPTConfig",
        vocab_size=VOCAB,
        hidden_size=D_MODEL,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        ffn_dim=128,
        max_position_embeddings=N_CTX,
        word_embed_proj_dim=D_MODEL,
    ),
    "bloom": _config(
        "BloomConfig", vocab_size=VOCAB, hidden_size=D_MODEL, n_layer=N_LAYERS, n_head=N_HEADS
    ),
    "falcon": _config(
        "FalconConfig",
        vocab_size=VOCAB,
        hidden_size=D_MODEL,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        max_position_embeddings=N_CTX,
    ),
    "llama": _llama_like("LlamaConfig"),
    "mistral": _llama_like("MistralConfig", sliding_window=8),
    "mixtral": _llama_like(
        "MixtralConfig", num_local_experts=2, num_experts_per_tok=1, sliding_window=None
    ),
    "qwen2": _llama_like("Qwen2Config"),
    "qwen3": _llama_like("Qwen3Config", head_dim=16),
    "gemma": _llama_like("GemmaConfig", head_dim=16),
    "gemma2": _llama_like(
        "Gemma2Config",
        head_dim=16,
        sliding_window=8,
        attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0,
        query_pre_attn_scalar=16,
    ),
    "gemma3": _llama_like(
        "Gemma3TextConfig",
        head_dim=16,
        sliding_window=8,
        query_pre_attn_scalar=16,
        layer_types=["sliding_attention", "full_attention"],
    ),
    "phi": _config(
        "PhiConfig",
        vocab_size=VOCAB,
        hidden_size=D_MODEL,
        intermediate_size=128,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        max_position_embeddings=N_CTX,
        partial_rotary_factor=0.5,
    ),
    "phi3": _llama_like("Phi3Config", num_key_value_heads=N_HEADS, pad_token_id=1),
    "olmo": _llama_like("OlmoConfig", num_key_value_heads=N_HEADS),
    "olmo2": _llama_like("Olmo2Config", num_key_value_heads=N_HEADS),
    "stablelm": _llama_like("StableLmConfig", partial_rotary_factor=0.25),
    "starcoder2": _llama_like("Starcoder2Config", sliding_window=None),
    "gpt_bigcode": _config(
        "GPTBigCodeConfig",
        vocab_size=VOCAB,
        n_embd=D_MODEL,
        n_layer=N_LAYERS,
        n_head=N_HEADS,
        n_positions=N_CTX,
        multi_query=True,
    ),
    "xglm": _config(
        "XGLMConfig",
        vocab_size=VOCAB,
        d_model=D_MODEL,
        num_layers=N_LAYERS,
        attention_heads=N_HEADS,
        ffn_dim=128,
        max_position_embeddings=N_CTX,
    ),
    "codegen": _config(
        "CodeGenConfig",
        vocab_size=VOCAB,
        n_embd=D_MODEL,
        n_layer=N_LAYERS,
        n_head=N_HEADS,
        rotary_dim=8,
        n_positions=N_CTX,
        n_ctx=N_CTX,
    ),
    "mpt": _config(
        "MptConfig",
        vocab_size=VOCAB,
        d_model=D_MODEL,
        n_layers=N_LAYERS,
        n_heads=N_HEADS,
        max_seq_len=N_CTX,
        expansion_ratio=2,
    ),
}


def build(family: str, root: Path, seed: int = 0) -> Path:
    """Write (once) ``root/family``: a random-init model of ``family`` plus the tiny tokenizer."""
    folder = Path(root) / family
    if (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file():
        return folder
    from transformers import AutoModelForCausalLM

    from induction_widgets.models import tiny_tokenizer

    config = FAMILIES[family]()
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # random-init norms are all ones/zeros: perturb them so norms matter
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name or "ln" in name):
                p.add_(0.2 * torch.randn_like(p))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tiny_tokenizer().save_pretrained(str(folder))
    return folder
