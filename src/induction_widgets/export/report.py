"""``iw.report``: one offline page in the spirit of the paper's Argument 4.

The head table and map, then literal copying, translation and pattern matching, each on the head
that does it most on the text shown (:mod:`induction_widgets.compute.choose`), with the runner-ups,
one line saying why, its token view and matrix. Then (``beyond=True``, the default) the measures
beyond Argument 4 (docs/beyond.md): the ICL score with its loss curve, the strict induction heads
ablated against random heads, the head map coloured by each head's ΔICL (exact ablation on a
small model, attribution patching on a large one), the previous-token partners of the top
induction head and, for the tiny model, the phase change over its shipped checkpoints. On a large
model the comparison measures the repeated-token loss only, said on the page.
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
from ..compute.icl import MIN_CONTEXTS
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
REPORT_CONTEXTS = 24
"""Corpus contexts of the ICL score on a model with more heads than FULL_MEASURES_HEADS: the
defaults of :func:`icl_score` (24 windows, seed 0), so the page prints ``iw.icl_score(model)``."""
ATTRIBUTION_CONTEXTS = MIN_CONTEXTS
"""Corpus contexts (seed 0) of the head means and the per-head attribution patching on such a
model: the setting docs/beyond.md validates against exact ablation (:data:`ATTRIBUTION_VALIDATION`);
each context costs a forward and a backward pass of every token."""
ATTRIBUTION_VALIDATION = (
    "against exact ablation on SmolLM2 (the 36 heads of layers 18, 20, 22 and 23, which hold all 9 "
    "strict induction heads; the same 8 contexts): Spearman +0.948, top-10 overlap 9/10, sign "
    "agreement 94%, every miss within one standard error of the exact value. It misses effects "
    "that are far from linear: on the tiny model (Spearman +0.74) the two previous-token-side "
    "heads whose ablation kills in-context learning are estimated at 3–12% of their effect (the "
    "induction heads' patterns change a lot and the loss responds to that change non-linearly; "
    "measured, not a saturated softmax)"
)
"""The recorded validation of attribution patching (docs/beyond.md, "Attribution patching"), as the
report cites it beside the map."""
REPORT_DRAWS = 20
"""Random head sets of the report's ablation comparison."""


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
    """An inline SVG strip plot: per measure, every random draw's change as a dot (jittered
    sideways, seeded) and the induction set's change as a red bar across the strip, with 0 marked.
    ``measures``: ``(field, label)``, field ``"icl"`` or ``"repeated_loss"``."""
    panel_w, h, top, bottom = 280, 200, 40, 34
    width = panel_w * len(measures)
    parts = [
        f"<svg class='iw-ablation-figure' xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{h}' viewBox='0 0 {width} {h}' role='img' aria-label='ablation: induction heads "
        "vs every random head set' style='font:11px system-ui,sans-serif'>"
    ]
    for p, (fld, label) in enumerate(measures):
        ours = getattr(c, f"{fld}_change")
        draws = getattr(c, f"random_{fld}_changes")
        finite = [v for v in [ours, *draws, 0.0] if math.isfinite(v)]
        lo, hi = min(finite), max(finite)
        if hi - lo < 1e-9:
            hi, lo = hi + 1, lo - 1
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
        x0 = p * panel_w

        def y(v: float, lo: float = lo, hi: float = hi) -> float:
            return top + (hi - v) / (hi - lo) * (h - top - bottom)

        cx = x0 + panel_w / 2
        parts.append(
            f"<text x='{cx}' y='14' text-anchor='middle' font-weight='600'>"
            f"{html.escape(label)}</text>"
            f"<line x1='{x0 + 30}' x2='{x0 + panel_w - 20}' y1='{y(0):.1f}' y2='{y(0):.1f}' "
            "stroke='currentColor' stroke-opacity='0.4' stroke-dasharray='3 3'/>"
            f"<text x='{x0 + 26}' y='{y(0) + 4:.1f}' text-anchor='end' fill='currentColor'>0</text>"
        )
        for i, d in enumerate(draws):
            if math.isfinite(d):
                jitter = ((i * 0.618034) % 1.0 - 0.5) * 70
                parts.append(
                    f"<circle class='iw-draw' data-measure='{fld}' data-value='{d:.6g}' "
                    f"cx='{cx + jitter:.1f}' cy='{y(d):.1f}' r='3' fill='#7f7f7f' "
                    "fill-opacity='0.75'/>"
                )
        if math.isfinite(ours):
            parts.append(
                f"<line class='iw-bar-induction' data-measure='{fld}' data-value='{ours:.6g}' "
                f"x1='{cx - 55}' x2='{cx + 55}' y1='{y(ours):.1f}' y2='{y(ours):.1f}' "
                "stroke='#d62728' stroke-width='3'/>"
                f"<text x='{cx + 58}' y='{y(ours) + 4:.1f}' fill='#d62728'>"
                f"{html.escape(_fmt(ours))}</text>"
            )
        else:
            parts.append(
                f"<text x='{cx}' y='{y(0) - 6:.1f}' text-anchor='middle' "
                "fill='currentColor'>not measured</text>"
            )
        parts.append(
            f"<text x='{cx}' y='{h - 10}' text-anchor='middle' fill='currentColor'>"
            f"red: {len(c.heads)} induction heads; dots: {len(draws)} random sets</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _comparison_table(c: AblationComparison, n_examples: int) -> str:
    """The comparison's numbers: per measure the induction set's change, the random draws' mean ±
    sd, the z-score and the fraction of draws it beats; the Δ ICL column only where measured."""
    heads = ", ".join(f"L{l}H{h}" for l, h in c.heads)
    rows = [("repeated_loss", f"Δ loss on repeated tokens ({n_examples} sequences)")]
    if math.isfinite(c.icl_change):
        rows.insert(0, ("icl", "Δ ICL score"))
    body = []
    for fld, label in rows:
        ours = getattr(c, f"{fld}_change")
        mean, sd = getattr(c, f"random_{fld}")
        z, beats, pval = c.z_score(fld), c.beats(fld), c.p_value(fld)
        body.append(
            f"<tr><td style='text-align:left'>{html.escape(label)}</td><td>{_fmt(ours)}</td>"
            f"<td>{_fmt(mean)} ± {sd:.3f}</td>"
            f"<td>{'n/a' if not math.isfinite(z) else f'{z:+.1f}'.replace('-', '−')}</td>"
            f"<td>{'n/a' if not math.isfinite(beats) else f'{beats:.0%}'} "
            f"(p = {'n/a' if not math.isfinite(pval) else f'{pval:.2g}'})</td></tr>"
        )
    return (
        f"<p>Induction set: {html.escape(heads)}; {len(c.draws)} random sets of "
        f"{len(c.heads)} other heads.</p>"
        "<table class='iw-report iw-ablation-table'><thead><tr><th>measure</th>"
        "<th>induction heads</th><th>random sets (mean ± sd)</th><th>z-score</th>"
        "<th>random sets beaten (empirical p)</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _measured(score: float, sem: float, n: int) -> bool:
    """A figure worth printing as a measurement: enough contexts and a standard error at most half
    its size (else pages say so in words)."""
    return n >= MIN_CONTEXTS and math.isfinite(sem) and sem <= abs(score) / 2


def beyond_blocks(model: Any, scores: HeadScores) -> list[Any]:
    """The report's sections beyond Argument 4 (docs/beyond.md), as page blocks.

    * **ICL score** (:func:`icl_score`) and its loss curve (``LossCurve``): the tiny model on 32
      contexts of its own training distribution (201 tokens, indices 20 and 200, as in
      docs/beyond.md, which uses 256); other models on Austen corpus contexts — 16 for a model
      with at most :data:`FULL_MEASURES_HEADS` heads, else :data:`REPORT_CONTEXTS` (24, the
      defaults of :func:`icl_score`), averaged over index ± 10 where 500 fits. The score is
      printed in bold only when it is a measurement (at least ``MIN_CONTEXTS`` contexts and a
      standard error at most half its size); otherwise the page says it is not resolved.
    * **Ablation** (mean ablation, head means over the first 128 tokens of those contexts, on a
      large model of :data:`ATTRIBUTION_CONTEXTS` (8) of them, seed 0): the
      strict induction heads together vs :data:`REPORT_DRAWS` (20) random sets of as many other
      heads (:func:`ablation_comparison`, every set measured in shared passes), Δ loss on repeated
      tokens (10 sequences, 5 on a large model) and Δ ICL score on a small model, each with the
      induction set's z-score and the share of random sets it beats; the figure shows every draw.
      Per head: exact ablation on a small model, attribution patching on a large one
      (``ablation_scores(method="attribution")`` on the :data:`ATTRIBUTION_CONTEXTS` contexts, the
      setting docs/beyond.md validates), shown as the head map coloured by ΔICL, the method and
      its validation figure (:data:`ATTRIBUTION_VALIDATION`) named. On SmolLM2 the section took
      116 s on this project's 2 shared cores at load ≈ 3 (docs/beyond.md, "The SmolLM2 report").
    * **Partners** of the top induction head (``PartnerBars``).
    * **Phase change** (``PhaseChangeCurves``) over the shipped checkpoints, tiny model only.
    """
    info = model_info(model)
    small = info.n_layers * info.n_heads <= FULL_MEASURES_HEADS
    tiny = _is_tiny(model)
    window = 0
    abl_contexts: torch.Tensor | None = None
    if tiny:
        contexts = copy_task_tokens(model, 32, n_tokens=201, seed=1)
        source = "32 sequences of its own training distribution (the first 201 tokens)"
    else:
        n = 16 if small else REPORT_CONTEXTS
        contexts = corpus_contexts(model, n, seed=0)
        if not small:  # the per-head attribution and the head means: the validated subset
            abl_contexts = corpus_contexts(model, ATTRIBUTION_CONTEXTS, seed=0)
        window = 10 if contexts.shape[1] >= 512 else 0
        source = (
            f"{n} windows of {contexts.shape[1]} tokens of the shipped corpus (three Jane Austen "
            "novels)" + (", losses averaged over index ± 10" if window else "")
        )
    icl = icl_score(model, contexts, window=window, progress=False)
    if abl_contexts is None:
        abl_contexts = contexts
    if _measured(icl.score, icl.sem, icl.n_contexts):
        verdict = (
            f"ICL score = mean loss at token index {icl.late} − at index {icl.early} = "
            f"<b>{_fmt(icl.score)} ± {icl.sem:.3f}</b> (standard error) over {source}. "
            + (
                "Negative: later tokens are predicted better, the model uses its context."
                if icl.score < 0
                else "Positive: later tokens are predicted worse on these contexts."
            )
        )
    else:
        verdict = (
            f"ICL score over {source}: not resolved here ({_fmt(icl.score)} ± {icl.sem:.3f}, "
            f"{icl.n_contexts} contexts: the standard error is more than half the score, or "
            f"fewer than {MIN_CONTEXTS} contexts). docs/beyond.md measures it on more contexts."
        )
    blocks: list[Any] = [
        "<h2 id='beyond'>Beyond Argument 4</h2>",
        "<p>Whether induction heads matter and how they work (docs/beyond.md has the definitions, "
        "the measured figures and the commands that reproduce them).</p>",
        "<h3>In-context learning score</h3>",
        f"<p class='iw-beyond-icl'>{verdict}</p>",
        static_spec(
            ViewSpec("loss_curve", loss_curve_state(icl, title="loss against token index"))
        ),
    ]

    # ablation: induction heads vs random heads, and per head on a small model
    heads = scores.induction_heads()
    means = head_means(model, abl_contexts[:, :128])
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
            n_draws=REPORT_DRAWS,
            window=window,
            means=means,
            n_examples=rep_examples,
        )
        measures = [("repeated_loss", "Δ loss on repeated tokens")]
        if small:
            measures.insert(0, ("icl", "Δ ICL score"))
        blocks += [
            "<p>Each head's output <code>z</code> replaced by its mean over the first 128 tokens "
            + (
                "of the contexts above"
                if abl_contexts is contexts
                else f"of {abl_contexts.shape[0]} of the contexts above, seed 0"
            )
            + f" (mean ablation); all {len(heads)} strict induction heads "
            f"at once, then {len(c.draws)} random set{'s' if len(c.draws) != 1 else ''} of as "
            "many other heads, every set measured (seed 0"
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
                else f" Δ ICL score of the sets not measured here ({len(c.draws) + 1} sets × "
                "the contexts would cost minutes; <code>iw.ablation_comparison(model, heads, "
                "tokens=contexts)</code> measures it in shared passes). The z-score is the "
                "induction set's distance from the random sets' mean in their standard "
                "deviations; the empirical p is (1 + sets at least as large) / (1 + sets)."
            )
            + "</p>",
            _comparison_svg(c, measures),
            _comparison_table(c, rep_examples),
        ]
    method = "exact" if small else "attribution"
    abl = ablation_scores(
        model,
        abl_contexts,
        compare=False,
        window=window,
        means=means,
        progress=False,
        method=method,
    )
    how = (
        "each head ablated alone"
        if method == "exact"
        else "each head's ablation estimated to first order by attribution patching, "
        "(μ − z) · ∂ICL/∂z at each head's output, from one forward and one backward pass over the "
        f"contexts for all {info.n_layers * info.n_heads} heads. Validated in docs/beyond.md "
        f"{ATTRIBUTION_VALIDATION}: a screen, to be confirmed with exact ablation "
        "(<code>iw.ablation_scores(model, tokens, layers=[…])</code>)"
    )
    on = (
        f"the same {abl_contexts.shape[0]} contexts"
        if abl_contexts is contexts
        else f"{abl_contexts.shape[0]} of those contexts, seed 0, the validated setting"
    )
    blocks += [
        f"<p class='iw-beyond-per-head'>Per head ({abl.method_label}): {how}. The head map is "
        f"coloured by ΔICL = ICL(ablated) − ICL(clean) on {on} (blue: the ICL score "
        "rises without the head, i.e. less in-context learning; orange: it falls). Hover a head "
        "for its value ± standard error; the table sorts by the ΔICL column.</p>",
        static_spec(
            ViewSpec(
                "head_map",
                head_map_state(
                    scores,
                    score=ABLATION_SCORE,
                    selected_head=scores.default_head(),
                    title=f"ΔICL ({'ablation' if method == 'exact' else 'attribution patching'})",
                    ablation=abl,
                ),
            )
        ),
    ]

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
