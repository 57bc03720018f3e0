"""``HeadMap``: the layer × head grid of a score, and the paper-style table of heads."""

from __future__ import annotations

from typing import Any

import traitlets

from ..checks import check_head_pair
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
from ._base import SelectsHead, ViewWidget, register_view


class HeadMap(SelectsHead, ViewWidget, view="head_map"):
    """Every head coloured by a chosen score, plus a sortable table (head, layer depth, copying,
    prefix matching, verdict). Clicking a head sets ``selected_head = [layer, head]``; it opens on
    ``scores.default_head()`` (the strongest induction head) unless ``selected_head`` is given.

    ``ablation``: :func:`~induction_widgets.ablation_scores` of the same model adds the colouring
    ``score="icl_ablation"`` — "ΔICL (ablation)", ``ICL(ablated) − ICL(clean)`` per head on a
    diverging scale, heads not measured hatched — and a ΔICL column to the table::

        abl = iw.ablation_scores(model, compare=False)
        iw.HeadMap(scores, ablation=abl, score="icl_ablation")   # or hm.set_ablation(abl)

    ``palette``: the ΔICL scale's colours, ``"paper"`` or ``"colorblind"`` (docs/figures.md).
    """

    def __init__(
        self,
        scores: HeadScores,
        *,
        score: str = "prefix_matching",
        selected_head: tuple[int, int] | list[int] | None = None,
        title: str = "",
        ablation: Any = None,
        palette: str = "paper",
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
            selected_head = scores.default_head()
        pair = check_head_pair(selected_head, scores)
        super().__init__(
            **{
                **head_map_state(
                    scores,
                    score=score,
                    selected_head=pair,
                    title=title,
                    ablation=ablation,
                    palette=palette,
                ),
                **kwargs,
            }
        )
        register_view(self)

    @property
    def head_scores(self) -> HeadScores:
        """The scores the map shows."""
        return self._head_scores

    def view_spec(self) -> ViewSpec:
        """The current state: score shown and selected head (see :func:`head_map_state`)."""
        state = head_map_state(
            self._head_scores,
            score=self.score,
            selected_head=self.selected_head,
            title=self.title,
            ablation=self._ablation,
            palette=self.palette,
        )
        return self._view_spec(state, None, self._head_scores)

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
