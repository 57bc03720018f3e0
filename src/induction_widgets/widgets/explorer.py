"""``InductionExplorer``: head map + token view + attention matrix as one anywidget, linked in the
browser."""

from __future__ import annotations

from typing import Any

import traitlets

from ..checks import check_head
from ..compute import HeadScores, head_scores
from ..errors import InputError
from ..views import ViewSpec, check_ablation, check_score_name, explorer_state
from ._base import HeadWidget, check_scores
from .head_map import set_ablation
from .token_view import check_options, resolve_masks, token_options


class InductionExplorer(HeadWidget, view="explorer"):
    """Click a head in the map and the token view and the matrix show it; pick one in the token view's
    selects and the map follows. One widget (one model, one front-end module ``explorer.js`` that
    composes the three views on a workbench grid), so it renders wherever anywidget does: JupyterLab,
    Notebook 7, VS Code, Colab, marimo (``mo.ui.anywidget(ex)``), exported notebooks, ``save_html``.

    Traits (declared in :mod:`induction_widgets.views.explorer`, the three views' side by side):
    everything a :class:`TokenView` has (``layer``, ``head``, ``mode``, ``selected``,
    ``sink_scale`` …) plus the map's ``scores`` / ``score`` / ``verdicts``, ``show_matrix`` and
    ``matrix_mode``, and the verdict scatter's points (``scatter_x`` …; a click there selects the
    head too). It opens on ``scores.default_head()`` unless ``layer`` / ``head`` are given.
    ``ex.selected_head`` is ``[layer, head]``. ``ex.token_view``, ``ex.matrix`` and ``ex.head_map``
    are the explorer itself (``ex.matrix`` is ``None`` with ``matrix=False``), kept so code written
    for the earlier three-widget explorer still reads ``ex.token_view.layer`` and
    ``ex.head_map.selected_head``.

    One :class:`~induction_widgets.compute.TextActivations` pass serves both views; ``scores``
    defaults to :func:`~induction_widgets.head_scores` on the paper's protocol. ``ablation``
    (:func:`~induction_widgets.ablation_scores` of the same model, or later
    ``ex.set_ablation(abl)``): the map offers the "ΔICL (ablation)" colouring
    (``score="icl_ablation"``) and its table a ΔICL column (docs/scores.md).
    """

    _ablation: Any = None

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
        score: str = "prefix_matching",
        mode: str = "attention",
        selected_is: str = "destination",
        value_weighted: bool = False,
        dst_mask: Any = None,
        src_mask: Any = None,
        output_mask: Any = None,
        sink_scale: str = "auto",
        palette: str = "paper",
        title: str = "",
        ablation: Any = None,
        **kwargs: Any,
    ) -> None:
        check_scores(scores)
        check_options(mode, selected_is, layer, head)
        # one share of the process-wide activations cache, given back by close()
        acts = self._setup(model, text, None, truncate, scores, progress)
        if layer is not None:
            layer, head = check_head(acts.info, layer, head)
        scores = scores if scores is not None else head_scores(model, progress=progress)
        check_ablation(ablation, scores)
        check_score_name(scores, score, ablation)  # a clear error for unknown score names
        self._ablation = ablation
        if layer is None or head is None:
            layer, head = scores.default_head()
        self._scores = scores
        self._masks = resolve_masks(acts, dst_mask, src_mask, output_mask)
        state = explorer_state(
            acts,
            scores,
            layer,
            head,
            score=score,
            matrix=matrix,
            mode=mode,
            selected_is=selected_is,
            value_weighted=value_weighted,
            title=title,
            sink_scale=sink_scale,
            palette=palette,
            ablation=ablation,
            **self._masks,
        )
        super().__init__(**{**state, **kwargs})

    def view_spec(self) -> ViewSpec:
        """The current state (see :func:`~induction_widgets.views.explorer_state`)."""
        assert self._scores is not None
        state = explorer_state(
            self._acts,
            self._scores,
            self.layer,
            self.head,
            score=self.score,
            matrix=self.show_matrix,
            matrix_mode=self.matrix_mode,
            ablation=self._ablation,
            **token_options(self, self._masks),
        )
        return self._spec(state)

    def set_ablation(self, ablation: Any, *, show: bool = True) -> None:
        """Show ``ablation`` (:func:`~induction_widgets.ablation_scores` of the same model, or
        ``None`` to remove it) in the map: the "ΔICL (ablation)" colouring (``show``: switch to it)
        and the table's ΔICL column."""
        assert self._scores is not None
        set_ablation(self, self._scores, ablation, show)

    @traitlets.validate("score")
    def _valid_score(self, proposal: dict[str, Any]) -> str:
        if self._scores is not None:
            check_score_name(self._scores, proposal["value"], self._ablation)
        return proposal["value"]

    @property
    def selected_head(self) -> list[int]:
        """``[layer, head]`` shown by every part of the explorer."""
        return [self.layer, self.head]

    @selected_head.setter
    def selected_head(self, value: Any) -> None:
        try:
            layer, head = value
        except (TypeError, ValueError):
            raise InputError(f"selected_head must be [layer, head], got {value!r}") from None
        layer, head = check_head(self._info, layer, head)
        with self.hold_trait_notifications():
            self.layer, self.head = layer, head

    @property
    def head_scores(self) -> HeadScores:
        """The scores the map shows."""
        assert self._scores is not None
        return self._scores

    @property
    def token_view(self) -> InductionExplorer:
        """The explorer itself (its token-view traits); kept for code written for the
        three-widget explorer."""
        return self

    @property
    def head_map(self) -> InductionExplorer:
        """The explorer itself (``selected_head``, ``score``); see :attr:`token_view`."""
        return self

    @property
    def matrix(self) -> InductionExplorer | None:
        """The explorer itself when it shows a matrix (``matrix_mode``), else ``None``."""
        return self if self.show_matrix else None
