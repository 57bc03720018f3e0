"""``HeadMap``: the layer × head grid of a score, and the paper-style table of heads."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..compute import HeadScores, InputError
from ..compute._model import _index
from ..views import ViewSpec, head_map_state
from ._base import HeadScoresWidget, register_view, static_file


class HeadMap(HeadScoresWidget):
    """Every head coloured by a chosen score, plus a sortable table (head, layer depth, copying,
    prefix matching, verdict). Clicking a head sets ``selected_head = [layer, head]``."""

    _esm = static_file("head_map.js")
    _kind = "head_map"

    scores = traitlets.Dict().tag(sync=True)
    scores_std = traitlets.Dict().tag(sync=True)  # spread over examples (head_map_state)
    scores_n = traitlets.Dict().tag(sync=True)
    score_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    score = traitlets.Unicode("prefix_matching").tag(sync=True)
    verdicts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        scores: HeadScores,
        *,
        score: str = "prefix_matching",
        selected_head: tuple[int, int] | list[int] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        if not isinstance(scores, HeadScores):
            raise InputError(
                f"HeadMap needs HeadScores (from induction_widgets.head_scores(model)), got {type(scores).__name__}"
            )
        scores.get(score)  # a clear error for unknown score names
        self._head_scores = scores
        if selected_head is None:
            best = scores.top(1, by="prefix_matching")[0]
            selected_head = (best.layer, best.head)
        selected_head = _head_pair(selected_head, scores)
        super().__init__(
            **{
                **head_map_state(scores, score=score, selected_head=selected_head, title=title),
                **kwargs,
            }
        )
        register_view(self)

    def view_spec(self) -> ViewSpec:
        """The current state: score shown and selected head (see :func:`head_map_state`)."""
        state = head_map_state(
            self._head_scores, score=self.score, selected_head=self.selected_head, title=self.title
        )
        return ViewSpec(self._kind, state, None, self._head_scores, {"title": "HeadMap"})

    @traitlets.validate("score")
    def _valid_score(self, proposal: dict[str, Any]) -> str:
        if hasattr(self, "_head_scores"):
            self._head_scores.get(proposal["value"])
        return proposal["value"]


def _head_pair(value: Any, scores: HeadScores) -> list[int]:
    """``[layer, head]`` as plain ints (numpy / 0-d tensor ints accepted), or a clear error."""
    try:
        pair = list(value)
    except TypeError:
        pair = []
    pair = [_index(v) for v in pair]
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair
    ):
        raise InputError(
            f"selected_head must be [layer, head] with layer in 0..{scores.n_layers - 1} and "
            f"head in 0..{scores.n_heads - 1}, got {value!r}"
        )
    return [int(v) for v in pair]
