"""The token view (``TokenView``): the text as tokens, shaded by one head's attention ``A[dst, src]``
(red) or direct-path logit attribution ``attr[dst, src]`` (blue / orange), as in the paper's
token-highlighted figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compute import TextActivations
from .common import MASK_TRAITS, PALETTE_TRAITS, TEXT_TRAITS, check_palette, masks, text_state
from .declare import Bool, Enum, Int, declare

TOKEN_VIEW_TRAITS = {
    **TEXT_TRAITS,
    "mode": Enum(("attention", "logit_attr"), "attention"),
    "selected_is": Enum(("destination", "source"), "destination"),
    "value_weighted": Bool(False),
    **MASK_TRAITS,
    "selected": Int(-1),
    **PALETTE_TRAITS,
}

TOKEN_VIEW = declare(
    "token_view",
    "TokenView",
    TOKEN_VIEW_TRAITS,
    head_buffers=("attention", "attribution", "value_norm"),
    module=__name__,
)


def token_view_state(
    acts: TextActivations,
    layer: int,
    head: int,
    *,
    mode: str = "attention",
    selected_is: str = "destination",
    value_weighted: bool = False,
    dst_mask: Sequence[bool] | None = None,
    src_mask: Sequence[bool] | None = None,
    output_mask: Sequence[bool] | None = None,
    selected: int = -1,
    title: str = "",
    tokens: Sequence[str] | None = None,
    sink_scale: str = "auto",
    palette: str = "paper",
    kind: str = "token_view",
) -> dict[str, Any]:
    """The token view's state: tokens, the head's attention/attribution/value norms, the options;
    masks are one bool per token (``None`` = no mask); ``tokens``: labels shown instead of the
    text's token strings (one per token); ``sink_scale``: one of
    :data:`~induction_widgets.views.SINK_SCALES`; ``palette``: the shading's colours, one of
    :data:`~induction_widgets.views.PALETTES`; ``kind``: the view whose head buffers to include
    (the explorer shows the same text)."""
    return {
        **text_state(acts, layer, head, kind, tokens, sink_scale),
        "mode": mode,
        "selected_is": selected_is,
        "value_weighted": bool(value_weighted),
        "selected": int(selected),
        "title": title,
        "palette": check_palette(palette),
        **masks(dst_mask, src_mask, output_mask),
    }
