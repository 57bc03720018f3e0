"""A small two-model sweep for the sweep views' tests: the tiny run at three checkpoints and a
random-init 3-layer Pythia-shaped model (GPT-NeoX, the tiny model's character tokenizer) at two
local revisions — so the depth view lines up a 2-layer and a 3-layer model."""

from __future__ import annotations

from pathlib import Path

TINY_STEPS = [0, 600, 1900]
KW = {"n_examples": 4, "n_contexts": 12, "repeats": 2, "progress": False, "device": "cpu"}


def pythia_shaped_run(
    folder: Path, n_revisions: int = 2, *, seed: int = 100, **config: object
) -> Path:
    """``folder/checkpoint-{i}``: random-init GPT-NeoX models (torch seed ``seed + i``) with the
    tiny model's 99-token character tokenizer; 3 layers of 3 heads (d_model 48) unless ``config``
    (GPTNeoXConfig keywords) says otherwise."""
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    import induction_widgets as iw

    dims: dict[str, object] = {
        "vocab_size": 99,
        "hidden_size": 48,
        "num_hidden_layers": 3,
        "num_attention_heads": 3,
        "intermediate_size": 96,
        "max_position_embeddings": 128,
        **config,
    }
    tokenizer = iw.models.tiny_tokenizer()
    for i in range(n_revisions):
        torch.manual_seed(seed + i)
        cfg = GPTNeoXConfig(**dims)
        GPTNeoXForCausalLM(cfg).save_pretrained(folder / f"checkpoint-{i}")
        tokenizer.save_pretrained(folder / f"checkpoint-{i}")
    return folder


def two_model_sweep(base: Path):
    import induction_widgets as iw

    run = pythia_shaped_run(base / "run")
    return iw.sweep(
        ["tiny", str(run)],
        {"tiny": TINY_STEPS, str(run): ["checkpoint-0", "checkpoint-1"]},
        out=base / "sweep",
        **KW,
    )
