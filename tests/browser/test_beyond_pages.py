"""The views of the "beyond" measures in Chromium, from ``save_html`` pages (no kernel, no network):
the loss curve's point at a known index sits where a log x axis puts it and hovering reads its
loss; the partners view's bars are in K-composition order with the widths of their scores and a
click sets ``selected_head``; the phase-change view marks the biggest jump and hovering reads the
checkpoint. Expected places and texts come from the compute results in the test process."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from labkit import expect, open_saved

pytestmark = pytest.mark.browser

LINE = (31, 119, 180)


def _open(offline, path):
    return open_saved(offline, path)


def _dataset(locator):
    return {k: float(v) for k, v in locator.evaluate("c => Object.assign({}, c.dataset)").items()}


def _near_colour(canvas, x, y, rgb, reach=3, tol=40):
    """Whether some pixel within ``reach`` CSS px of (x, y) has colour ``rgb`` (± tol)."""
    pixels = canvas.evaluate(
        """(c, [x, y, r]) => { const d = window.devicePixelRatio || 1;
        const s = Math.round(2 * r * d) + 1;
        return Array.from(c.getContext('2d').getImageData(Math.round((x - r) * d), Math.round((y - r) * d), s, s).data); }""",
        [x, y, reach],
    )
    a = np.asarray(pixels, dtype=float).reshape(-1, 4)
    return bool(((np.abs(a[:, :3] - np.asarray(rgb)).max(1) <= tol) & (a[:, 3] > 200)).any())


@pytest.fixture(scope="module")
def icl(tiny_model):
    import induction_widgets as iw

    return iw.icl_score(tiny_model, n_contexts=6, progress=False)


def test_loss_curve_log_axis_marks_and_hover(offline, tmp_path, icl):
    import induction_widgets as iw

    path = iw.LossCurve(icl, title="loss").save_html(tmp_path / "loss.html")
    page, problems = _open(offline, path)
    canvas = page.locator(".iw-loss-curve canvas.iw-plot")
    g = _dataset(canvas)
    curve = icl.curve.numpy()
    n = len(curve)
    assert int(g["nPoints"]) == n and g["xMin"] == 1 and g["xMax"] == n - 1

    def px(i):  # log10 x axis from index 1 to the last
        return g["plotLeft"] + math.log10(i) / math.log10(n - 1) * g["plotWidth"]

    def py(v):
        return g["plotTop"] + (1 - (v - g["yMin"]) / (g["yMax"] - g["yMin"])) * g["plotHeight"]

    # the marks at the indices the short context allows (26 and 255), the score in the header
    assert g["earlyPx"] == pytest.approx(px(icl.early)) and g["latePx"] == pytest.approx(
        px(icl.late)
    )
    expect(page.locator(".iw-loss-curve .iw-icl-score")).to_contain_text(
        f"loss[{icl.late}] − loss[{icl.early}]"
    )
    expect(page.locator(".iw-loss-curve .iw-note")).to_contain_text("500 and 50 do not fit")
    # the curve passes through (index 10, its loss); index 0 (NaN) is not drawn
    i = 10
    assert _near_colour(canvas, px(i), py(float(curve[i])), LINE)
    box = canvas.bounding_box()
    # hovering the early mark reads its index and loss (indices there are ~3 px apart)
    page.mouse.move(box["x"] + px(icl.early), box["y"] + py(float(curve[icl.early])))
    readout = page.locator(".iw-loss-curve .iw-readout")
    expect(readout).to_contain_text(f"token index {icl.early} (early index): mean loss")
    assert float(readout.text_content().split("mean loss ")[1].split(" ")[0]) == pytest.approx(
        float(curve[icl.early]), rel=1e-3
    )
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


def test_partners_bars_hover_and_click(offline, tmp_path, tiny_model):
    import induction_widgets as iw

    p = iw.previous_token_partners(tiny_model, 1, 1)
    path = iw.PartnerBars(p, title="partners").save_html(tmp_path / "partners.html")
    page, problems = _open(offline, path)
    rows = page.locator(".iw-partners .iw-partner-row")
    ranked = p.ranked
    expect(rows).to_have_count(len(ranked))
    # rows in Partners.ranked order, bars as wide as the scores (track 0 … 1)
    got = rows.evaluate_all(
        """rs => rs.map(r => { const w = (c) => r.querySelector(c).getBoundingClientRect().width;
        return [Number(r.dataset.layer), Number(r.dataset.head),
                w('.iw-bar-k') / w('.iw-bar-track'), w('.iw-bar-prev') / w('.iw-bar-track')]; })"""
    )
    for (layer, head, wk, wp), r in zip(got, ranked, strict=True):
        assert (layer, head) == (r.layer, r.head)
        assert wk == pytest.approx(r.k_composition, abs=0.01)
        assert wp == pytest.approx(min(1.0, r.previous_token), abs=0.01)
    # hover the best partner: its scores; click the second: selected_head
    best = rows.nth(0)
    best.hover()
    readout = page.locator(".iw-partners .iw-readout")
    expect(readout).to_contain_text(
        f"L{ranked[0].layer}H{ranked[0].head} → L1H1: K-composition {ranked[0].k_composition:.3g}"
    )
    rows.nth(1).click()
    want = [ranked[1].layer, ranked[1].head]
    assert page.evaluate("globalThis.iwModels[0].get('selected_head')") == want
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    page.mouse.move(0, 0)
    expect(readout).to_contain_text(f"selected L{want[0]}H{want[1]}")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


def test_phase_change_jump_and_hover(offline, tmp_path):
    from views.test_beyond_views import handmade_checkpoints  # tests/ is on sys.path (its conftest)

    import induction_widgets as iw

    cs = handmade_checkpoints()
    path = iw.PhaseChangeCurves(cs, title="phase").save_html(tmp_path / "phase.html")
    page, problems = _open(offline, path)
    canvas = page.locator(".iw-phase-change canvas.iw-plot")
    g = _dataset(canvas)
    assert int(g["nPoints"]) == 4 and (g["xMin"], g["xMax"]) == (0, 400)

    def px(step):
        return g["plotLeft"] + step / 400 * g["plotWidth"]

    # the biggest rise of the best prefix matching (0.2 → 0.8) is shaded: steps 100 → 200
    assert g["jumpLeftPx"] == pytest.approx(px(100)) and g["jumpRightPx"] == pytest.approx(px(200))
    expect(page.locator(".iw-phase-change .iw-jump")).to_contain_text("step 100 → 200")
    # the best prefix matching at step 200 (0.8) is a blue point in the top panel
    y = g["topTop"] + (1 - (0.8 - g["topMin"]) / (g["topMax"] - g["topMin"])) * g["panelHeight"]
    assert _near_colour(canvas, px(200), y, LINE, reach=2)
    # the ICL score at step 400 (−1.4) is a red point in the bottom panel
    y = g["lowTop"] + (1 - (-1.4 - g["lowMin"]) / (g["lowMax"] - g["lowMin"])) * g["panelHeight"]
    assert _near_colour(canvas, px(400) - 1, y, (214, 39, 40), reach=2)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + px(200) + 3, box["y"] + 40)
    readout = page.locator(".iw-phase-change .iw-readout")
    expect(readout).to_contain_text("step 200: best head's prefix matching 0.8, copying 0.4")
    expect(readout).to_contain_text("ICL score -0.5 ± 0.05 nats")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


def _cell_centre(g, layer, head):
    return (
        g["plotLeft"] + (head + 0.5) * g["cell"],
        g["plotTop"] + (layer + 0.5) * g["cell"],
    )


def _pixel(canvas, x, y):
    return canvas.evaluate(
        """(c, [x, y]) => { const d = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
        [x, y],
    )


