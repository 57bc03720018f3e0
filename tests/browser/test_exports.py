"""The report and an nbconvert-exported notebook, made by the CLI on the tiny model and opened in
Chromium as ``file://`` with every other request aborted and logged (the log must stay empty)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from labkit import PageProblems, expect
from viewcheck import TEXT, grid_point, hostile_tokens

pytestmark = pytest.mark.browser

CLI = str(Path(sys.executable).parent / "induction-widgets")


def run_cli(*args: str) -> Path:
    out = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=900, check=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_file(), out.stdout + out.stderr
    return path


def open_clean(offline, path: Path):
    log = offline.request_log
    log.clear()
    page = offline.new_page()
    problems = PageProblems()
    problems.watch(page)
    page.goto(path.resolve().as_uri())
    return page, problems, log


def test_report_cli_on_tiny(offline, tmp_path):
    path = run_cli(
        "report", "--model", "tiny", "--out", str(tmp_path / "report.html"), "--problems", "3"
    )
    page, problems, log = open_clean(offline, path)
    expect(page.locator("body[data-iw-ready='true']")).to_have_count(1)
    expect(page.locator(".iw-head-map")).to_have_count(2)  # the scores, then ΔICL (beyond)
    expect(page.locator(".iw-verdict-scatter")).to_have_count(1)
    expect(page.locator(".iw-token-view")).to_have_count(3)
    expect(page.locator(".iw-attention-matrix")).to_have_count(3)
    assert page.locator("h2").all_text_contents()[0].startswith("Literal copying")
    view = page.locator(".iw-token-view").first
    target = view.locator(".iw-token").nth(30)
    target.hover()
    expect(view.locator(".iw-token[data-value]").first).to_be_attached()
    values = view.locator(".iw-token[data-value]").evaluate_all(
        "els => els.map(e => +e.dataset.value)"
    )
    assert abs(sum(values) - 1) < 0.05  # an attention row sums to 1 (uint8-quantised)
    # the head map drives the views: click another head, the first token view follows
    select = view.locator(".iw-head-select")
    before = select.input_value()
    options = select.evaluate("s => [...s.options].map(o => o.value)")
    other = next(o for o in options if o != before)
    select.select_option(other)
    expect(select).to_have_value(other)
    expect(view.locator(".iw-message")).to_be_hidden()
    check_beyond_sections(page)
    assert log == [], log
    problems.assert_clean()
    page.close()


def check_beyond_sections(page):
    """The sections beyond Argument 4 (issue 15) on the tiny model's report: each heading, and
    each view drawn — the loss curve's points, the ablation figure's bars with the table's
    numbers, the head map coloured by ΔICL (diverging legend, hover reads the value), the
    partners' bars, the phase change's points."""
    h3 = page.locator("h3").all_text_contents()
    assert h3[:3] == [
        "In-context learning score",
        "Ablation: strict induction heads vs random heads",
        "Previous-token partners of L1H1",
    ]
    assert h3[3] == "The phase change"
    expect(page.locator("h2#beyond")).to_have_text("Beyond Argument 4")
    # the loss curve: 201-token contexts, marks at 20 and 200
    curve = page.locator(".iw-loss-curve canvas.iw-plot")
    expect(curve).to_have_count(1)
    assert curve.evaluate("c => Number(c.dataset.nPoints)") == 201
    expect(page.locator(".iw-loss-curve .iw-icl-score")).to_contain_text("loss[200] − loss[20]")
    # the ablation figure: per measure a strip of every random draw (dots) and the induction set
    # (a red line), whose value is the table's (one row per measure, the induction set in column 2)
    fig = page.locator("svg.iw-ablation-figure")
    bars = fig.locator("line.iw-bar-induction")
    expect(bars).to_have_count(2)
    expect(fig.locator("circle.iw-draw")).to_have_count(2)  # tiny: one set of 4 other heads
    rows = page.locator("table.iw-ablation-table tbody tr")
    for i, measure in enumerate(("icl", "repeated_loss")):
        bar = fig.locator(f"line.iw-bar-induction[data-measure='{measure}']")
        value = float(bar.get_attribute("data-value"))
        shown = float(rows.nth(i).locator("td").nth(1).inner_text().replace("−", "-"))
        assert abs(value - shown) <= 5e-4
        assert bar.bounding_box()["width"] > 50
    # removing the induction heads hurts: both changes positive
    assert float(bars.first.get_attribute("data-value")) > 0
    # the ΔICL head map: the colouring chosen, a diverging legend, a hover readout with the value
    hm = page.locator(".iw-head-map").nth(1)
    expect(hm.locator("select.iw-score-select")).to_have_value("icl_ablation")
    expect(hm.locator(".iw-legend")).to_have_attribute("data-kind", "diverging")
    page.mouse.move(*grid_point(hm, 0, 3))
    readout = hm.locator(".iw-readout")
    expect(readout).to_contain_text("L0H3 (layer 1 / 2): ΔICL (ablation) +")
    assert "±" in readout.inner_text()
    keys = hm.locator("table.iw-head-table th").evaluate_all("ths => ths.map(t => t.dataset.key)")
    assert "score:icl_ablation" in keys
    # partners: four bars (the four layer-0 heads); phase change: its points
    expect(page.locator(".iw-partners .iw-partner-row")).to_have_count(4)
    phase = page.locator(".iw-phase-change canvas.iw-plot")
    assert phase.evaluate("c => Number(c.dataset.nPoints)") == 7


@pytest.fixture(scope="module")
def exported_notebook(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook()
    hostile = hostile_tokens(len(TEXT) + 1)
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Exported offline"),
        nbformat.v4.new_code_cell(
            "import induction_widgets as iw\nmodel = iw.load_model('tiny')\n"
            f"view = iw.TokenView(model, {TEXT!r}, 1, 0)\nview"
        ),
        nbformat.v4.new_code_cell(
            f"bad = iw.TokenView(model, {TEXT!r}, 1, 0)\nbad.tokens = {hostile!r}\nbad"
        ),
    ]
    path = folder / "offline.ipynb"
    nbformat.write(nb, path)
    return run_cli("export", str(path), "-o", str(folder / "offline.html"), "--execute"), hostile


def test_exported_notebook_renders_offline(offline, exported_notebook):
    path, hostile = exported_notebook
    text = path.read_text(encoding="utf-8")
    assert 'src="http' not in text and "application/vnd.jupyter.widget-view+json" not in text
    page, problems, log = open_clean(offline, path)
    frames = page.locator("iframe.iw-static")
    expect(frames).to_have_count(2)
    first = page.frame_locator("iframe.iw-static").nth(0)
    expect(first.locator("body[data-iw-ready='true']")).to_have_count(1)
    expect(first.locator(".iw-token")).to_have_count(len(TEXT) + 1)
    first.locator(".iw-token").nth(30).hover()
    expect(first.locator(".iw-token[data-value]").first).to_be_attached()
    second = page.frame_locator("iframe.iw-static").nth(1)
    expect(second.locator("body[data-iw-ready='true']")).to_have_count(1)
    got = second.locator(".iw-token").evaluate_all("els => els.map(e => e.textContent)")
    assert got == hostile
    assert second.locator(".iw-token-view img, .iw-token-view script").count() == 0
    assert log == [], log
    problems.assert_clean()
    page.close()


@pytest.mark.smollm2
def test_static_copy_of_smollm2_head_map_is_whole(offline, tmp_path, smollm2_scores):
    """The ``text/html`` copy an exported notebook shows grows to its content: SmolLM2's 30-layer
    map and its (folded or open) table fit inside the iframe, nothing is clipped."""
    import induction_widgets as iw

    data, _ = iw.HeadMap(smollm2_scores)._repr_mimebundle_()
    path = tmp_path / "cell.html"
    path.write_text(
        f"<!DOCTYPE html><html><body><p>cell above</p>{data['text/html']}<p>below</p></body></html>",
        encoding="utf-8",
    )
    page, problems, log = open_clean(offline, path)
    frame = page.frame_locator("iframe.iw-static")
    grid = frame.locator(".iw-head-map canvas.iw-grid")
    expect(grid).to_be_visible()
    iframe = page.locator("iframe.iw-static")
    # the page inside reports its height; wait until the iframe took it
    content = 0.0
    for _ in range(50):
        content = frame.locator("body").evaluate("b => b.getBoundingClientRect().height")
        if abs(iframe.bounding_box()["height"] - content) <= 8:
            break
        page.wait_for_timeout(100)
    box = iframe.bounding_box()
    assert content > 520  # more than the old fixed height: 30 layers do not fit in 520 px
    assert box["height"] >= content
    inner = grid.evaluate("c => c.getBoundingClientRect().bottom")
    table = frame.locator(".iw-head-table").evaluate("t => t.getBoundingClientRect().bottom")
    assert inner <= box["height"] and table <= box["height"]
    assert not log
    problems.assert_clean()
