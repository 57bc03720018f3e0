"""The explorer (``InductionExplorer``): the head map, the token view, the attention matrix and the
verdict scatter of one model and one text, composed in one view whose selection is its
``[layer, head]``. Its state is the three views' states side by side (the scatter's points renamed
``scatter_*``), as the front-end composes the three views (``js/src/explorer.js``)."""

from __future__ import annotations

from typing import Any

from ..compute import HeadScores, TextActivations
from .declare import Bool, Buffer, Enum, declare
from .head_map import HEAD_MAP_TRAITS, head_map_state
from .token_view import TOKEN_VIEW, TOKEN_VIEW_TRAITS, token_view_state
from .verdict_scatter import SCATTER_AXES_TRAITS, SCATTER_POINTS, verdict_scatter_state

EXPLORER = declare(
    "explorer",
    "InductionExplorer",
    {
        **TOKEN_VIEW_TRAITS,
        **HEAD_MAP_TRAITS,
        "show_matrix": Bool(True),
        "matrix_mode": Enum(("attention", "logit_attr"), "attention"),
        **{f"scatter_{name}": Buffer() for name in SCATTER_POINTS},
        **SCATTER_AXES_TRAITS,
    },
    head_buffers=TOKEN_VIEW.head_buffers,
    module=__name__,
)


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
    ``scatter_y`` / ``scatter_depth``); ``ablation`` as in :func:`head_map_state`; ``palette``
    (one of ``token_view``'s options) colours the text, the matrix and the map alike."""
    state = head_map_state(scores, score=score, selected_head=(layer, head), ablation=ablation)
    state.pop("selected_head")  # the explorer's selection is its layer/head
    scatter = verdict_scatter_state(scores)
    for name in SCATTER_POINTS:
        state[f"scatter_{name}"] = scatter[name]
    for name in SCATTER_AXES_TRAITS:
        state[name] = scatter[name]
    state.update(token_view_state(acts, layer, head, title=title, kind="explorer", **token_view))
    state.update({"show_matrix": bool(matrix), "matrix_mode": matrix_mode})
    return state