def test_head_map_ablation_mode_colours_and_hover(offline, tmp_path, tiny_model):
    """The "ΔICL (ablation)" colouring of a saved head map: choosing it recolours the grid on a
    diverging scale (a positive ΔICL blue, a negative one orange, a head not measured hatched grey,
    not a colour of the scale), the hover reads the signed value ± its standard error, and the
    table's ΔICL column sorts with the missing head last."""
    from views.test_ablation_views import handmade  # tests/ is on sys.path (its conftest)

    import induction_widgets as iw

    scores = iw.head_scores(tiny_model, n_examples=4)
    abl = handmade(2, 4)  # [[.01, -.02, NaN, -.04], [.11, -.12, .13, -.14]], sem |v| / 10
    path = iw.HeadMap(scores, ablation=abl).save_html(tmp_path / "ablation.html")
    page, problems = _open(offline, path)
    hm = page.locator(".iw-root.iw-head-map")
    canvas = hm.locator("canvas.iw-grid")
    g = _dataset(canvas)
    cells = {c: _cell_centre(g, *c) for c in [(1, 0), (1, 1), (0, 2)]}
    before = {c: _pixel(canvas, *xy) for c, xy in cells.items()}
    select = hm.locator("select.iw-score-select")
    assert "ΔICL (ablation)" in select.locator("option").all_text_contents()
    select.select_option("icl_ablation")
    expect(hm.locator(".iw-legend")).to_have_attribute("data-kind", "diverging")
    expect(hm.locator(".iw-legend")).to_have_attribute("data-max", "+0.14")
    after = {c: _pixel(canvas, *xy) for c, xy in cells.items()}
    assert all(before[c] != after[c] for c in cells), (before, after)
    blue, orange = (31, 119, 180), (255, 127, 14)  # colour.js POSITIVE_RGB / NEGATIVE_RGB
    r, gg, b, a = after[(1, 0)]  # +0.11 of ±0.14: alpha 0.79
    assert np.abs(np.array([r, gg, b]) - blue).max() <= 3 and abs(a - 0.11 / 0.14 * 255) <= 3
    r, gg, b, a = after[(1, 1)]  # −0.12
    assert np.abs(np.array([r, gg, b]) - orange).max() <= 3 and abs(a - 0.12 / 0.14 * 255) <= 3
    # not measured: hatched in the text colour (grey on the page), neither blue nor orange
    x, y = cells[(0, 2)]
    hatched = [_pixel(canvas, x + dx, y + dy) for dx in range(-4, 5, 2) for dy in range(-4, 5, 2)]
    assert all(abs(p[0] - p[1]) <= 10 and abs(p[1] - p[2]) <= 10 for p in hatched if p[3] > 0)
    assert len({tuple(p) for p in hatched}) > 1  # lines and gaps: a hatch, not a flat fill
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + cells[(1, 0)][0], box["y"] + cells[(1, 0)][1])
    readout = hm.locator(".iw-readout")
    expect(readout).to_contain_text("L1H0 (layer 2 / 2): ΔICL (ablation) +0.11 ± 0.011")
    assert float(readout.get_attribute("data-value")) == pytest.approx(0.11, abs=1e-6)
    page.mouse.move(box["x"] + cells[(0, 2)][0], box["y"] + cells[(0, 2)][1])
    expect(readout).to_contain_text("L0H2 (layer 1 / 2): ΔICL (ablation) not measured")
    # the table: a ΔICL column, sorted by it (descending), the missing head last
    rows = hm.locator("table.iw-head-table tbody tr")
    keys = hm.locator("table.iw-head-table th").evaluate_all("ths => ths.map(t => t.dataset.key)")
    col = keys.index("score:icl_ablation")
    assert hm.locator("table.iw-head-table th").nth(col).inner_text() == "ΔICL"
    expect(rows.first).to_have_attribute("data-head", "2")  # L1H2 +0.13
    expect(rows.first.locator("td").nth(col)).to_have_text("+0.13 ± 0.013")
    expect(rows.last.locator("td").nth(col)).to_have_text("—")
    hm.locator("table.iw-head-table th").nth(col).click()  # ascending: L1H3 −0.14 first
    expect(rows.first).to_have_attribute("data-head", "3")
    expect(rows.first.locator("td").nth(col)).to_have_text("−0.14 ± 0.014")
    expect(rows.last.locator("td").nth(col)).to_have_text("—")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()
    # the same values from attribution patching: the colouring says so (select, readout)
    est = dataclasses.replace(abl, method="attribution")
    path = iw.HeadMap(scores, ablation=est, score="icl_ablation").save_html(tmp_path / "atp.html")
    page, problems = _open(offline, path)
    hm = page.locator(".iw-root.iw-head-map")
    options = hm.locator("select.iw-score-select option").all_text_contents()
    assert "ΔICL (attribution patching)" in options and "ΔICL (ablation)" not in options
    canvas = hm.locator("canvas.iw-grid")
    box, x_y = canvas.bounding_box(), _cell_centre(_dataset(canvas), 1, 0)
    page.mouse.move(box["x"] + x_y[0], box["y"] + x_y[1])
    expect(hm.locator(".iw-readout")).to_contain_text(
        "L1H0 (layer 2 / 2): ΔICL (attribution patching) +0.11 ± 0.011"
    )
    problems.assert_clean()
    page.close()


