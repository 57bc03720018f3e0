"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks:``).

- The gallery: every view saved as an offline page by ``scripts/gallery.py`` with the bundled tiny
  model, added to the site as ``gallery/<name>.html`` and embedded in gallery.md (the marker
  ``<!-- gallery -->``) as titled iframes. The pages are cached under ``build/gallery/<hash>``,
  keyed on the package's sources, its bundles and the gallery script, so a second build is quick.
- The nav: an entry whose page is not in docs/ (a page another branch adds) is left out, logged.
- Links to repository files outside docs/ (``../tests/x.py``) become the plain path in code, since
  the site has no copy of them.
- Sphinx roles left in docstrings (``:func:`x```) are dropped from the API pages, keeping the code.
- The theme's search dialog is named (``aria-label``), for screen readers.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.induction_widgets")
ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- gallery -->"
_gallery: list[tuple[Any, Path]] = []


def _gallery_key() -> str:
    h = hashlib.sha256()
    paths = sorted((ROOT / "src" / "induction_widgets").rglob("*.py"))
    paths += sorted((ROOT / "src" / "induction_widgets" / "static").glob("*.js"))
    paths.append(ROOT / "scripts" / "gallery.py")
    for p in paths:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _gallery_module():
    for p in (str(ROOT / "src"), str(ROOT / "scripts")):
        if p not in sys.path:
            sys.path.insert(0, p)
    import gallery  # scripts/gallery.py

    return gallery


def on_config(config, **kwargs):
    docs = Path(config["docs_dir"])

    def keep(item):
        if isinstance(item, str):
            return item if (docs / item).exists() or "://" in item else None
        if isinstance(item, dict):
            out = {}
            for title, value in item.items():
                if isinstance(value, list):
                    kept = [k for k in (keep(v) for v in value) if k is not None]
                    if kept:
                        out[title] = kept
                elif keep(value) is not None:
                    out[title] = value
                else:
                    log.info("nav: %s (%s) is not in docs/ yet; left out", title, value)
            return out or None
        return item

    if config.get("nav"):
        config["nav"] = [k for k in (keep(v) for v in config["nav"]) if k is not None]
    return config


def on_files(files: Files, config, **kwargs) -> Files:
    gallery = _gallery_module()
    cache = ROOT / "build" / "gallery" / _gallery_key()
    if all((cache / f"{e.name}.html").exists() for e in gallery.VIEWS):
        written = [(e, cache / f"{e.name}.html") for e in gallery.VIEWS]
        log.info("gallery: saved pages from %s", cache)
    else:
        log.info("gallery: saving every view with the tiny model into %s", cache)
        written = gallery.write_gallery(cache, log.info)
    _gallery[:] = written
    for entry, path in written:
        files.append(File.generated(config, f"gallery/{entry.name}.html", abs_src_path=str(path)))
    return files


def _gallery_markdown() -> str:
    parts = []
    for entry, _path in _gallery:
        title = html.escape(entry.title, quote=True)
        parts.append(
            f"## {entry.title}\n\n{entry.caption}\n\n"
            f'<iframe class="iw-gallery" src="gallery/{entry.name}.html" title="{title}" '
            f'style="width:100%;height:{entry.height}px;border:1px solid #8886"></iframe>\n\n'
            f'[Open the page on its own](gallery/{entry.name}.html){{: title="{title}" }}\n'
        )
    return "\n".join(parts)


_REPO_LINK = re.compile(r"\[([^\]]+)\]\(((?:\.\./)+)([^)#\s]+)(#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, _gallery_markdown())
    docs = Path(config["docs_dir"])
    here = (docs / page.file.src_path).parent

    def repo_path(m: re.Match) -> str:
        target = (here / (m.group(2) + m.group(3))).resolve()
        try:
            target.relative_to(docs.resolve())
            return m.group(0)  # a page of the site: mkdocs checks it
        except ValueError:
            pass
        try:
            rel = target.relative_to(ROOT)
        except ValueError:
            return m.group(0)
        text = m.group(1)
        path = f"`{rel.as_posix()}`"
        return text if text.strip("`") == rel.as_posix() else f"{text} ({path})"

    return _REPO_LINK.sub(
        lambda m: repo_path(m) if not m.group(1).startswith("!") else m.group(0), markdown
    )


_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|obj|exc|const):(?=<code>)")


def on_page_content(html_text: str, page, config, files, **kwargs) -> str:
    return _ROLE.sub("", html_text)


def on_post_page(output: str, page, config, **kwargs) -> str:
    """The theme's search dialog gets a name (axe: aria-dialog-name)."""
    return output.replace(
        'class="md-search" data-md-component="search" role="dialog"',
        'class="md-search" data-md-component="search" role="dialog" aria-label="Search"',
    )
