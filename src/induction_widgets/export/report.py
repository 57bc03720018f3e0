"""``iw.report``: one offline page in the spirit of the paper's Argument 4.

The head table and map, then literal copying, translation and pattern matching, each on the head
that does it most on the text shown (:mod:`induction_widgets.compute.choose`), with the runner-ups,
one line saying why, its token view and matrix. Then (``beyond=True``, the default) the measures
beyond Argument 4 (docs/beyond.md): the ICL score with its loss curve, the strict induction heads
ablated against random heads (and, on a small model, the head map coloured by each head's ΔICL),
the previous-token partners of the top induction head and, for the tiny model, the phase change
over its shipped checkpoints. On a large model these use few contexts, said on the page.
"""

from __future__ import annotations

import dataclasses
import html
import math
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..checks import check_head, check_int
from ..compute import (
    AblationComparison,
    HeadScores,
    TextActivations,
    ablation_comparison,
    ablation_scores,
    checkpoint_scores,
    copy_task_tokens,
    copying_text,
    corpus_contexts,
    head_means,
    head_scores,
    icl_score,
    load_tiny_checkpoints,
    model_info,
    pattern_matching_problem,
    pattern_matching_scores,
    pattern_matching_text,
    previous_token_partners,
    translation_text,
)
from ..compute.choose import (
    HeadChoice,
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    repeat_start,
)
from ..errors import InputError
from ..views import (
    ABLATION_SCORE,
    ViewSpec,
    attention_matrix_state,
    check_scores,
    head_map_state,
    loss_curve_state,
    output_path,
    page,
    partners_state,
    phase_change_state,
    static_spec,
    token_view_state,
    verdict_scatter_state,
)

SECTIONS = ("copying", "translation", "pattern_matching")


def _head_views(
    acts: TextActivations, scores: HeadScores, layer: int, head: int, **token_view: Any
) -> list[dict[str, Any]]:
    """A token view and an attention matrix of one head, as static specs for the page."""
    return [
        static_spec(
            ViewSpec("token_view", token_view_state(acts, layer, head, **token_view), acts, scores)
        ),
        static_spec(
            ViewSpec("attention_matrix", attention_matrix_state(acts, layer, head), acts, scores)
        ),
    ]


