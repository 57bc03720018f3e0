"""``SweepHeatmap`` and ``SweepDepth``: views over a :class:`~induction_widgets.Sweep`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from ..views import ViewSpec
from ..views.sweep import explorer_call, sweep_depth_state, sweep_heatmap_state
from ._base import Exportable, static_file

Selection = dict[str, Any]


class _Selectable:
    """A click on a cell sets ``selected``; the widget writes the call that opens the explorer
    there into ``call`` and hands ``{"model", "revision", "layer", "head", "call"}`` to every
    ``on_select`` callback (e.g. open ``iw.InductionExplorer`` in another output)."""

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


class SweepHeatmap(_Selectable, Exportable, anywidget.AnyWidget):
    """All heads' phase change at once: rows = heads (``L0H0`` … layer-major), columns =
    checkpoints in step order, colour = the chosen measure, each head's jump (the checkpoint after
    its largest rise) marked, the best head's jump shaded; the ICL score as a strip on top.
    Clicking a cell selects ``[checkpoint, layer, head]`` and names the call that opens that
    checkpoint's explorer at that head (``on_select`` hooks get it too). See
    :mod:`induction_widgets.views.sweep` for the definitions."""

    _esm = static_file("sweep_heatmap.js")
    _kind = "sweep_heatmap"

    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    measure_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    measure = traitlets.Unicode("prefix_matching").tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    sems = traitlets.Dict().tag(sync=True)
    jumps = traitlets.Dict().tag(sync=True)
    jump = traitlets.Dict().tag(sync=True)
    steps = traitlets.Dict().tag(sync=True)
    revisions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    calls = traitlets.List(traitlets.Unicode()).tag(sync=True)
    icl = traitlets.Dict().tag(sync=True)
    icl_sem = traitlets.Dict().tag(sync=True)
    n_layers = traitlets.Int(1).tag(sync=True)
    n_heads = traitlets.Int(1).tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    call = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

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
        return ViewSpec(self._kind, state, None, None, {"title": "SweepHeatmap"})


class SweepDepth(_Selectable, Exportable, anywidget.AnyWidget):
    """Models side by side: each model's head map of one measure at a checkpoint (default its
    last), layers placed at their relative depth ``layer / (n_layers − 1)`` on a shared axis so
    that models of different depth line up. Clicking a head selects ``[model, layer, head]``."""

    _esm = static_file("sweep_depth.js")
    _kind = "sweep_depth"

    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    measure = traitlets.Unicode("prefix_matching").tag(sync=True)
    grids = traitlets.Dict().tag(sync=True)
    shapes = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    depths = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    revisions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    calls = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    call = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

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
        return ViewSpec(self._kind, state, None, None, {"title": "SweepDepth"})
