"""Export room: self-contained offline HTML pages, notebook export, the report."""

from .html import page, page_spec, save_html, view_spec
from .notebook import export_notebook
from .report import report

__all__ = ["export_notebook", "page", "page_spec", "report", "save_html", "view_spec"]
