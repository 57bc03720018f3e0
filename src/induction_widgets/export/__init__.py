"""Export room: self-contained offline HTML pages, notebook export, the report."""

from ..naming import deprecated_aliases
from .html import page, page_data, save_html
from .notebook import export_notebook
from .report import report

__all__ = ["export_notebook", "page", "page_data", "report", "save_html"]

#: Old names (docs/naming.md): each warns with a DeprecationWarning and is the same function.
DEPRECATED_NAMES: dict[str, str] = {"view_spec": "page_data"}


__getattr__ = deprecated_aliases(__name__, DEPRECATED_NAMES, globals())