def _check_sections(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a dict keyed by {', '.join(SECTIONS)}, got {value!r}")
    unknown = [k for k in value if k not in SECTIONS]
    if unknown:
        raise InputError(
            f"{name} has unknown key {unknown[0]!r}: use {', '.join(repr(s) for s in SECTIONS)}"
        )
    return dict(value)


def _table(scores: HeadScores, k: int = 12) -> str:
    rows = []
    for r in scores.top(k, by="prefix_matching"):
        pm = "" if r.pattern_matching is None else f"{r.pattern_matching:.2f}"
        rank = "" if r.copying_rank is None else f"{r.copying_rank:.2f}"
        rows.append(
            f"<tr><td>L{r.layer}H{r.head}</td><td>{html.escape(r.depth)}</td><td>{r.copying:.2f}</td>"
            f"<td>{rank}</td><td>{r.prefix_matching:.2f}</td><td>{r.previous_token:.2f}</td>"
            f"<td>{r.ov_copying:.2f}</td><td>{pm}</td>"
            f"<td style='text-align:left'>{html.escape(r.verdict)}</td></tr>"
        )
    return (
        "<table class='iw-report'><thead><tr><th>head</th><th>layer depth</th><th>copying</th>"
        "<th>copying rank</th><th>prefix matching</th><th>previous token</th><th>OV copying</th>"
        "<th>pattern matching</th><th>verdict</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _why(choice: HeadChoice | None, fixed: bool) -> str:
    """One paragraph: why this head (or that the caller fixed it), and the runner-ups."""
    if fixed or choice is None:
        return "<p class='iw-why'>Head fixed by the caller (<code>heads=</code>).</p>"
    runners = ", ".join(f"L{l}H{h} {v:.2f}" for (l, h), v in choice.runners_up)
    return (
        f"<p class='iw-why'><b>Why this head:</b> {html.escape(choice.reason)} "
        f"<span class='iw-runners-up'>Runner-ups by {html.escape(choice.measure)}: "
        f"{html.escape(runners)}.</span></p>"
    )


def _lines_that_fit(model: Any, most: int) -> int:
    """The largest number of pattern-matching lines (≤ ``most``) whose problems fit in ``n_ctx``."""
    n_ctx = model_info(model).n_ctx
    for n in range(most, 1, -1):
        if len(pattern_matching_problem(model, n, seed=0).tokens) * 1.2 <= n_ctx:
            return n
    return 2


def report(
    model: Any,
    path: str | Path,
    texts: dict[str, str] | None = None,
    heads: dict[str, tuple[int, int]] | None = None,
    *,
    scores: HeadScores | None = None,
    n_problems: int = 20,
    title: str | None = None,
    progress: bool = True,
    beyond: bool = True,
) -> Path:
    """Write the report page for ``model`` to ``path`` and return it.

    ``texts`` may override ``"copying"``, ``"translation"`` and ``"pattern_matching"``; ``heads`` may
    fix the head shown for each (default: chosen from the scores as described on the page).
    ``beyond``: add the sections beyond Argument 4 (ICL score and loss curve, ablation of the
    strict induction heads vs random heads, previous-token partners, the tiny model's phase
    change; see :func:`beyond_blocks`); ``False`` leaves them out (a faster page).
    """
    info = model_info(model)
    n_problems = check_int("n_problems", n_problems, 1)
    if not isinstance(beyond, bool):
        raise InputError(f"beyond must be True or False, got {beyond!r}")
    check_scores(scores)
    texts = _check_sections("texts", texts)
    for key, text in texts.items():
        if not isinstance(text, str) or text == "":
            raise InputError(
                f"texts[{key!r}] must be a non-empty str, got {text!r}: leave the key out to use "
                "the default text"
            )
    heads = _check_sections("heads", heads)
    for key, pair in heads.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"heads[{key!r}] must be a (layer, head) pair, got {pair!r}")
        heads[key] = check_head(info, *pair)
    out = output_path(path)
    name = getattr(model.cfg, "model_name", "model")
    steps = tqdm(total=6 if beyond else 5, desc="report", disable=not progress, leave=False)
    if scores is None:
        scores = head_scores(model, progress=False)
    steps.update(1)
    n_lines = _lines_that_fit(model, 30)
    if scores.pattern_matching is None:  # a copy: the caller's scores are left as they were
        scores = dataclasses.replace(
            scores,
            pattern_matching=pattern_matching_scores(
                model, n_problems=n_problems, n_lines=n_lines, progress=False
            ),
        )
    steps.update(1)

    blocks: list[Any] = [
        f"<h1>{html.escape(title or f'Induction heads in {name}')}</h1>",
        "<p>Induction heads (Olsson et al. 2022) <b>prefix-match</b> — on repeated random tokens they "
        "attend to the token right after an earlier occurrence of the current token — and <b>copy</b> — "
        "they raise the logit of the token they attend to. Scores on 10 × (BOS + 25 random tokens × 4); "
        f"{info.n_layers} layers × {info.n_heads} heads. Definitions: docs/scores.md.</p>",
        _table(scores),
        static_spec(
            ViewSpec("head_map", head_map_state(scores, selected_head=scores.default_head()))
        ),
        "<p>The verdict as a picture: every head, prefix matching against the copying measure the "
        "verdict uses, the thresholds dashed — heads right of and above both lines are induction "
        "heads. Points are coloured by layer depth; hover one to name it, click it (or a head in the "
        "map) to show it in the literal-copying views below.</p>",
        static_spec(ViewSpec("verdict_scatter", verdict_scatter_state(scores))),
    ]

    # 1. literal copying: the head with the most attention on the copy x logit raised, on this text
    text = texts.get("copying") or copying_text()
    acts = TextActivations(model, text, truncate=True, progress=False)
    choice = (
        None if "copying" in heads else choose_copying_head(acts, start=repeat_start(model, text))
    )
    layer, head = heads.get("copying") or choice.head  # type: ignore[union-attr]
    blocks += [
        f"<h2>Literal copying — L{layer}H{head}</h2>",
        _why(choice, "copying" in heads),
        "<p>A paragraph followed by its first sentences again. Hover the repeat: in <b>Attention</b> "
        "(red) the head looks back at the token after the earlier occurrence; in <b>Logit attr</b> "
        "(blue) that earlier token raised the logit of the current one.</p>",
        *_head_views(acts, scores, layer, head),
    ]
    steps.update(1)

    # 2. translation: the head with the most aligned-word attention on this text
    text = texts.get("translation") or translation_text()
    acts = TextActivations(model, text, truncate=True, progress=False)
    choice = None if "translation" in heads else choose_translation_head(acts)
    layer, head = heads.get("translation") or choice.head  # type: ignore[union-attr]
    blocks += [
        f"<h2>Translation — L{layer}H{head}</h2>",
        _why(choice, "translation" in heads),
        "<p>The paper's sentence in English, French and German. A translation head attends to the "
        "word that comes next in an earlier language: an off-diagonal that meanders with word order.</p>",
        *_head_views(acts, scores, layer, head),
    ]
    steps.update(1)

    # 3. pattern matching: the head with the most same-template attention on this text (for a
    # caller's text, whose templates are unknown: the best pattern-matching score)
    shown = min(24, n_lines)
    text = texts.get("pattern_matching") or pattern_matching_text(shown, seed=0)[0]
    assert scores.pattern_matching is not None
    acts = TextActivations(model, text, truncate=True, progress=False)
    choice = None
    if "pattern_matching" not in heads and "pattern_matching" not in texts:
        problem = pattern_matching_problem(model, shown, seed=0)
        n = acts.n_tokens
        if problem.tokens[:n].tolist() == acts.tokens.tolist() and problem.valid[:n].any():
            choice = choose_pattern_matching_head(acts, problem.targets[:n, :n], problem.valid[:n])
    if heads.get("pattern_matching"):
        layer, head = heads["pattern_matching"]
    elif choice is not None:
        layer, head = choice.head
    else:
        best = int(torch.argmax(scores.pattern_matching))
        layer, head = best // info.n_heads, best % info.n_heads
    toks = acts.str_tokens
    outputs = [t.strip().isdigit() for t in toks]
    before = [i + 1 < len(toks) and outputs[i + 1] for i in range(len(toks))]
    pm = float(scores.pattern_matching[layer, head])
    why = (
        _why(choice, False)
        if choice is not None
        else _why(None, True)
        if "pattern_matching" in heads
        else "<p class='iw-why'><b>Why this head:</b> the best pattern-matching score over "
        f"{n_problems} random problems (the templates of this text are not known).</p>"
    )
    blocks += [
        f"<h2>Pattern matching — L{layer}H{head}</h2>",
        why,
        f"<p>Lines <code>(month|color) (animal|fruit): label</code>. Attention is masked to the token "
        f"before each label as destination, logit attribution to the label outputs. This head puts "
        f"{pm:.0%} of its attention on the labels of earlier lines of the same template over "
        f"{n_problems} random problems (the paper: ~65% at 13B).</p>",
        *_head_views(acts, scores, layer, head, dst_mask=before, output_mask=outputs),
    ]
    steps.update(1)
    if beyond:  # after the Argument-4 views: the links below count views from the top
        blocks += beyond_blocks(model, scores)
        steps.update(1)
    steps.close()
    out.write_text(
        page(
            blocks,
            title=title or f"Induction heads in {name}",
            links=[(0, 2), (0, 3), (1, 2), (1, 3)],
        ),
        encoding="utf-8",
    )
    return out


# --- beyond Argument 4 ---------------------------------------------------------------------------

#: Models with at most this many heads get the full measures (per-head ΔICL map, ICL score in the
#: comparison, more contexts); larger ones the quick ones (see :func:`beyond_blocks`).
FULL_MEASURES_HEADS = 64


def _is_tiny(model: Any) -> bool:
    from ..models.tiny import TINY_NAME

    return getattr(model.cfg, "model_name", "") == TINY_NAME


def _phase_steps(available: list[int]) -> list[int]:
    """The first, every 100 steps from 300 to 600 (where docs/beyond.md finds the rise), 800 and
    the last: each checkpoint costs a model build (about a second)."""
    keep = {available[0], 300, 400, 500, 600, 800, available[-1]}
    return [s for s in available if s in keep]


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:+.{digits}f}".replace("-", "−")


