"""The phase-change view (``PhaseChangeCurves``): the induction-head scores and the ICL score along
training (the paper's Argument 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..payload import encode
from .declare import Buffer, Int, List, Str, declare

PHASE_CHANGE = declare(
    "phase_change",
    "PhaseChangeCurves",
    {
        "steps": Buffer(),
        "prefix_matching": Buffer(),
        "copying": Buffer(),
        "previous_token": Buffer(),
        "icl": Buffer(),
        "icl_sem": Buffer(),
        "series_labels": List("str"),
        "jump_measure": Str("prefix_matching"),
        "jump": List("int"),
        "early": Int(0),
        "late": Int(0),
        "note": Str(""),
    },
    module=__name__,
)

#: The series of the phase-change view: (CheckpointScores field, label); head scores are the best
#: head's per checkpoint (``CheckpointScores.top``).
PHASE_SERIES = (
    ("prefix_matching", "prefix matching"),
    ("copying", "copying"),
    ("previous_token", "previous token"),
)


def phase_change_state(
    checkpoints: Any, *, jump: str = "prefix_matching", title: str = ""
) -> dict[str, Any]:
    """The phase-change view's state (:func:`~induction_widgets.compute.checkpoint_scores`): per
    checkpoint (int32 buffer ``steps`` ``[n]``), the best head's prefix matching, copying and
    previous-token scores (float32 buffers ``[n]``, ``max`` over ``[layer, head]``) and the ICL
    score ``icl`` ``[n]`` (with ``icl_sem``), and ``jump``: the consecutive checkpoints
    ``[step_before, step_after]`` between which ``jump_measure`` changes most
    (:meth:`CheckpointScores.jump`: the best prefix-matching score rises most, or the ICL score
    falls most for ``"icl"``).
    """
    from ..compute import CheckpointScores

    if not isinstance(checkpoints, CheckpointScores):
        raise InputError(
            "PhaseChangeCurves needs CheckpointScores (from induction_widgets.checkpoint_scores()), "
            f"got {type(checkpoints).__name__}"
        )
    names = [n for n, _ in PHASE_SERIES] + ["icl"]
    if jump not in names:
        raise InputError(f"jump must be one of {', '.join(map(repr, names))}, got {jump!r}")
    if len(checkpoints.steps) < 2:
        raise InputError(
            f"a phase change needs at least two checkpoints, got {len(checkpoints.steps)}"
        )
    before, after = checkpoints.jump(jump)
    return {
        "steps": encode(np.asarray(checkpoints.steps, dtype=np.int32), "int32"),
        **{name: encode(checkpoints.top(name).float(), "float32") for name, _ in PHASE_SERIES},
        "icl": encode(checkpoints.icl.float(), "float32"),
        "icl_sem": encode(checkpoints.icl_sem.float(), "float32"),
        "series_labels": [label for _, label in PHASE_SERIES],
        "jump_measure": jump,
        "jump": [int(before), int(after)],
        "early": int(checkpoints.early),
        "late": int(checkpoints.late),
        "note": str(checkpoints.note),
        "title": title,
    }
