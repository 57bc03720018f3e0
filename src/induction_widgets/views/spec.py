"""Pure functions: (activations, head, options) → a view's state.

A state is a dict of trait values: JSON-able fields plus buffer dicts (``{"dtype", "shape", …,
"view": bytes}``, see :mod:`induction_widgets.payload`). A live widget is created from it (and on a
head switch takes :func:`head_state`); an exported page embeds it (:func:`.static.static_spec`).
Shapes: attention and attribution ``[dst, src]``, value norms ``[src]``, scores ``[layer, head]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compute import SCORE_NAMES, HeadScores, InputError, TextActivations, verdict_scatter
from ..payload import LONG_TOKENS, encode, head_payloads, mask_payload

#: The per-head buffers each view kind shows (a subset of :func:`head_payloads`' keys; the
#: overviews exist for long texts only, see :data:`~induction_widgets.payload.LONG_TOKENS`).
HEAD_BUFFERS: dict[str, tuple[str, ...]] = {
    "token_view": ("attention", "attribution", "value_norm"),
    "attention_matrix": ("attention", "attribution", "attention_overview", "attribution_overview"),
    "explorer": (
        "attention",
        "attribution",
        "value_norm",
        "attention_overview",
        "attribution_overview",
    ),
    "head_map": (),
    "verdict_scatter": (),
    "loss_curve": (),
    "partners": (),
    "phase_change": (),
}

#: The attention scales a view offers: ``"auto"`` (each head's ``sink_summary`` default: "without
#: sink" when its rows put >= 0.3 of their attention on the sink on average), ``"without sink"``
#: (the sink's columns left out, each row renormalised over the other sources) and ``"all
#: sources"`` (the raw pattern). The browser applies it to the attention buffer it already has.
SINK_SCALES = ("auto", "without sink", "all sources")


def check_sink_scale(value: Any) -> str:
    """``value`` if it is one of :data:`SINK_SCALES`, else an :class:`InputError` naming them."""
    if not isinstance(value, str) or value not in SINK_SCALES:
        options = ", ".join(repr(c) for c in SINK_SCALES)
        raise InputError(f"sink_scale must be one of {options}, got {value!r}")
    return value


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
    """The buffers of head ``(layer, head)`` that a ``kind`` view shows (float16 attention and
    attribution ``[dst, src]``, float32 value norms ``[src]``), or only those of ``names`` among
    them (what the browser asked for)."""
    wanted = [n for n in HEAD_BUFFERS[kind] if names is None or n in names]
    return head_payloads(acts, layer, head, names=wanted)


def _text_state(
    acts: TextActivations, layer: int, head: int, kind: str, tokens: Sequence[str] | None
) -> dict[str, Any]:
    if tokens is not None and len(tokens) != acts.n_tokens:
        raise InputError(f"tokens has {len(tokens)} labels but the text has {acts.n_tokens} tokens")
    return {
        "tokens": list(tokens) if tokens is not None else acts.str_tokens,
        "bos": acts.has_bos,
        "n_layers": acts.info.n_layers,
        "n_heads": acts.info.n_heads,
        "layer": int(layer),
        "head": int(head),
        # long texts: nothing up front, the view asks for the mode on screen (iw:head)
        **(head_state(acts, layer, head, kind) if acts.n_tokens <= LONG_TOKENS else {}),
    }


def _masks(
    dst_mask: Sequence[bool] | None,
    src_mask: Sequence[bool] | None,
    output_mask: Sequence[bool] | None,
) -> dict[str, Any]:
    return {
        "dst_mask": mask_payload(dst_mask),
        "src_mask": mask_payload(src_mask),
        "output_mask": mask_payload(output_mask),
    }


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
) -> dict[str, Any]:
    """The token view's state: tokens, the head's attention/attribution/value norms, the options;
    masks are one bool per token (``None`` = no mask); ``tokens``: labels shown instead of the
    text's token strings (one per token); ``sink_scale``: one of :data:`SINK_SCALES`."""
    return {
        **_text_state(acts, layer, head, "token_view", tokens),
        "sink_scale": check_sink_scale(sink_scale),
        "mode": mode,
        "selected_is": selected_is,
        "value_weighted": bool(value_weighted),
        "selected": int(selected),
        "title": title,
        **_masks(dst_mask, src_mask, output_mask),
    }


