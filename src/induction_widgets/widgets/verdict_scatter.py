"""``VerdictScatter``: the strict-definition verdict as a picture — every head a point."""

from __future__ import annotations

from typing import Any

from ..checks import check_head_pair
from ..compute import HeadScores
from ..errors import InputError
from ..views import ViewSpec, verdict_scatter_state
from ._base import SelectsHead, ViewWidget


class VerdictScatter(SelectsHead, ViewWidget, view="verdict_scatter"):
    """Every head as a point: prefix matching (x) against the copying measure the verdict uses
    (y, default copying rank), the two thresholds drawn as lines (heads right of and above both are
    the "induction head" verdicts), points coloured by layer depth ``layer / (n_layers − 1)``.
    Hovering a point names the head with its scores; clicking it sets ``selected_head``.

    ``measure``: the y measure (``None`` = the verdict's; see
    :func:`~induction_widgets.views.scatter_data`).
    """

    def __init__(
        self,
        scores: HeadScores,
        *,
        measure: str | None = None,
        selected_head: tuple[int, int] | list[int] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        if not isinstance(scores, HeadScores):
            raise InputError(
                "VerdictScatter needs HeadScores (from induction_widgets.head_scores(model)), "
                f"got {type(scores).__name__}"
            )
        self._head_scores = scores
        self._measure = measure
        pair = [] if selected_head is None else check_head_pair(selected_head, scores)
        super().__init__(
            **{
                **verdict_scatter_state(scores, measure=measure, selected_head=pair, title=title),
                **kwargs,
            }
        )

    @property
    def head_scores(self) -> HeadScores:
        """The scores the scatter shows."""
        return self._head_scores

    def view_spec(self) -> ViewSpec:
        """The current state: the points and the selected head (see :func:`verdict_scatter_state`)."""
        state = verdict_scatter_state(
            self._head_scores,
            measure=self._measure,
            selected_head=self.selected_head,
            title=self.title,
        )
        return self._view_spec(state, None, self._head_scores)
