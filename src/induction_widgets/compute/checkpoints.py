r"""The phase change in miniature: scores of the tiny model's checkpoints along training.

``scripts/train_tiny_model.py`` keeps the weights every 50 steps up to step 800 and every 200
after (and the last step), and writes them into one file, ``data/tiny/checkpoints.safetensors``:
each parameter stacked ``[n_checkpoints, ...]`` in float16, ``step`` ``[n_checkpoints]``. Step
``s`` holds the weights after ``s`` optimizer updates (0: the initialisation); the last one is the
shipped model (in float16).

:func:`checkpoint_scores` measures, per checkpoint, prefix matching, copying, previous-token and
OV copying of every head (:func:`head_scores`) and the ICL score (:func:`icl_score`), so the
paper's Argument 1 figure — the ICL score and the induction heads change together, in a narrow
window of training — can be drawn on our own model.

For the shipped checkpoints (``"tiny"``) the defaults follow the first training phase, in which
the circuit forms: 64-token sequences, so the head scores use ``BOS + 25 random tokens × 2``
(51 positions) and the ICL score the first 56 tokens of 64-token training sequences
(:func:`copy_task_tokens`; indices 6 and 55). Later positions are trained only from step 700 on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..errors import InputError
from .icl import copy_task_tokens, icl_score
from .scores import head_scores

TINY_CHECKPOINTS = Path(__file__).resolve().parents[1] / "data" / "tiny" / "checkpoints.safetensors"
"""The shipped checkpoints of the tiny model's training run (see the module docstring)."""


def load_tiny_checkpoints(
    path: str | os.PathLike[str] | None = None,
) -> list[tuple[int, dict[str, torch.Tensor]]]:
    """``[(step, float32 weights named like the shipped model.safetensors), ...]``, by step."""
    from safetensors.torch import load_file

    path = Path(TINY_CHECKPOINTS if path is None else path)
    if not path.is_file():
        raise InputError(
            f"no checkpoint file at {path}: run scripts/train_tiny_model.py (it writes "
            "checkpoints.safetensors beside model.safetensors)"
        )
    stacked = load_file(str(path))
    if "step" not in stacked:
        raise InputError(
            f"{path} is not a stacked checkpoint file (no 'step' tensor): it must be written by "
            "scripts/train_tiny_model.py"
        )
    steps = [int(s) for s in stacked.pop("step")]
    return [(s, {k: v[i].float() for k, v in stacked.items()}) for i, s in enumerate(steps)]


def tiny_model_from_weights(weights: dict[str, torch.Tensor], device: Any = None) -> Any:
    """The tiny model's architecture with ``weights`` (native names, as in ``model.safetensors``),
    processed like :func:`load_model` ``("tiny")``: a ``TransformerBridge`` in compatibility mode
    (TransformerLens 4) or a ``HookedTransformer`` with fold_ln / centring (3.9).

    Built by :func:`induction_widgets.models.tiny.tiny_model_from_weights` (the loader of the
    shipped model); imported here, lazily like every use of ``models`` in ``compute``, so that
    importing ``compute`` does not import the loaders.
    """
    from ..models.tiny import tiny_model_from_weights as build

    return build(weights, device)


@dataclass
class CheckpointScores:
    """Scores per checkpoint: head scores ``[n_checkpoints, n_layers, n_heads]``, ICL ``[n]``."""

    steps: list[int]
    prefix_matching: torch.Tensor
    copying: torch.Tensor
    previous_token: torch.Tensor
    ov_copying: torch.Tensor
    icl: torch.Tensor  # [n_checkpoints]
    icl_sem: torch.Tensor  # [n_checkpoints]
    early: int
    late: int
    note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def top(self, name: str = "prefix_matching") -> torch.Tensor:
        """The best head's score per checkpoint: ``[n_checkpoints]``."""
        return getattr(self, name).flatten(1).max(1).values

    def jump(self, name: str = "prefix_matching") -> tuple[int, int]:
        """``(step_before, step_after)`` of the consecutive checkpoints between which the best
        head's ``name`` score rises most (``"icl"``: the ICL score falls most)."""
        values = -self.icl if name == "icl" else self.top(name)
        i = int(torch.diff(values).argmax())
        return self.steps[i], self.steps[i + 1]

    def to_pandas(self) -> Any:
        """One row per checkpoint: step, ICL score (± sem), best head's score of each kind."""
        import pandas as pd

        return pd.DataFrame(
            {
                "step": self.steps,
                "icl": self.icl.tolist(),
                "icl_sem": self.icl_sem.tolist(),
                **{
                    f"max {n}": self.top(n).tolist()
                    for n in ("prefix_matching", "copying", "previous_token", "ov_copying")
                },
            }
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "steps": self.steps,
                "icl": [round(x, 4) for x in self.icl.tolist()],
                "prefix_matching_max": [round(x, 4) for x in self.top().tolist()],
            }
        )


