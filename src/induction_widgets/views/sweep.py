"""Views over a sweep (:class:`~induction_widgets.compute.Sweep`): pure state functions.

* :func:`sweep_heatmap_state` — one model, every head × every checkpoint, one measure at a time:
  the phase change of all heads at once, each head's *jump* marked.
* :func:`sweep_depth_state` — several models side by side, each one's head map at a checkpoint,
  their layers placed by relative depth ``layer / (n_layers − 1)`` so that models of different
  depth line up.

**The jump** of a head (a row of the heatmap) is the pair of consecutive checkpoints between which
its value rises most: ``i* = argmax_i (v[i] − v[i−1])`` over the checkpoints in step order; the
cell at ``i*`` is marked. For ``icl_ablation`` (ΔICL, where an induction head's ablation makes the
ICL score *rise*, a positive change) it is the same rule. The model-level jump (the header's
shaded columns) is that of the best head's value per checkpoint (``max`` over heads), as
:meth:`CheckpointScores.jump` defines it. A jump needs two checkpoints; with one there is none
(``-1``). Rises smaller than the two checkpoints' combined standard error are still marked —
the readout shows each value ± its sem so the reader can judge.

Clicking a cell selects ``[checkpoint, layer, head]`` (``[model, layer, head]`` in the depth view);
the widget then calls its ``on_select`` hook and the view prints the exact call that opens that
checkpoint's explorer at that head, e.g.
``iw.InductionExplorer(iw.load_model('tiny', revision='step600'), text, layer=1, head=2)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..compute import InputError, Sweep
from ..payload import encode


def _check_sweep(sweep: Any, view: str) -> Sweep:
    if not isinstance(sweep, Sweep):
        raise InputError(
            f"{view} needs a Sweep (from induction_widgets.sweep(...) or Sweep.open(folder)), "
            f"got {type(sweep).__name__}"
        )
    return sweep


def _head_measures(sweep: Sweep) -> list[str]:
    names = [m for m in sweep.measures if m != "icl"]
    if not names:
        raise InputError(
            "this sweep has no per-head measure (only 'icl'): run it with "
            "measures=['head_scores', 'icl'] to see heads"
        )
    return names


def load_call(model: str, revision: str | None) -> str:
    """The Python expression that loads one checkpoint: ``iw.load_model('tiny', revision='step600')``."""
    return (
        f"iw.load_model({model!r})"
        if revision is None
        else f"iw.load_model({model!r}, revision={revision!r})"
    )


def explorer_call(model: str, revision: str | None, layer: int, head: int) -> str:
    """The call that opens that checkpoint's explorer at ``(layer, head)`` (``text``: yours)."""
    return f"iw.InductionExplorer({load_call(model, revision)}, text, layer={layer}, head={head})"


def head_jumps(values: torch.Tensor) -> torch.Tensor:
    """Each head's jump: ``values`` ``[n_ckpt, n_rows]`` → int ``[n_rows]``, the checkpoint index
    ``i`` (≥ 1) where ``values[i] − values[i−1]`` is largest (NaN steps skipped), ``-1`` with fewer
    than two checkpoints or no finite step."""
    if values.shape[0] < 2:
        return torch.full((values.shape[1],), -1, dtype=torch.int64)
    diff = values[1:] - values[:-1]
    finite = torch.isfinite(diff)
    filled = torch.where(finite, diff, torch.full_like(diff, -torch.inf))
    idx = filled.argmax(0) + 1
    return torch.where(finite.any(0), idx, torch.full_like(idx, -1))


