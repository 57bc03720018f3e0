"""``SweepDepthMaps``: the models of a sweep side by side, their head maps aligned by relative depth."""

from __future__ import annotations

from typing import Any

from ..views import ViewSpec
from ..views.sweep_depth import sweep_depth_state
from ..views.sweep_heatmap import explorer_call
from ._base import ViewWidget
from .sweep_heatmap import OnSelect, Selection


class SweepDepthMaps(OnSelect, ViewWidget, view="sweep_depth"):
    """Models side by side: each model's head map of one measure at a checkpoint (default its
    last; ``revisions={model: revision}``), layers placed at their relative depth
    ``layer / (n_layers − 1)`` on one axis so that models of different depth line up. Clicking a
    head selects ``[model, layer, head]`` and names the call that opens its explorer."""

    def __init__(
        self,
        sweep: Any,
        *,
        measure: str = "prefix_matching",
        revisions: dict[str, str] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        self._sweep = sweep
        self._revisions = revisions
        self._callbacks = []
        state = sweep_depth_state(sweep, measure=measure, revisions=revisions, title=title)
        super().__init__(**{**state, **kwargs})
        self.observe(self._on_selected, names="selected")

    def _selection(self, value: list[int]) -> Selection | None:
        if len(value) != 3:
            return None
        m, layer, head = value
        rev = self.revisions[m] or None
        model = self.models[m]
        return {
            "model": model,
            "revision": rev,
            "layer": layer,
            "head": head,
            "call": explorer_call(model, rev, layer, head),
        }

    def view_spec(self) -> ViewSpec:
        state = sweep_depth_state(
            self._sweep, measure=self.measure, revisions=self._revisions, title=self.title
        )
        return self._view_spec(state)
