"""The small evaluators the example notebooks use, and the figures of docs/argument4.md.

The package (``induction_widgets``) scores heads the paper's way (prefix matching, copying, pattern
matching). The notebooks add three measurements of their own, kept here so that the notebooks and
``docs/argument4.md`` use one definition each:

* :func:`copying_on_text` — on a paragraph followed by its repeat, how much a head attends to the
  token after the earlier occurrence of the current token, and how much that raises the right next
  token on the direct path (literal copying, the paper's Figure 12).
* :func:`translation_scores` — on the EN/FR/DE parallel sentences, how much attention the FR and DE
  tokens give to the *aligned* words of the earlier lines, with a hand-made word alignment
  (:data:`ALIGNMENTS`) (translation, Figure 13).
* :func:`label_attention` — on the pattern-matching problems, attention to the labels of earlier
  lines of the *same* template (the package's pattern-matching score) next to attention to *any*
  earlier label, to tell template matching from "look at the digits" (Figure 14).

Run as a script it prints every figure quoted in ``docs/argument4.md``::

    .venv/bin/python examples/argument4.py --model smollm2            # all figures, seeded
    .venv/bin/python examples/argument4.py --model tiny --lines 12    # the 2-layer model

Everything is deterministic: the random tokens and problems are seeded, the forward passes run on
CPU in float32.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch

import induction_widgets as iw
from induction_widgets.compute.choose import (  # noqa: F401  (re-exported for the notebooks)
    ALIGNMENTS,
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    repeat_start,
    translation_targets,
)

Head = tuple[int, int]

# --- helpers ------------------------------------------------------------------------------------


def all_heads(model: Any) -> list[Head]:
    cfg = model.cfg
    return [(l, h) for l in range(cfg.n_layers) for h in range(cfg.n_heads)]


def token_spans(model: Any, text: str) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """``(tokens [pos], spans)``: the tokens the model reads for ``text`` (BOS first where the model
    prepends one) and each token's character span ``(start, end)`` (BOS: ``(0, 0)``).

    Uses the tokenizer's offsets and checks that they describe exactly the model's tokens.
    """
    tokens = model.to_tokens(text)[0].cpu()
    enc = model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    spans = [tuple(s) for s in enc["offset_mapping"]]
    if len(tokens) == len(ids) + 1:
        ids, spans = [int(tokens[0]), *ids], [(0, 0), *spans]
    if ids != tokens.tolist():
        raise ValueError("the tokenizer's offsets do not match the tokens the model reads")
    return tokens, spans  # type: ignore[return-value]


def all_patterns(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """Every head's attention pattern on one sequence, from one forward pass:
    ``[n_layers, n_heads, dst, src]`` float32 (for short texts; memory grows with pos²)."""
    cfg = model.cfg
    out = torch.zeros(cfg.n_layers, cfg.n_heads, len(tokens), len(tokens))

    def hook(pattern: torch.Tensor, hook: Any) -> None:
        out[int(hook.name.split(".")[1])] = pattern[0].detach().float().cpu()

    hooks = [(f"blocks.{l}.attn.hook_pattern", hook) for l in range(cfg.n_layers)]
    with torch.no_grad():
        model.run_with_hooks(tokens[None].to(model.W_U.device), fwd_hooks=hooks, return_type=None)
    return out


def heads_table(scores: iw.HeadScores, heads: Sequence[Head], **extra: dict[Head, float]) -> Any:
    """The paper's table (head, layer depth, copying, prefix matching) for ``heads``, with the
    copying rank of the verdict, OV copying, the verdict and any extra columns given as
    ``name={(layer, head): value}``."""
    import pandas as pd

    rows = []
    for l, h in heads:
        r = scores.row(l, h)
        row = {
            "head": f"L{l}H{h}",
            "layer depth": r.depth,
            "copying": round(r.copying, 2),
            "copying rank": None if r.copying_rank is None else round(r.copying_rank, 2),
            "prefix matching": round(r.prefix_matching, 2),
            "OV copying": round(r.ov_copying, 2),
        }
        for name, values in extra.items():
            row[name] = round(float(values[(l, h)]), 2)
        row["verdict"] = r.verdict
        rows.append(row)
    return pd.DataFrame(rows)


def random_ov_copying_baseline(n_sample: int = 25, n_draws: int = 20_000, seed: int = 0) -> float:
    """The copying score of a head whose direct-path logits over the ``n_sample`` tokens are random.

    Draws Gaussian logits and a random attended token and applies the package's copying formula
    (:func:`induction_widgets.compute.copying_ratio`). About ``(4 − n) / (4 + n)``: −0.72 for 25.
    """
    from induction_widgets.compute import copying_ratio

    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_draws, n_sample, generator=gen)
    attended = torch.randint(0, n_sample, (n_draws,), generator=gen)
    return float(copying_ratio(logits, attended).nanmean())


# --- literal copying ----------------------------------------------------------------------------


def copying_on_text(
    acts: iw.TextActivations, heads: Iterable[Head], repeat_start: int
) -> dict[Head, dict[str, float]]:
    """Literal copying of each head on one text whose second part repeats the first.

    Destinations: positions ``d >= repeat_start`` (the repeat) whose token occurred before and whose
    next token is the one that followed that earlier occurrence — where copying predicts right.
    Per head, averaged over those destinations:

    * ``attention``: attention on the induction targets (the token after each earlier occurrence of
      the current token) — prefix matching on real text;
    * ``logit``: direct-path logit attribution from those targets to the true next token (logits);
    * ``logit_all``: the head's whole direct contribution to the true next token (all sources).
    """
    toks = acts.tokens.tolist()
    dsts: list[tuple[int, list[int]]] = []
    for d in range(repeat_start, len(toks) - 1):
        targets = [j + 1 for j in range(d) if toks[j] == toks[d] and toks[j + 1] == toks[d + 1]]
        if targets:
            dsts.append((d, targets))
    out = {}
    for l, h in heads:
        att, attr = acts.attention(l, h), acts.logit_attribution(l, h)
        a = sum(float(att[d, t].sum()) for d, t in dsts) / len(dsts)
        g = sum(float(attr[d, t].sum()) for d, t in dsts) / len(dsts)
        g_all = sum(float(torch.nansum(attr[d])) for d, _ in dsts) / len(dsts)
        out[(l, h)] = {"attention": a, "logit": g, "logit_all": g_all}
    return out


# --- translation --------------------------------------------------------------------------------

# The hand-made word alignment (ALIGNMENTS) and translation_targets live in the package
# (induction_widgets.compute.choose), where the report picks its translation head with them.


def translation_scores(
    model: Any, heads: Sequence[Head] | None = None, indices: Iterable[int] | None = None
) -> dict[Head, dict[str, float]]:
    """Aligned attention of each head, pooled over the destinations of the sentence triples.

    * ``aligned``: mean attention from a FR/DE destination to the earlier-line tokens of the word
      that comes next (see :func:`translation_targets`);
    * ``earlier_lines``: mean attention from the same destinations to any token of the earlier
      lines (BOS excluded) — ``aligned / earlier_lines`` is how much of the cross-language
      attention lands on the right word;
    * ``uniform_share``: the share ``aligned / earlier_lines`` of a head that spreads its
      cross-language attention evenly over the earlier lines' tokens (the chance level).
    """
    heads = list(heads) if heads is not None else all_heads(model)
    indices = list(indices) if indices is not None else range(len(iw.PARALLEL_SENTENCES))
    sums = {hd: [0.0, 0.0] for hd in heads}
    uniform, n = 0.0, 0
    for index in indices:
        tokens, targets, line_of = translation_targets(model, index)
        patterns = all_patterns(model, tokens)  # [layer, head, dst, src]
        for d, srcs in targets.items():
            earlier = [s for s in range(d + 1) if 0 <= line_of[s] < line_of[d]]
            uniform += len(srcs) / len(earlier)
            aligned = patterns[:, :, d, srcs].sum(-1)
            across = patterns[:, :, d, earlier].sum(-1)
            for l, h in heads:
                sums[(l, h)][0] += float(aligned[l, h])
                sums[(l, h)][1] += float(across[l, h])
        n += len(targets)
    return {
        hd: {"aligned": a / n, "earlier_lines": e / n, "uniform_share": uniform / n}
        for hd, (a, e) in sums.items()
    }


# --- pattern matching ---------------------------------------------------------------------------


def label_attention(
    model: Any, n_problems: int = 16, n_lines: int = 30, seed: int = 0, batch_size: int = 8
) -> dict[str, Any]:
    """Attention from each line's destination to the labels of earlier lines, for every head, on the
    problems of :func:`induction_widgets.pattern_matching_scores` (problem ``i``: seed
    ``seed·1000003+i``; the same destinations and targets, from
    :func:`induction_widgets.pattern_matching_problem`).

    Returns ``[n_layers, n_heads]`` tensors ``same_template`` (mass on the labels of earlier lines
    with the same template: the package's pattern-matching score) and ``any_label`` (mass on the
    labels of all earlier lines), and the float ``blind_share``: the share ``same_template /
    any_label`` of a template-blind head, one that spreads its label attention evenly over all
    earlier labels (mean over destinations of #same-template earlier lines / #earlier lines, ≈ 1/4).
    """
    cfg = model.cfg
    problems = [
        iw.pattern_matching_problem(model, n_lines, seed * 1_000_003 + i) for i in range(n_problems)
    ]
    same_sum = torch.zeros(cfg.n_layers, cfg.n_heads)
    any_sum = torch.zeros(cfg.n_layers, cfg.n_heads)
    blind, n = 0.0, 0
    for start in range(0, n_problems, batch_size):
        batch = problems[start : start + batch_size]
        longest = max(len(p.tokens) for p in batch)
        tokens = torch.zeros(len(batch), longest, dtype=torch.long)  # right padding
        same = torch.zeros(len(batch), longest, longest)
        anyl = torch.zeros(len(batch), longest, longest)
        for b, p in enumerate(batch):
            tokens[b, : len(p.tokens)] = p.tokens
            for k, d in enumerate(p.destinations):
                if not bool(p.valid[d]):
                    continue
                same[b, d, : len(p.tokens)] = p.targets[d].float()
                anyl[b, d, p.label_positions[:k]] = 1.0
                blind += float(p.targets[d].sum()) / k
                n += 1

        def hook(pattern: torch.Tensor, hook: Any, same: Any = same, anyl: Any = anyl) -> None:
            layer = int(hook.name.split(".")[1])
            pattern = pattern.float().cpu()
            same_sum[layer] += torch.einsum("bhds,bds->h", pattern, same)
            any_sum[layer] += torch.einsum("bhds,bds->h", pattern, anyl)

        hooks = [(f"blocks.{l}.attn.hook_pattern", hook) for l in range(cfg.n_layers)]
        with torch.no_grad():
            model.run_with_hooks(tokens, fwd_hooks=hooks, return_type=None)
    return {"same_template": same_sum / n, "any_label": any_sum / n, "blind_share": blind / n}


# --- the figures of docs/argument4.md -------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--problems", type=int, default=50, help="pattern-matching problems")
    parser.add_argument("--lines", type=int, default=30, help="lines per problem")
    parser.add_argument(
        "--label-problems", type=int, default=16, help="problems for label_attention"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    import pandas as pd

    pd.set_option("display.width", 160)
    t0 = time.time()
    model = iw.load_model(args.model)
    scores = iw.head_scores(model, progress=False)
    top = [(r.layer, r.head) for r in scores.top(10, by="prefix_matching")]
    print(f"random-OV copying baseline (25 tokens): {random_ov_copying_baseline():.2f}")
    print(f"induction heads (strict verdict, copying rank >= 0.65): {scores.induction_heads()}")
    old = scores.induction_heads(measure="copying", copying_threshold=-0.4)
    print(f"induction heads (paper-literal copying >= -0.4, the earlier verdict): {old}")

    pm = iw.pattern_matching_scores(
        model, n_problems=args.problems, n_lines=args.lines, seed=0, progress=False
    )
    scores.pattern_matching = pm
    best_pm = [(r.layer, r.head) for r in scores.top(5, by="pattern_matching")]
    print("\n== top heads by prefix matching ==")
    print(heads_table(scores, top, **{"pattern matching": _grid(pm)}).to_string(index=False))
    print(f"\n== top heads by pattern matching ({args.problems} problems × {args.lines} lines) ==")
    print(heads_table(scores, best_pm, **{"pattern matching": _grid(pm)}).to_string(index=False))

    lab = label_attention(model, args.label_problems, args.lines)
    print(
        f"\n== label attention ({args.label_problems} problems; template-blind share "
        f"{lab['blind_share']:.2f}) =="
    )
    for hd in [*dict.fromkeys(best_pm + top[:5])]:
        s_, a_ = float(lab["same_template"][hd]), float(lab["any_label"][hd])
        print(
            f"L{hd[0]}H{hd[1]}: same template {s_:.3f}, any label {a_:.3f}, "
            f"share {s_ / max(a_, 1e-9):.2f}"
        )

    if model.cfg.n_ctx >= 512:  # the copying and translation texts do not fit the tiny model
        text = iw.copying_text()
        acts = iw.TextActivations(model, text, progress=False)
        choice = choose_copying_head(acts, start=repeat_start(model, text))
        cop = copying_on_text(acts, top, repeat_start(model, text))
        print("\n== literal copying on the Pride and Prejudice text (top prefix-matching heads) ==")
        for hd in top:
            v = cop[hd]
            print(
                f"L{hd[0]}H{hd[1]}: attention to the copy {v['attention']:.2f}, logit from it "
                f"{v['logit']:+.2f}, all sources {v['logit_all']:+.2f}"
            )
        print(f"copying head chosen on the text (all heads): {choice.reason}")
        print("runner-ups: " + ", ".join(f"L{l}H{h} {v:.2f}" for (l, h), v in choice.runners_up))

        tr = translation_scores(model)
        ranked = sorted(tr, key=lambda hd: -tr[hd]["aligned"])
        print("\n== translation: aligned attention, best heads overall ==")
        for hd in ranked[:8]:
            v = tr[hd]
            print(
                f"L{hd[0]}H{hd[1]}: aligned {v['aligned']:.2f}, to earlier lines "
                f"{v['earlier_lines']:.2f} (share {v['aligned'] / max(v['earlier_lines'], 1e-9):.2f}, "
                f"uniform share {v['uniform_share']:.2f}); "
                f"copying {float(scores.copying[hd]):.2f}, prefix {float(scores.prefix_matching[hd]):.2f}, "
                f"{scores.verdict(*hd) or '-'}"
            )
        print("among the top 10 by prefix matching:")
        for hd in sorted(top, key=lambda hd: -tr[hd]["aligned"]):
            print(f"L{hd[0]}H{hd[1]}: aligned {tr[hd]['aligned']:.2f}")
    print(f"\n({time.time() - t0:.0f} s)")


def _grid(values: torch.Tensor) -> dict[Head, float]:
    return {
        (l, h): float(values[l, h]) for l in range(values.shape[0]) for h in range(values.shape[1])
    }


if __name__ == "__main__":
    main()
