"""Saved pages of an 8,192-token text (the long format, issue 22): a hand-built head puts one
bright cell (weight 0.6) far from the diagonal; at full zoom-out the matrix's pixel there shows
it (each pixel is the max of the ~130 cells it covers), where image scaling would average it
away. The token view keeps only the spans near its viewport in the DOM, moves the lock with the
arrow keys across the whole text and finds a token string."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from labkit import expect, open_saved
from viewcheck import point_at_cell, viridis_rgb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: planted.py
from planted import PLANTED, planted_activations

pytestmark = pytest.mark.browser

N = 8192
CELL = (6000, 1000)  # (dst, src): 5,000 tokens below the diagonal


@pytest.fixture(scope="module")
def acts(tiny_model):
    return planted_activations(tiny_model, N, CELL)


@pytest.fixture(scope="module")
def matrix_page(tiny_model, acts, tmp_path_factory):
    import induction_widgets as iw

    view = iw.AttentionMatrix(tiny_model, None, *PLANTED, activations=acts)
    return view.save_html(tmp_path_factory.mktemp("long") / "matrix.html", heads=[PLANTED])


def plot_pixels(canvas) -> np.ndarray:
    """The plot area's device pixels [H, W, 4] and the plot geometry."""
    got = canvas.evaluate(
        """c => { const d = c.width / c.offsetWidth, ds = c.dataset;
        const l = Math.round(+ds.plotLeft * d), t = Math.round(+ds.plotTop * d);
        const w = Math.round(+ds.plotSize * d);
        return { w, px: Array.from(c.getContext('2d').getImageData(l, t, w, w).data) }; }"""
    )
    return np.asarray(got["px"], dtype=np.uint8).reshape(got["w"], got["w"], 4)


def far_cell_seen(px: np.ndarray) -> tuple[np.ndarray, float]:
    """The pixel block around the planted cell at full zoom-out, and its brightest distance to
    viridis(0.6) (Euclidean RGB)."""
    w = px.shape[0]
    c = N / w
    y, x = int(CELL[0] / c), int(CELL[1] / c)
    around = px[y - 1 : y + 2, x - 1 : x + 2, :3].reshape(-1, 3).astype(float)
    want = np.asarray(viridis_rgb(0.6), float)
    return around, float(np.min(np.linalg.norm(around - want, axis=1)))


def test_planted_cell_visible_at_full_zoom_out_in_a_saved_page(offline, matrix_page):
    assert matrix_page.stat().st_size < 3e6  # one head: compact rows + overviews, both modes
    page, problems = open_saved(offline, matrix_page)
    canvas = page.locator(".iw-attention-matrix canvas.iw-plot")
    expect(canvas).to_have_attribute("data-render", "max")
    expect(canvas).to_have_attribute("data-n", str(N))
    px = plot_pixels(canvas)
    _, dist = far_cell_seen(px)
    assert dist <= 6, dist
    # everything else off the diagonal (and away from the BOS column) is the colour of 0
    w = px.shape[0]
    zero = np.asarray(viridis_rgb(0.0), float)
    ys, xs = np.mgrid[0:w, 0:w]
    far = (ys - xs > 3) & (xs > 2)
    off = np.linalg.norm(px[..., :3].astype(float) - zero, axis=-1) > 6
    bright = np.argwhere(far & off)
    c = N / w
    assert len(bright) >= 1
    assert all(abs(y - CELL[0] / c) <= 2 and abs(x - CELL[1] / c) <= 2 for y, x in bright), bright
    # the diagonal (0.8 on the previous token) is bright along its whole length
    diag = np.array([px[k, max(k - 1, 0), :3] for k in range(2, w - 2)], float)
    assert np.all(np.linalg.norm(diag - zero, axis=1) > 60)
    # the page holds no n² image: its JS heap stays small
    heap = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
    assert heap < 100e6, heap
    problems.assert_clean()


