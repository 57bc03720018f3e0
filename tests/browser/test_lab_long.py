"""A 2,048-token text on SmolLM2 in the live explorer (issue "Hardening", long texts).

The design assertions: the kernel holds no layer's full attention pattern (every head is recomputed
from per-layer q/k when asked), the page holds one element per token and draws the matrix on a
canvas. The responsiveness assertions are functional, never wall-clock: hover, lock and the arrow
keys, a head chosen on the map, each shows exactly the numbers of TransformerLens's own
``hook_pattern`` for that head (captured in the kernel by a plain ``run_with_hooks``, a separate
forward pass from the one behind the view). Long tasks seen by the page are written to
``tests/artifacts/long-explorer.json`` for reading, not asserted.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from labkit import LabNotebook, expect
from viewcheck import assert_shading, attention_dst, f16, grid_click, read_tokens, wait_shading

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.smollm2]

N = 2048
# (layer, head) and destination rows the tests look at, read from TransformerLens's own
# hook_pattern in one forward pass of the kernel (not through induction_widgets)
HEADS, ROWS = ((18, 6), (23, 7), (2, 5), (29, 8)), (1200, 1503, N - 1)
CELLS = [
    "import torch\n"
    "import induction_widgets as iw\n"
    "model = iw.load_model('smollm2', progress=False)\n"
    "tokens = model.to_tokens((iw.copying_text() + '\\n') * 12)[:, :2048]\n"
    "assert tokens.shape == (1, 2048), tokens.shape\n"
    "scores = iw.head_scores(model, n_examples=2, progress=False)\n"
    "tl_rows = {}\n"
    "def grab(pattern, hook):\n"
    "    layer = int(hook.name.split('.')[1])\n"
    f"    for l, h in {HEADS!r}:\n"
    f"        for d in {ROWS!r}:\n"
    "            if l == layer:\n"
    "                tl_rows[f'{l}.{h}.{d}'] = pattern[0, h, d].tolist()\n"
    "with torch.no_grad():\n"
    "    model.run_with_hooks(tokens, fwd_hooks=[\n"
    f"        (f'blocks.{{l}}.attn.hook_pattern', grab) for l, _ in {HEADS!r}])",
    # the raw scale ("all sources"): these tests compare with hook_pattern rows as they are; the
    # sink-aware default ("auto") is checked against the tensors in test_sink_display.py
    "ex = iw.InductionExplorer(model, tokens, scores=scores, layer=18, head=6, title='2,048',\n"
    "                          sink_scale='all sources')\nex",
]
LONGTASKS = """() => {
  window.__iwLong = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__iwLong.push(Math.round(e.duration));
  }).observe({ type: "longtask", buffered: true });
}"""


@pytest.fixture(scope="module")
def nb(lab, lab_context):
    notebook = LabNotebook(lab, lab_context, "long", CELLS)
    notebook.page.add_init_script(LONGTASKS.replace("() => {", "(() => {", 1) + ")();")
    notebook.open(timeout=600_000)
    assert not notebook.errors(), notebook.errors()
    yield notebook
    notebook.close()


def tl_row(nb: LabNotebook, layer: int, head: int, d: int) -> np.ndarray:
    """Row ``d`` of TL's hook_pattern for (layer, head), as the float16 the view receives."""
    row = nb.eval(f"tl_rows['{layer}.{head}.{d}']")
    A = np.zeros((d + 1, N))
    A[d] = f16(np.asarray(row))
    return A


def expected_row(nb, layer: int, head: int, d: int) -> dict[int, float]:
    """Asked of the kernel before hovering: running a cell moves the mouse off the view."""
    return attention_dst(tl_row(nb, layer, head, d), d)


def shades(nb, tv, expected: dict[int, float]) -> None:
    wait_shading(nb.page, tv, expected, timeout=60_000)
    assert_shading(read_tokens(tv), expected, kind="attention")


def parts(nb):
    ex = nb.cell(1)
    return (
        ex.locator(".iw-root.iw-head-map"),
        ex.locator(".iw-root.iw-token-view"),
        ex.locator(".iw-root.iw-attention-matrix"),
    )


def test_opens_without_holding_layer_patterns(nb):
    _, tv, am = parts(nb)
    expect(tv.locator(".iw-token")).to_have_count(N)
    expect(am.locator("canvas.iw-plot")).to_have_attribute("data-n", str(N))
    facts = nb.eval(
        "[ex.token_view.activations is ex.matrix.activations, "
        "ex.token_view.activations.cached_layers, "
        "all(ex.token_view.activations.exact.values()), "
        "ex.token_view.activations.nbytes]"
    )
    shared, cached_layers, exact, nbytes = facts
    assert shared is True  # one forward pass for the whole explorer
    assert cached_layers == 0  # no [heads, 2048, 2048] layer pattern is kept
    assert exact is True
    assert nbytes < 300e6  # all layers' patterns would be 30 x 9 x 2048^2 x 4 B = 4.5 GB
    # one element per token, the matrix is a canvas: the page does not grow with n^2
    n_elements = (
        nb.cell(1).locator(".jp-OutputArea").evaluate("el => el.querySelectorAll('*').length")
    )
    assert n_elements < N + 1500, n_elements
    nb.problems.assert_clean()


def test_hover_lock_and_arrows_at_2048_tokens(nb):
    _, tv, _ = parts(nb)
    d = N - 1
    last, locked = expected_row(nb, 18, 6, d), expected_row(nb, 18, 6, 1503)
    tv.scroll_into_view_if_needed()
    tv.locator(f'.iw-token[data-index="{d}"]').hover()
    expect(tv.locator(f'.iw-token[data-index="{d}"]')).to_have_class(re.compile(r"\biw-focus\b"))
    shades(nb, tv, last)
    d = 1500
    tv.locator(f'.iw-token[data-index="{d}"]').click()
    expect(tv.locator(".iw-locked")).to_have_count(1)
    nb.page.mouse.move(0, 0)
    for _ in range(3):
        nb.page.keyboard.press("ArrowRight")
    d += 3
    expect(tv.locator(f'.iw-token[data-index="{d}"]')).to_have_class(re.compile(r"\biw-locked\b"))
    shades(nb, tv, locked)
    nb.page.keyboard.press("Escape")
    expect(tv.locator(".iw-locked")).to_have_count(0)
    nb.problems.assert_clean()


def test_head_map_switches_heads_at_2048_tokens(nb, artifacts):
    hm, tv, am = parts(nb)
    d = 1200
    for layer, head in [(23, 7), (2, 5), (29, 8)]:
        expected = expected_row(nb, layer, head, d)
        grid_click(nb.page, hm, layer, head)
        for root in (tv, am):
            expect(root.locator(".iw-layer-select")).to_have_value(str(layer), timeout=60_000)
            expect(root.locator(".iw-head-select")).to_have_value(str(head), timeout=60_000)
        tv.scroll_into_view_if_needed()
        tv.locator(f'.iw-token[data-index="{d}"]').hover()
        shades(nb, tv, expected)
    assert nb.eval("ex.token_view.activations.cached_layers") == 0
    long_tasks = nb.page.evaluate("() => window.__iwLong || []")
    (artifacts / "long-explorer.json").write_text(
        json.dumps({"n_tokens": N, "long_tasks_ms": long_tasks}), encoding="utf-8"
    )
    nb.problems.assert_clean()
