"""A view's declaration: its kind, its public widget class's name, its synced traits and the per-head
buffers it shows — stated once (:func:`declare`), in the view's own module ``views/<kind>.py``.

Everything else follows from it: the widget class's traits (``widgets.ViewWidget`` builds them),
:data:`VIEWS` (the registry the saved pages, ``head_state`` and the packages' exports read), and,
from the file name ``js/src/<kind>.js``, the JS build entries and the saved-page runtime's registry
(``js/build.mjs``). Traits are declared as plain data here (views import no widget toolkit); the
widgets room turns each into a traitlet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class Trait:
    """One synced trait of a view: ``kind`` is ``"int"``, ``"float"``, ``"str"``, ``"bool"``,
    ``"enum"`` (one of ``choices``), ``"buffer"`` (a buffer dict or a dict of them, see
    :mod:`induction_widgets.payload`), ``"list"`` (of ``item``: ``"int"``, ``"float"``, ``"str"``
    or ``"pairs"`` = lists of ints) or ``"head_pair"`` (``[layer, head]`` or ``[]``, checked
    against the view's head grid by the widget's one validator)."""

    kind: str
    default: Any = None
    choices: tuple[str, ...] = ()
    item: str = ""
    allow_none: bool = False


def Int(default: int = 0) -> Trait:
    return Trait("int", default)


def Float(default: float | None = 0.0, *, allow_none: bool = False) -> Trait:
    return Trait("float", default, allow_none=allow_none)


def Str(default: str = "") -> Trait:
    return Trait("str", default)


def Bool(default: bool = False) -> Trait:
    return Trait("bool", default)


def Enum(choices: tuple[str, ...], default: str) -> Trait:
    return Trait("enum", default, choices=tuple(choices))


def Buffer() -> Trait:
    """A buffer dict (or a dict of buffer dicts keyed by name); ``{}`` = none."""
    return Trait("buffer", None)


def List(item: str) -> Trait:
    return Trait("list", None, item=item)


def HeadPair() -> Trait:
    """``[layer, head]`` or ``[]``: a selected head."""
    return Trait("head_pair", None)


#: The traits every view has, declared once: ``message`` (a banner: why nothing is shown, what is
#: being read) and ``title``.
BASE_TRAITS: dict[str, Trait] = {"message": Str(), "title": Str()}


@dataclass(frozen=True)
class ViewDecl:
    """One view: ``kind`` (the front-end module ``js/src/<kind>.js`` and the saved page's key),
    ``widget`` (the public class name, e.g. ``"HeadMap"``), ``traits`` (its own synced traits;
    :data:`BASE_TRAITS` come with every view), ``head_buffers`` (the per-head buffers it shows,
    a subset of :func:`~induction_widgets.payload.head_payloads`' keys, kept in the kernel and sent
    on request) and ``module`` (where it was declared)."""

    kind: str
    widget: str
    traits: Mapping[str, Trait]
    head_buffers: tuple[str, ...] = ()
    module: str = ""
    doc: str = field(default="", compare=False)

    @property
    def synced(self) -> dict[str, Trait]:
        """Every synced trait of the widget: :data:`BASE_TRAITS` and the view's own."""
        return {**BASE_TRAITS, **self.traits}


class _Registry(Mapping[str, ViewDecl]):
    """kind → :class:`ViewDecl`, in declaration order."""

    def __init__(self) -> None:
        self._views: dict[str, ViewDecl] = {}

    def __getitem__(self, kind: str) -> ViewDecl:
        try:
            return self._views[kind]
        except KeyError:
            known = ", ".join(map(repr, self._views))
            raise InputError(f"unknown view kind {kind!r}: the views are {known}") from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._views

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def add(self, decl: ViewDecl) -> None:
        old = self._views.get(decl.kind)
        if old is not None and old.module != decl.module:
            raise InputError(
                f"view kind {decl.kind!r} is declared twice ({old.module} and {decl.module}): "
                "give the new view another kind"
            )
        self._views[decl.kind] = decl

    def remove(self, kind: str) -> None:
        """Forget ``kind`` (a throwaway view of a test)."""
        self._views.pop(kind, None)


#: Every declared view, kind → :class:`ViewDecl` (filled as ``views/<kind>.py`` modules import).
VIEWS = _Registry()


class _HeadBuffers(Mapping[str, tuple[str, ...]]):
    """kind → the per-head buffers that view shows (read from :data:`VIEWS`)."""

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return VIEWS[kind].head_buffers

    def __iter__(self) -> Iterator[str]:
        return iter(VIEWS)

    def __len__(self) -> int:
        return len(VIEWS)


#: kind → the per-head buffers each view shows (a subset of ``head_payloads``' keys), from
#: :data:`VIEWS`.
HEAD_BUFFERS = _HeadBuffers()


def declare(
    kind: str,
    widget: str,
    traits: Mapping[str, Trait],
    *,
    head_buffers: tuple[str, ...] = (),
    module: str = "",
    doc: str = "",
) -> ViewDecl:
    """Declare the view ``kind`` once and register it in :data:`VIEWS` (see the package docstring,
    "Adding a view"). ``traits`` must not repeat :data:`BASE_TRAITS` nor name a head buffer."""
    if not kind.isidentifier() or not widget.isidentifier():
        raise InputError(f"a view's kind and widget must be identifiers, got {kind!r}, {widget!r}")
    clash = sorted(set(traits) & (set(BASE_TRAITS) | set(head_buffers)))
    if clash:
        raise InputError(
            f"view {kind!r} declares {clash} again: base traits and head buffers come with it"
        )
    decl = ViewDecl(kind, widget, dict(traits), tuple(head_buffers), module, doc)
    VIEWS.add(decl)
    return decl


__all__ = [
    "BASE_TRAITS",
    "HEAD_BUFFERS",
    "VIEWS",
    "Bool",
    "Buffer",
    "Enum",
    "Float",
    "HeadPair",
    "Int",
    "List",
    "Str",
    "Trait",
    "ViewDecl",
    "declare",
]
