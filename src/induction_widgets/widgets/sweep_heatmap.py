"""``SweepHeatmap``: every head × every checkpoint of a sweep, one measure at a time; and the
click-to-open hook both sweep views share (:class:`OnSelect`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..views import ViewSpec
from ..views.sweep_heatmap import explorer_call, sweep_heatmap_state
from ._base import ViewWidget

Selection = dict[str, Any]


class OnSelect:
    """A click on a cell sets ``selected``; the widget writes the call that opens the explorer
    there into ``call`` and hands ``{"model", "revision", "layer", "head", "call"}`` to every
    ``on_select`` callback (e.g. to open ``iw.InductionExplorer`` in another output)."""

    _callbacks: list[Callable[[Selection], Any]]

    def on_select(self, callback: Callable[[Selection], Any], *, remove: bool = False) -> None:
        """Call ``callback(selection)`` on every click of a cell (``remove=True`` to stop)."""
        if remove:
            self._callbacks = [c for c in self._callbacks if c is not callback]
        else:
            self._callbacks = [*self._callbacks, callback]

    def _selection(self, value: list[int]) -> Selection | None:
        raise NotImplementedError

    def _on_selected(self, change: dict[str, Any]) -> None:
        sel = self._selection(list(change["new"]))
        self.call = "" if sel is None else sel["call"]  # type: ignore[attr-defined]
        if sel is not None:
            for cb in list(self._callbacks):
                cb(sel)


class SweepHeatmap(OnSelect, ViewWidget, view="sweep_heatmap"):
    """All heads' phase change at once: rows = heads (``L0H0`` … layer-major), columns =
    checkpoints in step order, colour = the chosen measure, each head's jump (the checkpoint after
    its largest rise) outlined, the best head's jump shaded; the ICL score as a strip on top.
    Clicking a cell selects ``[checkpoint, layer, head]`` and names the call that opens that
    checkpoint's explorer at that head (``on_select`` hooks get it too). Definitions:
    :mod:`induction_widgets.views.sweep_heatmap`, docs/sweeps.md."""

    def __init__(
        self,
        sweep: Any,
        *,
        model: str | None = None,
        measure: str = "prefix_matching",
        title: str = "",
        **kwargs: Any,
    ) -> None:
        state = sweep_heatmap_state(sweep, model=model, measure=measure, title=title)
        self._sweep = sweep
        self._callbacks = []
        super().__init__(**{**state, **kwargs})
        self.observe(self._on_selected, names="selected")

    def _selection(self, value: list[int]) -> Selection | None:
        if len(value) != 3:
            return None
        i, layer, head = value
        rev = self.revisions[i] or None
        return {
            "model": self.model,
            "revision": rev,
            "layer": layer,
            "head": head,
            "call": explorer_call(self.model, rev, layer, head),
        }

    def view_spec(self) -> ViewSpec:
        state = sweep_heatmap_state(
            self._sweep, model=self.model, measure=self.measure, title=self.title
        )
        return self._view_spec(state)
