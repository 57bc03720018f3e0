"""The verdict scatter in Chromium, from a ``save_html`` page (no kernel, no network): the point of a
known head sits where its scores put it and has its layer-depth colour, hovering names the head
with its scores, clicking selects it. Expected positions and colours come from the test process
(``views.scatter_data`` and a Python copy of the viridis map), not from the page."""

from __future__ import annotations

import numpy as np
import pytest
from labkit import expect, open_saved
from viewcheck import viridis

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scores(tiny_model):
    import induction_widgets as iw

    return iw.head_scores(tiny_model, progress=False)


@pytest.fixture(scope="module")
def scatter(tmp_path_factory, scores):
    import induction_widgets as iw
    from induction_widgets.views import scatter_data as verdict_scatter

    path = iw.VerdictScatter(scores, title="verdict").save_html(
        tmp_path_factory.mktemp("scatter") / "scatter.html"
    )
    return path, verdict_scatter(scores)


def test_scatter_point_colour_hover_click(offline, scatter):
    path, data = scatter
    page, problems = open_saved(offline, path)
    canvas = page.locator(".iw-verdict-scatter canvas.iw-scatter")
    ds = canvas.evaluate("c => Object.assign({}, c.dataset)")
    g = {k: float(v) for k, v in ds.items()}
    assert int(g["nPoints"]) == len(data["labels"])
    x, y, depth = data["x"].numpy(), data["y"].numpy(), data["depth"].numpy()
    # the trait ranges (prefix matching 0…1, copying rank 0…1) widened only to cover the data
    assert g["xMin"] == pytest.approx(min(0.0, x.min())) and g["xMax"] == pytest.approx(
        max(1.0, x.max())
    )
    assert g["yMin"] == pytest.approx(min(data["y_range"][0], y.min()))
    px = g["plotLeft"] + (x - g["xMin"]) / (g["xMax"] - g["xMin"]) * g["plotWidth"]
    py = g["plotTop"] + (1 - (y - g["yMin"]) / (g["yMax"] - g["yMin"])) * g["plotHeight"]
    # threshold lines where the thresholds are
    assert g["xThresholdPx"] == pytest.approx(
        g["plotLeft"] + (data["x_threshold"] - g["xMin"]) / (g["xMax"] - g["xMin"]) * g["plotWidth"]
    )
    # a head whose point no other point overlaps, in the deepest layer if possible
    dist = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) + np.eye(len(px)) * 1e9
    alone = [i for i in np.argsort(-depth, kind="stable") if dist[i].min() > 12]
    assert alone, "every point overlaps another: the tiny model's scores changed"
    i = int(alone[0])
    pixel = canvas.evaluate(
        """(c, [x, y]) => { const r = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data); }""",
        [float(px[i]), float(py[i])],
    )
    want = viridis(float(depth[i]))
    assert pixel[3] == 255 and all(abs(pixel[k] - want[k]) <= 2 for k in range(3)), (pixel, want)
    # hover names the head with its scores and verdict
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + float(px[i]), box["y"] + float(py[i]))
    readout = page.locator(".iw-verdict-scatter .iw-readout")
    label = data["labels"][i]
    expect(readout).to_contain_text(f"{label} (layer")
    expect(readout).to_contain_text(f"prefix matching {float(x[i]):.3g}")
    verdict = data["verdicts"][i] or "not an induction head"
    expect(readout).to_contain_text(verdict)
    # click selects it: the model's selected_head and the readout after leaving
    page.mouse.click(box["x"] + float(px[i]), box["y"] + float(py[i]))
    layer, head = int(data["layer"][i]), int(data["head"][i])
    assert page.evaluate("globalThis.iwModels[0].get('selected_head')") == [layer, head]
    page.mouse.move(box["x"] - 20, box["y"] - 20)
    expect(readout).to_contain_text(f"selected {label}")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


def test_explorer_scatter_click_selects_the_head(offline, tmp_path, tiny_model, scores):
    """In the explorer the scatter sits under the map; clicking a point switches the explorer's
    head (map selection, token view selects) like a click in the map."""
    import induction_widgets as iw
    from induction_widgets.views import scatter_data as verdict_scatter

    data = verdict_scatter(scores)
    ex = iw.InductionExplorer(
        tiny_model, "the cat sat. the cat sat.", scores=scores, layer=1, head=1
    )
    path = ex.save_html(tmp_path / "explorer.html", heads="all")
    page, problems = open_saved(offline, path)
    canvas = page.locator(".iw-explorer .iw-verdict-scatter canvas.iw-scatter")
    g = {k: float(v) for k, v in canvas.evaluate("c => Object.assign({}, c.dataset)").items()}
    x, y = data["x"].numpy(), data["y"].numpy()
    px = g["plotLeft"] + (x - g["xMin"]) / (g["xMax"] - g["xMin"]) * g["plotWidth"]
    py = g["plotTop"] + (1 - (y - g["yMin"]) / (g["yMax"] - g["yMin"])) * g["plotHeight"]
    dist = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) + np.eye(len(px)) * 1e9
    i = next(i for i in range(len(px)) if dist[i].min() > 12 and data["labels"][i] != "L1H1")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + float(px[i]), box["y"] + float(py[i]))
    layer, head = int(data["layer"][i]), int(data["head"][i])
    page.wait_for_function(
        "([l, h]) => globalThis.iwModels[0].get('layer') === l && globalThis.iwModels[0].get('head') === h",
        arg=[layer, head],
    )
    readout = page.locator(".iw-explorer .iw-head-map .iw-readout")
    expect(readout).to_contain_text(f"selected L{layer}H{head}")
    problems.assert_clean()
    page.close()