def attention_matrix_state(
    acts: TextActivations,
    layer: int,
    head: int,
    *,
    mode: str = "attention",
    title: str = "",
    tokens: Sequence[str] | None = None,
    sink_scale: str = "auto",
) -> dict[str, Any]:
    """The attention matrix's state: tokens and the head's ``[dst, src]`` attention/attribution;
    ``sink_scale``: one of :data:`SINK_SCALES`."""
    return {
        **_text_state(acts, layer, head, "attention_matrix", tokens),
        "sink_scale": check_sink_scale(sink_scale),
        "mode": mode,
        "title": title,
    }


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
    over contexts, float32 ``[layer, head]``) and ``ablation_note`` (what was measured, for the
    readout and the legend); ``{}`` / ``{}`` / ``""`` without an ablation result."""
    if ablation is None:
        return {"ablation": {}, "ablation_sd": {}, "ablation_note": ""}
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
        else f"; only layer{'s' if len(measured) > 1 else ''} {_ranges(measured)} measured"
    )
    note = (
        f"ΔICL = ICL(ablated) − ICL(clean), {ablation.kind} ablation of one head at a time, "
        f"{n} contexts ({at}); ± standard error over contexts{missing}"
    )
    return {
        "ablation": encode(change, "float32"),
        "ablation_sd": encode(sem, "float32"),
        "ablation_note": note,
    }


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` → ``"0–2, 5"``."""
    runs: list[list[int]] = []
    for v in sorted(values):
        if runs and runs[-1][1] == v - 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def head_map_state(
    scores: HeadScores,
    *,
    score: str = "prefix_matching",
    selected_head: Sequence[int] = (),
    title: str = "",
    ablation: Any = None,
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
    a ΔICL column.
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
        "selected_head": [int(v) for v in selected_head],
        "n_layers": scores.n_layers,
        "n_heads": scores.n_heads,
        "title": title,
        **ablation_state(ablation),
    }


def explorer_state(
    acts: TextActivations,
    scores: HeadScores,
    layer: int,
    head: int,
    *,
    score: str = "prefix_matching",
    matrix: bool = True,
    matrix_mode: str = "attention",
    title: str = "",
    ablation: Any = None,
    **token_view: Any,
) -> dict[str, Any]:
    """The explorer's state: the head map's fields and the token view's (one head, shared by the
    token view and the matrix), ``show_matrix`` and ``matrix_mode``, and the verdict scatter's
    fields (:func:`verdict_scatter_state`, its ``x`` / ``y`` / ``depth`` as ``scatter_x`` /
    ``scatter_y`` / ``scatter_depth``); ``ablation`` as in :func:`head_map_state`."""
    state = head_map_state(scores, score=score, selected_head=(layer, head), ablation=ablation)
    state.pop("selected_head")  # the explorer's selection is its layer/head
    scatter = verdict_scatter_state(scores)
    for name in ("x", "y", "depth"):
        state[f"scatter_{name}"] = scatter[name]
    for name in ("x_threshold", "y_threshold", "x_name", "y_name", "x_range", "y_range"):
        state[name] = scatter[name]
    state.update(token_view_state(acts, layer, head, title=title, **token_view))
    state.update({"show_matrix": bool(matrix), "matrix_mode": matrix_mode})
    return state