def _comparison_svg(c: AblationComparison, measures: list[tuple[str, str]]) -> str:
    """An inline SVG bar chart: per measure, the induction heads' change beside the random sets'
    mean ± sd (whisker) with each draw as a dot. ``measures``: ``(field, label)``, field
    ``"icl"`` or ``"repeated_loss"``."""
    panel_w, h, top, bottom = 260, 190, 40, 34
    width = panel_w * len(measures)
    parts = [
        f"<svg class='iw-ablation-figure' xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{h}' viewBox='0 0 {width} {h}' role='img' aria-label='ablation: induction heads "
        "vs random heads' style='font:11px system-ui,sans-serif'>"
    ]
    for p, (fld, label) in enumerate(measures):
        ours = getattr(c, f"{fld}_change")
        draws = getattr(c, f"random_{fld}_changes")
        mean, sd = getattr(c, f"random_{fld}")
        half = sd if math.isfinite(sd) else 0.0
        values = [ours, mean + half, mean - half, *draws, 0.0]
        finite = [v for v in values if math.isfinite(v)]
        lo, hi = min(finite), max(finite)
        if hi - lo < 1e-9:
            hi, lo = hi + 1, lo - 1
        x0 = p * panel_w

        def y(v: float, lo: float = lo, hi: float = hi) -> float:
            return top + (hi - v) / (hi - lo) * (h - top - bottom)

        parts.append(
            f"<text x='{x0 + panel_w / 2}' y='14' text-anchor='middle' font-weight='600'>"
            f"{html.escape(label)}</text>"
            f"<line x1='{x0 + 30}' x2='{x0 + panel_w - 20}' y1='{y(0):.1f}' y2='{y(0):.1f}' "
            "stroke='currentColor' stroke-opacity='0.5'/>"
            f"<text x='{x0 + 26}' y='{y(0) + 4:.1f}' text-anchor='end' fill='currentColor'>0</text>"
        )
        bars = [
            ("induction", f"{len(c.heads)} induction heads", ours, "#d62728", float("nan"), []),
            (
                "random",
                f"{len(draws)} random set{'s' * (len(draws) != 1)}",
                mean,
                "#7f7f7f",
                sd,
                draws,
            ),
        ]
        for i, (key, name, v, colour, spread, dots) in enumerate(bars):
            cx = x0 + 50 + i * 100 + 35
            if math.isfinite(v):
                y1, y2 = sorted((y(0), y(v)))
                parts.append(
                    f"<rect class='iw-bar-{key}' data-measure='{fld}' data-value='{v:.6g}' "
                    f"x='{cx - 25}' y='{y1:.1f}' width='50' height='{max(y2 - y1, 1):.1f}' "
                    f"fill='{colour}' fill-opacity='0.8'/>"
                )
                reach = abs(spread) if math.isfinite(spread) else 0.0  # clear of the whisker
                txt_y = y(v + reach) - 4 if v >= 0 else y(v - reach) + 13
                parts.append(
                    f"<text x='{cx}' y='{txt_y:.1f}' text-anchor='middle' fill='currentColor'>"
                    f"{html.escape(_fmt(v))}</text>"
                )
            else:
                parts.append(
                    f"<text x='{cx}' y='{y(0) - 6:.1f}' text-anchor='middle' "
                    "fill='currentColor'>not measured</text>"
                )
            if math.isfinite(spread) and math.isfinite(v):
                parts.append(
                    f"<line class='iw-whisker' x1='{cx}' x2='{cx}' y1='{y(v - spread):.1f}' "
                    f"y2='{y(v + spread):.1f}' stroke='currentColor' stroke-width='1.5'/>"
                )
            for d in dots:
                if math.isfinite(d):
                    parts.append(
                        f"<circle class='iw-draw' cx='{cx + 12}' cy='{y(d):.1f}' r='2.5' "
                        "fill='currentColor' fill-opacity='0.7'/>"
                    )
            parts.append(
                f"<text x='{cx}' y='{h - 10}' text-anchor='middle' fill='currentColor'>"
                f"{html.escape(name)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _comparison_table(c: AblationComparison, n_examples: int) -> str:
    """The comparison's numbers; the Δ ICL column only where it was measured."""
    heads = ", ".join(f"L{l}H{h}" for l, h in c.heads)
    m_icl, sd_icl = c.random_icl
    m_rep, sd_rep = c.random_repeated_loss

    def pm(m: float, sd: float) -> str:
        if not math.isfinite(m):
            return "not measured"
        return _fmt(m) if len(c.draws) < 2 else f"{_fmt(m)} ± {sd:.3f}"

    icl = math.isfinite(c.icl_change)
    plural = "s" if len(c.draws) != 1 else ""
    spread = " (mean ± sd)" if len(c.draws) > 1 else ""
    return (
        "<table class='iw-report iw-ablation-table'><thead><tr><th>ablated</th>"
        + ("<th>Δ ICL score</th>" if icl else "")
        + f"<th>Δ loss on repeated tokens ({n_examples} sequences)</th></tr></thead><tbody>"
        f"<tr><td style='text-align:left'>{len(c.heads)} strict induction heads: "
        f"{html.escape(heads)}</td>"
        + (f"<td>{_fmt(c.icl_change)}</td>" if icl else "")
        + f"<td>{_fmt(c.repeated_loss_change)}</td></tr>"
        f"<tr><td style='text-align:left'>{len(c.draws)} random set{plural} of {len(c.heads)} "
        f"other heads{spread}</td>"
        + (f"<td>{pm(m_icl, sd_icl)}</td>" if icl else "")
        + f"<td>{pm(m_rep, sd_rep)}</td></tr></tbody></table>"
    )


def beyond_blocks(model: Any, scores: HeadScores) -> list[Any]:
    """The report's sections beyond Argument 4 (docs/beyond.md), as page blocks.

    * **ICL score** (:func:`icl_score`) and its loss curve (``LossCurve``): the tiny model on 32
      contexts of its own training distribution (201 tokens, indices 20 and 200, as in
      docs/beyond.md, which uses 256); other models on corpus contexts — 16 for a model with at most
      :data:`FULL_MEASURES_HEADS` heads, else 2, averaged over index ± 10 where 500 fits.
    * **Ablation** (mean ablation, head means over the first 128 tokens of those contexts): the
      strict induction heads together vs 3 random sets of as many other heads
      (2 on a large one; :func:`ablation_comparison`), Δ loss on repeated tokens (10 sequences, 5
      on a large model), and Δ ICL score on a small model
      (on a large one each ICL measurement costs as much as the rest of the section; not
      measured). On a small model also each head alone (:func:`ablation_scores`), shown as the
      head map coloured by ΔICL.
    * **Partners** of the top induction head (``PartnerBars``).
    * **Phase change** (``PhaseChangeCurves``) over the shipped checkpoints, tiny model only.
    """
    info = model_info(model)
    small = info.n_layers * info.n_heads <= FULL_MEASURES_HEADS
    tiny = _is_tiny(model)
    window = 0
    if tiny:
        contexts = copy_task_tokens(model, 32, n_tokens=201, seed=1)
        source = "32 sequences of its own training distribution (the first 201 tokens)"
    else:
        n = 16 if small else 2
        contexts = corpus_contexts(model, n, seed=0)
        window = 10 if contexts.shape[1] >= 512 else 0
        source = (
            f"{n} windows of {contexts.shape[1]} tokens of the shipped corpus (The Devil's "
            "Dictionary)" + (", losses averaged over index ± 10" if window else "")
        )
    icl = icl_score(model, contexts, window=window, progress=False)
    blocks: list[Any] = [
        "<h2 id='beyond'>Beyond Argument 4</h2>",
        "<p>Whether induction heads matter and how they work (docs/beyond.md has the definitions, "
        "the measured figures and the commands that reproduce them).</p>",
        "<h3>In-context learning score</h3>",
        f"<p class='iw-beyond-icl'>ICL score = mean loss at token index {icl.late} − at index "
        f"{icl.early} = <b>{_fmt(icl.score)} ± {icl.sem:.3f}</b> (standard error) over {source}. "
        "A negative score means later tokens are predicted better: the model uses its context."
        + (
            " Two contexts are few: this shows the curve, not a measurement "
            "(docs/beyond.md measures all 186)."
            if not small and not tiny
            else ""
        )
        + "</p>",
        static_spec(
            ViewSpec("loss_curve", loss_curve_state(icl, title="loss against token index"))
        ),
    ]

    # ablation: induction heads vs random heads, and per head on a small model
    heads = scores.induction_heads()
    means = head_means(model, contexts[:, :128])
    rep_examples = 10 if small else 5
    blocks.append("<h3>Ablation: strict induction heads vs random heads</h3>")
    if not heads:
        blocks.append("<p>No head passes the strict induction-head verdict: nothing to ablate.</p>")
    else:
        c = ablation_comparison(
            model,
            heads,
            kind="mean",
            tokens=contexts if small else None,
            n_draws=3 if small else 2,
            window=window,
            means=means,
            n_examples=rep_examples,
        )
        measures = [("repeated_loss", "Δ loss on repeated tokens")]
        if small:
            measures.insert(0, ("icl", "Δ ICL score"))
        blocks += [
            "<p>Each head's output <code>z</code> replaced by its mean over the first 128 tokens "
            f"of the contexts above (mean ablation); all {len(heads)} strict induction heads "
            f"at once, then {len(c.draws)} random set{'s' if len(c.draws) != 1 else ''} of as "
            "many other heads (seed 0"
            + ("; only one set of other heads exists" if len(c.draws) == 1 else "")
            + (
                "; in this 2-layer model the other heads are layer 0's, among them the "
                "previous-token heads, half of the induction circuit — docs/beyond.md"
                if tiny
                else ""
            )
            + "). Δ = ablated − clean: a positive Δ loss or Δ ICL score "
            "means the model does worse without the heads. Loss on repeated tokens: the second "
            f"half of BOS A A, {rep_examples} sequences of 25 random tokens."
            + (
                ""
                if small
                else f" Δ ICL score not measured here ({info.n_layers * info.n_heads} heads: "
                "each measurement costs as much as this whole section; "
                "<code>iw.ablation_scores(model)</code> measures it)."
            )
            + "</p>",
            _comparison_svg(c, measures),
            _comparison_table(c, rep_examples),
        ]
    if small:
        abl = ablation_scores(
            model,
            contexts,
            compare=False,
            window=window,
            means=means,
            progress=False,
        )
        blocks += [
            "<p>Each head ablated alone: the head map coloured by ΔICL = ICL(ablated) − "
            f"ICL(clean) on the same {contexts.shape[0]} contexts (blue: the ICL score rises "
            "without the head, i.e. less in-context learning; orange: it falls). Hover a head for "
            "its value ± standard error; the table sorts by the ΔICL column.</p>",
            static_spec(
                ViewSpec(
                    "head_map",
                    head_map_state(
                        scores,
                        score=ABLATION_SCORE,
                        selected_head=scores.default_head(),
                        title="ΔICL (ablation)",
                        ablation=abl,
                    ),
                )
            ),
        ]
    else:
        blocks.append(
            f"<p>Per-head ΔICL (the head map's ΔICL colouring) is not computed for this model: "
            f"{info.n_layers} layers × {info.n_heads} heads, one pass of every context per head. "
            "<code>iw.ablation_scores(model, layers=[…])</code> measures chosen layers; "
            "<code>iw.HeadMap(scores, ablation=…)</code> shows them.</p>"
        )

    # the previous-token partners of the top induction head
    top = scores.default_head()
    if heads:
        why = "the first strict induction head (highest prefix matching)"
    else:
        why = "no strict induction head: the highest prefix-matching head"
    blocks.append(f"<h3>Previous-token partners of L{top[0]}H{top[1]}</h3>")
    if top[0] == 0:
        blocks.append("<p>The head is in layer 0: no earlier heads to compose with.</p>")
    else:
        partners = previous_token_partners(
            model, *top, previous_token=scores.previous_token.float()
        )
        best = partners.ranked[0]
        blocks += [
            f"<p>L{top[0]}H{top[1]} is {why}. Its earlier heads ranked by K-composition "
            "(how much of a head's output lands where this head's keys read; TransformerLens's "
            "composition score), each with its previous-token score beside it: a previous-token "
            f"partner scores high on both. Top: L{best.layer}H{best.head} (K-composition "
            f"{best.k_composition:.3f}, previous token {best.previous_token:.2f}).</p>",
            static_spec(ViewSpec("partners", partners_state(partners, top=12))),
        ]

    # the phase change: the tiny model's shipped checkpoints only
    blocks.append("<h3>The phase change</h3>")
    if tiny:
        saved = [s for s, _ in load_tiny_checkpoints()]
        steps, n_saved = _phase_steps(saved), len(saved)
        icl_tokens = copy_task_tokens(model, 32, n_tokens=56, length=64)
        cs = checkpoint_scores(
            "tiny", steps=steps, icl_tokens=icl_tokens, n_examples=5, progress=False
        )
        before, after = cs.jump()
        blocks += [
            f"<p>{len(steps)} of the {n_saved} shipped checkpoints of the tiny model's training run "
            f"(steps {', '.join(map(str, steps))}; docs/beyond.md scores all of them): the best "
            "head's prefix matching, "
            "copying and previous-token scores (5 sequences of BOS + 25 random tokens × 2) and "
            f"the ICL score (32 training sequences, indices {cs.early} and {cs.late}) against "
            f"training step. The largest rise of prefix matching: steps {before} → {after}.</p>",
            static_spec(ViewSpec("phase_change", phase_change_state(cs))),
        ]
    else:
        blocks.append(
            "<p>No training checkpoints for this model: the phase-change view needs checkpoints "
            "(<code>iw.checkpoint_scores([...])</code>); the report shows it for the tiny model.</p>"
        )
    return blocks
