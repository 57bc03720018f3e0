#!/usr/bin/env python
"""Measure the figures of docs/beyond.md: ICL score, ablations, partners, phase change.

    .venv/bin/python scripts/beyond_figures.py tiny        # a few seconds
    .venv/bin/python scripts/beyond_figures.py smollm2     # ~20 min on 2 busy CPU cores
    .venv/bin/python scripts/beyond_figures.py checkpoints # the shipped tiny checkpoints

Prints Markdown-ready lines; nothing is written.
"""

from __future__ import annotations

import argparse
import time

import torch

import induction_widgets as iw


def icl_and_ablation(
    model,
    tokens,
    n_draws: int,
    per_head: bool,
    kinds: tuple[str, ...] = ("mean", "zero"),
    window: int = 0,
) -> None:
    t0 = time.time()
    score = iw.icl_score(model, tokens, window=window)
    print(f"ICL score: {score!r}")
    curve = score.curve
    marks = [i for i in (1, 2, 5, 10, 20, 50, 100, 200, 500) if i < len(curve)]
    print("loss curve:", ", ".join(f"[{i}] {float(curve[i]):.3f}" for i in marks))
    scores = iw.head_scores(model)
    heads = scores.induction_heads()
    print(f"strict induction heads ({len(heads)}):", " ".join(f"L{l}H{h}" for l, h in heads))
    for kind in kinds:
        result = iw.ablation_scores(
            model,
            tokens,
            kind=kind,
            per_head=per_head,
            induction_heads=heads,
            n_draws=n_draws,
            window=window,
        )
        c = result.comparison
        m_icl, sd_icl = c.random_icl
        m_rep, sd_rep = c.random_repeated_loss
        print(
            f"{kind}-ablation (base {result.base!r}): induction heads dICL {c.icl_change:+.3f}, d repeated-token loss "
            f"{c.repeated_loss_change:+.3f}; {len(c.draws)} random sets of {len(heads)}: dICL "
            f"{m_icl:+.3f} ± {sd_icl:.3f}, d repeated-token loss {m_rep:+.3f} ± {sd_rep:.3f}"
        )
        if result.icl_change is not None:
            flat = result.icl_change.flatten()
            order = torch.argsort(flat, descending=True)[:5]
            n = result.icl_change.shape[1]
            print(
                f"  per head, largest dICL ({kind}):",
                ", ".join(f"L{int(i) // n}H{int(i) % n} {float(flat[i]):+.3f}" for i in order),
            )
    top = (
        heads[0]
        if heads
        else tuple(int(x) for x in divmod(int(scores.prefix_matching.argmax()), scores.n_heads))
    )
    partners = iw.previous_token_partners(model, *top, previous_token=scores.previous_token)
    print(f"partners of L{top[0]}H{top[1]} (K-composition, previous-token score):")
    for r in partners.top(5):
        print(f"  L{r.layer}H{r.head}  K {r.k_composition:.3f}  prev {r.previous_token:.3f}")
    print(f"({time.time() - t0:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["tiny", "smollm2", "checkpoints"])
    parser.add_argument("--contexts", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.which == "checkpoints":
        result = iw.score_checkpoints("tiny")
        print(result.to_pandas().to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print("ICL indices:", result.early, result.late, result.note)
        print("largest rise of max prefix matching between steps", result.jump())
        print("largest fall of the ICL score between steps", result.jump("icl"))
        return
    model = iw.load_model(args.which)
    if args.which == "tiny":
        tokens = iw.copy_task_tokens(model, 256, n_tokens=201, seed=1)
        icl_and_ablation(model, tokens, n_draws=5, per_head=True)
        print("corpus:", iw.icl_score(model, n_contexts=64))
    else:
        tokens = iw.corpus_contexts(model, args.contexts)
        icl_and_ablation(model, tokens, n_draws=3, per_head=False, kinds=("mean",), window=10)


if __name__ == "__main__":
    main()
