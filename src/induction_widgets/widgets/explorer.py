"""``InductionExplorer``: head map + token view + attention matrix, linked."""

from __future__ import annotations

from typing import Any

import ipywidgets

from ..compute import HeadScores, InputError, head_scores
from ..compute._model import check_head
from ..compute.cache import CACHE
from ._base import check_scores, register_view
from .attention_matrix import AttentionMatrix
from .head_map import HeadMap
from .token_view import TokenView


class InductionExplorer(ipywidgets.VBox):
    """Click a head in the map and the token view and the matrix show it (and the other way round).

    One :class:`~induction_widgets.compute.TextActivations` pass serves both views; ``scores``
    defaults to :func:`~induction_widgets.head_scores` on the paper's protocol.
    """

    def __init__(
        self,
        model: Any,
        text: Any,
        *,
        scores: HeadScores | None = None,
        layer: int | None = None,
        head: int | None = None,
        truncate: bool = False,
        matrix: bool = True,
        progress: bool | None = None,
        **token_view_kwargs: Any,
    ) -> None:
        check_scores(scores)
        if (layer is None) != (head is None):
            raise InputError(
                f"give both layer and head, or neither to open on the strongest induction head "
                f"(got layer={layer!r}, head={head!r})"
            )
        # the views take their own shares; this one only spans the construction
        share = CACHE.acquire(model, text, truncate=truncate, progress=progress)
        acts = share.get()
        if layer is not None:
            layer, head = check_head(acts.info, layer, head)
        scores = scores if scores is not None else head_scores(model, progress=progress)
        if layer is None or head is None:
            best = scores.induction_heads() or [(r.layer, r.head) for r in scores.top(1)]
            layer, head = best[0]
        self.head_map = HeadMap(scores, selected_head=(layer, head))
        # the views know the scores, so save_html(heads=None) embeds the top heads, not just one
        self.token_view = TokenView(
            model, text, layer, head, activations=acts, scores=scores, **token_view_kwargs
        )
        self.matrix = (
            AttentionMatrix(model, text, layer, head, activations=acts, scores=scores)
            if matrix
            else None
        )
        self.head_map.observe(self._from_map, names="selected_head")
        for view in self._views:
            view.observe(self._from_view, names=["layer", "head"])
        children: list[Any] = [self.head_map, self.token_view]
        if self.matrix is not None:
            children.append(self.matrix)
        super().__init__(children=children)
        share.release()
        register_view(self)

    def close(self) -> None:
        """Close the map and both views (giving back their activations), then the box."""
        for name in ("head_map", "token_view", "matrix"):  # any of them (a failed __init__)
            child = getattr(self, name, None)
            if child is not None:
                child.close()
        super().close()

    def save_html(self, path: Any, heads: Any = None, **kwargs: Any) -> Any:
        """Write the linked map and views as one offline HTML file (see :func:`export.save_html`)."""
        from ..export.html import save_html

        return save_html(self, path, heads, **kwargs)

    @property
    def _views(self) -> list[Any]:
        return [v for v in (self.token_view, self.matrix) if v is not None]

    def _from_map(self, change: dict[str, Any]) -> None:
        if len(change["new"]) != 2:
            return
        layer, head = change["new"]
        for view in self._views:
            if (view.layer, view.head) != (layer, head):
                with view.hold_trait_notifications():
                    view.layer, view.head = layer, head

    def _from_view(self, change: dict[str, Any]) -> None:
        view = change["owner"]
        pair = [view.layer, view.head]
        if self.head_map.selected_head != pair:
            self.head_map.selected_head = pair
