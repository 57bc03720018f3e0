"""``iw.report``: one offline page in the spirit of the paper's Argument 4.

The head table and map, then literal copying, translation and pattern matching, each on the head
that does it most on the text shown (:mod:`induction_widgets.compute.choose`), with the runner-ups,
one line saying why, its token view and matrix.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..compute import (
    HeadScores,
    InputError,
    TextActivations,
    copying_text,
    head_scores,
    model_info,
    pattern_matching_problem,
    pattern_matching_score,
    pattern_matching_text,
    translation_text,
)
from ..compute._model import check_head
from ..compute.choose import (
    HeadChoice,
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    repeat_start,
)
from ..compute.tasks import _check_int
from ..views import (
    ViewSpec,
    attention_matrix_state,
    check_scores,
    head_map_state,
    output_path,
    page,
    static_spec,
    token_view_state,
    verdict_scatter_state,
)

SECTIONS = ("copying", "translation", "pattern_matching")


def _top_head(scores: HeadScores) -> tuple[int, int]:
    """The head the map opens on: the highest prefix-matching score (as ``HeadMap`` does)."""
    best = scores.top(1, by="prefix_matching")[0]
    return (best.layer, best.head)


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
) -> Path:
    """Write the report page for ``model`` to ``path`` and return it.

    ``texts`` may override ``"copying"``, ``"translation"`` and ``"pattern_matching"``; ``heads`` may
    fix the head shown for each (default: chosen from the scores as described on the page).
    """
    info = model_info(model)
    n_problems = _check_int("n_problems", n_problems, 1)
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
    steps = tqdm(total=5, desc="report", disable=not progress, leave=False)
    if scores is None:
        scores = head_scores(model, progress=False)
    steps.update(1)
    n_lines = _lines_that_fit(model, 30)
    if scores.pattern_matching is None:  # a copy: the caller's scores are left as they were
        scores = dataclasses.replace(
            scores,
            pattern_matching=pattern_matching_score(
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
        static_spec(ViewSpec("head_map", head_map_state(scores, selected_head=_top_head(scores)))),
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
