"""The partners view (``PartnerBars``): an induction head's earlier heads ranked by K-composition,
each with its previous-token score (a previous-token partner scores high on both)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..payload import encode
from .common import selection
from .declare import Buffer, HeadPair, Int, declare

PARTNERS = declare(
    "partners",
    "PartnerBars",
    {
        "k_composition": Buffer(),
        "previous_token": Buffer(),
        "layer": Int(0),
        "head": Int(0),
        "n_layers": Int(1),
        "n_heads": Int(1),
        "top": Int(12),
        "selected_head": HeadPair(),
    },
    module=__name__,
)


def partners_state(
    partners: Any, *, selected_head: Sequence[int] = (), top: int = 12, title: str = ""
) -> dict[str, Any]:
    """The partners view's state (:func:`~induction_widgets.compute.previous_token_partners`): the
    K-composition of every earlier head into the induction head ``(layer, head)`` and each head's
    previous-token score, as float32 buffers ``[n_layers, n_heads]`` (``k_composition`` NaN for
    layers ``>= layer``; the browser ranks the earlier heads, highest K-composition first, and
    shows the ``top`` of them as bars); ``selected_head`` (``[layer, head]`` or ``[]``).
    """
    from ..compute import Partners

    if not isinstance(partners, Partners):
        raise InputError(
            "PartnerBars needs Partners (from induction_widgets.previous_token_partners(model, "
            f"layer, head)), got {type(partners).__name__}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(f"top must be a positive int (how many heads to show), got {top!r}")
    n_layers, n_heads = partners.k_composition.shape
    return {
        "k_composition": encode(partners.k_composition.float(), "float32"),
        "previous_token": encode(partners.previous_token.float(), "float32"),
        "layer": int(partners.layer),
        "head": int(partners.head),
        "n_layers": int(n_layers),
        "n_heads": int(n_heads),
        "top": int(top),
        "selected_head": selection(selected_head),
        "title": title,
    }
