"""Shared pieces of the widget classes: static assets, head traits, masks, option checks."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import torch
import traitlets

from ..compute import HeadScores, InputError, TextActivations, head_scores
from ..compute._model import ModelInfo, check_head, to_tokens
from ..compute.cache import CACHE, ActivationHandle
from ..payload import LONG_TOKENS, band_payload
from ..views import ViewSpec, check_scores, check_sink_scale, display_copy, head_state, write_html

STATIC = Path(__file__).resolve().parent.parent / "static"

MaskSpec = Callable[[str], bool] | Sequence[bool] | str | None


def static_file(name: str) -> Path | str:
    """Path of a built front-end bundle; when the JS was not built, a stand-in module saying so."""
    path = STATIC / name
    if path.exists():
        return path
    return (
        "export default { render({ el }) { el.textContent = 'induction_widgets: the front-end bundle "
        + name
        + " is missing; run `make js` (cd js && npm ci && npm run build) or install the wheel.'; } };"
    )


class Exportable:
    """``save_html`` and a static ``text/html`` copy in the mime bundle, for every view; both come
    from :meth:`view_spec` through the view-spec layer (:mod:`induction_widgets.views`)."""

    _kind: str = ""

    def view_spec(self) -> ViewSpec:
        """This view's current state (the same pure function that made the widget's traits)."""
        raise NotImplementedError

    def save_html(self, path: Any, heads: Any = None, **kwargs: Any) -> Any:
        """Write this view as one offline, interactive HTML file (see :func:`export.save_html`).

        ``heads``: ``None`` (this head plus the top induction heads), ``"all"``, or ``(layer, head)``
        pairs; the page's layer/head dropdowns offer exactly the embedded heads.
        """
        return write_html(self.view_spec(), path, heads, **kwargs)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget plus a ``text/html`` copy, which a notebook exported without a widget
        manager shows instead: the self-contained view of the current head when that is cheap (up
        to ``STATIC_COPY_MAX_TOKENS`` tokens) or when an export runs the notebook, else a short
        note (see :func:`~induction_widgets.views.display_copy`)."""
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is not None:
            try:
                tokens = getattr(self, "tokens", None)
                head = (self.layer, self.head) if isinstance(self, HeadWidget) else None
                data["text/html"] = display_copy(
                    self.view_spec,
                    kind=self._kind,
                    n_tokens=len(tokens) if isinstance(tokens, list) else 0,
                    head=head,
                    title=type(self).__name__,
                )
            except Exception:  # the live view must never fail because of the static copy
                data["text/plain"] = repr(self)
        return bundle