def test_explorer_map_offers_the_ablation_colouring(offline, tmp_path, tiny_model):
    """The explorer composes the head map: given an ablation result its map opens on the ΔICL
    colouring (diverging legend), hovering reads the value, and a click still selects the head
    for the token view."""
    from views.test_ablation_views import handmade

    import induction_widgets as iw

    scores = iw.head_scores(tiny_model, n_examples=4)
    ex = iw.InductionExplorer(
        tiny_model,
        "The cat sat on the mat. The cat sat on the mat.",
        scores=scores,
        layer=1,
        head=0,
        ablation=handmade(2, 4),
        score="icl_ablation",
    )
    page, problems = _open(offline, ex.save_html(tmp_path / "explorer.html"))
    hm = page.locator(".iw-root.iw-head-map")
    expect(hm.locator("select.iw-score-select")).to_have_value("icl_ablation")
    expect(hm.locator(".iw-legend")).to_have_attribute("data-kind", "diverging")
    canvas = hm.locator("canvas.iw-grid")
    g = _dataset(canvas)
    x, y = _cell_centre(g, 1, 3)
    assert _pixel(canvas, x, y)[:3] == [255, 127, 14]  # −0.14, the scale's end: full orange
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(hm.locator(".iw-readout")).to_contain_text("L1H3 (layer 2 / 2): ΔICL (ablation) −0.14")
    page.mouse.click(box["x"] + x, box["y"] + y)
    tv = page.locator(".iw-root.iw-token-view")
    expect(tv.locator(".iw-head-select")).to_have_value("3")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()
