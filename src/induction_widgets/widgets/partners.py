"""``PartnerBars``: an induction head's earlier heads ranked by K-composition."""

from __future__ import annotations

from typing import Any

from ..views import ViewSpec, partners_state
from ._base import SelectsHead, ViewWidget


class PartnerBars(SelectsHead, ViewWidget, view="partners"):
    """The earlier heads of the induction head ``partners.layer, partners.head`` as bars, highest
    K-composition ``‖W_OV^e W_QK^{iT}‖_F / (‖W_OV^e‖_F ‖W_QK^i‖_F)`` first (the ``top`` of them),
    each with its previous-token score beside it: a previous-token partner scores high on both.
    Hovering a bar names the head with both scores; clicking it sets ``selected_head``
    (``[layer, head]``), a synced trait another view can follow, e.g.::

        pv = iw.PartnerBars(iw.previous_token_partners(model, 1, 1))
        ex = iw.InductionExplorer(model, text, scores=scores)
        pv.observe(lambda c: setattr(ex, "selected_head", c["new"]), "selected_head")
        # or, for views with a selected_head trait: traitlets.link((pv, "selected_head"), (hm, "selected_head"))
    """

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
            self.selected_head = selected_head

    def view_spec(self) -> ViewSpec:
        """The current state: the bars and the selected head (see :func:`partners_state`)."""
        state = partners_state(
            self._partners, selected_head=self.selected_head, top=self.top, title=self.title
        )
        return self._view_spec(state)

    def _head_grid(self) -> tuple[int | None, str]:
        """Only the heads before the induction head's layer can be selected."""
        return self.layer, "an earlier head "
