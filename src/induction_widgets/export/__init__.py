"""Export room: self-contained offline HTML pages, static figures (matplotlib, imported when a figure
is drawn), notebook export, the report."""

from .figure import figure, register_figure, save_figure
from .html import page, page_spec, save_html, view_spec
from .notebook import export_notebook
from .report import report

__all__ = [
    "export_notebook",
    "figure",
    "page",
    "page_spec",
    "register_figure",
    "report",
    "save_figure",
    "save_html",
    "view_spec",
]
