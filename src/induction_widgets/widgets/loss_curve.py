"""``LossCurve``: the per-token loss against token index, with the two indices the ICL score reads."""

from __future__ import annotations

from typing import Any

from ..views import ViewSpec, loss_curve_state
from ._base import ViewWidget


class LossCurve(ViewWidget, view="loss_curve"):
    """Mean loss per token index ``L[i]`` (y, nats) against ``i`` on a log x axis, with dashed
    marks at the indices the ICL score reads (the paper's 50 and 500, or for short contexts the
    1 : 10 pair that fits, said under the plot) and the score ``L[late] − L[early]`` ± its
    standard error in the title. Hovering reads the loss at the nearest index.

    ``result``: :func:`~induction_widgets.icl_score` (with ``curve=True``, its default) or a
    :func:`~induction_widgets.per_token_loss` tensor ``[batch, pos]``.
    """

    def __init__(self, result: Any, *, title: str = "", **kwargs: Any) -> None:
        state = loss_curve_state(result, title=title)
        self._result = result
        super().__init__(**{**state, **kwargs})

    def view_spec(self) -> ViewSpec:
        """The current state (see :func:`loss_curve_state`)."""
        state = loss_curve_state(self._result, title=self.title)
        return self._view_spec(state)
