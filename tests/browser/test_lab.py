"""The views live in a real JupyterLab, driven by real Chromium (issue "Must show").

One notebook (one kernel) holds every view; the tests run in file order and each one puts the
state it relies on back (through the kernel) before it starts. Expected numbers come from the test
process: ``TextActivations(load_model("tiny"), text)`` — the same model and text as the kernel.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from labkit import LabNotebook, expect
from viewcheck import (
    TEXT,
    VIEW_CELLS,
    assert_shading,
    attention_dst,
    attention_src,
    f16,
    grid_click,
    head_arrays,
    hostile_tokens,
    logit_dst,
    max_abs_finite,
    point_at_cell,
    read_tokens,
    wait_shading,
)

pytestmark = [pytest.mark.browser, pytest.mark.lab]

# notebook cells (index → what it shows)
SETUP, TV, AM, HM, EX, MASKED, HOSTILE_CELL, SCATTER, LOSS, PARTNERS, PHASE = range(11)
CELLS = [
    *VIEW_CELLS,
    "ex = iw.InductionExplorer(model, text, scores=scores, layer=1, head=1, title='explorer')\nex",
    "pm_text = iw.pattern_matching_text(8, 0)[0]\n"
    "tvm = iw.TokenView(model, pm_text, 1, 0, dst_mask=lambda t: t == ':',\n"
    "                   output_mask=lambda t: t.isdigit(), title='masked')\ntvm",
    "tvh = iw.TokenView(model, text, 1, 0, title='hostile')\n"
    "tvh.tokens = json.load(open('hostile.json', encoding='utf-8'))\ntvh",
    "vs = iw.VerdictScatter(scores, title='scatter')\nvs",
    "lc = iw.LossCurve(iw.icl_score(model, n_contexts=4, progress=False), title='loss')\nlc",
    "pv = iw.PartnerBars(iw.previous_token_partners(model, 1, 1), title='partners')\npv",
    "pc = iw.PhaseChangeCurves(iw.checkpoint_scores('tiny', steps=[0, 450, 500], n_examples=2,\n"
    "                                             progress=False), title='phase')\npc",
]


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def acts(tiny_model):
    from induction_widgets import TextActivations

    return TextActivations(tiny_model, TEXT)


@pytest.fixture(scope="module")
def n_tokens(acts) -> int:
    return acts.n_tokens


@pytest.fixture(scope="module")
def nb(lab, lab_context, n_tokens):
    (lab.root / "hostile.json").write_text(json.dumps(hostile_tokens(n_tokens)), encoding="utf-8")
    notebook = LabNotebook(lab, lab_context, "views", CELLS)
    notebook.open()
    errors = notebook.errors()
    assert not errors, f"notebook cells failed: {errors}"
    yield notebook
    notebook.close()


def view(nb: LabNotebook, cell: int, kind: str = "token-view"):
    return nb.output(cell).locator(f".iw-root.iw-{kind}").first


def token(root, i: int):
    return root.locator(f'.iw-token[data-index="{i}"]')


def head_of(acts, layer: int, head: int):
    A, L = head_arrays(acts, layer, head)
    return f16(A), f16(L)  # the live views get float16 buffers


def reset(nb: LabNotebook, var: str, root, layer: int = 1, head: int = 0) -> None:
    """Attention mode, destination selected, nothing locked, head (layer, head) — from Python."""
    nb.run(
        f"{var}.selected = -1; {var}.mode = 'attention'; {var}.selected_is = 'destination'; "
        f"{var}.layer, {var}.head = {layer}, {head}"
    )
    expect(root.locator(".iw-mode-attention")).to_have_class(re.compile(r"\biw-active\b"))
    expect(root.locator(".iw-toggle-selected")).to_have_text("Selected is destination")
    expect(root.locator(".iw-layer-select")).to_have_value(str(layer))
    expect(root.locator(".iw-head-select")).to_have_value(str(head))
    expect(root.locator(".iw-locked")).to_have_count(0)


def hover_and_check(nb, root, i, expected, *, kind, vmax=0.0):
    token(root, i).hover()
    expect(token(root, i)).to_have_class(re.compile(r"\biw-focus\b"))
    wait_shading(nb.page, root, expected)
    assert_shading(read_tokens(root), expected, kind=kind, vmax=vmax)


# ---------------------------------------------------------------------------------------------
# 1. every view renders from a notebook cell


def test_views_render(nb, n_tokens):
    tv = view(nb, TV)
    expect(tv.locator(".iw-token")).to_have_count(n_tokens)
    expect(tv.locator(".iw-title")).to_have_text("token view")
    expect(tv.locator(".iw-layer-select")).to_have_value("1")
    expect(tv.locator(".iw-head-select")).to_have_value("0")
    expect(tv.locator(".iw-message")).to_be_hidden()
    texts = tv.locator(".iw-token").all_text_contents()
    assert "".join(texts[1:]) == TEXT  # char-level tokens after the BOS
    expect(tv.locator(".iw-token.iw-bos")).to_have_count(1)

    am = view(nb, AM, "attention-matrix")
    plot = am.locator("canvas.iw-plot")
    expect(plot).to_have_attribute("data-n", str(n_tokens))
    assert float(plot.get_attribute("data-plot-size")) > 0

    hm = view(nb, HM, "head-map")
    grid = hm.locator("canvas.iw-grid")
    expect(grid).to_have_attribute("data-n-layers", "2")
    expect(grid).to_have_attribute("data-n-heads", "4")
    expect(hm.locator("table.iw-head-table tbody tr")).not_to_have_count(0)

    ex = nb.output(EX)
    expect(ex.locator(".iw-root.iw-head-map")).to_have_count(1)
    expect(ex.locator(".iw-root.iw-token-view")).to_have_count(1)
    expect(ex.locator(".iw-root.iw-attention-matrix")).to_have_count(1)
    expect(ex.locator(".iw-token-view .iw-head-select")).to_have_value("1")

    nb.problems.assert_clean()


def test_attention_matrix_readout(nb, acts):
    """Pointing at cell (d, s) of the canvas reads A[d, s] of the Python tensor."""
    A, _ = head_of(acts, 1, 0)
    am = view(nb, AM, "attention-matrix")
    plot = am.locator("canvas.iw-plot")
    plot.scroll_into_view_if_needed()
    for d, s in [(30, 6), (47, 25), (5, 5)]:
        point_at_cell(nb.page, plot, d, s)
        readout = am.locator(".iw-readout")
        expect(readout).to_have_attribute("data-dst", str(d))
        expect(readout).to_have_attribute("data-src", str(s))
        v = float(readout.get_attribute("data-value"))
        assert abs(v - A[d, s]) <= 1e-3 * A[d, s] + 1e-6


# ---------------------------------------------------------------------------------------------
# 2. hover shades exactly the sources the tensor says (attention dst / src, logit attr)


def test_hover_attention_destination(nb, acts, n_tokens):
    root = view(nb, TV)
    reset(nb, "tv", root)
    A, _ = head_of(acts, 1, 0)
    for d in (n_tokens - 1, 30, 1):
        hover_and_check(nb, root, d, attention_dst(A, d), kind="attention")
    status = root.locator(".iw-status")
    expect(status).to_contain_text("dst")


def test_hover_attention_source(nb, acts, n_tokens):
    root = view(nb, TV)
    reset(nb, "tv", root)
    nb.run("tv.selected_is = 'source'")
    expect(root.locator(".iw-toggle-selected")).to_have_text("Selected is source")
    A, _ = head_of(acts, 1, 0)
    for s in (6, 0, n_tokens - 2):
        hover_and_check(nb, root, s, attention_src(A, s), kind="attention")


def test_hover_logit_attribution(nb, acts, n_tokens):
    root = view(nb, TV)
    reset(nb, "tv", root, 1, 1)
    root.locator(".iw-mode-logit").click()
    expect(root.locator(".iw-mode-logit")).to_have_class(re.compile(r"\biw-active\b"))
    assert nb.eval("tv.mode") == "logit_attr"
    _, L = head_of(acts, 1, 1)
    vmax = max_abs_finite(L)
    for p in (n_tokens - 1, 33, 1):
        hover_and_check(nb, root, p, logit_dst(L, p), kind="logit", vmax=vmax)
    # token 0 predicts nothing: it is masked as an output and shades nothing
    expect(token(root, 0)).to_have_class(re.compile(r"\biw-masked\b"))
    hover_and_check(nb, root, 0, {}, kind="logit", vmax=vmax)


# ---------------------------------------------------------------------------------------------
# 3. layer/head selects ⇄ kernel traits


def test_selects_drive_kernel_and_back(nb, acts):
    root = view(nb, TV)
    reset(nb, "tv", root)
    d = 40
    # browser → kernel
    root.locator(".iw-head-select").select_option("2")
    root.locator(".iw-layer-select").select_option("0")
    assert nb.eval("[tv.layer, tv.head]") == [0, 2]
    A, _ = head_of(acts, 0, 2)
    hover_and_check(nb, root, d, attention_dst(A, d), kind="attention")
    # kernel → browser
    nb.run("tv.layer, tv.head = 1, 3")
    expect(root.locator(".iw-layer-select")).to_have_value("1")
    expect(root.locator(".iw-head-select")).to_have_value("3")
    A, _ = head_of(acts, 1, 3)
    nb.page.mouse.move(0, 0)
    hover_and_check(nb, root, d, attention_dst(A, d), kind="attention")


# ---------------------------------------------------------------------------------------------
# 4. lock / unlock / arrow keys


def test_lock_unlock(nb, acts):
    root = view(nb, TV)
    reset(nb, "tv", root)
    A, _ = head_of(acts, 1, 0)
    token(root, 30).click()
    expect(token(root, 30)).to_have_class(re.compile(r"\biw-locked\b"))
    expect(root).to_have_attribute("data-selected", "30")
    assert nb.eval("tv.selected") == 30

    # hovering elsewhere keeps the locked shading; the status names the hovered pair
    token(root, 40).hover()
    expect(token(root, 40)).to_have_class(re.compile(r"\biw-focus\b"))
    assert_shading(read_tokens(root), attention_dst(A, 30), kind="attention")
    token(root, 12).hover()
    expect(root.locator(".iw-status")).to_have_attribute("data-value", re.compile(r"."))
    assert abs(float(root.locator(".iw-status").get_attribute("data-value")) - A[30, 12]) <= 1e-3
    assert_shading(read_tokens(root), attention_dst(A, 30), kind="attention")

    # click again unlocks
    token(root, 30).click()
    expect(root.locator(".iw-locked")).to_have_count(0)
    assert nb.eval("tv.selected") == -1

    # lock, ArrowRight moves the lock, Escape unlocks
    token(root, 20).click()
    expect(token(root, 20)).to_have_class(re.compile(r"\biw-locked\b"))
    nb.page.keyboard.press("ArrowRight")
    expect(token(root, 21)).to_have_class(re.compile(r"\biw-locked\b"))
    expect(root.locator(".iw-locked")).to_have_count(1)
    nb.page.mouse.move(0, 0)
    wait_shading(nb.page, root, attention_dst(A, 21))
    assert_shading(read_tokens(root), attention_dst(A, 21), kind="attention")
    assert nb.eval("tv.selected") == 21
    root.focus()
    nb.page.keyboard.press("Escape")
    expect(root.locator(".iw-locked")).to_have_count(0)
    assert nb.eval("tv.selected") == -1
    # and from Python: selected locks in the browser
    nb.run("tv.selected = 7")
    expect(token(root, 7)).to_have_class(re.compile(r"\biw-locked\b"))
    wait_shading(nb.page, root, attention_dst(A, 7))
    assert_shading(read_tokens(root), attention_dst(A, 7), kind="attention")
    nb.run("tv.selected = -1")
    expect(root.locator(".iw-locked")).to_have_count(0)


# ---------------------------------------------------------------------------------------------
# 5. the "Selected is source/destination" toggle


def test_toggle_selected_is(nb, acts, n_tokens):
    root = view(nb, TV)
    reset(nb, "tv", root, 1, 2)
    A, _ = head_of(acts, 1, 2)
    s = 10
    hover_and_check(nb, root, s, attention_dst(A, s), kind="attention")
    toggle = root.locator(".iw-toggle-selected")
    toggle.click()
    expect(toggle).to_have_text("Selected is source")
    assert nb.eval("tv.selected_is") == "source"
    hover_and_check(nb, root, s, attention_src(A, s), kind="attention")
    # the column: destinations d >= s, A[d, s] — the tensor's column, not its row
    col = A[:, s]
    got = {t.index: t.value for t in read_tokens(root) if t.value is not None}
    assert sorted(got) == list(range(s, n_tokens))
    assert np.allclose([got[d] for d in range(s, n_tokens)], col[s:], rtol=1e-3, atol=1e-6)
    toggle.click()
    expect(toggle).to_have_text("Selected is destination")
    assert nb.eval("tv.selected_is") == "destination"


# ---------------------------------------------------------------------------------------------
# 6. masks on the pattern-matching text


def test_masks(nb, tiny_model, artifacts):
    from induction_widgets import TextActivations, pattern_matching_text

    text = pattern_matching_text(8, 0)[0]
    acts = TextActivations(tiny_model, text)
    toks = acts.str_tokens
    colon = [i for i, t in enumerate(toks) if t == ":"]
    digits = [i for i, t in enumerate(toks) if t.isdigit()]
    assert colon and digits
    A, L = head_of(acts, 1, 0)

    root = view(nb, MASKED)
    expect(root.locator(".iw-token")).to_have_count(len(toks))
    # attention mode: only ":" may be a destination
    masked = {t.index for t in read_tokens(root) if t.masked}
    assert masked == set(range(len(toks))) - set(colon)
    for i in (colon[3], colon[0]):
        hover_and_check(nb, root, i, attention_dst(A, i), kind="attention")
    other = colon[3] - 2
    hover_and_check(nb, root, other, {}, kind="attention")
    expect(root.locator(".iw-status")).to_contain_text("masked out as destination")
    token(root, other).click()  # masked tokens do not lock
    expect(root.locator(".iw-locked")).to_have_count(0)

    # logit mode: only digit outputs
    root.locator(".iw-mode-logit").click()
    expect(root.locator(".iw-mode-logit")).to_have_class(re.compile(r"\biw-active\b"))
    masked = {t.index for t in read_tokens(root) if t.masked}
    assert masked == set(range(len(toks))) - set(digits)
    vmax = max_abs_finite(L)
    for p in (digits[-1], digits[2]):
        hover_and_check(nb, root, p, logit_dst(L, p), kind="logit", vmax=vmax)
    hover_and_check(nb, root, colon[2], {}, kind="logit", vmax=vmax)
    root.locator(".iw-mode-attention").click()
    expect(root.locator(".iw-mode-attention")).to_have_class(re.compile(r"\biw-active\b"))
    # a picture of the paper's pattern-matching figure: the last ":" locked
    token(root, colon[-1]).click()
    expect(token(root, colon[-1])).to_have_class(re.compile(r"\biw-locked\b"))
    nb.page.mouse.move(0, 0)
    root.screenshot(path=str(artifacts / "token_view_masked.png"))
    token(root, colon[-1]).click()
    expect(root.locator(".iw-locked")).to_have_count(0)


# ---------------------------------------------------------------------------------------------
# 7. head map → kernel; explorer: head map → token view


def test_head_map_click(nb):
    hm = view(nb, HM, "head-map")
    grid_click(nb.page, hm, 0, 3)
    readout = hm.locator(".iw-readout")
    expect(readout).to_have_attribute("data-layer", "0")
    expect(readout).to_have_attribute("data-head", "3")
    assert nb.eval("hm.selected_head") == [0, 3]
    grid_click(nb.page, hm, 1, 2)
    assert nb.eval("hm.selected_head") == [1, 2]
    expect(
        hm.locator('table.iw-head-table tr.iw-selected[data-layer="1"][data-head="2"]')
    ).to_have_count(1)


def test_explorer_head_map_drives_token_view(nb, acts):
    ex = nb.output(EX)
    hm = ex.locator(".iw-root.iw-head-map")
    tv = ex.locator(".iw-root.iw-token-view")
    am = ex.locator(".iw-root.iw-attention-matrix")
    d = 44
    for layer, head in [(0, 1), (1, 3)]:
        grid_click(nb.page, hm, layer, head)
        expect(tv.locator(".iw-layer-select")).to_have_value(str(layer))
        expect(tv.locator(".iw-head-select")).to_have_value(str(head))
        expect(am.locator(".iw-layer-select")).to_have_value(str(layer))
        expect(am.locator(".iw-head-select")).to_have_value(str(head))
        A, _ = head_of(acts, layer, head)
        nb.page.mouse.move(0, 0)
        hover_and_check(nb, tv, d, attention_dst(A, d), kind="attention")
        assert nb.eval(
            "[ex.token_view.layer, ex.token_view.head, ex.matrix.layer, ex.matrix.head]"
        ) == [
            layer,
            head,
            layer,
            head,
        ]
    # and the other way: the token view's select moves the map's selection
    tv.locator(".iw-head-select").select_option("0")
    expect(hm.locator(".iw-readout")).to_have_attribute("data-head", "0")
    assert nb.eval("ex.head_map.selected_head") == [1, 0]
    nb.problems.assert_clean()


# ---------------------------------------------------------------------------------------------
# 10 (live). hostile token strings are text in JupyterLab too


def test_hostile_tokens_live(nb, n_tokens):
    expected = hostile_tokens(n_tokens)
    root = view(nb, HOSTILE_CELL)
    expect(root.locator(".iw-token")).to_have_count(n_tokens)
    assert nb.eval("tvh.tokens == json.load(open('hostile.json', encoding='utf-8'))") is True
    texts = [t.text for t in read_tokens(root)]
    assert texts == expected
    assert root.locator("img, svg, iframe, script").count() == 0
    assert nb.page.locator("img[src='x'], iframe[srcdoc]").count() == 0
    for i in (0, 8, 9, 11):
        token(root, i).hover()
        expect(token(root, i)).to_have_class(re.compile(r"\biw-focus\b"))
    expect(root.locator(".iw-status")).to_contain_text("[11]")
    assert root.locator("img, svg, iframe, script").count() == 0
    nb.problems.assert_clean()


# ---------------------------------------------------------------------------------------------
# 8. screenshots


def test_screenshots(nb, artifacts):
    page = nb.page
    tv = view(nb, TV)
    reset(nb, "tv", tv, 1, 1)
    token(tv, 40).click()
    expect(token(tv, 40)).to_have_class(re.compile(r"\biw-locked\b"))
    page.mouse.move(0, 0)
    tv.scroll_into_view_if_needed()
    tv.screenshot(path=str(artifacts / "token_view.png"))
    view(nb, AM, "attention-matrix").screenshot(path=str(artifacts / "attention_matrix.png"))
    view(nb, HM, "head-map").screenshot(path=str(artifacts / "head_map.png"))
    page.screenshot(path=str(artifacts / "lab.png"))
    nb.run("ex.head_map.selected_head = [1, 1]")  # the strongest induction head of tiny
    # the explorer is taller than the default viewport: grow the window for its picture
    ex = nb.output(EX)
    ex_tv = ex.locator(".iw-root.iw-token-view")
    token(ex_tv, 44).click()
    expect(token(ex_tv, 44)).to_have_class(re.compile(r"\biw-locked\b"))
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 2400})
    try:
        page.mouse.move(0, 0)
        ex.scroll_into_view_if_needed()
        ex.screenshot(path=str(artifacts / "explorer.png"))
    finally:
        page.set_viewport_size(size)
    for name in ("token_view", "attention_matrix", "head_map", "explorer"):
        assert (artifacts / f"{name}.png").stat().st_size > 2000
    nb.run("tv.selected = -1")
    nb.problems.assert_clean()


def test_sink_scale_live(nb, acts):
    """The scale control, live: kernel → browser (the trait) and browser → kernel (the select);
    "without sink" shades the row as ``without_sink`` of the float16 buffer the view got."""
    import torch

    from induction_widgets.compute import without_sink

    root = view(nb, TV)
    reset(nb, "tv", root)
    A, _ = head_of(acts, 1, 0)
    d = 40
    nb.run("tv.sink_scale = 'without sink'")
    expect(root.locator(".iw-sink-scale")).to_have_value("without sink")
    W = without_sink(torch.from_numpy(A).float(), 1).double().numpy()
    token(root, d).hover()
    wait_shading(nb.page, root, attention_dst(W, d), rel=1e-4, abs_tol=1e-6)
    assert_shading(read_tokens(root), attention_dst(W, d), kind="attention", rel=1e-4)
    status = root.locator(".iw-status")
    expect(status).to_contain_text("scale: without sink (BOS left out, row renormalised)")
    assert float(status.get_attribute("data-sink-share")) == pytest.approx(A[d, 0], abs=1e-6)
    root.locator(".iw-sink-scale").select_option("all sources")
    expect(status).to_contain_text("scale: all sources")
    assert nb.eval("tv.sink_scale") == "all sources"
    nb.run("tv.sink_scale = 'auto'")
    expect(root.locator(".iw-sink-scale")).to_have_value("auto")
    nb.problems.assert_clean()


def test_verdict_scatter_live(nb):
    """A click on a point sets ``selected_head`` in the kernel."""
    root = view(nb, SCATTER, "verdict-scatter")
    canvas = root.locator("canvas.iw-scatter")
    expect(canvas).to_have_attribute("data-n-points", "8")
    x, y = nb.eval("[vs.x_threshold, vs.y_threshold]")
    assert x == pytest.approx(0.3) and y == pytest.approx(0.65)
    # a point no other point overlaps, at the page's own geometry (its position is checked in
    # test_scatter_page.py): a click selects that head in the kernel
    g = {k: float(v) for k, v in canvas.evaluate("c => Object.assign({}, c.dataset)").items()}
    xs, ys = (
        np.array(v)
        for v in nb.eval(
            "[scores.prefix_matching.flatten().tolist(), scores.copying_rank.flatten().tolist()]"
        )
    )
    cx = g["plotLeft"] + (xs - g["xMin"]) / (g["xMax"] - g["xMin"]) * g["plotWidth"]
    cy = g["plotTop"] + (1 - (ys - g["yMin"]) / (g["yMax"] - g["yMin"])) * g["plotHeight"]
    dist = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :]) + np.eye(8) * 1e9
    i = int(np.argmax(dist.min(1)))
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    nb.page.mouse.click(box["x"] + float(cx[i]), box["y"] + float(cy[i]))
    expect(root.locator(".iw-readout")).to_contain_text(f"L{i // 4}H{i % 4} (layer")
    assert nb.eval("vs.selected_head") == [i // 4, i % 4]
    nb.problems.assert_clean()


def test_beyond_views_live(nb):
    """The loss curve, partners and phase-change views draw in the lab; a click on a partner sets
    ``selected_head`` in the kernel."""
    lc = view(nb, LOSS, "loss-curve")
    expect(lc.locator("canvas.iw-plot")).to_have_attribute("data-n-points", "256")
    expect(lc.locator(".iw-icl-score")).to_contain_text("loss[255] − loss[26]")
    pv = view(nb, PARTNERS, "partners")
    rows = pv.locator(".iw-partner-row")
    expect(rows).to_have_count(4)
    ranked = nb.eval("[[r.layer, r.head] for r in iw.previous_token_partners(model, 1, 1).ranked]")
    rows.nth(1).scroll_into_view_if_needed()
    rows.nth(1).click()
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    deadline = 50  # the trait reaches the kernel asynchronously: poll it
    while nb.eval("pv.selected_head") != ranked[1] and deadline:
        nb.page.wait_for_timeout(100)
        deadline -= 1
    assert nb.eval("pv.selected_head") == ranked[1]
    pc = view(nb, PHASE, "phase-change")
    expect(pc.locator("canvas.iw-plot")).to_have_attribute("data-n-points", "3")
    a, b = nb.eval("list(pc._scores.jump())")  # the compute's biggest rise, marked in the view
    expect(pc.locator(".iw-jump")).to_contain_text(f"step {a} → {b}")
    nb.problems.assert_clean()


def test_no_request_left_the_lab(nb, lab_context):
    """Everything JupyterLab and the widgets loaded came from the lab server itself."""
    assert lab_context.off_box_requests == []
