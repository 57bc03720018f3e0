"""``LossCurve``: the per-token loss against token index, with the two indices the ICL score reads."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from ..views import ViewSpec, loss_curve_state
from ._base import Exportable, static_file


class LossCurve(Exportable, anywidget.AnyWidget):
    """Mean loss per token index ``L[i]`` (y, nats) against ``i`` on a log x axis, with dashed
    marks at the indices the ICL score reads (the paper's 50 and 500, or for short contexts the
    1 : 10 pair that fits, said under the plot) and the score ``L[late] − L[early]`` ± its
    standard error in the title. Hovering reads the loss at the nearest index.

    ``result``: :func:`~induction_widgets.icl_score` (with ``curve=True``, its default) or a
    :func:`~induction_widgets.per_token_loss` tensor ``[batch, pos]``.
    """

    _esm = static_file("loss_curve.js")
    _kind = "loss_curve"

    loss = traitlets.Dict().tag(sync=True)
    early = traitlets.Int(50).tag(sync=True)
    late = traitlets.Int(500).tag(sync=True)
    score = traitlets.Float(None, allow_none=True).tag(sync=True)
    sem = traitlets.Float(None, allow_none=True).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    window = traitlets.Int(0).tag(sync=True)
    n_contexts = traitlets.Int(0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, result: Any, *, title: str = "", **kwargs: Any) -> None:
        state = loss_curve_state(result, title=title)
        self._result = result
        super().__init__(**{**state, **kwargs})

    def view_spec(self) -> ViewSpec:
        """The current state (see :func:`loss_curve_state`)."""
        state = loss_curve_state(self._result, title=self.title)
        return ViewSpec(self._kind, state, None, None, {"title": "LossCurve"})
