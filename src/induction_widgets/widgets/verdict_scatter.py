"""``VerdictScatter``: the strict-definition verdict as a picture — every head a point."""

from __future__ import annotations

from typing import Any

import traitlets

from ..checks import check_head_pair as _head_pair
from ..compute import HeadScores
from ..errors import InputError
from ..views import ViewSpec, verdict_scatter_state
from ._base import HeadScoresWidget, static_file


class ScatterAxesTraits(traitlets.HasTraits):
    """The verdict scatter's axes (:func:`~induction_widgets.views.verdict_scatter_state`): the
    threshold lines, the measures' names and ranges; shared by :class:`VerdictScatter` and the
    explorer, which draws the same scatter."""

    x_threshold = traitlets.Float(0.0).tag(sync=True)
    y_threshold = traitlets.Float(0.0).tag(sync=True)
    x_name = traitlets.Unicode("prefix_matching").tag(sync=True)
    y_name = traitlets.Unicode("").tag(sync=True)
    x_range = traitlets.List(traitlets.Float()).tag(sync=True)
    y_range = traitlets.List(traitlets.Float()).tag(sync=True)


class VerdictScatter(ScatterAxesTraits, HeadScoresWidget):
    """Every head as a point: prefix matching (x) against the copying measure the verdict uses
    (y, default copying rank), the two thresholds drawn as lines (heads right of and above both are
    the "induction head" verdicts), points coloured by layer depth ``layer / (n_layers − 1)``.
    Hovering a point names the head with its scores; clicking it sets ``selected_head``.

    ``measure``: the y measure (``None`` = the verdict's; see
    :func:`~induction_widgets.compute.verdict_scatter`).
    """

    _esm = static_file("verdict_scatter.js")
    _kind = "verdict_scatter"

    x = traitlets.Dict().tag(sync=True)
    y = traitlets.Dict().tag(sync=True)
    depth = traitlets.Dict().tag(sync=True)
    verdicts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

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
        pair = [] if selected_head is None else _head_pair(selected_head, scores)
        super().__init__(
            **{
                **verdict_scatter_state(scores, measure=measure, selected_head=pair, title=title),
                **kwargs,
            }
        )

    def view_spec(self) -> ViewSpec:
        """The current state: the points and the selected head (see :func:`verdict_scatter_state`)."""
        state = verdict_scatter_state(
            self._head_scores,
            measure=self._measure,
            selected_head=self.selected_head,
            title=self.title,
        )
        return ViewSpec(self._kind, state, None, self._head_scores, {"title": "VerdictScatter"})
