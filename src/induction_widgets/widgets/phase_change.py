"""``PhaseChangeCurves``: the induction-head scores and the ICL score along training (Argument 1)."""

from __future__ import annotations

from typing import Any

from ..views import ViewSpec, phase_change_state
from ._base import ViewWidget


class PhaseChangeCurves(ViewWidget, view="phase_change"):
    """The paper's Argument 1 figure on a run's checkpoints: the best head's prefix matching,
    copying and previous-token scores (top panel, ``max`` over ``[layer, head]`` per checkpoint)
    and the ICL score (bottom panel, ± its standard error) against training step, with the
    consecutive checkpoints between which ``jump`` changes most shaded in both panels. Hovering
    reads every series at the nearest checkpoint.

    ``checkpoint_scores``: :func:`~induction_widgets.checkpoint_scores`. ``jump``:
    ``"prefix_matching"`` (default), ``"copying"``, ``"previous_token"`` or ``"icl"``.
    """

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
        return self._view_spec(state)
