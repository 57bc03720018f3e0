"""Case ``scoring_scale`` — does scoring every head stay flat relative to a forward pass as models grow?

Random-init Llama-style models (``transformers.LlamaConfig``, SmolLM2's 49,152-token vocabulary,
tied embeddings) of ~100M (12 layers × 8 heads), ~450M (24 × 16) and ~1.1B parameters (TinyLlama's
shape: 22 layers × 32 heads, 4 key/value heads), each wrapped by TransformerLens like any local
checkpoint. Input: ``iw.repeated_random_tokens(model, 10, 25, 4, seed=0)`` → ``[10, 101]``.

* ours: ``iw.head_scores(model, tokens=tokens)`` (4 scores, every head);
* baseline: one bare forward pass ``model(tokens)`` of the same model under ``torch.no_grad()``,
  timed interleaved with ours in the same run (goal: ≤ 1.2×).

Largest size: float32 weights up to ~4B parameters would fit in this machine's memory, but one
forward pass of a 1.1B model on ``[10, 101]`` tokens already takes most of a minute on 2 shared
cores, so 1.1B is the largest run here.
"""

from __future__ import annotations

import os
from typing import Any

from .common import CaseResult, Row, interleaved, ratio_text

TITLE = "Scoring at scale: random Llama-style models, 100M → 1.1B (10 × 101 tokens)"

SIZES: dict[str, dict[str, int]] = {
    "~100M": dict(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=8,
        num_key_value_heads=8,
        intermediate_size=1536,
    ),
    "~450M": dict(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_key_value_heads=16,
        intermediate_size=4096,
    ),
    "~1.1B": dict(
        hidden_size=2048,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
        intermediate_size=5632,
    ),
}


def build(shape: dict[str, int]) -> tuple[Any, int]:
    """A random-init Llama-style TransformerLens model of ``shape`` (no files, no hub), and the
    Hugging Face model's parameter count (the bridge also holds processed copies of some weights)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from induction_widgets.models import Placement, backend, tiny_tokenizer
    from induction_widgets.models._util import Steps, quiet

    config = LlamaConfig(
        vocab_size=49152,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=1,
        **shape,
    )
    torch.manual_seed(0)
    with quiet():
        hf = AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
        n_params = sum(p.numel() for p in hf.parameters())
        model = backend().from_hf_model(
            hf, tiny_tokenizer(), None, "random-llama", Placement(), Steps("", 3, False)
        )
    return model, n_params


def run(ctx: Any) -> CaseResult:
    import gc

    import torch

    import induction_widgets as iw

    rows: list[Row] = []
    notes: list[str] = []
    sizes = dict(list(SIZES.items())[:2]) if ctx.quick else SIZES
    only = os.environ.get("IW_SCALE_SIZES")  # e.g. "~100M,~450M": a shorter run, said in the notes
    if only:
        sizes = {k: v for k, v in sizes.items() if k in only.split(",")}
        notes.append(
            f"Sizes run: {', '.join(sizes)} (IW_SCALE_SIZES); not run: "
            f"{', '.join(k for k in SIZES if k not in sizes)}."
        )
    for label, shape in sizes.items():
        ctx.log(f"  building {label}")
        model, n_params = build(shape)
        tokens = iw.repeated_random_tokens(model, 10, 25, 4, seed=0)

        def forward(model: Any = model, tokens: Any = tokens) -> Any:
            with torch.no_grad():
                model(tokens)

        def ours(model: Any = model, tokens: Any = tokens) -> Any:
            return iw.head_scores(model, tokens=tokens, progress=False)

        forward()  # first calls (allocator, hook set-up, the W_U·W_E product) out of the timings
        ours()
        reps = ctx.reps if n_params < 1e9 else min(ctx.reps, 2)
        ctx.log(
            f"  {label}: {n_params / 1e6:.0f}M parameters, timing {reps} interleaved repetitions"
        )
        stats = interleaved({"forward": forward, "head_scores": ours}, reps, ctx.log)
        r, rtext = ratio_text(stats["head_scores"], stats["forward"])
        heads = f"{shape['num_hidden_layers']}×{shape['num_attention_heads']} heads"
        rows.append(
            Row(
                f"Scoring at scale, random Llama {label} ({n_params / 1e6:.0f}M, {heads}): "
                "`head_scores` vs one bare forward pass",
                stats["head_scores"].fmt(),
                stats["forward"].fmt(),
                rtext,
                "≤ 1.2×",
                r <= 1.2,
                {
                    "ours": stats["head_scores"].as_dict(),
                    "baseline": stats["forward"].as_dict(),
                    "ratio": r,
                    "params": n_params,
                },
            )
        )
        del model, forward, ours
        gc.collect()
    notes.append(
        "head_scores does one hooked forward pass that stops after the last layer's attention "
        "(no last MLP, final norm or unembedding), reduces each layer's pattern to prefix matching "
        "and previous token inside its hook, computes the copying measures per example, "
        "and the OV eigenvalues of every head (d_head × d_head each, W_U·W_E cached per model)."
    )
    return CaseResult("scoring_scale", TITLE, rows, notes)
