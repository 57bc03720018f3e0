"""The head map (``HeadMap``): every head of the ``[layer, head]`` grid coloured by a score (or by
the per-head ablation result), with the paper-style table of heads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..compute import SCORE_NAMES, HeadScores
from ..errors import InputError
from ..payload import encode
from .common import PALETTE_TRAITS, check_palette, ranges, selection
from .declare import Buffer, HeadPair, Int, List, Str, declare

#: The head map's synced traits: every score ``[layer, head]`` with its spread, the verdicts, the
#: ablation result (shared with the explorer, whose map is the same).
HEAD_MAP_TRAITS = {
    "scores": Buffer(),
    "scores_std": Buffer(),
    "scores_n": Buffer(),
    "score_names": List("str"),
    "score": Str("prefix_matching"),
    "verdicts": List("str"),
    "ablation": Buffer(),
    "ablation_sd": Buffer(),
    "ablation_note": Str(""),
    "ablation_method": Str(""),
    "n_layers": Int(1),
    "n_heads": Int(1),
    **PALETTE_TRAITS,
}

HEAD_MAP = declare(
    "head_map",
    "HeadMap",
    {**HEAD_MAP_TRAITS, "selected_head": HeadPair()},
    module=__name__,
)


#: The head map's colouring by the per-head ablation result (not a :class:`HeadScores` name).
ABLATION_SCORE = "icl_ablation"


def check_ablation(ablation: Any, scores: HeadScores) -> None:
    """``ablation`` must be ``None`` or :class:`~induction_widgets.compute.AblationScores` with
    per-head values for the model ``scores`` were computed on (same ``[layer, head]`` grid, and
    the same ``cfg.model_name`` where both recorded one)."""
    from ..compute import AblationScores

    if ablation is None:
        return
    if not isinstance(ablation, AblationScores):
        raise InputError(
            "ablation must be AblationScores (from induction_widgets.ablation_scores(model)) or "
            f"None, got {type(ablation).__name__}"
        )
    if ablation.icl_change is None:
        raise InputError(
            "this AblationScores has no per-head values (computed with per_head=False): rerun "
            "induction_widgets.ablation_scores(model, per_head=True)"
        )
    got = tuple(ablation.icl_change.shape)
    want = (scores.n_layers, scores.n_heads)
    ours, theirs = str(scores.meta.get("model", "")), str(ablation.meta.get("model", ""))
    if got != want or (ours and theirs and ours != theirs):
        which = f" ({theirs!r} vs {ours!r})" if ours and theirs and ours != theirs else ""
        raise InputError(
            f"the ablation result is for a {got[0]} × {got[1]} head grid and the scores for "
            f"{want[0]} × {want[1]}{which}: they come from different models — compute both on the "
            "same one, induction_widgets.ablation_scores(model) and induction_widgets.head_scores(model)"
        )


def check_score_name(scores: HeadScores, score: Any, ablation: Any = None) -> str:
    """``score`` if the map can colour by it: a score of ``scores``, or :data:`ABLATION_SCORE`
    when an ablation result is given; else one clear :class:`InputError`."""
    if score == ABLATION_SCORE:
        if ablation is None:
            raise InputError(
                f"score={ABLATION_SCORE!r} colours by an ablation result: pass "
                "ablation=induction_widgets.ablation_scores(model) (or call set_ablation(...))"
            )
        return str(score)
    scores.get(score)  # a clear error for unknown score names
    return str(score)


def ablation_state(ablation: Any) -> dict[str, Any]:
    """The head map's ablation fields: ``ablation`` (float32 ``[layer, head]``, ``Δicl[l, h] =
    icl(ablate (l, h)) − icl(model)``, NaN where not measured), ``ablation_sd`` (its standard error
    over contexts, float32 ``[layer, head]``), ``ablation_note`` (what was measured, for the
    readout and the legend) and ``ablation_method`` (``"exact"`` or ``"attribution"``: the label
    the map gives the colouring); ``{}`` / ``{}`` / ``""`` / ``""`` without an ablation result."""
    if ablation is None:
        return {"ablation": {}, "ablation_sd": {}, "ablation_note": "", "ablation_method": ""}
    change = ablation.icl_change.detach().float().cpu()
    sem = ablation.icl_change_sem
    sem = (
        np.full(tuple(change.shape), np.nan, np.float32)
        if sem is None
        else sem.detach().float().cpu()
    )
    n = ablation.meta.get("n_contexts", ablation.base.n_contexts)
    window = int(ablation.meta.get("window", ablation.base.window) or 0)
    at = f"indices {ablation.base.early} and {ablation.base.late}" + (
        f" ± {window}" if window else ""
    )
    measured = ablation.meta.get("layers")
    missing = (
        ""
        if measured is None or len(measured) == change.shape[0]
        else f"; only layer{'s' if len(measured) > 1 else ''} {ranges(measured)} measured"
    )
    how = (
        f"first-order estimate of {ablation.kind} ablation by attribution patching"
        + (" with the AtP* QK fix" if getattr(ablation, "qk_fix", False) else "")
        + " (can miss effects that act through later attention patterns, e.g. previous-token "
        "heads; docs/beyond.md)"
        if getattr(ablation, "method", "exact") == "attribution"
        else f"{ablation.kind} ablation of one head at a time"
    )
    note = (
        f"ΔICL = ICL(ablated) − ICL(clean), {how}, "
        f"{n} contexts ({at}); ± standard error over contexts{missing}"
    )
    return {
        "ablation": encode(change, "float32"),
        "ablation_sd": encode(sem, "float32"),
        "ablation_note": note,
        "ablation_method": str(getattr(ablation, "method", "exact")),
    }


def head_map_state(
    scores: HeadScores,
    *,
    score: str = "prefix_matching",
    selected_head: Sequence[int] = (),
    title: str = "",
    ablation: Any = None,
    palette: str = "paper",
) -> dict[str, Any]:
    """The head map's state: every score ``[layer, head]`` as float32, the verdicts, the selection.

    The spread over examples, for the scores with per-example values (``scores.per_example``;
    absent for hand-made :class:`HeadScores`, ``ov_copying`` and ``pattern_matching``):
    ``scores_std[name]`` = :meth:`HeadScores.std` (sample standard deviation over examples, NaN with
    fewer than two) and ``scores_n[name]`` = the number of examples that count for each head, both
    float32 ``[layer, head]``. The views show ``score ± std`` (the score itself is the mean over all
    counted destinations, as in ``to_pandas``'s ``<score>`` / ``<score>_std`` columns).

    ``ablation``: an :class:`~induction_widgets.compute.AblationScores` with per-head values (from
    the same model, :func:`check_ablation`) adds :func:`ablation_state`'s fields; the map then
    offers ``score="icl_ablation"`` (ΔICL on a diverging scale, NaN = not measured) and its table
    a ΔICL column; ``palette`` (:data:`~induction_widgets.views.PALETTES`): that diverging scale's
    colours.
    """
    check_ablation(ablation, scores)
    check_score_name(scores, score, ablation)
    available = scores.as_dict()
    spread = [name for name in available if name in scores.per_example]
    return {
        "scores": {name: encode(value, "float32") for name, value in available.items()},
        "scores_std": {name: encode(scores.std(name), "float32") for name in spread},
        "scores_n": {
            name: encode((~scores.per_example[name].isnan()).sum(0), "float32") for name in spread
        },
        "score_names": [n for n in SCORE_NAMES if n in available],
        "score": score,
        "verdicts": scores.verdicts(),
        "selected_head": selection(selected_head),
        "n_layers": scores.n_layers,
        "n_heads": scores.n_heads,
        "title": title,
        "palette": check_palette(palette),
        **ablation_state(ablation),
    }
