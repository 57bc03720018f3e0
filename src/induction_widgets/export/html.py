"""Export room: offline HTML files from the view-spec layer (:mod:`induction_widgets.views`).

``save_html(view, path)`` asks the view for its spec (``view.view_spec()``) and writes the page; the
page format (runtime inline, buffers embedded, CSP) lives in :mod:`induction_widgets.views.static`.
No widget class is imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..views import ViewSpec, json_for_script, output_path, page, spec_of, static_spec, write_html


def view_spec(view: Any) -> ViewSpec:
    """The :class:`~induction_widgets.views.ViewSpec` of ``view``: the same as
    ``view.view_spec()`` (a :class:`ViewSpec` is returned as it is)."""
    return spec_of(view)


def page_spec(view: Any, heads: Any = None, *, attribution: bool = True) -> dict[str, Any]:
    """``{"kind", "state", "store"}`` of one view, ready for :func:`page`: its buffers embedded
    and the ``heads`` (``None``: the current head plus the top induction heads, ``"all"``, or
    ``(layer, head)`` pairs) in the store (see :func:`~induction_widgets.views.static_spec`)."""
    return static_spec(spec_of(view), heads, attribution=attribution)


def save_html(
    view: Any,
    path: str | Path,
    heads: Any = None,
    *,
    title: str | None = None,
    attribution: bool = True,
) -> Path:
    """Write ``view`` as one self-contained, offline, interactive HTML file and return its path.

    ``heads``: ``None`` (the current head plus the top induction heads), ``"all"``, or
    ``(layer, head)`` pairs. The file's folder is created when missing.
    """
    return write_html(spec_of(view), path, heads, title=title, attribution=attribution)


__all__ = [
    "json_for_script",
    "output_path",
    "page",
    "page_spec",
    "save_html",
    "spec_of",
    "view_spec",
]