def verdict_scatter_state(
    scores: HeadScores,
    *,
    measure: str | None = None,
    selected_head: Sequence[int] = (),
    title: str = "",
) -> dict[str, Any]:
    """The verdict scatter's state (:func:`~induction_widgets.compute.verdict_scatter`): every head
    as a point, prefix matching ``x`` against the verdict's copying ``measure`` ``y``, coloured by
    layer depth ``depth = layer / (n_layers − 1)``.

    ``x``, ``y``, ``depth``: float32 buffers ``[n_layers * n_heads]``, heads row-major over
    ``[layer, head]`` (point ``i`` is ``L{i // n_heads}H{i % n_heads}``); ``verdicts`` (one str per
    head); ``x_threshold`` / ``y_threshold`` (the lines drawn); ``x_name`` / ``y_name``;
    ``x_range`` (prefix matching's ``[0, 1]``) and ``y_range`` (the measure's possible range);
    ``selected_head`` (``[layer, head]`` or ``[]``).
    """
    data = verdict_scatter(scores, measure=measure)
    return {
        "x": encode(data["x"], "float32"),
        "y": encode(data["y"], "float32"),
        "depth": encode(data["depth"], "float32"),
        "verdicts": list(data["verdicts"]),
        "x_threshold": float(data["x_threshold"]),
        "y_threshold": float(data["y_threshold"]),
        "x_name": str(data["x_name"]),
        "y_name": str(data["y_name"]),
        "x_range": [0.0, 1.0],
        "y_range": [float(v) for v in data["y_range"]],
        "selected_head": [int(v) for v in selected_head],
        "n_layers": scores.n_layers,
        "n_heads": scores.n_heads,
        "title": title,
    }


def loss_curve_state(result: Any, *, title: str = "") -> dict[str, Any]:
    """The loss curve's state: the mean per-token loss ``L[i] = mean_b −log p(t[b, i] | t[b, <i])``
    against token index ``i`` (a float32 buffer ``loss`` ``[pos]``, NaN at index 0), the two indices
    the ICL score reads (``early`` / ``late``: the paper's 50 and 500, or the 1 : 10 pair that fits a
    short context, said in ``note``), and the score ``L[late] − L[early]`` with its standard error.

    ``result``: an :class:`~induction_widgets.compute.ICLScore` computed with ``curve=True``, or a
    :func:`~induction_widgets.compute.per_token_loss` tensor ``[batch, pos]`` (or ``[pos]``), whose
    score is then computed here with :func:`~induction_widgets.compute.icl.icl_indices`.
    """
    import torch

    from ..compute import ICLScore
    from ..compute.icl import icl_indices

    if isinstance(result, ICLScore):
        if result.curve is None:
            raise InputError(
                "this ICLScore has no loss curve (computed with curve=False): rerun "
                "induction_widgets.icl_score(model, curve=True)"
            )
        curve = result.curve.detach().float().cpu()
        score, sem, early, late = result.score, result.sem, result.early, result.late
        note, n_contexts, window = result.note, result.n_contexts, result.window
    elif isinstance(result, torch.Tensor) and result.ndim in (1, 2) and result.is_floating_point():
        losses = result.detach().float().cpu()
        losses = losses[None] if losses.ndim == 1 else losses
        early, late, note = icl_indices(losses.shape[1])
        diff = losses[:, late] - losses[:, early]
        score = float(diff.mean())
        sem = float(diff.std() / diff.numel() ** 0.5) if diff.numel() > 1 else float("nan")
        curve, n_contexts, window = losses.mean(0), losses.shape[0], 0
    else:
        what = (
            f"a {result.ndim}-d {result.dtype} tensor"
            if isinstance(result, torch.Tensor)
            else type(result).__name__
        )
        raise InputError(
            "LossCurve needs an ICLScore (from induction_widgets.icl_score(model)) or a "
            f"per_token_loss tensor [batch, pos] of floats, got {what}"
        )
    return {
        "loss": encode(curve, "float32"),
        "early": int(early),
        "late": int(late),
        "score": _finite(score),
        "sem": _finite(sem),
        "note": str(note),
        "window": int(window),
        "n_contexts": int(n_contexts),
        "title": title,
    }


def _finite(value: Any) -> float | None:
    """``value`` as a float, or ``None`` (JSON null) when it is NaN or infinite."""
    v = float(value)
    return v if math.isfinite(v) else None


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
            "PartnersView needs Partners (from induction_widgets.previous_token_partners(model, "
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
        "selected_head": [int(v) for v in selected_head],
        "title": title,
    }


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
    """The phase-change view's state (:func:`~induction_widgets.compute.score_checkpoints`): per
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
            "PhaseChangeView needs CheckpointScores (from induction_widgets.score_checkpoints()), "
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
