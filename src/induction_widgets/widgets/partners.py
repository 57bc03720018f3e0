"""``PartnersView``: an induction head's earlier heads ranked by K-composition."""

from __future__ import annotations

from typing import Any

import anywidget
import numpy as np
import traitlets

from ..checks import as_index as _index
from ..errors import InputError
from ..views import ViewSpec, partners_state
from ._base import Exportable, static_file


class PartnersView(Exportable, anywidget.AnyWidget):
    """The earlier heads of the induction head ``partners.layer, partners.head`` as bars, highest
    K-composition ``‖W_OV^e W_QK^{iT}‖_F / (‖W_OV^e‖_F ‖W_QK^i‖_F)`` first (the ``top`` of them),
    each with its previous-token score beside it: a previous-token partner scores high on both.
    Hovering a bar names the head with both scores; clicking it sets ``selected_head``
    (``[layer, head]``), a synced trait another view can follow, e.g.::

        pv = iw.PartnersView(iw.previous_token_partners(model, 1, 1))
        ex = iw.InductionExplorer(model, text, scores=scores)
        pv.observe(lambda c: setattr(ex, "selected_head", c["new"]), "selected_head")
        # or, for views with a selected_head trait: traitlets.link((pv, "selected_head"), (hm, "selected_head"))
    """

    _esm = static_file("partners.js")
    _kind = "partners"

    k_composition = traitlets.Dict().tag(sync=True)
    previous_token = traitlets.Dict().tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    n_layers = traitlets.Int(1).tag(sync=True)
    n_heads = traitlets.Int(1).tag(sync=True)
    top = traitlets.Int(12).tag(sync=True)
    selected_head = traitlets.List(traitlets.Int()).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        partners: Any,
        *,
        top: int = 12,
        selected_head: tuple[int, int] | list[int] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        state = partners_state(partners, top=top, title=title)
        self._partners = partners
        super().__init__(**{**state, **kwargs})
        if selected_head is not None:
            self.selected_head = self._check_pair(selected_head)

    def view_spec(self) -> ViewSpec:
        """The current state: the bars and the selected head (see :func:`partners_state`)."""
        state = partners_state(
            self._partners, selected_head=self.selected_head, top=self.top, title=self.title
        )
        return ViewSpec(self._kind, state, None, None, {"title": "PartnersView"})

    @traitlets.validate("selected_head")
    def _valid_selected(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        return self._check_pair(value) if value else value

    def _check_pair(self, given: Any) -> list[int]:
        try:
            value = [_index(v) for v in given]
        except TypeError:
            value = [given]
        if (
            len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value)
            or not 0 <= value[0] < self.layer
            or not 0 <= value[1] < self.n_heads
        ):
            raise InputError(
                f"selected_head must be an earlier head [layer, head] with layer in "
                f"0..{self.layer - 1} and head in 0..{self.n_heads - 1}, got {given!r}"
            )
        return [int(v) for v in value]
