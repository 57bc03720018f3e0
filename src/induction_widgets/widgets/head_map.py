"""``HeadMap``: the layer × head grid of a score, and the paper-style table of heads."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..checks import as_index as _index
from ..compute import HeadScores
from ..errors import InputError
from ..views import (
    ABLATION_SCORE,
    ViewSpec,
    ablation_state,
    check_ablation,
    check_score_name,
    head_map_state,
)
from ._base import HeadScoresWidget, register_view, static_file


class HeadMapTraits(traitlets.HasTraits):
    """The head map's synced state (:func:`~induction_widgets.views.head_map_state`), shared by
    :class:`HeadMap` and the explorer, whose map is the same."""

    scores = traitlets.Dict().tag(sync=True)
    scores_std = traitlets.Dict().tag(sync=True)  # spread over examples (head_map_state)
    scores_n = traitlets.Dict().tag(sync=True)
    score_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    score = traitlets.Unicode("prefix_matching").tag(sync=True)
    verdicts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # the per-head ablation result (views.ablation_state): ΔICL, its standard error, what it is
    ablation = traitlets.Dict().tag(sync=True)
    ablation_sd = traitlets.Dict().tag(sync=True)
    ablation_note = traitlets.Unicode("").tag(sync=True)


class HeadMap(HeadMapTraits, HeadScoresWidget):
    """Every head coloured by a chosen score, plus a sortable table (head, layer depth, copying,
    prefix matching, verdict). Clicking a head sets ``selected_head = [layer, head]``.

    ``ablation``: :func:`~induction_widgets.ablation_scores` of the same model adds the colouring
    ``score="icl_ablation"`` — "ΔICL (ablation)", ``ICL(ablated) − ICL(clean)`` per head on a
    diverging scale, heads not measured hatched — and a ΔICL column to the table::

        abl = iw.ablation_scores(model, compare=False)
        iw.HeadMap(scores, ablation=abl, score="icl_ablation")   # or hm.set_ablation(abl)
    """

    _esm = static_file("head_map.js")
    _kind = "head_map"

    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        scores: HeadScores,
        *,
        score: str = "prefix_matching",
        selected_head: tuple[int, int] | list[int] | None = None,
        title: str = "",
        ablation: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(scores, HeadScores):
            raise InputError(
                f"HeadMap needs HeadScores (from induction_widgets.head_scores(model)), got {type(scores).__name__}"
            )
        check_ablation(ablation, scores)
        check_score_name(scores, score, ablation)  # a clear error for unknown score names
        self._head_scores = scores
        self._ablation = ablation
        if selected_head is None:
            best = scores.top(1, by="prefix_matching")[0]
            selected_head = (best.layer, best.head)
        selected_head = _head_pair(selected_head, scores)
        super().__init__(
            **{
                **head_map_state(
                    scores,
                    score=score,
                    selected_head=selected_head,
                    title=title,
                    ablation=ablation,
                ),
                **kwargs,
            }
        )
        register_view(self)

    def view_spec(self) -> ViewSpec:
        """The current state: score shown and selected head (see :func:`head_map_state`)."""
        state = head_map_state(
            self._head_scores,
            score=self.score,
            selected_head=self.selected_head,
            title=self.title,
            ablation=self._ablation,
        )
        return ViewSpec(self._kind, state, None, self._head_scores, {"title": "HeadMap"})

    def set_ablation(self, ablation: Any, *, show: bool = True) -> None:
        """Show ``ablation`` (:func:`~induction_widgets.ablation_scores` of the same model, or
        ``None`` to remove it); ``show``: switch the colouring to ΔICL."""
        set_ablation(self, self._head_scores, ablation, show)

    @traitlets.validate("score")
    def _valid_score(self, proposal: dict[str, Any]) -> str:
        if hasattr(self, "_head_scores"):
            check_score_name(self._head_scores, proposal["value"], self._ablation)
        return proposal["value"]


def set_ablation(widget: Any, scores: HeadScores, ablation: Any, show: bool) -> None:
    """Check ``ablation`` against ``scores`` and set ``widget``'s ablation traits (the head map's
    and the explorer's ``set_ablation``); without one, a ΔICL colouring falls back to prefix
    matching."""
    check_ablation(ablation, scores)
    with widget.hold_trait_notifications():
        widget._ablation = ablation
        for name, value in ablation_state(ablation).items():
            setattr(widget, name, value)
        if ablation is not None and show:
            widget.score = ABLATION_SCORE
        elif ablation is None and widget.score == ABLATION_SCORE:
            widget.score = "prefix_matching"


def _head_pair(value: Any, scores: HeadScores) -> list[int]:
    """``[layer, head]`` as plain ints (numpy / 0-d tensor ints accepted), or a clear error."""
    try:
        pair = list(value)
    except TypeError:
        pair = []
    pair = [_index(v) for v in pair]
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair
    ):
        raise InputError(
            f"selected_head must be [layer, head] with layer in 0..{scores.n_layers - 1} and "
            f"head in 0..{scores.n_heads - 1}, got {value!r}"
        )
    return [int(v) for v in pair]
