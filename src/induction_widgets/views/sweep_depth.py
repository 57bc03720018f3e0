"""The sweep depth view (``SweepDepthMaps``): models side by side, their head maps aligned by
relative depth (see :mod:`.sweep_heatmap` for what the sweep views share)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..payload import encode
from .declare import Buffer, List, Str, declare
from .sweep_heatmap import check_sweep, head_measures, load_call

SWEEP_DEPTH = declare(
    "sweep_depth",
    "SweepDepthMaps",
    {
        "models": List("str"),
        "measure": Str("prefix_matching"),
        "grids": Buffer(),
        "shapes": List("pairs"),
        "revisions": List("str"),
        "calls": List("str"),
        "selected": List("int"),
        "call": Str(""),
    },
    module=__name__,
)


def relative_depths(n_layers: int) -> list[float]:
    """Each layer's relative depth ``layer / (n_layers − 1)`` (``[0.5]`` for one layer): the
    vertical place of its row, shared by all models (``js/src/sweep_depth.js`` ``bandOf``)."""
    return [0.5] if n_layers == 1 else [ly / (n_layers - 1) for ly in range(n_layers)]


def sweep_depth_state(
    sweep: Any,
    *,
    measure: str = "prefix_matching",
    revisions: dict[str, str] | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Models side by side: for each model of ``sweep`` (in order) its head map of ``measure`` at
    one checkpoint (default its last; ``revisions``: model → revision), float32 buffer
    ``grids[str(i)]`` ``[n_layers, n_heads]`` (a dict keyed by the model's index) and ``shapes[i]`` =
    ``[n_layers, n_heads]``; the view places layer ``l`` at :func:`relative_depths` ``[l]``."""
    sw = check_sweep(sweep, "SweepDepthMaps")
    names = head_measures(sw)
    if measure not in names:
        raise InputError(f"measure must be one of {', '.join(map(repr, names))}, got {measure!r}")
    chosen = dict(revisions or {})
    unknown = set(chosen) - set(sw.models)
    if unknown:
        raise InputError(f"revisions= names models not in the sweep: {sorted(unknown)}")
    grids: list[Any] = []
    shapes: list[list[int]] = []
    revs: list[str] = []
    calls: list[str] = []
    for model in sw.models:
        g = sw.grid(measure, model)
        if model in chosen:
            if chosen[model] not in g["revisions"]:
                raise InputError(
                    f"no finished checkpoint {chosen[model]!r} of {model!r}: it has {g['revisions']}"
                )
            i = g["revisions"].index(chosen[model])
        else:
            i = len(g["revisions"]) - 1
        grid = g["value"][i]
        n_layers, n_heads = grid.shape
        grids.append(encode(grid.float(), "float32"))
        shapes.append([int(n_layers), int(n_heads)])
        rev = g["revisions"][i]
        revs.append("" if rev is None else str(rev))
        calls.append(load_call(model, rev))
    return {
        "models": sw.models,
        "measure": measure,
        "grids": {str(i): g for i, g in enumerate(grids)},
        "shapes": shapes,
        "revisions": revs,
        "calls": calls,
        "selected": [],
        "call": "",
        "title": title,
    }
