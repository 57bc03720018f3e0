"""The head map, the attention matrix and the verdict scatter from the keyboard, on saved pages in
Chromium (no kernel, no network): Tab reaches the canvas and draws a focus ring, the arrow keys
move the cursor (read back from the readout's data attributes), Enter selects the head (the
model's ``selected_head``, the table's selected row) or locks the matrix cell (the pointer then
no longer moves it), Escape unlocks. In the explorer the map's arrow keys do not step the token
view's lock. Expected cells and values come from the test process (the tiny model's pattern).
"""

from __future__ import annotations

import pytest
from labkit import expect, open_saved
from viewcheck import TEXT, point_at_cell

pytestmark = pytest.mark.browser
ATT_TOL = 1 / 510 + 1e-6


@pytest.fixture(scope="module")
def scores(tiny_model):
    import induction_widgets as iw

    return iw.head_scores(tiny_model, progress=False)


def _model(page, i=0):
    return page.evaluate(f"() => globalThis.iwModels[{i}].get('selected_head')")


def _tab_to(page, selector: str, limit: int = 12) -> None:
    page.locator("body").click(position={"x": 2, "y": 2})
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _ring(locator) -> tuple[str, str]:
    return tuple(
        locator.evaluate(
            "c => { const s = getComputedStyle(c); return [s.outlineStyle, s.outlineWidth]; }"
        )
    )


def test_head_map_keys(offline, tmp_path, scores):
    import induction_widgets as iw

    page, problems = open_saved(offline, iw.HeadMap(scores).save_html(tmp_path / "map.html"))
    canvas = page.locator("canvas.iw-grid")
    readout = page.locator(".iw-head-map .iw-readout")
    assert canvas.get_attribute("tabindex") == "0"
    _tab_to(page, "canvas.iw-grid")
    assert _ring(canvas) == ("solid", "2px")  # :focus-visible
    start = _model(page)
    start = start if start else [0, 0]
    page.keyboard.press("ArrowRight")  # the cursor appears on the selected head (or L0H0)
    expect(readout).to_have_attribute("data-layer", str(start[0]))
    expect(readout).to_have_attribute("data-head", str(start[1]))
    target = [min(start[0] + 1, scores.n_layers - 1), (start[1] + 1) % scores.n_heads]
    page.keyboard.press("ArrowDown")
    for _ in range(scores.n_heads):  # to the left edge (clamped), then right
        page.keyboard.press("ArrowLeft")
    for _ in range(target[1]):
        page.keyboard.press("ArrowRight")
    expect(readout).to_have_attribute("data-layer", str(target[0]))
    expect(readout).to_have_attribute("data-head", str(target[1]))
    value = float(readout.get_attribute("data-value"))
    assert abs(value - float(getattr(scores, _score_name(page))[target[0], target[1]])) < 1e-6
    page.keyboard.press("Enter")
    assert _model(page) == target
    row = page.locator(".iw-head-table tbody tr.iw-selected")
    expect(row).to_have_attribute("data-layer", str(target[0]))
    expect(row).to_have_attribute("data-head", str(target[1]))
    page.keyboard.press("Escape")  # the cursor goes; the readout names the selected head
    expect(readout).to_contain_text("selected L")
    summary = page.locator("canvas.iw-grid + .iw-sr-only")
    expect(summary).to_contain_text(f"Selected: L{target[0]}H{target[1]}")
    problems.assert_clean()


def _score_name(page) -> str:
    return page.evaluate("() => globalThis.iwModels[0].get('score')")


