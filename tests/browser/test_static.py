"""Exported pages (``save_html``) opened as ``file://`` with no kernel and no network.

Every request is routed: ``file:``, ``data:`` and ``blob:`` go through, anything else is aborted
and logged — the log must stay empty. Console errors, page errors and dialogs fail the tests.
Embedded numbers are quantised (attention uint8, max error 1/510; attribution int8, max error
scale / 2 = max|attr| / 254), so the comparison with the tensors allows exactly that.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from labkit import expect, open_saved
from viewcheck import (
    TEXT,
    assert_shading,
    attention_dst,
    attention_src,
    grid_click,
    head_arrays,
    hostile_tokens,
    logit_dst,
    max_abs_finite,
    point_at_cell,
    read_tokens,
    wait_shading,
)

pytestmark = pytest.mark.browser

TV_HEADS = [(1, 0), (1, 1), (0, 1)]
ATT_TOL = 1 / 510 + 1e-6


def attr_tol(L) -> float:
    return max_abs_finite(L) / 254 + 1e-6


@pytest.fixture(scope="module")
def acts(tiny_model):
    from induction_widgets import TextActivations

    return TextActivations(tiny_model, TEXT)


@pytest.fixture(scope="module")
def scores(tiny_model):
    from induction_widgets import head_scores

    return head_scores(tiny_model, progress=False)


@pytest.fixture(scope="module")
def pages(tmp_path_factory, tiny_model, acts, scores):
    """The exported files: name → path."""
    import induction_widgets as iw

    out = tmp_path_factory.mktemp("static")
    tv = iw.TokenView(tiny_model, TEXT, 1, 0, activations=acts, title="static token view")
    am = iw.AttentionMatrix(tiny_model, TEXT, 1, 0, activations=acts)
    hm = iw.HeadMap(scores)
    z = torch.zeros(scores.n_layers, scores.n_heads)  # made by hand: no per-example values
    made = iw.HeadScores(
        prefix_matching=scores.prefix_matching, copying=z, previous_token=z, ov_copying=z
    )
    ex = iw.InductionExplorer(tiny_model, TEXT, scores=scores, layer=1, head=1)
    hostile = iw.TokenView(tiny_model, TEXT, 1, 0, activations=acts).view_spec()
    hostile.state["tokens"] = hostile_tokens(acts.n_tokens)
    return {
        "token_view": tv.save_html(out / "token_view.html", heads=TV_HEADS),
        "attention_matrix": am.save_html(out / "attention_matrix.html"),
        "head_map": hm.save_html(out / "head_map.html"),
        "head_map_made": iw.HeadMap(made).save_html(out / "head_map_made.html"),
        "explorer": ex.save_html(out / "explorer.html"),
        "hostile": iw.save_html(hostile, out / "hostile.html"),
    }


class Opened:
    def __init__(self, ctx, path) -> None:
        self.ctx = ctx
        self.page, self.problems = open_saved(ctx, path)

    def check_clean(self) -> None:
        assert self.ctx.request_log == [], f"requests left the file: {self.ctx.request_log}"
        self.problems.assert_clean()


@pytest.fixture
def open_page(offline):
    opened: list[Opened] = []

    def _open(path) -> Opened:
        o = Opened(offline, path)
        opened.append(o)
        return o

    yield _open
    for o in opened:
        o.page.close()


def token(root, i: int):
    return root.locator(f'.iw-token[data-index="{i}"]')


def hover_and_check(page, root, i, expected, *, kind, tol, vmax=0.0):
    token(root, i).hover()
    expect(token(root, i)).to_have_class(re.compile(r"\biw-focus\b"))
    wait_shading(page, root, expected, rel=0.0, abs_tol=tol)
    assert_shading(
        read_tokens(root), expected, kind=kind, vmax=vmax, rel=0.0, abs_tol=tol, alpha_steps=2
    )


def option_values(select) -> list[str]:
    return select.evaluate("s => [...s.options].map(o => o.value)")


# ---------------------------------------------------------------------------------------------
# 9. save_html of every view


def test_static_token_view(open_page, pages, acts):
    o = open_page(pages["token_view"])
    page = o.page
    root = page.locator(".iw-root.iw-token-view")
    expect(root.locator(".iw-token")).to_have_count(acts.n_tokens)
    expect(root.locator(".iw-title")).to_have_text("static token view")
    A, L = head_arrays(acts, 1, 0)

    # attention, destination selected
    for d in (acts.n_tokens - 1, 25):
        hover_and_check(page, root, d, attention_dst(A, d), kind="attention", tol=ATT_TOL)
    # attention, source selected
    root.locator(".iw-toggle-selected").click()
    expect(root.locator(".iw-toggle-selected")).to_have_text("Selected is source")
    for s in (5, 0):
        hover_and_check(page, root, s, attention_src(A, s), kind="attention", tol=ATT_TOL)
    root.locator(".iw-toggle-selected").click()
    expect(root.locator(".iw-toggle-selected")).to_have_text("Selected is destination")
    # logit attribution: token p shows row p - 1
    root.locator(".iw-mode-logit").click()
    expect(root.locator(".iw-mode-logit")).to_have_class(re.compile(r"\biw-active\b"))
    for p in (acts.n_tokens - 1, 30):
        hover_and_check(
            page, root, p, logit_dst(L, p), kind="logit", tol=attr_tol(L), vmax=max_abs_finite(L)
        )
    root.locator(".iw-mode-attention").click()

    # lock + arrow + escape work without a kernel too
    token(root, 30).click()
    expect(token(root, 30)).to_have_class(re.compile(r"\biw-locked\b"))
    page.keyboard.press("ArrowRight")
    expect(token(root, 31)).to_have_class(re.compile(r"\biw-locked\b"))
    assert page.evaluate("globalThis.iwModels[0].get('selected')") == 31
    page.keyboard.press("Escape")
    expect(root.locator(".iw-locked")).to_have_count(0)

    # the selects offer exactly the embedded heads; switching shows the new head's numbers
    layer_sel, head_sel = root.locator(".iw-layer-select"), root.locator(".iw-head-select")
    assert option_values(layer_sel) == ["0", "1"]
    assert option_values(head_sel) == ["0", "1"]
    d = 40
    hover_and_check(page, root, d, attention_dst(A, d), kind="attention", tol=ATT_TOL)
    head_sel.select_option("1")
    A11, _ = head_arrays(acts, 1, 1)
    page.mouse.move(0, 0)
    hover_and_check(page, root, d, attention_dst(A11, d), kind="attention", tol=ATT_TOL)
    layer_sel.select_option("0")
    expect(head_sel).to_have_value("1")
    assert option_values(head_sel) == ["1"]
    A01, L01 = head_arrays(acts, 0, 1)
    page.mouse.move(0, 0)
    hover_and_check(page, root, d, attention_dst(A01, d), kind="attention", tol=ATT_TOL)
    root.locator(".iw-mode-logit").click()
    hover_and_check(
        page, root, d, logit_dst(L01, d), kind="logit", tol=attr_tol(L01), vmax=max_abs_finite(L01)
    )
    expect(root.locator(".iw-message")).to_be_hidden()
    o.check_clean()


def test_static_attention_matrix(open_page, pages, acts):
    o = open_page(pages["attention_matrix"])
    page = o.page
    am = page.locator(".iw-root.iw-attention-matrix")
    plot = am.locator("canvas.iw-plot")
    expect(plot).to_have_attribute("data-n", str(acts.n_tokens))
    A, _ = head_arrays(acts, 1, 0)
    readout = am.locator(".iw-readout")
    for d, s in [(30, 6), (47, 25), (5, 5), (20, 0)]:
        point_at_cell(page, plot, d, s)
        expect(readout).to_have_attribute("data-dst", str(d))
        expect(readout).to_have_attribute("data-src", str(s))
        assert abs(float(readout.get_attribute("data-value")) - A[d, s]) <= ATT_TOL
    o.check_clean()


def test_static_head_map(open_page, pages, scores):
    o = open_page(pages["head_map"])
    page = o.page
    hm = page.locator(".iw-root.iw-head-map")
    expect(hm.locator("table.iw-head-table tbody tr")).to_have_count(8)
    grid_click(page, hm, 0, 2)
    assert page.evaluate("globalThis.iwModels[0].get('selected_head')") == [0, 2]
    readout = hm.locator(".iw-readout")
    expect(readout).to_have_attribute("data-layer", "0")
    expect(readout).to_have_attribute("data-head", "2")
    want = scores.get("prefix_matching")[0, 2].item()
    assert abs(float(readout.get_attribute("data-value")) - want) <= 1e-6 + 1e-6 * abs(want)
    # the spread over examples: "score ± sd (sd over n examples)", sd = HeadScores.std
    n = int(np.isfinite(scores.per_example["prefix_matching"][:, 0, 2].numpy()).sum())
    sd = scores.std("prefix_matching")[0, 2].item()
    assert abs(float(readout.get_attribute("data-sd")) - sd) <= 1e-6 + 1e-6 * sd
    m = re.search(r"prefix matching (\S+) ± (\S+) \(sd over (\d+) examples\)", readout.inner_text())
    assert m, readout.inner_text()
    assert abs(float(m[1]) - want) <= 5e-4 * abs(want) + 1e-9  # 4 significant digits
    assert abs(float(m[2]) - sd) <= 0.05 * sd and int(m[3]) == n  # sd to 2 digits
    # the table: the first row (best prefix matching) shows "score ± sd" in every score column
    first = scores.top(1, by="prefix_matching")[0]
    row = hm.locator("table.iw-head-table tbody tr").first
    expect(row).to_have_attribute("data-layer", str(first.layer))
    expect(row).to_have_attribute("data-head", str(first.head))
    keys = hm.locator("table.iw-head-table th").evaluate_all("ths => ths.map(t => t.dataset.key)")
    for name in ("prefix_matching", "copying"):
        cell = row.locator("td").nth(keys.index(f"score:{name}"))
        m = re.fullmatch(r"(\S+) ± (\S+)", cell.inner_text())
        assert m, cell.inner_text()
        sd = scores.std(name)[first.layer, first.head].item()
        assert abs(float(m[2]) - sd) <= 0.05 * sd
        assert abs(float(cell.get_attribute("data-sd")) - sd) <= 1e-6 + 1e-6 * sd
    o.check_clean()
    # scores made by hand (no per-example values): the value alone, no ±, no error
    o = open_page(pages["head_map_made"])
    hm = o.page.locator(".iw-root.iw-head-map")
    grid_click(o.page, hm, 0, 2)
    readout = hm.locator(".iw-readout")
    expect(readout).to_have_attribute("data-head", "2")
    assert "±" not in readout.inner_text() and readout.get_attribute("data-sd") is None
    expect(hm.locator("table.iw-head-table tbody tr").first.locator("td").nth(2)).not_to_have_text(
        re.compile("±")
    )
    o.check_clean()


def test_static_explorer(open_page, pages, acts):
    o = open_page(pages["explorer"])
    page = o.page
    hm = page.locator(".iw-root.iw-head-map")
    tv = page.locator(".iw-root.iw-token-view")
    am = page.locator(".iw-root.iw-attention-matrix")
    expect(tv.locator(".iw-head-select")).to_have_value("1")
    # one model behind the three parts (the explorer is one view)
    assert page.evaluate("globalThis.iwModels.length") == 1
    # save_html(heads=None) embeds the top heads of the scores (all 8 of tiny)
    assert len(page.evaluate("globalThis.iwModels[0].get('heads_available')")) == 8
    # workbench: on a 1,400 x 900 window the map, the text and the matrix are all on screen at once
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_timeout(300)
    for part in (
        hm.locator("canvas.iw-grid"),
        tv.locator(".iw-tokens"),
        am.locator("canvas").first,
    ):
        box = part.bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 50
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1400, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box
    # the table folds away; the selects of the token view move the map's selection
    expect(hm.locator("details.iw-table-fold")).not_to_have_attribute("open", "")
    tv.locator(".iw-head-select").select_option("3")
    expect(hm.locator(".iw-readout")).to_have_attribute("data-head", "3")
    expect(hm.locator(".iw-readout")).to_contain_text("±")  # the map's spread over examples
    d = 44
    for layer, head in [(0, 3), (1, 2)]:
        grid_click(page, hm, layer, head)
        for view in (tv, am):
            expect(view.locator(".iw-layer-select")).to_have_value(str(layer))
            expect(view.locator(".iw-head-select")).to_have_value(str(head))
        expect(tv.locator(".iw-message")).to_be_hidden()
        A, _ = head_arrays(acts, layer, head)
        page.mouse.move(0, 0)
        hover_and_check(page, tv, d, attention_dst(A, d), kind="attention", tol=ATT_TOL)
    o.check_clean()


# ---------------------------------------------------------------------------------------------
# 10. hostile token strings stay text


def test_static_hostile_tokens(open_page, pages, acts):
    html_text = pages["hostile"].read_text(encoding="utf-8")
    for raw in ("<img src=x", "<svg onload", "<!--", "<script>alert"):
        assert raw not in html_text.split('<script type="module">')[0], raw
    o = open_page(pages["hostile"])
    page = o.page
    root = page.locator(".iw-root.iw-token-view")
    expected = hostile_tokens(acts.n_tokens)
    expect(root.locator(".iw-token")).to_have_count(len(expected))
    assert [t.text for t in read_tokens(root)] == expected
    assert page.locator("img, svg, iframe").count() == 0
    for i in (0, 8, 9, 11, 12):
        token(root, i).hover()
        expect(token(root, i)).to_have_class(re.compile(r"\biw-focus\b"))
    token(root, 0).click()
    token(root, 12).hover()
    expect(root.locator(".iw-status")).to_contain_text("[12]")
    assert page.locator("img, svg, iframe").count() == 0
    # only the page's own two scripts (the view's JSON data and the module) exist
    assert page.evaluate("document.scripts.length") == 2
    o.check_clean()