def checkpoint_scores(
    checkpoints: Any = "tiny",
    *,
    steps: Sequence[int] | None = None,
    icl_tokens: Any = None,
    n_examples: int = 10,
    seq_len: int | None = None,
    repeats: int | None = None,
    progress: bool | None = None,
) -> CheckpointScores:
    """Head scores and the ICL score of each checkpoint (see the module docstring).

    ``checkpoints``: ``"tiny"`` (the shipped run), a path to a stacked checkpoint file written by
    the training script, or a list of models or :func:`load_model` specs (steps then default to
    0, 1, 2, …). ``steps``: keep only these steps of a checkpoint file (or label a list).
    ``icl_tokens``: ICL contexts (default: the first 56 tokens of 128 sequences of the tiny
    model's 64-token training distribution for checkpoint files; :func:`icl_score`'s corpus
    contexts for a list). ``seq_len``/``repeats``: the head-score input (defaults 25 × 2 for
    checkpoint files, the paper's 25 × 4 otherwise).
    """
    from ..models import load_model

    entries: list[tuple[int, Any]]
    tiny_run = isinstance(checkpoints, (str, os.PathLike)) and (
        str(checkpoints) == "tiny" or str(checkpoints).endswith(".safetensors")
    )
    if tiny_run:
        path = None if str(checkpoints) == "tiny" else checkpoints
        loaded = load_tiny_checkpoints(path)
        if steps is not None:
            wanted = {int(s) for s in steps}
            missing = wanted - {s for s, _ in loaded}
            if missing:
                raise InputError(
                    f"no checkpoint at steps {sorted(missing)}: the file holds "
                    f"{[s for s, _ in loaded]}"
                )
            loaded = [(s, w) for s, w in loaded if s in wanted]
        entries = [(s, w) for s, w in loaded]
    elif isinstance(checkpoints, (list, tuple)) and checkpoints:
        labels = list(range(len(checkpoints))) if steps is None else [int(s) for s in steps]
        if len(labels) != len(checkpoints):
            raise InputError(f"{len(checkpoints)} checkpoints but {len(labels)} steps")
        entries = list(zip(labels, checkpoints, strict=True))
    else:
        raise InputError(
            "checkpoints must be 'tiny', a checkpoint file written by scripts/train_tiny_model.py, "
            f"or a non-empty list of models or load_model specs; got {type(checkpoints).__name__}"
        )
    seq_len = seq_len if seq_len is not None else 25
    repeats = repeats if repeats is not None else (2 if tiny_run else 4)
    rows: dict[str, list[torch.Tensor]] = {
        n: [] for n in ("prefix_matching", "copying", "previous_token", "ov_copying")
    }
    icl: list[float] = []
    sem: list[float] = []
    early = late = 0
    note = ""
    show = len(entries) > 3 if progress is None else progress
    for _step, item in tqdm(entries, desc="scoring checkpoints", disable=not show, leave=False):
        model = tiny_model_from_weights(item) if tiny_run else load_model(item, progress=False)
        if icl_tokens is None and tiny_run:
            icl_tokens = copy_task_tokens(model, 128, n_tokens=56, length=64)
        scores = head_scores(model, n_examples, seq_len, repeats, progress=False)
        for n in rows:
            rows[n].append(getattr(scores, n))
        result = icl_score(model, icl_tokens, curve=False)
        icl.append(result.score)
        sem.append(result.sem)
        early, late, note = result.early, result.late, result.note
    return CheckpointScores(
        steps=[s for s, _ in entries],
        **{n: torch.stack(v) for n, v in rows.items()},
        icl=torch.tensor(icl),
        icl_sem=torch.tensor(sem),
        early=early,
        late=late,
        note=note,
        meta={"head_score_input": f"BOS + {seq_len} random tokens x {repeats}"},
    )
