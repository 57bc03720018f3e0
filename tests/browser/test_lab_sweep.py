"""The sweep views live in a real JupyterLab: a click on a heatmap cell reaches the kernel
(``selected``, the ``on_select`` hook, the explorer call shown), a measure set in the kernel
recolours the page, and a click in the depth view selects that model's head."""

from __future__ import annotations

import re

import pytest
from labkit import LabNotebook, expect
from sweepdata import two_model_sweep

pytestmark = [pytest.mark.browser, pytest.mark.lab]
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def sw(tmp_path_factory):
    return two_model_sweep(tmp_path_factory.mktemp("lab-sweep"))


@pytest.fixture(scope="module")
def nb(lab, lab_context, sw):
    cells = [
        f"import induction_widgets as iw\nsw = iw.Sweep.open({str(sw.path)!r})",
        "hm = iw.SweepHeatmap(sw, title='sweep')\nseen = []\nhm.on_select(seen.append)\nhm",
        "dp = iw.SweepDepthMaps(sw)\ndp",
    ]
    notebook = LabNotebook(lab, lab_context, "sweep", cells)
    notebook.open()
    assert not notebook.errors(), notebook.errors()
    yield notebook
    notebook.close()


def test_heatmap_click_reaches_the_kernel(nb, sw):
    root = nb.output(1).locator(".iw-root.iw-sweep-heatmap").first
    canvas = root.locator("canvas.iw-plot")
    expect(canvas).to_have_attribute("data-rows", "8")
    d = canvas.evaluate("c => Object.assign({}, c.dataset)")
    left, top, cw, ch = (float(d[k]) for k in ("left", "top", "cellW", "cellH"))
    box = canvas.bounding_box()
    nb.page.mouse.click(box["x"] + left + 2.5 * cw, box["y"] + top + 6.5 * ch)  # step1900, L1H2
    want = "iw.InductionExplorer(iw.load_model('tiny', revision='step1900'), text, layer=1, head=2)"
    expect(root.locator(".iw-call")).to_have_text(want)
    assert nb.eval("hm.selected") == [2, 1, 2]
    assert nb.eval("seen") == [
        {"model": "tiny", "revision": "step1900", "layer": 1, "head": 2, "call": want}
    ]
    nb.run("hm.measure = 'previous_token'")
    expect(canvas).to_have_attribute("data-measure", "previous_token")
    expect(root.locator("select")).to_have_value("previous_token")
    nb.problems.assert_clean()


def test_depth_click_reaches_the_kernel(nb, sw):
    root = nb.output(2).locator(".iw-root.iw-sweep-depth").first
    canvas = root.locator("canvas.iw-plot")
    expect(canvas).to_have_attribute("data-panels", re.compile(r"^\[\{"))
    a, b = canvas.evaluate("c => JSON.parse(c.dataset.panels)")
    assert a["ys"][-1] == pytest.approx(b["ys"][-1])  # last layers aligned
    box = canvas.bounding_box()
    nb.page.mouse.click(box["x"] + a["x"] + 3.5 * a["cellW"], box["y"] + a["ys"][1] + 2)
    assert nb.eval("dp.selected") == [0, 1, 3]
    expect(root.locator(".iw-call")).to_contain_text("revision='step1900'), text, layer=1, head=3)")
    nb.problems.assert_clean()
