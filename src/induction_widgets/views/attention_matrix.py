"""The attention matrix (``AttentionMatrix``): one head's ``[dst, src]`` pattern (or logit
attribution) as a zoomable heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compute import TextActivations
from .common import PALETTE_TRAITS, TEXT_TRAITS, check_palette, text_state
from .declare import Enum, declare

ATTENTION_MATRIX = declare(
    "attention_matrix",
    "AttentionMatrix",
    {**TEXT_TRAITS, "mode": Enum(("attention", "logit_attr"), "attention"), **PALETTE_TRAITS},
    head_buffers=("attention", "attribution"),
    module=__name__,
)


def attention_matrix_state(
    acts: TextActivations,
    layer: int,
    head: int,
    *,
    mode: str = "attention",
    title: str = "",
    tokens: Sequence[str] | None = None,
    sink_scale: str = "auto",
    palette: str = "paper",
) -> dict[str, Any]:
    """The attention matrix's state: tokens and the head's ``[dst, src]`` attention/attribution;
    ``sink_scale``: one of :data:`~induction_widgets.views.SINK_SCALES`; ``palette``
    (:data:`~induction_widgets.views.PALETTES`): the logit attribution's diverging colours
    (attention is viridis in both)."""
    return {
        **text_state(acts, layer, head, "attention_matrix", tokens, sink_scale),
        "mode": mode,
        "title": title,
        "palette": check_palette(palette),
    }
