#!/usr/bin/env python
"""Train the tiny 2-layer attention-only induction model shipped with ``induction_widgets``.

The model is a character-level, attention-only transformer (d_model 64, 4 heads of
d_head 16, 2 layers, n_ctx 256, LayerNorm, learned absolute positions).  It is trained
on sequences of random printable characters that contain a randomly placed repeated
span, so the only structure worth learning is in-context copying; it forms a
previous-token head in layer 0 and induction heads in layer 1 (Olsson et al. 2022).
Two things make that happen within ~2000 steps: an extra loss term on the copyable
targets (weight ``--copy-weight``), and a curriculum (``PHASES``) that forms the circuit on
64-token sequences, then spreads it over all 256 positions with shifted 64-token windows,
then polishes on full-length sequences.

Rerun (about 100 s on 2 otherwise idle CPU cores; seeded and single-process, so a rerun
on the same torch version and thread count reproduces the weights)::

    .venv/bin/python scripts/train_tiny_model.py            # writes the shipped files
    .venv/bin/python scripts/train_tiny_model.py --out /tmp/tiny --phases 700x32x64,300x16x256

It writes, into ``src/induction_widgets/data/tiny/`` by default:

* ``model.safetensors``   - float32 weights, named like TransformerLens' native model
  (``tok_embed.weight``, ``pos.weight``, ``layers.{i}.ln1.{weight,bias}``,
  ``layers.{i}.attn.{q,k,v,o}.{weight,bias}``, ``ln_out.{weight,bias}``, ``head.weight``);
  ``induction_widgets.models`` converts them for TL3's ``HookedTransformer``.
* ``config.json``         - the TransformerLens config fields plus the measured scores.
* ``checkpoints.safetensors`` - the weights every 50 steps up to step 800 (the induction
  circuit forms in the first phase, around step 450-500), every 200 steps after, and the
  last step: 23 checkpoints, each parameter stacked ``[n, ...]`` in float16, plus ``step``
  (``--checkpoint-every 0`` skips it). ``induction_widgets.checkpoint_scores("tiny")``
  scores them. The shipped file comes from a rerun of this script whose final weights differ
  from the shipped ``model.safetensors`` in the 3rd digit (torch does not reproduce the
  run bit for bit across machines); its scores match (see docs/beyond.md).
* ``reference_logits.pt`` - tokens and expected compatibility-mode logits for a fixed
  text (``REFERENCE_TEXT``), used by ``tests/models/test_models.py`` to check that TL3 and TL4
  load the weights identically.  Compat-mode logits equal the raw logits minus their mean
  over the vocabulary (TL's ``center_unembed``); fold_ln/centering change nothing else.

It prints the scores it measured on the final model (previous-token score of each
layer-0 head, prefix-matching and OV copying score of each layer-1 head) and stores them
in ``config.json``. The script needs only torch and safetensors and imports nothing from
``induction_widgets``, so it runs from a checkout without install.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "induction_widgets" / "data" / "tiny"

# Vocabulary: must stay identical to induction_widgets.models.tiny_tokenizer().
SPECIAL_TOKENS = ["<|bos|>", "<|pad|>", "<|unk|>"]
CHARS = ["\n"] + [chr(i) for i in range(32, 127)]
VOCAB = SPECIAL_TOKENS + CHARS
BOS_ID = 0
FIRST_CHAR_ID = len(SPECIAL_TOKENS)  # "\n" -> 3, " " -> 4, ..., "~" -> 98
D_VOCAB = len(VOCAB)  # 99

CONFIG: dict[str, object] = {
    "d_model": 64,
    "n_heads": 4,
    "d_head": 16,
    "n_layers": 2,
    "n_ctx": 256,
    "d_vocab": D_VOCAB,
    "d_vocab_out": D_VOCAB,
    "attn_only": True,
    "normalization_type": "LN",
    "positional_embedding_type": "standard",
    "act_fn": "gelu",
    "eps": 1e-5,
    "default_prepend_bos": True,
    "tokenizer_prepends_bos": True,
    "original_architecture": "TransformerLensNative",
    "model_name": "induction-widgets/tiny-char",
}

REFERENCE_TEXT = (
    "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say.\n"
    "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say."
)


class Attention(nn.Module):
    """Causal multi-head self-attention with split q/k/v/o linears (TL-native layout)."""

    def __init__(self, d_model: int, n_heads: int, d_head: int) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_head
        self.q = nn.Linear(d_model, n_heads * d_head)
        self.k = nn.Linear(d_model, n_heads * d_head)
        self.v = nn.Linear(d_model, n_heads * d_head)
        self.o = nn.Linear(n_heads * d_head, d_model)

    def forward(
        self, x: torch.Tensor, return_pattern: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: [batch, pos, d_model] -> (out [batch, pos, d_model], pattern [batch, head, q, k] | None)."""
        b, s, _ = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, s, self.n_heads, self.d_head).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        pattern = None
        if return_pattern:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
            mask = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
            pattern = scores.masked_fill(mask, float("-inf")).softmax(-1)
            z = pattern @ v
        else:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o(z.transpose(1, 2).reshape(b, s, -1)), pattern


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_head: int, eps: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, eps=eps)
        self.attn = Attention(d_model, n_heads, d_head)


