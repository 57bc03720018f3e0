"""The verdict scatter (``VerdictScatter``): the strict-definition verdict as a picture — every head a
point, prefix matching (x) against the verdict's copying measure (y), the thresholds as lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..compute import HeadScores
from ..compute.scores import PREFIX_MATCHING_THRESHOLD, VERDICT_THRESHOLDS
from ..errors import InputError
from ..payload import encode
from .common import selection
from .declare import Buffer, Float, HeadPair, Int, List, Str, declare

#: The scatter's axes: the threshold lines, the measures' names and ranges (shared with the
#: explorer, which draws the same scatter).
SCATTER_AXES_TRAITS = {
    "x_threshold": Float(0.0),
    "y_threshold": Float(0.0),
    "x_name": Str("prefix_matching"),
    "y_name": Str(""),
    "x_range": List("float"),
    "y_range": List("float"),
}

#: The scatter's points: float32 buffers ``[n_layers * n_heads]``.
SCATTER_POINTS = ("x", "y", "depth")

VERDICT_SCATTER = declare(
    "verdict_scatter",
    "VerdictScatter",
    {
        **SCATTER_AXES_TRAITS,
        **{name: Buffer() for name in SCATTER_POINTS},
        "verdicts": List("str"),
        "selected_head": HeadPair(),
        "n_layers": Int(1),
        "n_heads": Int(1),
    },
    module=__name__,
)


def scatter_data(
    scores: HeadScores,
    *,
    measure: str | None = None,
    prefix_threshold: float = PREFIX_MATCHING_THRESHOLD,
    copying_threshold: float | None = None,
) -> dict[str, Any]:
    """The data of a scatter of every head, prefix matching against the verdict's copying measure.

    Heads row-major over ``[layer, head]``. Returns ``x`` (prefix matching) and ``y`` (the copying
    ``measure``, default the verdict's) as ``[n_layers * n_heads]`` float32 tensors, ``layer`` and
    ``head`` (int64), ``depth`` = ``layer / (n_layers − 1)`` ∈ [0, 1] (float32, for the colour),
    ``labels`` ("L{l}H{h}") and ``verdicts`` (lists of str, :meth:`HeadScores.verdicts`),
    ``x_threshold`` / ``y_threshold`` (the lines to draw), ``x_name`` / ``y_name``, and ``y_range``
    (the measure's possible range). The heads right of and above both lines are exactly the
    "induction head" verdicts.
    """
    if measure is None:
        measure = "copying_rank" if scores.copying_rank is not None else "copying"
    if measure not in VERDICT_THRESHOLDS:
        raise InputError(
            f"unknown verdict measure {measure!r}: choose one of {', '.join(VERDICT_THRESHOLDS)}"
        )
    y_threshold = VERDICT_THRESHOLDS[measure] if copying_threshold is None else copying_threshold
    n_layers, n_heads = scores.n_layers, scores.n_heads
    layer = torch.arange(n_layers).repeat_interleave(n_heads)
    head = torch.arange(n_heads).repeat(n_layers)
    return {
        "x": scores.prefix_matching.flatten().float(),
        "y": scores.get(measure).flatten().float(),
        "layer": layer,
        "head": head,
        "depth": (layer.float() / max(n_layers - 1, 1)),
        "labels": [f"L{l}H{h}" for l, h in zip(layer.tolist(), head.tolist(), strict=True)],
        "verdicts": scores.verdicts(prefix_threshold, y_threshold, measure),
        "x_threshold": float(prefix_threshold),
        "y_threshold": float(y_threshold),
        "x_name": "prefix_matching",
        "y_name": measure,
        "y_range": (-1.0, 1.0) if measure in ("copying", "copying_source") else (0.0, 1.0),
    }


def verdict_scatter_state(
    scores: HeadScores,
    *,
    measure: str | None = None,
    selected_head: Sequence[int] = (),
    title: str = "",
) -> dict[str, Any]:
    """The verdict scatter's state (:func:`scatter_data`): every head as a point, prefix matching
    ``x`` against the verdict's copying ``measure`` ``y``, coloured by layer depth
    ``depth = layer / (n_layers − 1)``.

    ``x``, ``y``, ``depth``: float32 buffers ``[n_layers * n_heads]``, heads row-major over
    ``[layer, head]`` (point ``i`` is ``L{i // n_heads}H{i % n_heads}``); ``verdicts`` (one str per
    head); ``x_threshold`` / ``y_threshold`` (the lines drawn); ``x_name`` / ``y_name``;
    ``x_range`` (prefix matching's ``[0, 1]``) and ``y_range`` (the measure's possible range);
    ``selected_head`` (``[layer, head]`` or ``[]``).
    """
    data = scatter_data(scores, measure=measure)
    return {
        **{name: encode(data[name], "float32") for name in SCATTER_POINTS},
        "verdicts": list(data["verdicts"]),
        "x_threshold": float(data["x_threshold"]),
        "y_threshold": float(data["y_threshold"]),
        "x_name": str(data["x_name"]),
        "y_name": str(data["y_name"]),
        "x_range": [0.0, 1.0],
        "y_range": [float(v) for v in data["y_range"]],
        "selected_head": selection(selected_head),
        "n_layers": scores.n_layers,
        "n_heads": scores.n_heads,
        "title": title,
    }
