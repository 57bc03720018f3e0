"""Static figures of the views (the export room's face of :mod:`induction_widgets.views.figure`):
``figure(view)`` → a matplotlib ``Figure``, ``save_figure(view, "fig.pdf" | ".svg" | ".png")``, and
``register_figure(kind)`` for a new view kind's drawing function. :data:`FIGURES` maps each kind to
its function. matplotlib is imported when a figure is drawn (``pip install
'induction_widgets[figures]'``)."""

from __future__ import annotations

from ..views.figure import FIGURES, FORMATS, figure, register_figure, save_figure

__all__ = ["FIGURES", "FORMATS", "figure", "register_figure", "save_figure"]
