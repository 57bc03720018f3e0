"""Export a notebook to one offline HTML file in which every view renders without a kernel.

Plain ``jupyter nbconvert --to html`` keeps each widget output as a widget-view placeholder that
needs require.js, the widget manager and anywidget from CDNs: offline it shows nothing. Our views'
outputs also carry a self-contained ``text/html`` copy (an ``<iframe srcdoc>`` with the standalone
runtime and the data inline; for texts longer than ``STATIC_COPY_MAX_TOKENS`` only when the notebook
is run by the export, ``execute=True``, see ``views.display_copy``), so :func:`export_notebook` drops the widget-view placeholders (the
static copy is then what nbconvert renders) and strips every ``<script src>`` / ``<link href>`` that
points off the page, so opening the file makes zero network requests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..checks import check_int
from ..errors import InputError
from ..views import STATIC_COPY_ENV, output_path

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

_REMOTE_TAG = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>"
    r"|<script\b[^>]*\bsrc\s*=\s*(?:\"\"|'')[^>]*>\s*</script>"  # nbconvert's empty MathJax slot
    r"|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>",
    re.IGNORECASE,
)


def strip_widget_placeholders(nb: Any) -> int:
    """Drop widget-view outputs that have a static ``text/html`` copy; return how many were dropped.

    Also removes the notebook's saved widget state, which would make nbconvert add the CDN manager.
    """
    dropped = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data and "text/html" in data:
                del data[WIDGET_MIME]
                dropped += 1
    nb.metadata.pop("widgets", None)
    return dropped


def strip_remote_tags(html_text: str) -> str:
    """Remove ``<script src=…>`` and ``<link href=…>`` elements that load from another host, and
    ``<script src="">`` (nbconvert's MathJax slot when MathJax is off)."""
    return _REMOTE_TAG.sub("", html_text)


#: nbconvert's lab template draws the In/Out prompts of inactive cells half transparent (#b0b0b0 on
#: white, 2.2:1); WCAG AA asks 4.5:1 of text, so the exported page draws them in #616161 (6.2:1).
_PROMPT_CONTRAST = (
    "<style>.jp-InputPrompt, .jp-OutputPrompt { color: #616161 !important; opacity: 1 !important; }"
    "</style>\n</head>"
)


def _readable_prompts(html_text: str) -> str:
    """The exported page with its prompts at a readable contrast (see :data:`_PROMPT_CONTRAST`)."""
    return html_text.replace("</head>", _PROMPT_CONTRAST, 1)


def _notebook_path(notebook: Any) -> Path:
    """``notebook`` as the path of an existing file, or an :class:`InputError` naming the fix."""
    if not isinstance(notebook, (str, os.PathLike)) or isinstance(notebook, bytes):
        raise InputError(
            f"notebook must be the path of an .ipynb file (str or pathlib.Path), got "
            f"{type(notebook).__name__} {notebook!r}"
        )
    src = Path(notebook).expanduser()
    if not src.is_file():
        what = "is a folder" if src.is_dir() else "does not exist"
        raise InputError(f"{str(src)!r} {what}: give the path of an .ipynb file")
    return src


def export_notebook(
    notebook: str | Path,
    output: str | Path | None = None,
    *,
    execute: bool = False,
    timeout: int = 1200,
) -> Path:
    """Convert ``notebook`` to a self-contained HTML file (optionally executing it first).

    Returns the output path (default: the notebook's name with ``.html``).
    """
    src = _notebook_path(notebook)
    timeout = check_int("timeout", timeout, 1)
    out = output_path(output if output is not None else src.with_suffix(".html"))
    try:
        import nbformat
        from nbconvert import HTMLExporter
    except ImportError as exc:  # the optional extra
        raise ImportError(
            "export_notebook needs nbconvert and nbformat: pip install 'induction-widgets[export]'"
        ) from exc
    try:
        nb = nbformat.read(src, as_version=4)
    except (ValueError, KeyError, AttributeError, TypeError) as exc:  # NotJSONError is a ValueError
        raise InputError(
            f"{str(src)!r} is not a Jupyter notebook (nbformat cannot read it: "
            f"{str(exc)[:120]}): give an .ipynb file"
        ) from exc
    if execute:
        from nbclient import NotebookClient

        # the kernel's views carry their whole static copy whatever the text's length
        saved = os.environ.get(STATIC_COPY_ENV)
        os.environ[STATIC_COPY_ENV] = "always"
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(src.parent)}},
            ).execute()
        finally:
            if saved is None:
                os.environ.pop(STATIC_COPY_ENV, None)
            else:
                os.environ[STATIC_COPY_ENV] = saved
    strip_widget_placeholders(nb)
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(_readable_prompts(strip_remote_tags(body)), encoding="utf-8")
    return out
