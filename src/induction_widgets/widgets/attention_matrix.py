"""``AttentionMatrix``: one head's ``[dst, src]`` pattern as a zoomable heatmap on a canvas."""

from __future__ import annotations

from typing import Any

from ..checks import check_choice, check_head
from ..compute import HeadScores, TextActivations
from ..views import ViewSpec, attention_matrix_state
from ._base import HeadWidget, check_layer_head


class AttentionMatrix(HeadWidget, view="attention_matrix"):
    """The ``[dst, src]`` heatmap of one head (rows: destinations, columns: sources).

    ``mode="logit_attr"`` shows the logit attribution ``[dst, src]`` instead, on a diverging scale.
    Wheel to zoom, drag to pan, double-click to reset; the crosshair names both tokens and the value.
    A translation head shows an off-diagonal that meanders with word order. ``sink_scale`` as in
    :class:`TokenView`: "auto" leaves a head's attention sink out of the colour scale (rows
    renormalised over the other sources) when it holds ≥ 0.3 of the rows' attention on average.
    ``palette``: the diverging map's colours, ``"paper"`` or ``"colorblind"`` (docs/figures.md).

    With neither ``layer`` nor ``head`` it opens on ``scores.default_head()`` (the strongest
    induction head) when ``scores`` are given, else on L0H0.
    """

    def __init__(
        self,
        model: Any,
        text: Any,
        layer: int | None = None,
        head: int | None = None,
        *,
        mode: str = "attention",
        sink_scale: str = "auto",
        palette: str = "paper",
        activations: TextActivations | None = None,
        scores: HeadScores | None = None,
        truncate: bool = False,
        progress: bool | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        check_choice("mode", mode, ("attention", "logit_attr"))
        check_layer_head(layer, head)
        acts = self._setup(model, text, activations, truncate, scores, progress)
        if layer is None or head is None:
            layer, head = scores.default_head() if scores is not None else (0, 0)
        layer, head = check_head(acts.info, layer, head)
        super().__init__(
            **{
                **attention_matrix_state(
                    acts,
                    layer,
                    head,
                    mode=mode,
                    title=title,
                    sink_scale=sink_scale,
                    palette=palette,
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
                palette=self.palette,
            )
        )