def test_zooming_in_keeps_the_cell_and_reads_it(offline, matrix_page):
    page, problems = open_saved(offline, matrix_page)
    canvas = page.locator(".iw-attention-matrix canvas.iw-plot")
    expect(canvas).to_have_attribute("data-render", "max")
    box = canvas.bounding_box()
    ds = canvas.evaluate("c => Object.assign({}, c.dataset)")
    size, left, top = float(ds["plotSize"]), float(ds["plotLeft"]), float(ds["plotTop"])
    zoom = size / N
    x = box["x"] + left + (CELL[1] + 0.5) * zoom
    y = box["y"] + top + (CELL[0] + 0.5) * zoom
    page.mouse.move(x, y)
    for _ in range(
        8
    ):  # zoom in around the cell until the finest level (one cell per pixel or more)
        page.mouse.wheel(0, -400)
        if canvas.get_attribute("data-level") == "1":
            break
    expect(canvas).to_have_attribute("data-level", "1")
    point_at_cell(page, canvas, *CELL)
    readout = page.locator(".iw-attention-matrix .iw-readout")
    expect(readout).to_have_attribute("data-dst", str(CELL[0]))
    expect(readout).to_have_attribute("data-src", str(CELL[1]))
    assert abs(float(readout.get_attribute("data-value")) - 0.6) < 1e-3
    _, dist = far_cell_seen_zoomed(canvas)
    assert dist <= 6, dist
    problems.assert_clean()


def far_cell_seen_zoomed(canvas):
    ds = canvas.evaluate("c => Object.assign({}, c.dataset)")
    px = plot_pixels(canvas)
    d = px.shape[0] / float(ds["plotSize"])
    zoom, ox, oy = float(ds["zoom"]), float(ds["ox"]), float(ds["oy"])
    y = int((CELL[0] - oy + 0.5) * zoom * d)
    x = int((CELL[1] - ox + 0.5) * zoom * d)
    rgb = px[y, x, :3].astype(float)
    return rgb, float(np.linalg.norm(rgb - np.asarray(viridis_rgb(0.6), float)))


@pytest.fixture(scope="module")
def text_page(tiny_model, acts, tmp_path_factory):
    import induction_widgets as iw

    view = iw.TokenView(tiny_model, None, *PLANTED, activations=acts, sink_scale="all sources")
    return view.save_html(tmp_path_factory.mktemp("long") / "text.html", heads=[PLANTED])


def test_token_view_keeps_few_spans_and_moves_across_the_text(offline, text_page):
    page, problems = open_saved(offline, text_page)
    tv = page.locator(".iw-token-view")
    expect(tv).to_have_attribute("data-virtual", "true")
    count = tv.locator(".iw-token").count()
    assert 0 < count < N / 2, count  # the blocks within 400 px of the 70vh box, of 8,192
    # hover a token in view: its row is shaded (0.8 on the previous token, 0.2 on BOS)
    tv.locator('.iw-token[data-index="40"]').hover()
    # a saved page keeps attention in one byte (scale 1/255): 0.8 reads as round(0.8·255)/255
    # in float32, as the browser's Float32Array holds it
    saved = str(float(np.float32(204 / 255)))
    expect(tv.locator('.iw-token[data-index="39"]')).to_have_attribute("data-value", saved)
    # search: the planted row's token, then the next match of the same string
    search = tv.locator("input.iw-search")
    search.fill("m")
    search.press("Enter")
    first = int(search.get_attribute("data-match"))
    assert first >= 0 and "m" in page.evaluate(f"() => iwModels[0].get('tokens')[{first}]")
    expect(tv.locator(f'.iw-token[data-index="{first}"]')).to_have_class(
        re.compile(r"\biw-locked\b")
    )
    search.press("Enter")
    assert int(search.get_attribute("data-match")) > first
    # lock the planted destination far down the text through the model, then walk with →
    page.mouse.move(0, 0)
    page.evaluate(f"() => {{ iwModels[0].set('selected', {CELL[0] - 3}); }}")
    tv.locator(".iw-tokens").evaluate("el => el.closest('.iw-root').focus()")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    locked = tv.locator(f'.iw-token[data-index="{CELL[0]}"]')
    expect(locked).to_have_class(re.compile(r"\biw-locked\b"))
    expect(locked).to_be_in_viewport()
    # the far source is 5,000 tokens up (not in the DOM): the status line names it
    page.mouse.move(0, 0)
    status = tv.locator(".iw-status")
    expect(status).to_contain_text(f"[{CELL[0]}] → src")
    expect(status).to_contain_text(f"[{CELL[1]}]: attention 0.6 ·")  # 153/255 (page: uint8)
    assert tv.locator(".iw-token").count() < N / 2
    # to the very end and back to the start
    page.evaluate(f"() => {{ iwModels[0].set('selected', {N - 2}); }}")
    page.keyboard.press("ArrowRight")
    expect(tv.locator(f'.iw-token[data-index="{N - 1}"]')).to_be_in_viewport()
    problems.assert_clean()