def sweep_heatmap_state(
    sweep: Any, *, model: str | None = None, measure: str = "prefix_matching", title: str = ""
) -> dict[str, Any]:
    """The heatmap's state for one model of ``sweep``: every per-head measure as a float32 buffer
    ``values[name]`` ``[n_ckpt, n_layers * n_heads]`` (rows of the picture = heads, layer-major;
    columns = checkpoints in step order), its standard errors ``sems[name]`` (same shape; NaN for
    ``ov_copying``), each head's jump ``jumps[name]`` (int32 ``[n_layers * n_heads]``, see the
    module docstring), the model-level jump ``jump[name]`` = ``[i−1, i]`` of ``max`` over heads,
    the ICL score ``icl`` / ``icl_sem`` ``[n_ckpt]`` when measured, ``steps`` (int32, −1 where a
    revision names no step), ``revisions`` and ``calls`` (the load expression per checkpoint)."""
    sw = _check_sweep(sweep, "SweepHeatmap")
    names = _head_measures(sw)
    if measure not in names:
        raise InputError(f"measure must be one of {', '.join(map(repr, names))}, got {measure!r}")
    model = sw.models[0] if model is None else str(model)
    grids = {name: sw.grid(name, model) for name in names}
    first = grids[names[0]]
    n_ckpt, n_layers, n_heads = first["value"].shape
    values, sems, jumps, jump = {}, {}, {}, {}
    for name, g in grids.items():
        v = g["value"].reshape(n_ckpt, n_layers * n_heads)
        values[name] = encode(v.float(), "float32")
        sems[name] = encode(g["sem"].reshape(n_ckpt, -1).float(), "float32")
        jumps[name] = encode(head_jumps(v).to(torch.int32).numpy(), "int32")
        top = torch.where(torch.isnan(v), torch.full_like(v, -torch.inf), v).max(1).values
        i = int(head_jumps(top[:, None])[0])
        jump[name] = [i - 1, i] if i > 0 else []
    state: dict[str, Any] = {
        "models": sw.models,
        "model": model,
        "measure_names": names,
        "measure": measure,
        "values": values,
        "sems": sems,
        "jumps": jumps,
        "jump": jump,
        "steps": encode(
            np.asarray([-1 if s is None else s for s in first["steps"]], dtype=np.int32), "int32"
        ),
        "revisions": ["" if r is None else str(r) for r in first["revisions"]],
        "calls": [load_call(model, r) for r in first["revisions"]],
        "n_layers": int(n_layers),
        "n_heads": int(n_heads),
        "selected": [],
        "call": "",
        "title": title,
        "icl": {},
        "icl_sem": {},
    }
    if "icl" in sw.measures:
        icl = sw.grid("icl", model)
        state["icl"] = encode(icl["value"].float(), "float32")
        state["icl_sem"] = encode(icl["sem"].float(), "float32")
    return state


def sweep_depth_state(
    sweep: Any,
    *,
    measure: str = "prefix_matching",
    revisions: dict[str, str] | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Models side by side: for each model of ``sweep`` (in order) its head map of ``measure`` at
    one checkpoint (default its last; ``revisions``: model → revision), float32 buffer
    ``grids[str(i)]`` ``[n_layers, n_heads]`` (a dict keyed by the model's index), with ``n_layers[i]``, ``n_heads[i]`` and ``depths[i]``
    = ``layer / (n_layers − 1)`` per layer (0.5 for a one-layer model): the y position of the
    layer's row, shared by all models."""
    sw = _check_sweep(sweep, "SweepDepth")
    names = _head_measures(sw)
    if measure not in names:
        raise InputError(f"measure must be one of {', '.join(map(repr, names))}, got {measure!r}")
    chosen = dict(revisions or {})
    unknown = set(chosen) - set(sw.models)
    if unknown:
        raise InputError(f"revisions= names models not in the sweep: {sorted(unknown)}")
    grids, shapes, depths, revs, calls = [], [], [], [], []
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
        depths.append([0.5] if n_layers == 1 else [ly / (n_layers - 1) for ly in range(n_layers)])
        rev = g["revisions"][i]
        revs.append("" if rev is None else str(rev))
        calls.append(load_call(model, rev))
    return {
        "models": sw.models,
        "measure": measure,
        "grids": {str(i): g for i, g in enumerate(grids)},
        "shapes": shapes,
        "depths": depths,
        "revisions": revs,
        "calls": calls,
        "selected": [],
        "call": "",
        "title": title,
    }
