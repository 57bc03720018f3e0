#!/usr/bin/env python
"""Measure the figures of docs/beyond.md: ICL score, ablations, partners, phase change.

    .venv/bin/python scripts/beyond_figures.py tiny        # a few seconds
    .venv/bin/python scripts/beyond_figures.py smollm2     # ICL over every corpus context + ablation
    .venv/bin/python scripts/beyond_figures.py checkpoints # the shipped tiny checkpoints
    .venv/bin/python scripts/beyond_figures.py smollm2 --part validate --layers 18,20,22,23 \
        --ablation-contexts 8                              # attribution vs exact ablation

``smollm2``: the ICL score over every disjoint 512-token context the shipped corpus holds (or
``--contexts N``), at the paper's single indices and averaged over windows of indices; the mean
ablation of the strict induction heads vs ``--draws`` random sets of as many heads on
``--ablation-contexts`` of those contexts (seeded subset); the partners of the top induction head.
``--part validate``: per-head ΔICL by attribution patching against exact ablation on the heads of
``--layers`` (Spearman correlation, overlap of the top 10, the largest misses). ``--corpus``:
``austen`` (default) or ``devils_dictionary``.

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
    curve: bool = True,
) -> None:
    t0 = time.time()
    if curve:
        score = iw.icl_score(model, tokens, window=window)
        print(f"ICL score: {score!r}")
        assert score.curve is not None
        marks = [i for i in (1, 2, 5, 10, 20, 50, 100, 200, 500) if i < len(score.curve)]
        print("loss curve:", ", ".join(f"[{i}] {float(score.curve[i]):.3f}" for i in marks))
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
        for measure in ("icl", "repeated_loss"):
            print(
                f"  {measure}: z-score {c.z_score(measure):+.2f}, beats {c.beats(measure):.0%} of "
                f"the draws, empirical p {c.p_value(measure):.3g}"
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


def agreement(name: str, e, a, se, idx: list[int], n: int, seconds: float) -> None:
    """Spearman, Pearson, top-10 overlap, sign agreement and largest misses of estimate ``a``
    against exact ``e ± se`` (flat over the heads ``idx``)."""
    rank = lambda x: x.argsort().argsort().double()  # noqa: E731
    rho = float(torch.corrcoef(torch.stack([rank(e), rank(a)]))[0, 1])
    pearson = float(torch.corrcoef(torch.stack([e.double(), a.double()]))[0, 1])
    k = min(10, len(idx))
    top_e = {idx[i] for i in e.argsort(descending=True)[:k].tolist()}
    top_a = {idx[i] for i in a.argsort(descending=True)[:k].tolist()}
    sign = float(((e > 0) == (a > 0)).double().mean())
    print(
        f"  {name}: Spearman {rho:+.3f}, Pearson {pearson:+.3f}, top-{k} overlap "
        f"{len(top_e & top_a)}/{k}, sign agreement {sign:.0%}; {seconds:.0f} s"
    )
    miss = (e - a).abs().argsort(descending=True)[:6]
    print(f"  largest misses (exact ± sem vs {name}):")
    for i in miss.tolist():
        l, h = divmod(idx[i], n)
        print(
            f"    L{l}H{h}: exact {float(e[i]):+.3f} ± {float(se[i]):.3f}, {name} {float(a[i]):+.3f}"
        )
    print("  top exact:", ", ".join(f"L{j // n}H{j % n}" for j in sorted(top_e)))


def validate(model, tokens, layers: list[int], window: int, qk_fix: bool = True) -> None:
    """Per-head ΔICL: attribution patching (plain and, with ``qk_fix``, with AtP*'s QK fix on the
    heads of ``layers``) vs exact mean ablation on the heads of ``layers``."""
    t0 = time.time()
    means = iw.head_means(model)
    kw = dict(compare=False, window=window, means=means)
    est = iw.ablation_scores(model, tokens, method="attribution", **kw)
    t1 = time.time()
    exact = iw.ablation_scores(model, tokens, layers=layers, **kw)
    t2 = time.time()
    n = exact.icl_change.shape[1]
    idx = [l * n + h for l in layers for h in range(n)]
    e = exact.icl_change.flatten()[idx]
    se = exact.icl_change_sem.flatten()[idx]
    print(
        f"{len(idx)} heads (layers {layers}), {tokens.shape[0]} contexts, base {exact.base!r}; "
        f"exact {t2 - t1:.0f} s"
    )
    agreement("attribution", e, est.icl_change.flatten()[idx], se, idx, n, t1 - t0)
    if qk_fix:
        t3 = time.time()
        fixed = iw.ablation_scores(
            model, tokens, method="attribution", qk_fix=True, layers=layers, **kw
        )
        agreement("AtP* QK fix", e, fixed.icl_change.flatten()[idx], se, idx, n, time.time() - t3)


def pattern_path(model, tokens, head: int, early: int, late: int) -> None:
    """Tiny model (2 attention-only layers): where the QK fix's miss on layer-0 head ``head`` lives.
    Its mean ablation moves the layer-1 patterns from ``A`` to ``A'``; the ICL change with only
    the layer-1 patterns set to ``A + t (A' − A)`` (the rest run exactly) for t from 0 to 1, and
    the share of layer-1 rows at the late destination whose largest attention exceeds 0.9."""
    means = iw.head_means(model)
    n_heads = model.cfg.n_heads
    got = {}

    def grab(name):
        def fn(x, hook):
            got[name] = x.detach()

        return fn

    def icl(hooks) -> float:
        with torch.no_grad():
            logits = model.run_with_hooks(tokens, fwd_hooks=hooks, return_type="logits").double()
        loss = -logits[:, :-1].log_softmax(-1).gather(-1, tokens[:, 1:, None])[..., 0]
        return float((loss[:, late - 1] - loss[:, early - 1]).mean())

    def ablated(x, hook):
        zz = x.reshape(*x.shape[:2], n_heads, -1).clone()
        zz[:, :, head] = means[0, head].to(zz.dtype)
        return zz.reshape(x.shape)

    base = icl([("blocks.1.attn.hook_pattern", grab("A"))])
    exact = icl([("blocks.0.attn.hook_z", ablated), ("blocks.1.attn.hook_pattern", grab("A2"))])
    a, a2 = got["A"], got["A2"]
    path = []
    for t in (0.05, 0.25, 0.5, 0.75, 1.0):
        moved = icl([("blocks.1.attn.hook_pattern", lambda x, hook, t=t: a + t * (a2 - a))])
        path.append(f"t={t}: {moved - base:+.3f}")
    sat = a[:, :, late - 1].max(-1).values  # [b, head]
    print(
        f"  L0H{head}: exact {exact - base:+.3f}; layer-1 patterns A + t(A' − A), rest exact: "
        + ", ".join(path)
        + "; layer-1 rows at the late destination with max attention > 0.9: "
        + ", ".join(f"L1H{h} {float(x):.0%}" for h, x in enumerate((sat > 0.9).double().mean(0)))
    )


def icl_figures(model, tokens) -> None:
    """ICL score over ``tokens`` at the paper's indices and over windows of indices, from one pass."""
    t0 = time.time()
    losses = iw.per_token_loss(model, tokens, progress=True)  # [n, 512], NaN at 0
    n = losses.shape[0]

    def line(name: str, early: slice, late: slice) -> None:
        d = losses[:, late].mean(1) - losses[:, early].mean(1)
        print(
            f"  {name}: {float(d.mean()):+.3f} ± {float(d.std() / n**0.5):.3f} (sd {float(d.std()):.2f};"
            f" loss {float(losses[:, early].mean()):.3f} -> {float(losses[:, late].mean()):.3f})"
        )

    print(f"ICL score over {n} contexts of {losses.shape[1]} tokens (mean ± sem over contexts):")
    line("paper, L[500] - L[50]", slice(50, 51), slice(500, 501))
    line("windows ±10, L[490..510] - L[40..60]", slice(40, 61), slice(490, 511))
    line("windows, L[450..510] - L[40..60]", slice(40, 61), slice(450, 511))
    buckets = [(1, 8), (8, 16), (16, 32), (32, 64), (64, 128), (128, 256), (256, 512)]
    print(
        "  mean loss by token index:",
        ", ".join(f"[{a}..{b - 1}] {float(losses[:, a:b].mean()):.3f}" for a, b in buckets),
    )
    print(f"({time.time() - t0:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["tiny", "smollm2", "checkpoints"])
    parser.add_argument("--contexts", type=int, default=0, help="smollm2: 0 = all the corpus holds")
    parser.add_argument("--ablation-contexts", type=int, default=32)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="smollm2: which ablation contexts")
    parser.add_argument(
        "--part",
        choices=["all", "icl", "ablation", "validate"],
        default="all",
        help="smollm2: what to measure",
    )
    parser.add_argument("--layers", default="18,20,22,23", help="validate: layers measured exactly")
    parser.add_argument(
        "--no-qk-fix", action="store_true", help="validate: skip the AtP* QK-fix estimate"
    )
    parser.add_argument("--corpus", default="austen", choices=sorted(iw.compute.icl.CORPORA))
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.which == "checkpoints":
        result = iw.checkpoint_scores("tiny")
        print(result.to_pandas().to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print("ICL indices:", result.early, result.late, result.note)
        print("largest rise of max prefix matching between steps", result.jump())
        print("largest fall of the ICL score between steps", result.jump("icl"))
        return
    model = iw.load_model(args.which)
    if args.which == "tiny":
        tokens = iw.copy_task_tokens(model, 256, n_tokens=201, seed=1)
        icl_and_ablation(model, tokens, n_draws=20, per_head=True)
        validate(model, tokens, [0, 1], window=0)
        print("QK-fix miss, tiny (128 contexts): the ICL change along the layer-1 pattern's path")
        for head in (2, 3):
            pattern_path(model, tokens[:128], head, 20, 200)
        print("corpus:", iw.icl_score(model, n_contexts=64))
    else:
        from induction_widgets.compute.icl import _corpus_ids, context_length

        n_all = len(_corpus_ids(model, args.corpus)) // (context_length(model) - 1)
        n = n_all if args.contexts <= 0 else min(args.contexts, n_all)
        print(f"corpus: {n_all} disjoint contexts of {context_length(model)} tokens; using {n}")
        if args.part not in ("ablation", "validate"):
            icl_figures(model, iw.corpus_contexts(model, n, corpus=args.corpus))
        if args.part == "icl":
            return
        sub = iw.corpus_contexts(
            model, min(args.ablation_contexts, n_all), seed=args.seed, corpus=args.corpus
        )
        if args.part == "validate":
            layers = [int(x) for x in args.layers.split(",")]
            validate(model, sub, layers, window=10, qk_fix=not args.no_qk_fix)
            return
        print(f"ablation on {len(sub)} of those contexts (seed {args.seed}), windows ±10:")
        icl_and_ablation(
            model, sub, args.draws, per_head=False, kinds=("mean",), window=10, curve=False
        )


if __name__ == "__main__":
    main()
