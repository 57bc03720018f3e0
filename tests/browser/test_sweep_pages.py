"""The sweep views in Chromium from ``save_html`` pages (no kernel, no network): the heatmap's
cells have the viridis ends at the grid's extremes, each head's jump is outlined where the
plain-loop argmax puts it, a click prints the explorer call; the depth view puts layers at the
same relative depth of a 2-layer and a 3-layer model on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from labkit import expect, open_saved
from sweepdata import two_model_sweep

pytestmark = pytest.mark.browser
pytest.importorskip("pyarrow")

YELLOW = (253, 231, 37)  # viridis at 1
PURPLE = (68, 1, 84)  # viridis at 0


@pytest.fixture(scope="module")
def sw(tmp_path_factory):
    return two_model_sweep(tmp_path_factory.mktemp("pages"))


def _pixel(canvas, x, y):
    return canvas.evaluate(
        """(c, [x, y]) => { const d = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
        [x, y],
    )


def test_heatmap_page(offline, tmp_path, sw):
    import induction_widgets as iw

    path = iw.SweepHeatmap(sw, measure="prefix_matching", title="sweep").save_html(
        tmp_path / "h.html"
    )
    page, problems = open_saved(offline, path)
    canvas = page.locator(".iw-sweep-heatmap canvas.iw-plot")
    d = canvas.evaluate("c => Object.assign({}, c.dataset)")
    left, top, cw, ch = (float(d[k]) for k in ("left", "top", "cellW", "cellH"))
    assert (int(d["rows"]), int(d["cols"])) == (8, 3)
    values = sw.grid("prefix_matching", "tiny")["value"].reshape(3, 8).numpy()
    # the jump cells, from the plain loop over each head's rises
    jumps = [1 + int(np.argmax(np.diff(values[:, r]))) for r in range(8)]
    assert [int(v) for v in d["jumpCols"].split(",")] == jumps
    # the largest value is yellow, the smallest dark purple (pixels at the cells' centres)
    for (i, r), rgb in (
        (np.unravel_index(values.argmax(), values.shape), YELLOW),
        (np.unravel_index(values.argmin(), values.shape), PURPLE),
    ):
        px = _pixel(canvas, left + (i + 0.5) * cw, top + (r + 0.5) * ch)
        assert max(abs(a - b) for a, b in zip(px[:3], rgb, strict=True)) <= 40, (i, r, px)
    # a jump cell carries a white then a black outline on its 2nd and 3rd pixel columns; the
    # cells after it do not
    r = 5
    x0, y = left + jumps[r] * cw, top + (r + 0.5) * ch
    assert min(_pixel(canvas, x0 + 1, y)[:3]) > 200 and max(_pixel(canvas, x0 + 2, y)[:3]) < 40
    other = next(i for i in range(3) if i != jumps[r])
    assert max(_pixel(canvas, left + other * cw + 2, y)[:3]) >= 40  # viridis: max channel >= 84
    # hover reads value ± sem; a click prints the call opening that checkpoint at that head
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + left + 1.5 * cw, box["y"] + top + 5.5 * ch)
    expect(page.locator(".iw-sweep-heatmap .iw-readout")).to_contain_text(
        "L1H1 at step 600: prefix matching"
    )
    page.mouse.click(box["x"] + left + 1.5 * cw, box["y"] + top + 5.5 * ch)
    expect(page.locator(".iw-sweep-heatmap .iw-call")).to_have_text(
        "iw.InductionExplorer(iw.load_model('tiny', revision='step600'), text, layer=1, head=1)"
    )
    # another measure from the select, no kernel
    page.locator(".iw-sweep-heatmap select").select_option("copying")
    expect(canvas).to_have_attribute("data-measure", "copying")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


def test_depth_page(offline, tmp_path, sw):
    import induction_widgets as iw

    path = iw.SweepDepthMaps(sw, measure="prefix_matching").save_html(tmp_path / "d.html")
    page, problems = open_saved(offline, path)
    canvas = page.locator(".iw-sweep-depth canvas.iw-plot")
    panels = canvas.evaluate("c => JSON.parse(c.dataset.panels)")
    assert [(p["L"], p["H"]) for p in panels] == [(2, 4), (3, 3)]
    a, b = panels
    # first layers on one row, last layers on one row, the 3-layer model's middle layer halfway
    assert a["ys"][0] == pytest.approx(b["ys"][0]) and a["ys"][1] == pytest.approx(b["ys"][2])
    assert b["ys"][1] == pytest.approx((b["ys"][0] + b["ys"][2]) / 2)
    box = canvas.bounding_box()
    x = b["x"] + 2.5 * b["cellW"]
    y = b["ys"][1] + b["band"] / 2
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(page.locator(".iw-sweep-depth .iw-readout")).to_contain_text(
        "L1H2 (relative depth 0.50)"
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    run = sw.models[1]
    expect(page.locator(".iw-sweep-depth .iw-call")).to_have_text(
        f"iw.InductionExplorer(iw.load_model({run!r}, revision='checkpoint-1'), text, layer=1, head=2)"
    )
    assert offline.request_log == []
    problems.assert_clean()
    page.close()
