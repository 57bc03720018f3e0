"""The sweep heatmap (``SweepHeatmap``) and what the sweep views share (the depth view,
``SweepDepthMaps``, is :mod:`.sweep_depth`): views over a :class:`~induction_widgets.compute.Sweep`.

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

from ..compute import Sweep
from ..errors import InputError
from ..payload import encode
from .declare import Buffer, Int, List, Str, declare

SWEEP_HEATMAP = declare(
    "sweep_heatmap",
    "SweepHeatmap",
    {
        "models": List("str"),
        "model": Str(""),
        "measure_names": List("str"),
        "measure": Str("prefix_matching"),
        "values": Buffer(),
        "sems": Buffer(),
        "jumps": Buffer(),
        "jump": Buffer(),
        "steps": Buffer(),
        "revisions": List("str"),
        "calls": List("str"),
        "icl": Buffer(),
        "icl_sem": Buffer(),
        "n_layers": Int(1),
        "n_heads": Int(1),
        "selected": List("int"),
        "call": Str(""),
    },
    module=__name__,
)


def check_sweep(sweep: Any, view: str) -> Sweep:
    if not isinstance(sweep, Sweep):
        raise InputError(
            f"{view} needs a Sweep (from induction_widgets.sweep(...) or Sweep.open(folder)), "
            f"got {type(sweep).__name__}"
        )
    return sweep


def head_measures(sweep: Sweep) -> list[str]:
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
    module docstring), the model-level jump ``jump[name]`` (int32 ``[i−1, i]``, ``[−1, −1]`` for none) of ``max`` over heads,
    the ICL score ``icl`` / ``icl_sem`` ``[n_ckpt]`` when measured, ``steps`` (int32, −1 where a
    revision names no step), ``revisions`` and ``calls`` (the load expression per checkpoint)."""
    sw = check_sweep(sweep, "SweepHeatmap")
    names = head_measures(sw)
    if measure not in names:
        raise InputError(f"measure must be one of {', '.join(map(repr, names))}, got {measure!r}")
    model = sw.models[0] if model is None else str(model)
    grids = {name: sw.grid(name, model) for name in names}
    first = grids[names[0]]
    n_ckpt, n_layers, n_heads = first["value"].shape
    values: dict[str, Any] = {}
    sems: dict[str, Any] = {}
    jumps: dict[str, Any] = {}
    jump: dict[str, Any] = {}
    for name, g in grids.items():
        v = g["value"].reshape(n_ckpt, n_layers * n_heads)
        values[name] = encode(v.float(), "float32")
        sems[name] = encode(g["sem"].reshape(n_ckpt, -1).float(), "float32")
        jumps[name] = encode(head_jumps(v).to(torch.int32).numpy(), "int32")
        top = torch.where(torch.isnan(v), torch.full_like(v, -torch.inf), v).max(1).values
        i = int(head_jumps(top[:, None])[0])
        jump[name] = encode(np.asarray([i - 1, i] if i > 0 else [-1, -1], dtype=np.int32), "int32")
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