def test_attention_matrix_keys_lock_and_unlock(offline, tmp_path, tiny_model):
    import induction_widgets as iw

    acts = iw.TextActivations(tiny_model, TEXT)
    view = iw.AttentionMatrix(tiny_model, TEXT, 1, 1, activations=acts)
    page, problems = open_saved(offline, view.save_html(tmp_path / "matrix.html"))
    canvas = page.locator(".iw-attention-matrix canvas.iw-plot")
    readout = page.locator(".iw-attention-matrix .iw-readout")
    _tab_to(page, "canvas.iw-plot")
    assert _ring(canvas) == ("solid", "2px")
    page.keyboard.press("ArrowDown")  # the cursor appears on [0, 0]
    expect(readout).to_have_attribute("data-dst", "0")
    for key in ["ArrowDown"] * 5 + ["ArrowRight"] * 3:
        page.keyboard.press(key)
    expect(readout).to_have_attribute("data-dst", "5")
    expect(readout).to_have_attribute("data-src", "3")
    expected = float(iw.attention_pattern(tiny_model, TEXT, 1, 1)[5, 3])  # TL's own pattern
    assert abs(float(readout.get_attribute("data-value")) - expected) <= ATT_TOL
    page.keyboard.press("Enter")  # lock: the pointer no longer moves the readout
    point_at_cell(page, canvas, 8, 1)
    page.wait_for_timeout(100)
    expect(readout).to_have_attribute("data-dst", "5")
    page.keyboard.press("ArrowRight")  # the arrows move the lock
    expect(readout).to_have_attribute("data-src", "4")
    page.keyboard.press("Escape")  # unlocked: the readout follows the pointer again
    point_at_cell(page, canvas, 8, 1)
    expect(readout).to_have_attribute("data-dst", "8")
    expect(readout).to_have_attribute("data-src", "1")
    summary = page.locator(".iw-attention-matrix canvas.iw-plot + .iw-sr-only")
    expect(summary).to_contain_text("Strongest attention (source 0 left out)")
    problems.assert_clean()


def test_scatter_keys_select_a_head(offline, tmp_path, scores):
    import induction_widgets as iw

    page, problems = open_saved(offline, iw.VerdictScatter(scores).save_html(tmp_path / "s.html"))
    canvas = page.locator("canvas.iw-scatter")
    readout = page.locator(".iw-verdict-scatter .iw-readout")
    _tab_to(page, "canvas.iw-scatter")
    assert _ring(canvas) == ("solid", "2px")
    start = _model(page) or [0, 0]
    keys = (
        "ArrowRight",
        "ArrowUp",
        "ArrowUp",
        "ArrowLeft",
        "ArrowDown",
        "ArrowRight",
        "ArrowRight",
    )
    for key in keys:
        page.keyboard.press(key)
    # the first key puts the cursor on the selected head (or L0H0); the others move it, clamped
    moves = {"ArrowUp": (-1, 0), "ArrowDown": (1, 0), "ArrowLeft": (0, -1), "ArrowRight": (0, 1)}
    expected = list(start)
    for key in keys[1:]:
        dl, dh = moves[key]
        expected = [
            min(max(expected[0] + dl, 0), scores.n_layers - 1),
            min(max(expected[1] + dh, 0), scores.n_heads - 1),
        ]
    expect(readout).to_have_attribute("data-layer", str(expected[0]))
    expect(readout).to_have_attribute("data-head", str(expected[1]))
    x = float(readout.get_attribute("data-x"))
    assert abs(x - float(scores.prefix_matching[expected[0], expected[1]])) < 1e-6
    page.keyboard.press("Enter")
    assert _model(page) == expected
    problems.assert_clean()


def test_explorer_map_keys_leave_the_token_lock_alone(offline, tmp_path, tiny_model, scores):
    import induction_widgets as iw

    ex = iw.InductionExplorer(tiny_model, TEXT, scores=scores, layer=1, head=1)
    page, problems = open_saved(offline, ex.save_html(tmp_path / "ex.html"))
    tv = page.locator(".iw-explorer .iw-root.iw-token-view")
    tv.locator(".iw-token").nth(6).click()
    locked = tv.locator(".iw-token.iw-locked")
    expect(locked).to_have_count(1)
    before = locked.get_attribute("data-index") or locked.evaluate(
        "t => [...t.parentNode.children].indexOf(t)"
    )
    grid = page.locator(".iw-explorer canvas.iw-grid")
    grid.focus()
    page.keyboard.press("ArrowLeft")  # cursor on the selected head L1H1
    page.keyboard.press("ArrowLeft")  # → L1H0
    page.keyboard.press("Enter")
    expect(tv.locator(".iw-head-select")).to_have_value("0")
    expect(tv.locator(".iw-layer-select")).to_have_value("1")
    after = locked.get_attribute("data-index") or locked.evaluate(
        "t => [...t.parentNode.children].indexOf(t)"
    )
    assert after == before
    problems.assert_clean()
