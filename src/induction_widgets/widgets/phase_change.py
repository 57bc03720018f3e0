"""``PhaseChangeView``: the induction-head scores and the ICL score along training (Argument 1)."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from ..views import ViewSpec, phase_change_state
from ._base import Exportable, static_file


class PhaseChangeView(Exportable, anywidget.AnyWidget):
    """The paper's Argument 1 figure on a run's checkpoints: the best head's prefix matching,
    copying and previous-token scores (top panel, ``max`` over ``[layer, head]`` per checkpoint)
    and the ICL score (bottom panel, ± its standard error) against training step, with the
    consecutive checkpoints between which ``jump`` changes most shaded in both panels. Hovering
    reads every series at the nearest checkpoint.

    ``checkpoint_scores``: :func:`~induction_widgets.score_checkpoints`. ``jump``:
    ``"prefix_matching"`` (default), ``"copying"``, ``"previous_token"`` or ``"icl"``.
    """

    _esm = static_file("phase_change.js")
    _kind = "phase_change"

    steps = traitlets.Dict().tag(sync=True)
    prefix_matching = traitlets.Dict().tag(sync=True)
    copying = traitlets.Dict().tag(sync=True)
    previous_token = traitlets.Dict().tag(sync=True)
    icl = traitlets.Dict().tag(sync=True)
    icl_sem = traitlets.Dict().tag(sync=True)
    series_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    jump_measure = traitlets.Unicode("prefix_matching").tag(sync=True)
    jump = traitlets.List(traitlets.Int()).tag(sync=True)
    early = traitlets.Int(0).tag(sync=True)
    late = traitlets.Int(0).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        checkpoint_scores: Any,
        *,
        jump: str = "prefix_matching",
        title: str = "",
        **kwargs: Any,
    ) -> None:
        state = phase_change_state(checkpoint_scores, jump=jump, title=title)
        self._scores = checkpoint_scores
        super().__init__(**{**state, **kwargs})

    def view_spec(self) -> ViewSpec:
        """The current state (see :func:`phase_change_state`)."""
        state = phase_change_state(self._scores, jump=self.jump_measure, title=self.title)
        return ViewSpec(self._kind, state, None, None, {"title": "PhaseChangeView"})
