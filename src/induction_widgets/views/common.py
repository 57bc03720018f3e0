"""Pieces shared by the view modules: :class:`ViewSpec`, the traits and state of a view of one head
on a text (:data:`TEXT_TRAITS`, :func:`text_state`, :func:`head_state`), the sink scales, and small
formatting helpers. Shapes: attention and attribution ``[dst, src]``, value norms ``[src]``, scores
``[layer, head]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..compute import HeadScores, TextActivations
from ..errors import InputError
from ..payload import head_payloads, mask_payload
from .declare import VIEWS, Bool, Buffer, Int, List, Str, Trait

#: The attention scales a view offers: ``"auto"`` (each head's ``sink_summary`` default: "without
#: sink" when its rows put >= 0.3 of their attention on the sink on average), ``"without sink"``
#: (the sink's columns left out, each row renormalised over the other sources) and ``"all
#: sources"`` (the raw pattern). The browser applies it to the attention buffer it already has.
SINK_SCALES = ("auto", "without sink", "all sources")

#: The colour palettes of the views that shade tokens or use a diverging map (token view, explorer,
#: the matrix's logit attribution, the head map's ΔICL): RGB of the attention shading (alpha =
#: weight), and of positive / negative values on the diverging scale (alpha = |v| / vmax). The same
#: numbers live in ``js/src/shared/colour.js`` (``PALETTES``) and the figures use these.
#: ``"paper"``: the paper's red attention and blue logit attribution (matplotlib tab:red / tab:blue,
#: tab:orange for negative values); ``"colorblind"``: Okabe & Ito's vermillion, blue and orange,
#: whose negative and positive ends stay further apart under simulated protanopia and deuteranopia
#: (docs/figures.md says how this was measured).
PALETTES: dict[str, dict[str, tuple[int, int, int]]] = {
    "paper": {"attention": (214, 39, 40), "positive": (31, 119, 180), "negative": (255, 127, 14)},
    "colorblind": {"attention": (213, 94, 0), "positive": (0, 114, 178), "negative": (230, 159, 0)},
}

#: The ``palette`` trait of the views that take one (checked by :func:`check_palette`).
PALETTE_TRAITS: dict[str, Trait] = {"palette": Str("paper")}


def check_palette(value: Any) -> str:
    """``value`` if it names one of :data:`PALETTES`, else an :class:`InputError` naming them."""
    if not isinstance(value, str) or value not in PALETTES:
        options = ", ".join(repr(c) for c in PALETTES)
        raise InputError(f"palette must be one of {options}, got {value!r}")
    return value


#: The synced traits of every view of one head on a text (token view, matrix, explorer).
TEXT_TRAITS: dict[str, Trait] = {
    "layer": Int(0),
    "head": Int(0),
    "n_layers": Int(1),
    "n_heads": Int(1),
    "heads_available": List("pairs"),
    "tokens": List("str"),
    "bos": Bool(False),
    "sink_scale": Str("auto"),
}

#: The token masks' traits (one bool per token as a buffer, ``{}`` = no mask).
MASK_TRAITS: dict[str, Trait] = {
    "dst_mask": Buffer(),
    "src_mask": Buffer(),
    "output_mask": Buffer(),
}


@dataclass
class ViewSpec:
    """One view: its ``kind`` (the front-end module), its ``state`` (trait values), and what an
    exporter needs to embed more heads: the text's activations and the head scores (either may be
    ``None``)."""

    kind: str
    state: dict[str, Any]
    activations: TextActivations | None = None
    scores: HeadScores | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def check_sink_scale(value: Any) -> str:
    """``value`` if it is one of :data:`SINK_SCALES`, else an :class:`InputError` naming them."""
    if not isinstance(value, str) or value not in SINK_SCALES:
        options = ", ".join(repr(c) for c in SINK_SCALES)
        raise InputError(f"sink_scale must be one of {options}, got {value!r}")
    return value


def check_scores(scores: Any) -> None:
    """``scores`` must be ``None`` or :class:`HeadScores`."""
    if scores is not None and not isinstance(scores, HeadScores):
        raise InputError(
            f"scores must be HeadScores (from induction_widgets.head_scores(model)) or None, "
            f"got {type(scores).__name__}"
        )


def head_state(
    acts: TextActivations, layer: int, head: int, kind: str, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """The buffers of head ``(layer, head)`` that a ``kind`` view shows (its declaration's
    ``head_buffers``: float16 attention and attribution ``[dst, src]``, float32 value norms
    ``[src]``), or only those of ``names`` among them (what the browser asked for)."""
    wanted = [n for n in VIEWS[kind].head_buffers if names is None or n in names]
    return head_payloads(acts, layer, head, names=wanted)


def text_state(
    acts: TextActivations,
    layer: int,
    head: int,
    kind: str,
    tokens: Sequence[str] | None,
    sink_scale: str,
) -> dict[str, Any]:
    """:data:`TEXT_TRAITS`' values (less ``heads_available``) and the head's buffers; ``tokens``:
    labels shown instead of the text's token strings (one per token)."""
    if tokens is not None and len(tokens) != acts.n_tokens:
        raise InputError(f"tokens has {len(tokens)} labels but the text has {acts.n_tokens} tokens")
    return {
        "tokens": list(tokens) if tokens is not None else acts.str_tokens,
        "bos": acts.has_bos,
        "n_layers": acts.info.n_layers,
        "n_heads": acts.info.n_heads,
        "layer": int(layer),
        "head": int(head),
        "sink_scale": check_sink_scale(sink_scale),
        **head_state(acts, layer, head, kind),
    }


def masks(
    dst_mask: Sequence[bool] | None,
    src_mask: Sequence[bool] | None,
    output_mask: Sequence[bool] | None,
) -> dict[str, Any]:
    """:data:`MASK_TRAITS`' values from one bool per token each (``None`` = no mask)."""
    return {
        "dst_mask": mask_payload(dst_mask),
        "src_mask": mask_payload(src_mask),
        "output_mask": mask_payload(output_mask),
    }


def finite(value: Any) -> float | None:
    """``value`` as a float, or ``None`` (JSON null) when it is NaN or infinite."""
    v = float(value)
    return v if math.isfinite(v) else None


def ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` → ``"0–2, 5"``."""
    runs: list[list[int]] = []
    for v in sorted(values):
        if runs and runs[-1][1] == v - 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def selection(selected_head: Sequence[int]) -> list[int]:
    """A selected head as plain ints (``[layer, head]`` or ``[]``)."""
    return [int(v) for v in selected_head]


__all__ = [
    "MASK_TRAITS",
    "SINK_SCALES",
    "TEXT_TRAITS",
    "ViewSpec",
    "check_scores",
    "check_sink_scale",
    "finite",
    "head_state",
    "masks",
    "ranges",
    "selection",
    "text_state",
]
