"""axe-core (the npm package, js/node_modules/axe-core) in Chromium over every saved view (the docs
gallery's pages: token view, matrix, head map, scatter, explorer, loss curve, partners, phase
change), the report on the tiny model, an exported notebook and the gallery page of the site, in the
light and the dark colour scheme: no serious or critical violation.

Also: every canvas of every view is named (aria-label) and described by text a screen reader
reaches (a visually hidden summary with the numbers, and the readout), with the numbers checked
against the page's own data where the summary states them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_site import GALLERY, serve_site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "js" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => `${v.id} (${v.impact}): ` + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(', '))"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in js/ (axe-core is a devDependency)")
    return AXE.read_text()


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    """The report on the tiny model (Argument 4's sections; the views of the "beyond" sections
    are the gallery's loss curve, partners and phase change)."""
    import induction_widgets as iw

    out = tmp_path_factory.mktemp("report") / "report.html"
    return iw.report(iw.load_model("tiny"), out, progress=False, n_problems=3, beyond=False)


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory) -> Path:
    """An executed notebook exported to HTML: its views are static copies in iframes."""
    import nbformat

    import induction_widgets as iw

    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Exported"),
        nbformat.v4.new_code_cell(
            "import induction_widgets as iw\nmodel = iw.load_model('tiny')\n"
            "iw.TokenView(model, 'the cat sat on the mat. the cat sat on the mat.', 1, 1)"
        ),
        nbformat.v4.new_code_cell("iw.HeadMap(iw.head_scores(model, progress=False))"),
    ]
    nbformat.write(nb, folder / "a11y.ipynb")
    return iw.export_notebook(folder / "a11y.ipynb", execute=True)


def _axe(page, source: str) -> list[str]:
    page.add_script_tag(content=source)
    return page.evaluate(SERIOUS)


def _open(chromium, url: str, scheme: str, *, ready: bool = True):
    ctx = chromium.new_context(viewport={"width": 1200, "height": 1000}, color_scheme=scheme)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto(url)
    if ready:
        page.locator("body[data-iw-ready='true']").wait_for(state="attached")
    return ctx, page


def test_docs_gallery_and_every_saved_view_have_no_serious_violation(
    chromium, site_dir, axe_source
):
    """The site's gallery page, then axe in each of its frames: the eight saved views (the token
    view and the explorer also with a token locked)."""
    with serve_site(site_dir) as base:
        ctx, page = _open(chromium, f"{base}/gallery.html", "light", ready=False)
        try:
            found = {"gallery": _axe(page, axe_source)}
            frames = page.locator("iframe.iw-gallery").all()
            assert len(frames) == len(GALLERY)
            for frame in frames:
                assert frame.get_attribute("title")
                inner = frame.element_handle().content_frame()
                assert inner is not None
                inner.locator("body[data-iw-ready='true']").wait_for(state="attached")
                name = frame.get_attribute("src") or "?"
                found[name] = _axe(inner, axe_source)
                if "token_view" in name or "explorer" in name:
                    frame.scroll_into_view_if_needed()
                    inner.locator(".iw-token").nth(20).click()
                    found[name + " (locked)"] = inner.evaluate(SERIOUS)
        finally:
            ctx.close()
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_report_notebook_and_explorer_have_no_serious_violation(
    chromium, site_dir, report_page, notebook_page, axe_source, scheme
):
    """The report, an exported notebook (its static copies in titled iframes) and a saved explorer
    in both colour schemes (the pages follow prefers-color-scheme)."""
    pages = {"report": report_page, "explorer": site_dir / "gallery" / "explorer.html"}
    if scheme == "light":
        pages["notebook"] = notebook_page
    found = {}
    for name, path in pages.items():
        ctx, page = _open(chromium, path.resolve().as_uri(), scheme, ready=name != "notebook")
        try:
            if name == "notebook":
                frames = page.locator("iframe.iw-static")
                assert frames.count() == 2
                for i in range(2):
                    assert frames.nth(i).get_attribute("title")
            violations = _axe(page, axe_source)
            if violations:
                found[name] = violations
        finally:
            ctx.close()
    assert found == {}, f"axe-core, {scheme} scheme: {found}"


def test_every_canvas_has_a_text_alternative(chromium, site_dir):
    """Each canvas a view draws data on has a label, and its description (the hidden summary and
    the readout) is in the page's text; the head map's summary names the top head of the table."""
    ctx, page = _open(chromium, (site_dir / "gallery" / "explorer.html").as_uri(), "light")
    try:
        missing = []
        for name in GALLERY:
            page.goto((site_dir / "gallery" / f"{name}.html").as_uri())
            page.locator("body[data-iw-ready='true']").wait_for(state="attached")
            for c in page.locator("canvas:not(.iw-overlay)").all():
                label = c.get_attribute("aria-label") or ""
                ids = (c.get_attribute("aria-describedby") or "").split()
                described = " ".join(
                    page.locator(f"#{i}").text_content() or "" for i in ids
                ).strip()
                if c.get_attribute("role") != "img" or len(label) < 20 or not described:
                    missing.append((name, c.get_attribute("class"), label, described))
        assert missing == [], missing
        page.goto((site_dir / "gallery" / "head_map.html").as_uri())
        page.locator("body[data-iw-ready='true']").wait_for(state="attached")
        summary = page.locator("canvas.iw-grid + .iw-sr-only").text_content() or ""
        first_row = page.locator(".iw-head-table tbody tr").first
        head = first_row.locator("td").first.text_content()
        assert re.search(rf"Highest [^:]+: {re.escape(head or '?')} ", summary), (summary, head)
    finally:
        ctx.close()
