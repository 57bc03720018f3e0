"""``iw.report``: one offline page in the spirit of the paper's Argument 4.

The head table and map, then literal copying, translation and pattern matching, each on the head
that does it best among the model's induction-like heads, with its token view and matrix.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
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
        rows.append(
            f"<tr><td>L{r.layer}H{r.head}</td><td>{html.escape(r.depth)}</td><td>{r.copying:.2f}</td>"
            f"<td>{r.prefix_matching:.2f}</td><td>{r.previous_token:.2f}</td><td>{r.ov_copying:.2f}</td>"
            f"<td>{pm}</td><td style='text-align:left'>{html.escape(r.verdict)}</td></tr>"
        )
    return (
        "<table class='iw-report'><thead><tr><th>head</th><th>layer depth</th><th>copying</th>"
        "<th>prefix matching</th><th>previous token</th><th>OV copying</th><th>pattern matching</th>"
        "<th>verdict</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def off_diagonal_mass(
    acts: TextActivations, layer: int, head: int, line_starts: Sequence[int]
) -> float:
    """Mean attention from tokens of the second and later lines to tokens of earlier lines,
    excluding BOS and the previous token: how much a head looks back across languages."""
    pattern = acts.attention(layer, head)
    total, count = 0.0, 0
    for i in range(1, len(line_starts)):
        end = line_starts[i + 1] if i + 1 < len(line_starts) else pattern.shape[0]
        for d in range(line_starts[i], end):
            row = pattern[d, 1 : line_starts[i]].clone()
            if d - 1 < line_starts[i] and d - 1 >= 1:
                row[d - 2] = 0
            total += float(row.sum())
            count += 1
    return total / max(count, 1)


def _line_starts(tokens: list[str]) -> list[int]:
    starts = [1]
    for i, tok in enumerate(tokens):
        if "\n" in tok and i + 1 < len(tokens):
            starts.append(i + 1)
    return starts


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
    candidates = [(r.layer, r.head) for r in scores.top(10, by="prefix_matching")]

    blocks: list[Any] = [
        f"<h1>{html.escape(title or f'Induction heads in {name}')}</h1>",
        "<p>Induction heads (Olsson et al. 2022) <b>prefix-match</b> — on repeated random tokens they "
        "attend to the token right after an earlier occurrence of the current token — and <b>copy</b> — "
        "they raise the logit of the token they attend to. Scores on 10 × (BOS + 25 random tokens × 4); "
        f"{info.n_layers} layers × {info.n_heads} heads. Definitions: docs/scores.md.</p>",
        _table(scores),
        static_spec(ViewSpec("head_map", head_map_state(scores, selected_head=candidates[0]))),
    ]

    # 1. literal copying: among the top prefix-matching heads, the one that copies best
    text = texts.get("copying") or copying_text()
    layer, head = heads.get("copying") or max(
        candidates[:5], key=lambda lh: float(scores.copying[lh])
    )
    acts = TextActivations(model, text, truncate=True, progress=False)
    blocks += [
        f"<h2>Literal copying — L{layer}H{head}</h2>",
        "<p>A paragraph followed by its first sentences again. Hover the repeat: in <b>Attention</b> "
        "(red) the head looks back at the token after the earlier occurrence; in <b>Logit attr</b> "
        "(blue) that earlier token raised the logit of the current one.</p>",
        *_head_views(acts, scores, layer, head),
    ]
    steps.update(1)

    # 2. translation: the candidate head that looks back across languages most
    text = texts.get("translation") or translation_text()
    acts = TextActivations(model, text, truncate=True, progress=False)
    starts = _line_starts(acts.str_tokens)
    layer, head = heads.get("translation") or max(
        candidates, key=lambda lh: off_diagonal_mass(acts, lh[0], lh[1], starts)
    )
    blocks += [
        f"<h2>Translation — L{layer}H{head}</h2>",
        "<p>The paper's sentence in English, French and German. A translation head attends to the "
        "word that comes next in an earlier language: an off-diagonal that meanders with word order.</p>",
        *_head_views(acts, scores, layer, head),
    ]
    steps.update(1)

    # 3. pattern matching: the head with the best pattern-matching score
    text = texts.get("pattern_matching") or pattern_matching_text(min(24, n_lines), seed=0)[0]
    assert scores.pattern_matching is not None
    best = int(torch.argmax(scores.pattern_matching))
    layer, head = heads.get("pattern_matching") or (best // info.n_heads, best % info.n_heads)
    acts = TextActivations(model, text, truncate=True, progress=False)
    toks = acts.str_tokens
    outputs = [t.strip().isdigit() for t in toks]
    before = [i + 1 < len(toks) and outputs[i + 1] for i in range(len(toks))]
    pm = float(scores.pattern_matching[layer, head])
    blocks += [
        f"<h2>Pattern matching — L{layer}H{head}</h2>",
        f"<p>Lines <code>(month|color) (animal|fruit): label</code>. Attention is masked to the token "
        f"before each label as destination, logit attribution to the label outputs. This head puts "
        f"{pm:.0%} of its attention on the labels of earlier lines of the same template over "
        f"{n_problems} random problems (the paper: ~65% at 13B).</p>",
        *_head_views(acts, scores, layer, head, dst_mask=before, output_mask=outputs),
    ]
    steps.update(1)
    steps.close()
    out.write_text(
        page(blocks, title=title or f"Induction heads in {name}", links=[(0, 1), (0, 2)]),
        encoding="utf-8",
    )
    return out
