"""Shared pieces of the widget classes: :class:`ViewWidget` (a view's widget, its traits built from
the view's declaration), :class:`SelectsHead` (a synced ``selected_head`` with its one check),
:class:`HeadWidget` (the behaviour of a view of one head on a text), static assets, masks, checks."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import torch
import traitlets

from ..checks import check_head, check_head_pair
from ..compute import HeadScores, ModelInfo, TextActivations, head_scores, to_tokens
from ..compute.cache import CACHE, ActivationHandle
from ..errors import InputError
from ..payload import LONG_TOKENS, band_payload, prefetch_heads
from ..views import (
    VIEWS,
    ViewSpec,
    check_palette,
    check_scores,
    check_sink_scale,
    display_copy,
    head_state,
    write_html,
)
from ..views.declare import Trait

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

    def save_figure(self, path: Any, **kwargs: Any) -> Path:
        """Write this view as it shows now (head, mode, scale, lock, palette) as a static figure:
        ``.pdf``, ``.svg`` or ``.png`` by the suffix of ``path`` (see
        :func:`induction_widgets.export.save_figure`; needs matplotlib,
        ``pip install induction_widgets[figures]``). No browser, no network."""
        from ..views.figure import save_figure

        return save_figure(self, path, **kwargs)

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


#: kind → the widget class of that view (filled as ``widgets/<kind>.py`` modules import).
WIDGETS: dict[str, type[ViewWidget]] = {}


def make_trait(trait: Trait) -> traitlets.TraitType[Any, Any]:
    """The traitlet of one declared trait (:class:`~induction_widgets.views.declare.Trait`)."""
    items: dict[str, Callable[[], traitlets.TraitType[Any, Any]]] = {
        "int": traitlets.Int,
        "float": traitlets.Float,
        "str": traitlets.Unicode,
        "pairs": lambda: traitlets.List(traitlets.Int()),
    }
    if trait.kind == "int":
        return traitlets.Int(trait.default)
    if trait.kind == "float":
        if trait.allow_none:
            return traitlets.Float(trait.default, allow_none=True)
        return traitlets.Float(trait.default)
    if trait.kind == "str":
        return traitlets.Unicode(trait.default)
    if trait.kind == "bool":
        return traitlets.Bool(trait.default)
    if trait.kind == "enum":
        return traitlets.Enum(list(trait.choices), trait.default)
    if trait.kind == "buffer":
        return traitlets.Dict()
    if trait.kind == "list":
        return traitlets.List(items[trait.item]())
    if trait.kind == "head_pair":
        return HeadPair()
    raise InputError(f"unknown trait kind {trait.kind!r}")


class HeadPair(traitlets.TraitType[list[int], Any]):
    """A selected head: ``[layer, head]`` or ``[]``. The value is checked, once the view's head grid
    is known, by :class:`SelectsHead`'s validator (:func:`~induction_widgets.checks.check_head_pair`)."""

    info_text = "[layer, head] or []"

    def make_dynamic_default(self) -> list[int]:
        return []

    def validate(self, obj: Any, value: Any) -> Any:
        return value  # checked by SelectsHead._valid_selected_head against the grid


class ViewWidget(Exportable, anywidget.AnyWidget):
    """The widget of a declared view: ``class HeadMap(ViewWidget, view="head_map")`` gets the
    view's synced traits (:attr:`ViewDecl.synced`: ``message``, ``title`` and the view's own),
    an unsynced ``Dict`` per head buffer (sent on request, see :class:`HeadWidget`), its front-end
    module ``static/<kind>.js`` and its ``_kind``; it is registered in :data:`WIDGETS`."""

    def __init_subclass__(cls, view: str | None = None, **kwargs: Any) -> None:
        if view is not None:
            decl = VIEWS[view]
            if cls.__name__ != decl.widget:
                raise InputError(
                    f"view {view!r} declares its widget {decl.widget!r}, not {cls.__name__!r}"
                )
            cls._kind = view
            cls._esm = static_file(f"{view}.js")
            traits: dict[str, traitlets.TraitType[Any, Any]] = {
                name: make_trait(t).tag(sync=True) for name, t in decl.synced.items()
            }
            for name in decl.head_buffers:  # not synced: the browser asks for them
                traits[name] = traitlets.Dict()
            for name, trait in traits.items():
                trait.class_init(cls, name)
                setattr(cls, name, trait)
            WIDGETS[view] = cls
        super().__init_subclass__(**kwargs)

    def _view_spec(
        self,
        state: dict[str, Any],
        activations: TextActivations | None = None,
        scores: HeadScores | None = None,
    ) -> ViewSpec:
        """:class:`ViewSpec` of this view with ``state``, titled by the class name."""
        return ViewSpec(self._kind, state, activations, scores, {"title": type(self).__name__})

    @traitlets.validate("palette")  # the views declared with PALETTE_TRAITS
    def _valid_palette(self, proposal: dict[str, Any]) -> str:
        return check_palette(proposal["value"])


class SelectsHead(traitlets.HasTraits):
    """A view with a synced ``selected_head`` (declared ``HeadPair()``): ``[layer, head]`` within
    the view's head grid (``n_layers`` × ``n_heads``, narrowed by :meth:`_head_grid`) or ``[]``,
    checked by one validator (:func:`~induction_widgets.checks.check_head_pair`)."""

    n_layers: int
    n_heads: int

    def _head_grid(self) -> tuple[int | None, str]:
        """``(n_layers, what)``: the layers a selected head may lie in (``None``: all of them) and
        how the error names it (e.g. ``"an earlier head "``)."""
        return None, ""

    @traitlets.validate("selected_head")
    def _valid_selected_head(self, proposal: dict[str, Any]) -> list[int]:
        value = proposal["value"]
        if isinstance(value, (list, tuple)) and len(value) == 0:
            return []
        n_layers, what = self._head_grid()
        return check_head_pair(value, self, what=what, n_layers=n_layers)


class HeadWidget(ViewWidget):
    """The behaviour of a view of one head on a text (declared with ``TEXT_TRAITS``): the
    activations' share, head data on request, layer/head checks."""

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
        # long texts: the neighbours' same buffers, made in the background (interrupted by the
        # next request), so that stepping through a layer's heads finds them made
        neighbours = [(layer, h) for h in (head + 1, head - 1) if 0 <= h < self._info.n_heads]
        prefetch_heads(self._acts, neighbours, names)

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
        return self._view_spec(state, self._acts, self._scores)

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


def check_layer_head(layer: Any, head: Any) -> None:
    """Both of ``layer`` / ``head`` or neither (then the view opens on the default head)."""
    if (layer is None) != (head is None):
        raise InputError(
            f"give both layer and head, or neither to open on the strongest induction head "
            f"(got layer={layer!r}, head={head!r})"
        )


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
    """:meth:`HeadScores.default_head` (the strongest induction head), and the scores it was chosen
    from (a quick :func:`head_scores` when none are given)."""
    if scores is None:
        scores = head_scores(model, n_examples=4, progress=False)
    return scores.default_head(), scores


__all__ = [
    "STATIC",
    "WIDGETS",
    "Exportable",
    "HeadPair",
    "HeadWidget",
    "MaskSpec",
    "SelectsHead",
    "ViewWidget",
    "check_activations",
    "check_layer_head",
    "check_scores",
    "close_all",
    "register_view",
    "resolve_mask",
    "static_file",
    "strongest_induction_head",
]
