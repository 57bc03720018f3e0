"""``TokenView``: the paper's token-highlighted figure (Attention in red, Logit attr in blue)."""

from __future__ import annotations

from typing import Any

from ..checks import check_choice, check_head
from ..compute import HeadScores, TextActivations
from ..views import ViewSpec, token_view_state
from ._base import (
    HeadWidget,
    MaskSpec,
    check_layer_head,
    resolve_mask,
    strongest_induction_head,
)


class TokenView(HeadWidget, view="token_view"):
    """The text as tokens, shaded by one head's attention or direct-path logit attribution.

    * **Attention** (red): hover a token = destination ``d``; sources ``s`` shade by ``A[d, s]`` —
      where the head attends to predict the next token.
    * **Logit attr** (blue positive / orange negative): hover token ``p``; earlier tokens ``s`` shade by
      ``attr[p − 1, s]``, their direct-path contribution to the logit of ``p``.
    * ``selected_is="source"`` flips the roles. Hover to focus, click to lock, click again or Escape to
      unlock, arrow keys move the locked token.
    * ``sink_scale``: ``"auto"`` (default: the head's :func:`~induction_widgets.compute.sink_summary`
      default — "without sink" when its rows put ≥ 0.3 of their attention on the sink), ``"without
      sink"`` (the sink's sources left out of the red scale, each row renormalised over the others:
      ``A[d, s] / (1 − share[d])``) or ``"all sources"``. The status line names the scale on screen
      and the hovered row's sink share.
    * ``palette``: ``"paper"`` (default) or ``"colorblind"`` (Okabe–Ito vermillion / blue / orange,
      docs/figures.md).

    Masks (a predicate on token strings, a regex, or one bool per token): ``dst_mask`` restricts the
    attention destinations, ``output_mask`` the logit-attribution outputs, ``src_mask`` the sources —
    as in the paper's pattern-matching figure (``dst_mask=lambda t: t == ":"``,
    ``output_mask=lambda t: t.strip().isdigit()``).

    With neither ``layer`` nor ``head`` it opens on the strongest induction head (from ``scores`` or a
    quick :func:`~induction_widgets.head_scores`).
    """

    def __init__(
        self,
        model: Any,
        text: Any,
        layer: int | None = None,
        head: int | None = None,
        *,
        mode: str = "attention",
        selected_is: str = "destination",
        value_weighted: bool = False,
        dst_mask: MaskSpec = None,
        src_mask: MaskSpec = None,
        output_mask: MaskSpec = None,
        sink_scale: str = "auto",
        palette: str = "paper",
        scores: HeadScores | None = None,
        activations: TextActivations | None = None,
        truncate: bool = False,
        progress: bool | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        check_options(mode, selected_is, layer, head)
        acts = self._setup(model, text, activations, truncate, scores, progress)
        if layer is None and head is None:
            (layer, head), self._scores = strongest_induction_head(model, scores)
        layer, head = check_head(acts.info, layer, head)
        self._masks = resolve_masks(acts, dst_mask, src_mask, output_mask)
        state = token_view_state(
            acts,
            layer,
            head,
            mode=mode,
            selected_is=selected_is,
            value_weighted=value_weighted,
            title=title,
            sink_scale=sink_scale,
            palette=palette,
            **self._masks,
        )
        super().__init__(**{**state, **kwargs})

    def view_spec(self) -> ViewSpec:
        """The current state: head, mode, roles, masks, locked token (see :func:`token_view_state`)."""
        return self._spec(
            token_view_state(self._acts, self.layer, self.head, **self._token_options())
        )

    def _token_options(self) -> dict[str, Any]:
        """The token view's current options, as :func:`token_view_state` takes them."""
        return token_options(self, self._masks)


def token_options(widget: Any, masks: dict[str, Any]) -> dict[str, Any]:
    """The current token-view options of ``widget`` (a token view or the explorer, which shows the
    same text), as :func:`token_view_state` takes them; ``masks``: the resolved masks."""
    return {
        "mode": widget.mode,
        "selected_is": widget.selected_is,
        "value_weighted": widget.value_weighted,
        "selected": widget.selected,
        "title": widget.title,
        "tokens": widget.tokens,
        "sink_scale": widget.sink_scale,
        "palette": widget.palette,
        **masks,
    }


def check_options(mode: Any, selected_is: Any, layer: Any, head: Any) -> None:
    """The token view's choices, and both of layer/head or neither."""
    check_choice("mode", mode, ("attention", "logit_attr"))
    check_choice("selected_is", selected_is, ("destination", "source"))
    check_layer_head(layer, head)


def resolve_masks(acts: TextActivations, dst: Any, src: Any, output: Any) -> dict[str, Any]:
    """The three masks as one bool per token (``None`` = no mask), see :func:`resolve_mask`."""
    tokens = acts.str_tokens
    return {
        "dst_mask": resolve_mask(dst, tokens, "dst_mask"),
        "src_mask": resolve_mask(src, tokens, "src_mask"),
        "output_mask": resolve_mask(output, tokens, "output_mask"),
    }
