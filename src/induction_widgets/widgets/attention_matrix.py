"""``AttentionMatrix``: one head's ``[dst, src]`` pattern as a zoomable heatmap on a canvas."""

from __future__ import annotations

from typing import Any

import traitlets

from ..compute import HeadScores, TextActivations
from ..compute._model import check_head
from ..views import ViewSpec, attention_matrix_state
from ._base import HeadWidget, check_choice, static_file


class AttentionMatrix(HeadWidget):
    """The ``[dst, src]`` heatmap of one head (rows: destinations, columns: sources).

    ``mode="logit_attr"`` shows the logit attribution ``[dst, src]`` instead, on a diverging scale.
    Wheel to zoom, drag to pan, double-click to reset; the crosshair names both tokens and the value.
    A translation head shows an off-diagonal that meanders with word order. ``sink_scale`` as in
    :class:`TokenView`: "auto" leaves a head's attention sink out of the colour scale (rows
    renormalised over the other sources) when it holds ≥ 0.3 of the rows' attention on average.
    """

    _esm = static_file("attention_matrix.js")

    mode = traitlets.Enum(["attention", "logit_attr"], "attention").tag(sync=True)
    attention = traitlets.Dict()  # not synced: the browser asks for it (see HeadWidget)
    attribution = traitlets.Dict()  # not synced: the browser asks for it (see HeadWidget)
    attention_overview = traitlets.Dict()  # long texts only; not synced
    attribution_overview = traitlets.Dict()  # long texts only; not synced
    _kind = "attention_matrix"

    def __init__(
        self,
        model: Any,
        text: Any,
        layer: int = 0,
        head: int = 0,
        *,
        mode: str = "attention",
        sink_scale: str = "auto",
        activations: TextActivations | None = None,
        scores: HeadScores | None = None,
        truncate: bool = False,
        progress: bool | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        check_choice("mode", mode, ("attention", "logit_attr"))
        acts = self._setup(model, text, activations, truncate, scores, progress)
        layer, head = check_head(acts.info, layer, head)
        super().__init__(
            **{
                **attention_matrix_state(
                    acts, layer, head, mode=mode, title=title, sink_scale=sink_scale
                ),
                **kwargs,
            }
        )

    def view_spec(self) -> ViewSpec:
        """The current state: head and mode (see :func:`attention_matrix_state`)."""
        return self._spec(
            attention_matrix_state(
                self._acts,
                self.layer,
                self.head,
                mode=self.mode,
                title=self.title,
                tokens=self.tokens,
                sink_scale=self.sink_scale,
            )
        )
