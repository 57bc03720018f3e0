"""Sink-aware display in Chromium (issue 13, "Must show"), from ``save_html`` pages (no kernel).

On SmolLM2, the report's literal-copying view (``copying_text()``, the head
``choose_copying_head`` picks, as ``iw.report`` does) and its translation matrix
(``translation_text()``, ``choose_translation_head``): with the sink left out (the default for a
head whose rows put >= 0.3 of their attention on BOS, ``sink_summary``'s rule), a repeat token's
strongest red is a copied-from token, and the matrix's aligned-word cells (the off-diagonal) stand
out. Every colour is checked against the tensors on both scales: ``without_sink`` (Python) of the
page's own uint8 attention for "without sink", the attention itself for "all sources".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labkit import expect, open_saved
from viewcheck import VIRIDIS_PY, assert_shading, read_tokens, viridis_rgb, wait_shading

pytestmark = [pytest.mark.browser, pytest.mark.smollm2]


def quantised(A: torch.Tensor) -> torch.Tensor:
    """The attention an exported page holds (uint8, scale 1/255), as float32 ``[dst, src]``."""
    from induction_widgets.payload import attention_payload, decode

    return torch.from_numpy(decode(attention_payload(A, live=False))).float()


@pytest.fixture(scope="module")
def report_views(tmp_path_factory, smollm2):
    import induction_widgets as iw
    from induction_widgets.compute.choose import (
        choose_copying_head,
        choose_translation_head,
        copy_destinations,
        repeat_start,
        translation_targets,
    )

    out = tmp_path_factory.mktemp("sink")
    text = iw.copying_text()
    acts = iw.TextActivations(smollm2, text, truncate=True, progress=False)
    start = repeat_start(smollm2, text)
    copy_head = choose_copying_head(acts, start=start).head
    tv = iw.TokenView(smollm2, text, *copy_head, activations=acts)
    tr_text = iw.translation_text()
    tr_acts = iw.TextActivations(smollm2, tr_text, truncate=True, progress=False)
    tr_head = choose_translation_head(tr_acts).head
    am = iw.AttentionMatrix(smollm2, tr_text, *tr_head, activations=tr_acts)
    return {
        "token_view": tv.save_html(out / "copying.html", heads=[copy_head]),
        "matrix": am.save_html(out / "translation.html", heads=[tr_head]),
        "A": acts.attention(*copy_head),
        "copies": copy_destinations(acts.tokens.tolist(), start),
        "A_tr": tr_acts.attention(*tr_head),
        "targets": translation_targets(smollm2, 0)[1],
    }


def open_page(offline, path):
    return open_saved(offline, path)


def test_copying_view_without_sink(offline, report_views):
    from induction_widgets.compute import sink_summary, without_sink

    A = report_views["A"]
    Aq = quantised(A)
    summary = sink_summary(A)
    assert summary["default_scale"] == "without sink", "the copying head has no sink any more"
    assert sink_summary(Aq)["first"] == summary["first"] == 1
    W = without_sink(Aq, 1).double().numpy()
    Aqn = Aq.double().numpy()
    copies = report_views["copies"]
    # a repeat token whose strongest source, sink included, is BOS, but a copied-from token once
    # the sink is left out (the first repeat token whose sink-less argmax is a copy otherwise)
    good = [d for d, src in copies.items() if int(np.argmax(W[d])) in src]
    assert len(good) >= 0.8 * len(copies)
    d = next((d for d in good if int(np.argmax(Aqn[d])) == 0), good[0])

    page, problems = open_page(offline, report_views["token_view"])
    root = page.locator(".iw-root.iw-token-view")
    status = root.locator(".iw-status")
    expect(root.locator(".iw-sink-scale")).to_have_value("auto")
    expect(status).to_contain_text("scale: without sink (BOS left out, row renormalised)")
    root.locator(f'.iw-token[data-index="{d}"]').hover()
    row = {s: float(W[d, s]) for s in range(d + 1)}
    wait_shading(page, root, row, rel=0.0, abs_tol=1e-5)
    toks = read_tokens(root)
    assert_shading(toks, row, kind="attention", rel=0.0, abs_tol=1e-5, alpha_steps=1)
    strongest = max((t for t in toks if t.value is not None), key=lambda t: t.value)
    assert strongest.index in copies[d], f"strongest red on {strongest.index}, copies {copies[d]}"
    expect(status).to_contain_text("scale: without sink")
    share = float(status.get_attribute("data-sink-share"))
    assert share == pytest.approx(float(Aq[d, 0]), abs=1e-6)
    expect(status).to_contain_text(f"BOS share of this row {float(f'{share:.3g}'):g}")
    expect(root.locator(".iw-legend-note")).to_have_text("1 = row outside BOS")

    # all sources: the page's attention itself, BOS included
    root.locator(".iw-sink-scale").select_option("all sources")
    root.locator(f'.iw-token[data-index="{d}"]').hover()
    row = {s: float(Aqn[d, s]) for s in range(d + 1)}
    wait_shading(page, root, row, rel=0.0, abs_tol=1e-5)
    assert_shading(read_tokens(root), row, kind="attention", rel=0.0, abs_tol=1e-5)
    expect(status).to_contain_text("scale: all sources")
    expect(root.locator(".iw-legend-note")).to_have_text("1 = whole row")
    assert offline.request_log == []
    problems.assert_clean()
    page.close()


CELL = """(c, [d, s]) => {
  const ds = c.dataset, r = window.devicePixelRatio || 1;
  const z = Number(ds.plotSize) / Number(ds.n);
  const x = Number(ds.plotLeft) + (s + 0.5) * z, y = Number(ds.plotTop) + (d + 0.5) * z;
  return Array.from(c.getContext('2d').getImageData(Math.floor(x * r), Math.floor(y * r), 1, 1).data);
}"""


def test_translation_matrix_without_sink(offline, report_views):
    from induction_widgets.compute import sink_summary, without_sink

    A = report_views["A_tr"]
    Aq = quantised(A)
    assert sink_summary(A)["default_scale"] == "without sink"
    W = without_sink(Aq, 1).numpy()
    targets = report_views["targets"]
    # the off-diagonal stands out once the sink is left out: aligned-word cells hold on average
    # several times the attention of the row's other sources
    on = np.mean([W[d, s] for d, src in targets.items() for s in src])
    off = np.mean([W[d, s] for d, src in targets.items() for s in range(1, d + 1) if s not in src])
    assert on > 3 * off, (on, off)

    page, problems = open_page(offline, report_views["matrix"])
    root = page.locator(".iw-root.iw-attention-matrix")
    plot = root.locator("canvas.iw-plot")
    expect(root.locator(".iw-legend-note")).to_have_text("1 = row outside BOS")
    cells = [(d, s) for d, src in targets.items() for s in src] + [
        (d, 0) for d in list(targets)[:3]
    ]
    for scale, M in (("without sink", W), ("all sources", Aq.numpy())):
        if scale == "all sources":
            root.locator(".iw-sink-scale").select_option("all sources")
            expect(root.locator(".iw-legend-note")).to_have_text("1 = whole row")
        expect(root).to_have_attribute("data-scale", scale)
        for d, s in cells:
            px = plot.evaluate(CELL, [d, s])
            want = viridis_rgb(float(M[d, s]))
            assert px[3] == 255 and all(abs(px[k] - want[k]) <= 1 for k in range(3)), (
                scale,
                (d, s),
                px,
                want,
            )
    # the readout names the scale and the row's sink share
    box = plot.bounding_box()
    ds = plot.evaluate("c => Object.assign({}, c.dataset)")
    d, s = next(iter(targets.items()))
    z = float(ds["plotSize"]) / float(ds["n"])
    page.mouse.move(
        box["x"] + float(ds["plotLeft"]) + (s[0] + 0.5) * z,
        box["y"] + float(ds["plotTop"]) + (d + 0.5) * z,
    )
    readout = root.locator(".iw-readout")
    expect(readout).to_contain_text("scale: all sources")
    assert float(readout.get_attribute("data-sink-share")) == pytest.approx(float(Aq[d, 0]))
    assert VIRIDIS_PY  # the Python copy of the colour map the checks above used
    assert offline.request_log == []
    problems.assert_clean()
    page.close()
