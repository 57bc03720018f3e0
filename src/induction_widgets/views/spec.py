"""Pure functions: (activations, head, options) → a view's state.

A state is a dict of trait values: JSON-able fields plus buffer dicts (``{"dtype", "shape", …,
"view": bytes}``, see :mod:`induction_widgets.payload`). A live widget is created from it (and on a
head switch takes :func:`head_state`); an exported page embeds it (:func:`.static.static_spec`).
Shapes: attention and attribution ``[dst, src]``, value norms ``[src]``, scores ``[layer, head]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..compute import SCORE_NAMES, HeadScores, InputError, TextActivations, verdict_scatter
from ..payload import encode, head_payloads, mask_payload

#: The per-head buffers each view kind shows (a subset of :func:`head_payloads`' keys).
HEAD_BUFFERS: dict[str, tuple[str, ...]] = {
    "token_view": ("attention", "attribution", "value_norm"),
    "attention_matrix": ("attention", "attribution"),
    "explorer": ("attention", "attribution", "value_norm"),
    "head_map": (),
    "verdict_scatter": (),
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


def head_state(acts: TextActivations, layer: int, head: int, kind: str) -> dict[str, Any]:
    """The buffers of head ``(layer, head)`` that a ``kind`` view shows (float16 attention and
    attribution ``[dst, src]``, float32 value norms ``[src]``)."""
    payloads = head_payloads(acts, layer, head)
    return {name: payloads[name] for name in HEAD_BUFFERS[kind]}


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
        **head_state(acts, layer, head, kind),
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


def head_map_state(
    scores: HeadScores,
    *,
    score: str = "prefix_matching",
    selected_head: Sequence[int] = (),
    title: str = "",
) -> dict[str, Any]:
    """The head map's state: every score ``[layer, head]`` as float32, the verdicts, the selection.

    The spread over examples, for the scores with per-example values (``scores.per_example``;
    absent for hand-made :class:`HeadScores`, ``ov_copying`` and ``pattern_matching``):
    ``scores_std[name]`` = :meth:`HeadScores.std` (sample standard deviation over examples, NaN with
    fewer than two) and ``scores_n[name]`` = the number of examples that count for each head, both
    float32 ``[layer, head]``. The views show ``score ± std`` (the score itself is the mean over all
    counted destinations, as in ``to_pandas``'s ``<score>`` / ``<score>_std`` columns).
    """
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
    **token_view: Any,
) -> dict[str, Any]:
    """The explorer's state: the head map's fields and the token view's (one head, shared by the
    token view and the matrix), ``show_matrix`` and ``matrix_mode``, and the verdict scatter's
    fields (:func:`verdict_scatter_state`, its ``x`` / ``y`` / ``depth`` as ``scatter_x`` /
    ``scatter_y`` / ``scatter_depth``)."""
    state = head_map_state(scores, score=score, selected_head=(layer, head))
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