class HeadScoresWidget(Exportable, anywidget.AnyWidget):
    """Base of the views of a :class:`HeadScores` (``HeadMap``, ``VerdictScatter``): the scores, and
    a synced ``selected_head`` — ``[layer, head]`` within ``n_layers`` × ``n_heads``, or ``[]``."""

    selected_head = traitlets.List(traitlets.Int()).tag(sync=True)
    n_layers = traitlets.Int(1).tag(sync=True)
    n_heads = traitlets.Int(1).tag(sync=True)

    _head_scores: HeadScores

    @traitlets.validate("selected_head")
    def _valid_selected(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        if value and (
            len(value) != 2 or not 0 <= value[0] < self.n_layers or not 0 <= value[1] < self.n_heads
        ):
            raise InputError(
                f"selected_head must be [layer, head] with layer in 0..{self.n_layers - 1} and "
                f"head in 0..{self.n_heads - 1}, got {value}"
            )
        return value

    @property
    def head_scores(self) -> HeadScores:
        return self._head_scores


class HeadWidget(Exportable, anywidget.AnyWidget):
    """Base of the views that show one head: synced ``layer``/``head`` with range checks."""

    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    n_layers = traitlets.Int(1).tag(sync=True)
    n_heads = traitlets.Int(1).tag(sync=True)
    heads_available = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    bos = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    #: the attention scale: "auto" (the head's sink_summary default), "without sink", "all sources"
    sink_scale = traitlets.Unicode("auto").tag(sync=True)

    _info: ModelInfo
    _scores: HeadScores | None = None
    _handle: ActivationHandle | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_head_request)

    def _on_head_request(self, widget: Any, content: Any, buffers: Any) -> None:
        """Head data on request (``js/src/shared/headdata.js``): the browser sends
        ``{"type": "iw:head", "id", "layer", "head", "names"}`` for the buffers the mode on screen
        needs (and prefetches); the reply carries each buffer's dtype/shape/scale as JSON and its
        bytes as a binary buffer. The head's buffer traits (``attention`` …) stay in the kernel."""
        if isinstance(content, dict) and content.get("type") == "iw:band":
            self._on_band_request(content)
            return
        if not isinstance(content, dict) or content.get("type") != "iw:head":
            return
        reply: dict[str, Any] = {
            "type": "iw:head",
            "id": content.get("id"),
            "layer": content.get("layer"),
            "head": content.get("head"),
        }
        try:
            layer, head = check_head(self._info, content.get("layer"), content.get("head"))
            asked = [str(n) for n in content.get("names") or []]
            data = head_state(self._acts, layer, head, self._kind, names=asked)
        except Exception as exc:  # answered, so the browser shows why instead of waiting
            self.send({**reply, "error": f"cannot show L{reply['layer']}H{reply['head']}: {exc}"})
            return
        names = [n for n in asked if n in data]
        meta = {n: {k: v for k, v in data[n].items() if k != "view"} for n in names}
        self.send({**reply, "names": names, "meta": meta}, buffers=[data[n]["view"] for n in names])

    def _on_band_request(self, content: dict[str, Any]) -> None:
        """A band of a finer level of the matrix's max pyramid (long texts, ``shared/pyramid.js``):
        ``{"type": "iw:band", "id", "layer", "head", "name", "block", "band"}`` → the same keys
        plus ``meta`` and one float32 buffer (:func:`~induction_widgets.payload.band_payload`), or
        ``error``."""
        keys = ("type", "id", "layer", "head", "name", "block", "band")
        reply = {k: content.get(k) for k in keys}
        try:
            layer, head = check_head(self._info, content.get("layer"), content.get("head"))
            band = band_payload(
                self._acts, layer, head, str(content.get("name")), content.get("block"), content.get("band")
            )  # fmt: skip
        except Exception as exc:
            self.send({**reply, "error": f"cannot make that band: {exc}"})
            return
        meta = {k: v for k, v in band.items() if k != "view"}
        self.send({**reply, "meta": meta}, buffers=[band["view"]])

    def _setup(
        self,
        model: Any,
        text: Any,
        activations: TextActivations | None,
        truncate: bool,
        scores: HeadScores | None,
        progress: bool | None = None,
    ) -> TextActivations:
        """Take a share of the text's activations from the process-wide cache (one copy per model
        and token ids, see :mod:`~induction_widgets.compute.cache`) and remember what the view
        needs. The view holds the share, not the activations: they may be evicted under the
        memory budget and are read again on the next head change."""
        check_scores(scores)
        if activations is None:
            handle = CACHE.acquire(model, text, truncate=truncate, progress=progress)
        else:
            handle = CACHE.adopt(check_activations(activations, model, text))
        acts = handle.get()
        self._handle = handle
        register_view(self)
        self._info = acts.info
        self._scores = scores
        return acts

    def _spec(self, state: dict[str, Any]) -> ViewSpec:
        return ViewSpec(self._kind, state, self._acts, self._scores, {"title": type(self).__name__})

    @property
    def _acts(self) -> TextActivations:
        if self._handle is None:
            raise InputError("this view has no activations: it was not opened on a text")
        return self._handle.get()

    @property
    def activations(self) -> TextActivations:
        """The activations behind this view, shared by every view of the same model and text
        (read again first if they were evicted under the memory budget)."""
        return self._acts

    def close(self) -> None:
        """Close the live view and give back its share of the activations (pages already written
        by ``save_html`` are files and stay as they are)."""
        if self._handle is not None:
            self._handle.release()
        super().close()

    @traitlets.observe("layer", "head")
    def _head_changed(self, change: dict[str, Any]) -> None:
        try:
            handle = self._handle
            if handle is not None and not handle.resident:
                # evicted under the memory budget: say so while the one forward pass runs
                self.message = (
                    f"reading the text again for L{self.layer}H{self.head} (its activations were "
                    "evicted under the memory budget, iw.set_memory_budget) …"
                )
            acts = self._acts
            # long texts: the browser asks for the mode on screen (iw:head); making every buffer of
            # the head here would cost both modes' passes over its rows on every switch
            names = () if acts.n_tokens > LONG_TOKENS else None
            buffers = head_state(acts, self.layer, self.head, self._kind, names=names)
        except Exception as exc:  # shown in the view instead of a silent blank cell
            self.message = f"cannot show L{self.layer}H{self.head}: {exc}"
            return
        with self.hold_sync():
            self.set_trait("message", "")
            for name, value in buffers.items():
                self.set_trait(name, value)

    @traitlets.validate("sink_scale")
    def _valid_sink_scale(self, proposal: dict[str, Any]) -> str:
        return check_sink_scale(proposal["value"])

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if hasattr(self, "_info"):
            check_head(self._info, value, 0)
        return value

    @traitlets.validate("head")
    def _valid_head(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if hasattr(self, "_info"):
            check_head(self._info, 0, value)
        return value


#: Every open view of the package (token views, matrices, head maps, explorers), for close_all.
_OPEN_VIEWS: weakref.WeakSet[Any] = weakref.WeakSet()


def register_view(widget: Any) -> None:
    """Remember ``widget`` for :func:`close_all`."""
    _OPEN_VIEWS.add(widget)


def close_all() -> int:
    """Close every open view of the package and give back their activations; returns how many
    were closed. Exported pages already written stay as they are; re-run a cell to open a view
    again."""
    views = list(_OPEN_VIEWS)
    for view in views:
        view.close()
    _OPEN_VIEWS.clear()
    return len(views)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else an :class:`InputError` listing them."""
    if not isinstance(value, str) or value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise InputError(f"{name} must be {options}, got {value!r}")
    return value


def check_activations(activations: Any, model: Any, text: Any) -> TextActivations:
    """Reused activations must come from this model and this text (else the view would silently show
    another text)."""
    if not isinstance(activations, TextActivations):
        raise InputError(
            f"activations must be TextActivations (induction_widgets.TextActivations(model, text)) "
            f"or None, got {type(activations).__name__}"
        )
    owner = activations._model_ref()
    if owner is not None and owner is not model:
        raise InputError(
            "these activations were read with a different model: pass the model they came from, "
            "or activations=None"
        )
    if text is not None:
        tokens = to_tokens(model, text, truncate=True)
        if tokens.shape[0] != 1 or not torch.equal(tokens[0].cpu(), activations.tokens):
            raise InputError(
                "these activations were read from a different text: pass the same text (or tokens) "
                "they were read from, or activations=None"
            )
    return activations


def resolve_mask(spec: MaskSpec, tokens: list[str], name: str) -> list[bool] | None:
    """A token mask from a predicate on token strings, a regex, or one bool per token."""
    if spec is None:
        return None
    if isinstance(spec, str):
        pattern = re.compile(spec)
        mask = [bool(pattern.search(t)) for t in tokens]
    elif callable(spec):
        mask = [bool(spec(t)) for t in tokens]
    else:
        if not isinstance(spec, Iterable):
            raise InputError(
                f"{name} must be a predicate on token strings, a regex or one bool per token, "
                f"got {type(spec).__name__} {spec!r}"
            )
        mask = [bool(x) for x in spec]
        if len(mask) != len(tokens):
            raise InputError(
                f"{name} has {len(mask)} entries but the text has {len(tokens)} tokens"
            )
    if not any(mask):
        raise InputError(
            f"{name} matches no token of the text, so nothing could be shown: check the predicate "
            "against view.tokens (e.g. lambda t: t.strip() == ':')"
        )
    return mask


def strongest_induction_head(
    model: Any, scores: HeadScores | None = None
) -> tuple[tuple[int, int], HeadScores]:
    """The head with the highest prefix-matching score among induction heads (any head if none),
    and the scores it was chosen from (a quick :func:`head_scores` when none are given)."""
    if scores is None:
        scores = head_scores(model, n_examples=4, progress=False)
    heads = scores.induction_heads()
    if heads:
        return heads[0], scores
    best = scores.top(1, by="prefix_matching")[0]
    return (best.layer, best.head), scores


__all__ = [
    "STATIC",
    "Exportable",
    "HeadWidget",
    "MaskSpec",
    "check_activations",
    "check_choice",
    "check_scores",
    "close_all",
    "register_view",
    "resolve_mask",
    "static_file",
    "strongest_induction_head",
]
