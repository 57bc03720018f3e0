"""The documentation site: it builds with ``--strict``, documents every public name, links only to
what exists, and no page (the gallery's embedded views included) asks the network for anything.

The link check is our own crawl of the built HTML (every ``href``/``src`` of every page, anchors
included), beside mkdocs's own strict validation; the network check loads every page in Chromium
from a local HTTP server and aborts and logs any request that is not for that server.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import inspect
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import induction_widgets as iw

GALLERY = ("explorer", "token_view", "attention_matrix", "head_map", "scatter", "loss_curve",
           "partners", "phase_change")  # fmt: skip


class _Page(HTMLParser):
    """The ids and the outgoing references (tag, attribute, value) of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if name in ("href", "src") and value is not None:
                self.refs.append((tag, name, value))

    def handle_data(self, data):
        self.text.append(data)


@functools.cache
def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_public_name_is_on_the_reference_pages(site_dir):
    """Each name of ``induction_widgets.__all__`` has its own heading (anchor
    ``induction_widgets.NAME``) on an API page, and a function's or class's section carries the
    start of its docstring."""
    api = {p: _parse(p) for p in (site_dir / "api").glob("*.html")}
    assert api, "no API pages built"
    missing, undocumented = [], []
    for name in iw.__all__:
        anchor = f"induction_widgets.{name}"
        where = [p for p, parsed in api.items() if anchor in parsed.ids]
        if not where:
            missing.append(name)
            continue
        obj = getattr(iw, name)
        if callable(obj):
            doc = re.sub(r":\w+:(?=`)", "", inspect.getdoc(obj) or "")  # Sphinx roles
            words = re.findall(r"[A-Za-z]{3,}", doc.split("\n\n")[0])[:6]
            text = " ".join(re.findall(r"[A-Za-z]{3,}", " ".join(_parse(where[0]).text)))
            if not words or " ".join(words) not in text:
                undocumented.append(name)
    assert missing == [], f"public names with no section on the API pages: {missing}"
    assert undocumented == [], f"sections without their docstring: {undocumented}"


def test_guides_left_the_readme_for_the_site(site_dir):
    """The pages the README used to hold are on the site, and the README is a landing page."""
    for page in ("index", "hosts", "architectures", "memory", "scores", "payload", "beyond",
                 "argument4", "gallery", "accessibility"):  # fmt: skip
        assert (site_dir / f"{page}.html").is_file(), page
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert len(readme.read_bytes()) <= 6 * 1024
    arch = " ".join(_parse(site_dir / "architectures.html").text)
    assert "25 of 25 families pass" in arch  # the generated compatibility table moved here


def test_no_broken_internal_link(site_dir):
    """Every relative ``href``/``src`` of every page names a file of the site, and every
    ``#anchor`` an id of its target page; no page loads a script, style, image or frame from
    another host (links to other sites, ``<a href="https://…">``, are allowed)."""
    broken, remote = [], []
    for page in _pages(site_dir):
        for tag, attr, value in _parse(page).refs:
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") or value.startswith("//"):
                if tag != "a":
                    remote.append(f"{page.relative_to(site_dir)}: <{tag} {attr}={value}>")
                continue
            if parts.scheme in ("data", "blob", "mailto", "javascript") or not value:
                continue
            if not parts.path:
                target = page
            elif parts.path.startswith("/"):  # 404.html links from the site's root
                target = site_dir / unquote(parts.path).lstrip("/")
            else:
                target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site_dir)}: {value}"
            if not target.exists():
                broken.append(where)
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in _parse(target).ids
            ):
                broken.append(where + " (no such anchor)")
    assert broken == [], f"broken internal links: {broken[:20]}"
    assert remote == [], f"resources from other hosts: {remote[:20]}"


def test_gallery_embeds_every_view_with_a_title(site_dir):
    frames = [
        (tag, value)
        for tag, attr, value in _parse(site_dir / "gallery.html").refs
        if tag == "iframe"
    ]
    assert [v for _, v in frames] == [f"gallery/{n}.html" for n in GALLERY]
    html = (site_dir / "gallery.html").read_text()
    assert len(re.findall(r'<iframe [^>]*title="[^"]+"', html)) == len(GALLERY)


@contextlib.contextmanager
def serve_site(root: Path):
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_no_page_makes_a_network_request(site_dir, chromium):
    """Every page of the site, loaded in Chromium from a local server: no request goes anywhere
    else (each is aborted and logged), no script fails, and the gallery's eight views start."""
    with serve_site(site_dir) as base:
        ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
        log: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith((base, "data:", "blob:", "about:")):
                r.continue_()
            else:
                log.append(url)
                r.abort()

        ctx.route("**/*", route)
        ctx.set_default_timeout(30_000)
        errors: list[str] = []
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            for path in _pages(site_dir):
                rel = path.relative_to(site_dir).as_posix()
                page.goto(f"{base}/{rel}", wait_until="load")
                if rel == "gallery.html":
                    for frame in page.locator("iframe.iw-gallery").all():
                        body = frame.content_frame.locator("body[data-iw-ready='true']")
                        body.wait_for(state="attached")
                    assert len(page.frames) == 1 + len(GALLERY)
        finally:
            ctx.close()
    assert log == [], f"requests that left the local server: {log[:20]}"
    assert errors == [], f"page errors: {errors[:10]}"
