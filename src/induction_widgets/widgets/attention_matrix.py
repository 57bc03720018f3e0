"""``AttentionMatrix``: one head's ``[dst, src]`` pattern as a zoomable heatmap on a canvas."""

from __future__ import annotations

from typing import Any

import traitlets

from ..compute import HeadScores, TextActivations
from ..compute._model import check_head
from ..payload import head_payloads
from ._base import HeadWidget, static_file


class AttentionMatrix(HeadWidget):
    """The ``[dst, src]`` heatmap of one head (rows: destinations, columns: sources).

    ``mode="logit_attr"`` shows the logit attribution ``[dst, src]`` instead, on a diverging scale.
    Wheel to zoom, drag to pan, double-click to reset; the crosshair names both tokens and the value.
    A translation head shows an off-diagonal that meanders with word order.
    """

    _esm = static_file("attention_matrix.js")

    mode = traitlets.Enum(["attention", "logit_attr"], "attention").tag(sync=True)
    attention = traitlets.Dict().tag(sync=True)
    attribution = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: Any,
        text: Any,
        layer: int = 0,
        head: int = 0,
        *,
        mode: str = "attention",
        activations: TextActivations | None = None,
        scores: HeadScores | None = None,
        truncate: bool = False,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        acts = (
            activations
            if activations is not None
            else TextActivations(model, text, truncate=truncate)
        )
        layer, head = check_head(acts.info, layer, head)
        self._acts = acts
        self._info = acts.info
        self._scores = scores
        payloads = head_payloads(acts, layer, head)
        super().__init__(
            tokens=acts.str_tokens,
            bos=acts.has_bos,
            n_layers=acts.info.n_layers,
            n_heads=acts.info.n_heads,
            layer=layer,
            head=head,
            mode=mode,
            title=title,
            attention=payloads["attention"],
            attribution=payloads["attribution"],
            **kwargs,
        )

    @property
    def activations(self) -> TextActivations:
        """The cached activations behind this view (shared with linked views)."""
        return self._acts

    @traitlets.observe("layer", "head")
    def _head_changed(self, change: dict[str, Any]) -> None:
        try:
            payloads = head_payloads(self._acts, self.layer, self.head)
        except Exception as exc:
            self.message = f"cannot show L{self.layer}H{self.head}: {exc}"
            return
        with self.hold_sync():
            self.set_trait("message", "")
            self.set_trait("attention", payloads["attention"])
            self.set_trait("attribution", payloads["attribution"])
