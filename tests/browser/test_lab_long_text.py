"""An 8,192-token text LIVE in JupyterLab (issue 22): the hand-built head of tests/planted.py (one
cell of weight 0.6 at (6,000, 1,000), 5,000 tokens from the diagonal) in an AttentionMatrix and a
TokenView fed by the kernel's iw:head messages (the long format: compact rows + block-max
overviews, never a whole [dst, src] matrix). The far cell's pixel at full zoom-out shows it; a head
switch to a head without it clears it; the token view keeps few spans and walks the whole text."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from labkit import LabNotebook, expect
from test_long_pages import CELL, N, far_cell_seen, far_cell_seen_zoomed, plot_pixels
from viewcheck import viridis_rgb

pytestmark = [pytest.mark.browser, pytest.mark.lab]

TESTS = Path(__file__).resolve().parents[1]
CELLS = [
    "import sys\n"
    f"sys.path.insert(0, {str(TESTS)!r})\n"
    "import induction_widgets as iw\n"
    "from planted import PLANTED, planted_activations\n"
    "model = iw.load_model('tiny')\n"
    f"acts = planted_activations(model, {N}, {CELL!r})",
    "am = iw.AttentionMatrix(model, None, *PLANTED, activations=acts)\nam",
    "tv = iw.TokenView(model, None, *PLANTED, activations=acts, sink_scale='all sources')\ntv",
]


@pytest.fixture(scope="module")
def nb(lab, lab_context):
    notebook = LabNotebook(lab, lab_context, "long_text", CELLS)
    notebook.open(timeout=300_000)
    assert not notebook.errors(), notebook.errors()
    yield notebook
    notebook.close()


def test_far_cell_visible_live_and_gone_on_another_head(nb):
    am = nb.cell(1).locator(".iw-attention-matrix")
    canvas = am.locator("canvas.iw-plot")
    expect(canvas).to_have_attribute("data-n", str(N), timeout=120_000)
    expect(canvas).to_have_attribute("data-render", "max")
    expect(canvas).to_have_attribute("data-level", "8")  # the kernel's overview (block 8)
    am.scroll_into_view_if_needed()
    _, dist = far_cell_seen(plot_pixels(canvas))
    assert dist <= 6, dist
    # zoom in around the cell: the finer bands drawn from the compact rows are replaced by the
    # kernel's exact block maxima (iw:band), and the cell is still there
    box = canvas.bounding_box()
    ds = canvas.evaluate("c => Object.assign({}, c.dataset)")
    zoom = float(ds["plotSize"]) / N
    nb.page.mouse.move(
        box["x"] + float(ds["plotLeft"]) + (CELL[1] + 0.5) * zoom,
        box["y"] + float(ds["plotTop"]) + (CELL[0] + 0.5) * zoom,
    )
    for _ in range(3):
        nb.page.mouse.wheel(0, -300)
    expect(canvas).to_have_attribute("data-exact-bands", re.compile(r"^[1-9]"), timeout=120_000)
    assert int(canvas.get_attribute("data-level")) < 8
    rgb, dist = far_cell_seen_zoomed(canvas)
    assert dist <= 6, rgb
    canvas.dblclick()  # back to full zoom-out
    # head 1 of the same layer has no far cell: its pixel is the colour of 0
    am.locator(".iw-head-select").select_option("1")
    expect(canvas).to_have_attribute("data-head-shown", "1.1", timeout=120_000)
    around, _ = far_cell_seen(plot_pixels(canvas))
    zero = np.asarray(viridis_rgb(0.0), float)
    assert np.all(np.linalg.norm(around - zero, axis=1) <= 6), around
    nb.problems.assert_clean()


def test_token_view_live_walks_the_whole_text(nb):
    tv = nb.cell(2).locator(".iw-token-view")
    expect(tv).to_have_attribute("data-virtual", "true", timeout=60_000)
    assert 0 < tv.locator(".iw-token").count() < N / 2
    nb.run(f"tv.selected = {CELL[0] - 2}")
    tv.scroll_into_view_if_needed()
    tv.locator(".iw-tokens").evaluate("el => el.closest('.iw-root').focus()")
    for _ in range(2):
        nb.page.keyboard.press("ArrowRight")
    locked = tv.locator(f'.iw-token[data-index="{CELL[0]}"]')
    expect(locked).to_have_class(re.compile(r"\biw-locked\b"))
    # scrolled into the token box's visible part (whether JupyterLab's notebook panel shows the
    # box is its own scrolling)
    nb.page.wait_for_function(
        """(el) => { const r = el.getBoundingClientRect();
          const b = el.closest('.iw-tokens').getBoundingClientRect();
          return r.bottom > b.top && r.top < b.bottom; }""",
        arg=locked.element_handle(),
        timeout=10_000,
    )
    nb.page.mouse.move(0, 0)
    status = tv.locator(".iw-status")
    expect(status).to_contain_text(f"[{CELL[1]}]: attention 0.6001", timeout=60_000)
    assert nb.eval("tv.selected") == CELL[0]
    search = tv.locator("input.iw-search")
    search.fill("dog")
    search.press("Enter")
    i = int(search.get_attribute("data-match"))
    assert i > CELL[0]  # the next match after the locked token
    expect(tv.locator(f'.iw-token[data-index="{i}"]')).to_have_class(re.compile(r"\biw-locked\b"))
    assert tv.locator(".iw-token").count() < N / 2
    nb.problems.assert_clean()