class TinyAttnOnly(nn.Module):
    """Pre-LN attention-only transformer with the parameter names of TL's NativeModel."""

    def __init__(self, cfg: dict[str, object]) -> None:
        super().__init__()
        d_model, n_heads, d_head = int(cfg["d_model"]), int(cfg["n_heads"]), int(cfg["d_head"])  # type: ignore[call-overload]
        eps = float(cfg["eps"])  # type: ignore[arg-type]
        self.tok_embed = nn.Embedding(int(cfg["d_vocab"]), d_model)  # type: ignore[call-overload]
        self.pos = nn.Embedding(int(cfg["n_ctx"]), d_model)  # type: ignore[call-overload]
        self.layers = nn.ModuleList(
            [Block(d_model, n_heads, d_head, eps) for _ in range(int(cfg["n_layers"]))]  # type: ignore[call-overload]
        )
        self.ln_out = nn.LayerNorm(d_model, eps=eps)
        self.head = nn.Linear(d_model, int(cfg["d_vocab_out"]), bias=False)  # type: ignore[call-overload]

    def blocks(self) -> list[Block]:
        return [cast(Block, block) for block in self.layers]

    def forward(
        self,
        tokens: torch.Tensor,
        return_patterns: bool = False,
        pos_offset: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """tokens: [batch, pos] -> (logits [batch, pos, d_vocab], per-layer patterns).

        pos_offset: optional [batch] start positions (training only: a short window placed
        anywhere in the context, so later position embeddings get trained cheaply).
        """
        positions = torch.arange(tokens.shape[1])
        if pos_offset is not None:
            positions = pos_offset[:, None] + positions[None, :]
        x = self.tok_embed(tokens) + self.pos(positions)
        patterns = []
        for block in self.blocks():
            out, pat = block.attn(block.ln1(x), return_pattern=return_patterns)
            x = x + out
            if pat is not None:
                patterns.append(pat)
        return self.head(self.ln_out(x)), patterns


def init_weights(model: TinyAttnOnly, gen: torch.Generator) -> None:
    """GPT-2-style init as in TL (std 0.8/sqrt(d_model)), residual-scaled output projections."""
    d_model = model.tok_embed.weight.shape[1]
    std = 0.8 / math.sqrt(d_model)
    out_std = std / math.sqrt(2 * len(model.layers))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "ln" in name:
                p.fill_(1.0)
            elif name.endswith("attn.o.weight"):
                p.normal_(0.0, out_std, generator=gen)
            else:
                p.normal_(0.0, std, generator=gen)


def make_batch(batch: int, seq_len: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random printable tokens with one or two copied spans.

    Returns tokens [batch, seq_len] (BOS first) and a bool mask [batch, seq_len - 1] of the
    next-token targets that are predictable by copying (inside a repeat, after its first token).
    """
    tokens = torch.randint(FIRST_CHAR_ID, D_VOCAB, (batch, seq_len), generator=gen)
    tokens[:, 0] = BOS_ID
    copy_mask = torch.zeros(batch, seq_len, dtype=torch.bool)
    for i in range(batch):
        mode = int(torch.randint(0, 4, (1,), generator=gen))
        if mode == 0:
            # whole-prefix repeat: BOS + A + A (+ random tail), like the evaluation prompts
            k = int(torch.randint(8, (seq_len - 1) // 2 + 1, (1,), generator=gen))
            tokens[i, 1 + k : 1 + 2 * k] = tokens[i, 1 : 1 + k]
            copy_mask[i, 2 + k : 1 + 2 * k] = True
            continue
        n_copies = 1 if mode < 3 else 2
        for _ in range(n_copies):
            k = int(torch.randint(6, min(60, (seq_len - 2) // 2), (1,), generator=gen))
            src = int(torch.randint(1, seq_len - 2 * k + 1, (1,), generator=gen))
            dst = int(torch.randint(src + k, seq_len - k + 1, (1,), generator=gen))
            tokens[i, dst : dst + k] = tokens[i, src : src + k]
            copy_mask[i, dst + 1 : dst + k] = True
    # target at position t is tokens[t + 1]; it is copyable if position t + 1 is masked
    return tokens, copy_mask[:, 1:]


@torch.no_grad()
def measure_scores(
    model: TinyAttnOnly, gen: torch.Generator, n_seq: int = 64, half: int = 20
) -> dict[str, list[float]]:
    """Previous-token and prefix-matching scores per head, on BOS + A + A (A: `half` random chars)."""
    a = torch.randint(FIRST_CHAR_ID, D_VOCAB, (n_seq, half), generator=gen)
    tokens = torch.cat([torch.full((n_seq, 1), BOS_ID), a, a], dim=1)
    logits, patterns = model(tokens, return_patterns=True)
    s = tokens.shape[1]
    prev: list[float] = []
    prefix: list[float] = []
    for layer_pat in patterns:  # [batch, head, q, k]
        q_idx = torch.arange(1, s)
        prev.extend(layer_pat[:, :, q_idx, q_idx - 1].mean(dim=(0, 2)).tolist())
        # destination in the second copy attends to (earlier occurrence + 1)
        q2 = torch.arange(1 + half, s)
        prefix.extend(layer_pat[:, :, q2, q2 - half + 1].mean(dim=(0, 2)).tolist())
    # in-context loss on the second repeat (first token of the repeat is not predictable)
    lp = logits.log_softmax(-1)
    tgt = tokens[:, 2 + half :]
    loss2 = -lp[:, 1 + half : s - 1].gather(-1, tgt[..., None]).mean().item()
    return {"prev_token": prev, "prefix_matching": prefix, "repeat_loss": [loss2]}


@torch.no_grad()
def copying_scores(model: TinyAttnOnly) -> list[float]:
    """OV copying score of each layer-1 head: sum(eig)/sum(|eig|) of W_E W_V W_O W_U.

    LayerNorm scales are folded in (ln1 of layer 1 into W_V, ln_out into W_U), as in
    Olsson et al.'s eigenvalue-based copying score (1.0 = pure copying).
    """
    block = model.blocks()[1]
    attn, ln1_w = block.attn, block.ln1.weight
    n_heads, d_head = attn.n_heads, attn.d_head
    W_E = model.tok_embed.weight  # [vocab, d_model]
    W_E = W_E - W_E.mean(-1, keepdim=True)
    W_U = (model.head.weight * model.ln_out.weight).T  # [d_model, vocab]
    scores = []
    for h in range(n_heads):
        sl = slice(h * d_head, (h + 1) * d_head)
        W_V = (attn.v.weight[sl] * ln1_w).T  # [d_model, d_head]
        W_O = attn.o.weight[:, sl].T  # [d_head, d_model]
        # eigenvalues of the [vocab, vocab] circuit equal those of the small [d_head, d_head] product
        small = W_O @ W_U[:, FIRST_CHAR_ID:] @ W_E[FIRST_CHAR_ID:] @ W_V
        eig = torch.linalg.eigvals(small)
        scores.append(float(eig.real.sum() / eig.abs().sum()))
    return scores


PHASES: list[tuple[int, int, int, bool]] = [
    (700, 32, 64, False),
    (800, 32, 64, True),
    (400, 16, 256, False),
]
"""Curriculum (steps, batch, seq_len, shifted). The induction circuit forms fastest on short
sequences (cheap steps, dense copy signal). "Shifted" phases place each short window
(still BOS-first) at a random start position in the context, which teaches the later
position embeddings to take part in the existing previous-token head at a fraction of
the cost of full-length sequences; a last full-length phase polishes everything."""


def checkpoint_steps(
    total: int, every: int = 50, dense_until: int = 800, sparse: int = 200
) -> list[int]:
    """Steps whose weights are kept: every ``every`` steps up to ``dense_until`` (the induction
    circuit forms in the first phase), then every ``sparse`` steps, and the last step."""
    steps = set(range(0, min(total, dense_until) + 1, every))
    steps |= set(range(dense_until, total + 1, sparse))
    steps.add(total)
    return sorted(s for s in steps if s <= total)


def train(
    phases: list[tuple[int, int, int, bool]],
    seed: int,
    log_every: int,
    lr: float = 3e-3,
    copy_weight: float = 3.0,
    keep: set[int] | None = None,
    kept: dict[int, dict[str, torch.Tensor]] | None = None,
) -> TinyAttnOnly:
    """Train with AdamW; loss = mean next-token CE + copy_weight * mean CE on copyable targets.

    LR: 50-step warmup, constant, then cosine decay to 10% over the last 40% of steps.
    ``keep``: steps (number of optimizer updates done; 0 = the initialisation) whose weights are
    copied into ``kept`` (float32 state dicts); copying consumes no randomness, so the trained
    weights are the same with or without checkpoints.
    """
    keep = keep or set()
    kept = {} if kept is None else kept
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TinyAttnOnly(CONFIG)
    init_weights(model, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    schedule = [(b, s, sh) for n, b, s, sh in phases for _ in range(n)]
    steps = len(schedule)
    warmup, decay_start = 50, int(0.6 * steps)

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if step < decay_start:
            return 1.0
        frac = (step - decay_start) / max(1, steps - decay_start)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    eval_gen = torch.Generator().manual_seed(seed + 1)

    def snapshot(done: int) -> None:
        if done in keep:
            kept[done] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    snapshot(0)
    n_heads = int(CONFIG["n_heads"])  # type: ignore[call-overload]
    t0 = time.time()
    n_ctx = int(CONFIG["n_ctx"])  # type: ignore[call-overload]
    for step, (batch, seq_len, shifted) in enumerate(schedule):
        tokens, copy_mask = make_batch(batch, seq_len, gen)
        offset = None
        if shifted:
            # clamped so the first and last positions of the context get their share too
            max_offset = n_ctx - (seq_len - 1)
            offset = torch.randint(-16, max_offset + 49, (batch,), generator=gen)
            offset = offset.clamp(0, max_offset)
        logits, _ = model(tokens[:, :-1], pos_offset=offset)
        ce = F.cross_entropy(
            logits.reshape(-1, D_VOCAB), tokens[:, 1:].reshape(-1), reduction="none"
        ).view(batch, -1)
        loss = ce.mean() + copy_weight * ce[copy_mask].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        snapshot(step + 1)
        if log_every and (step % log_every == 0 or step == steps - 1):
            sc = measure_scores(model, eval_gen, n_seq=16)
            print(
                f"step {step:5d}  seq {seq_len:3d}  loss {loss.item():.3f}"
                f"  copy-CE {ce[copy_mask].mean().item():.3f}"
                f"  L0 prev max {max(sc['prev_token'][:n_heads]):.3f}"
                f"  L1 prefix min {min(sc['prefix_matching'][n_heads:]):.3f}"
                f"  ({time.time() - t0:.0f}s)",
                flush=True,
            )
    return model


def reference_logits(model: TinyAttnOnly) -> dict[str, torch.Tensor]:
    """Tokens and centered (compat-mode-equivalent) logits for REFERENCE_TEXT."""
    lookup = {c: i for i, c in enumerate(VOCAB)}
    ids = [BOS_ID] + [lookup.get(c, 2) for c in REFERENCE_TEXT]
    tokens = torch.tensor([ids])
    with torch.no_grad():
        logits, _ = model(tokens)
    return {"tokens": tokens, "logits": logits - logits.mean(-1, keepdim=True)}


def write_checkpoints(
    kept: dict[int, dict[str, torch.Tensor]],
    phases: list[tuple[int, int, int, bool]],
    path: Path,
) -> None:
    """All kept checkpoints in one file: each parameter stacked ``[n_checkpoints, ...]`` in
    float16 (half the bytes; the scores read from them differ from float32 in the 3rd digit),
    ``step`` ``[n_checkpoints]`` int64, and the curriculum in the metadata."""
    steps = sorted(kept)
    names = list(kept[steps[0]])
    tensors = {n: torch.stack([kept[s][n] for s in steps]).half().contiguous() for n in names}
    tensors["step"] = torch.tensor(steps, dtype=torch.int64)
    meta = {"format": "pt", "phases": json.dumps([list(p) for p in phases])}
    path.write_bytes(save(tensors, metadata=meta))
    print(f"wrote {len(steps)} checkpoints ({path.stat().st_size / 1e6:.2f} MB) to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--phases",
        default=",".join(f"{n}x{b}x{s}" + ("s" if sh else "") for n, b, s, sh in PHASES),
        help="curriculum as STEPSxBATCHxSEQLEN[s],... ('s': shifted windows; default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--copy-weight", type=float, default=3.0)
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=50,
        help="keep the weights every N steps up to step 800, then every 200 steps, and the "
        "last (0: no checkpoints.safetensors; default %(default)s)",
    )
    args = parser.parse_args()

    torch.set_num_threads(2)
    t0 = time.time()
    phases = [
        (int(n), int(b), int(s_.rstrip("s")), s_.endswith("s"))
        for n, b, s_ in (p.split("x") for p in args.phases.split(","))
    ]
    total = sum(p[0] for p in phases)
    keep = set(checkpoint_steps(total, args.checkpoint_every)) if args.checkpoint_every else set()
    kept: dict[int, dict[str, torch.Tensor]] = {}
    model = train(phases, args.seed, args.log_every, args.lr, args.copy_weight, keep, kept)
    model.eval()
    train_time = time.time() - t0

    scores = measure_scores(model, torch.Generator().manual_seed(1234), n_seq=256)
    copying = copying_scores(model)
    n_heads = int(CONFIG["n_heads"])  # type: ignore[call-overload]
    prev_l0 = scores["prev_token"][:n_heads]
    prefix_l1 = scores["prefix_matching"][n_heads:]
    print(f"trained {sum(p[0] for p in phases)} steps in {train_time:.1f}s")
    print("layer 0 previous-token score per head:", [round(x, 4) for x in prev_l0])
    print("layer 1 prefix-matching score per head:", [round(x, 4) for x in prefix_l1])
    print("layer 1 OV copying score per head:     ", [round(x, 4) for x in copying])
    print(f"loss on second repeat (nats/token): {scores['repeat_loss'][0]:.4f}")

    args.out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    (args.out / "model.safetensors").write_bytes(save(state, metadata={"format": "pt"}))
    config = dict(CONFIG)
    config["vocab"] = VOCAB
    config["training"] = {
        "script": "scripts/train_tiny_model.py",
        "phases": [list(p) for p in phases],
        "lr": args.lr,
        "copy_weight": args.copy_weight,
        "seed": args.seed,
        "torch": torch.__version__,
        "seconds": round(train_time, 1),
    }
    config["scores"] = {
        "layer0_prev_token": [round(x, 4) for x in prev_l0],
        "layer1_prefix_matching": [round(x, 4) for x in prefix_l1],
        "layer1_copying": [round(x, 4) for x in copying],
        "repeat_loss": round(scores["repeat_loss"][0], 4),
    }
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    torch.save(reference_logits(model), args.out / "reference_logits.pt")
    if kept:
        write_checkpoints(kept, phases, args.out / "checkpoints.safetensors")
    print(f"wrote {args.out}/model.safetensors, config.json, reference_logits.pt")


if __name__ == "__main__":
    main()
