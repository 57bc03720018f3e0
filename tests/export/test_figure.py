"""Static figures (``iw.figure`` / ``view.save_figure``) checked against what they must show.

Expectations are independent of the figure code: token colours from the documented scales
(docs/figures.md: the palette's RGB, α = attention weight or |attr| / max|attr|, 3 decimals) applied
to TransformerLens activations read here, the matrix of a hand-built previous-token head, a planted
peak in a hand-made pattern, hand-made head scores, and the files' own formats (SVG parsed as XML,
the PDF header, the PNG's IHDR size).
"""

from __future__ import annotations

import math
import re
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from handmade import build as handmade_build

import induction_widgets as iw
from induction_widgets.export.figure import FIGURES
from induction_widgets.payload import encode
from induction_widgets.views import (
    PALETTES,
    VIEWS,
    ViewSpec,
    head_map_state,
    loss_curve_state,
    partners_state,
    phase_change_state,
)
from induction_widgets.views.figure import pool_max, viridis_lut

pytest.importorskip("matplotlib")


ROOT = Path(__file__).resolve().parents[2]
TEXT = "the cat sat on the mat. the cat sat on the mat. the cat sat on the mat."
#: The documented colours (docs/figures.md), written out here rather than read from the package.
PAPER = {"attention": (214, 39, 40), "positive": (31, 119, 180), "negative": (255, 127, 14)}
COLORBLIND = {"attention": (213, 94, 0), "positive": (0, 114, 178), "negative": (230, 159, 0)}


def _patch(fig, gid):
    for ax in fig.axes:
        for p in ax.patches:
            if p.get_gid() == gid:
                return p
    raise AssertionError(f"no patch {gid}")


def _expected(rgb, alpha):
    return (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, round(alpha * 1000) / 1000)


def _close(a, b, tol=2e-3):
    """Equal RGBA within ``tol``; a transparent colour (α 0) equals any other transparent one."""
    if b[3] == 0:
        return abs(a[3]) <= tol
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


# --- token view ------------------------------------------------------------------------------


def test_token_backgrounds_are_the_pages_attention_colours(tiny):
    view = iw.TokenView(tiny, TEXT, 1, 1, sink_scale="all sources")
    d = 50
    view.selected = d
    attention = iw.TextActivations(tiny, TEXT).attention(1, 1).numpy()
    fig = iw.figure(view)
    for s in range(len(view.tokens)):
        got = _patch(fig, f"iw-token-{s}").get_facecolor()
        if s > d:  # after the destination: not shaded
            assert got[3] == 0, (s, got)
            continue
        want = _expected(PAPER["attention"], min(max(float(attention[d, s]), 0), 1))
        assert _close(got, want), (s, got, want)
    # the locked token is outlined in the mode's colour; the caption says head, mode, scale, lock
    locked = _patch(fig, f"iw-token-{d}")
    assert np.allclose(locked.get_edgecolor()[:3], [c / 255 for c in PAPER["attention"]])
    title = fig.axes[0].get_title(loc="left")
    assert "L1H1" in title and "attention" in title and "scale: all sources" in title
    assert f"locked: token {d}" in title


def test_token_backgrounds_follow_logit_attribution_source_role_and_palette(tiny):
    view = iw.TokenView(
        tiny, TEXT, 1, 0, mode="logit_attr", selected_is="source", palette="colorblind"
    )
    s = 12
    view.selected = s
    _, attribution = iw.TextActivations(tiny, TEXT).attention_and_attribution(1, 0)
    attr = attribution.numpy()
    vmax = float(np.nanmax(np.abs(attr)))
    fig = iw.figure(view)
    n = len(view.tokens)
    signs = set()
    for p in range(n):
        got = _patch(fig, f"iw-token-{p}").get_facecolor()
        if p <= s:  # only outputs after the source are shaded
            assert got[3] == 0
            continue
        v = float(attr[p - 1, s])
        rgb = COLORBLIND["negative"] if v < 0 else COLORBLIND["positive"]
        signs.add(v < 0)
        assert _close(got, _expected(rgb, min(abs(v) / vmax, 1))), (p, got, v)
    assert signs == {True, False}  # both ends of the diverging scale were checked
    assert "logit attribution" in fig.axes[0].get_title(loc="left")


def test_without_a_lock_nothing_is_shaded_and_the_caption_says_so(tiny):
    fig = iw.figure(iw.TokenView(tiny, TEXT, 1, 1))
    assert all(p.get_facecolor()[3] == 0 for p in fig.axes[0].patches)
    assert "no token locked" in fig.axes[0].get_title(loc="left")


# --- attention matrix ------------------------------------------------------------------------


def _brightness(rgba):
    return rgba[..., :3].sum(-1) * rgba[..., 3]


def test_matrix_brightest_pixel_is_the_handmade_heads_previous_token():
    model = handmade_build()
    tokens = torch.tensor([[3, 7, 1, 9, 3, 7, 1, 9, 2, 5, 11, 0]])
    view = iw.AttentionMatrix(model, tokens, 0, 0, sink_scale="all sources")
    fig = iw.figure(view)
    ax = fig.axes[0]
    (image,) = [im for im in ax.images if im.get_gid() == "iw-matrix"]
    rgba = np.asarray(image.get_array())
    assert rgba.shape[:2] == (12, 12)
    bright = _brightness(rgba)
    for d in range(1, 12):  # q_d · k_s is large exactly at s = d − 1
        assert int(bright[d].argmax()) == d - 1, d
    # the peak is viridis's top colour (attention ≈ 1); the masked upper triangle is transparent
    assert np.allclose(rgba[5, 4, :3], viridis_lut()[255] / 255, atol=1 / 255)
    assert rgba[2, 9, 3] == 0
    assert ax.get_xlabel().startswith("source") and ax.get_ylabel().startswith("destination")


def _hand_spec(n, planted, value=0.75, mode="attention"):
    rng = np.random.default_rng(0)
    a = np.tril(rng.uniform(0, 0.02, (n, n))).astype(np.float32)
    a[planted] = value
    state = {
        "tokens": [f"t{i}" for i in range(n)],
        "bos": False,
        "layer": 3,
        "head": 5,
        "n_layers": 4,
        "n_heads": 8,
        "attention": encode(a, "float16", layout="tril"),
        "attribution": encode(a - 0.01, "float16"),
        "mode": mode,
        "sink_scale": "all sources",
        "palette": "paper",
        "title": "",
    }
    return ViewSpec("attention_matrix", state)


def test_a_large_matrix_is_max_pooled_so_a_sparse_peak_survives():
    n, planted = 1200, (1000, 37)
    fig = iw.figure(_hand_spec(n, planted))
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    b = math.ceil(n / 512)
    assert rgba.shape[:2] == (math.ceil(n / b),) * 2
    bright = _brightness(rgba)
    assert np.unravel_index(bright.argmax(), bright.shape) == (planted[0] // b, planted[1] // b)
    # the pixel shows the peak itself (max), not the block's mean (≈ 0.09 for a 3 × 3 block)
    want = viridis_lut()[round(0.75 * 255)] / 255
    assert np.allclose(rgba[planted[0] // b, planted[1] // b, :3], want, atol=2 / 255)
    assert "each pixel the max of 3×3 cells" in fig.axes[0].get_title()


def test_pool_max_keeps_the_largest_magnitude_with_its_sign():
    m = np.zeros((6, 6))
    m[4, 1] = -0.7
    m[4, 2] = 0.5
    m[0, 0] = np.nan
    pooled, b = pool_max(m, 3, signed=True)
    assert b == 2 and pooled.shape == (3, 3)
    assert pooled[2, 0] == -0.7 and pooled[2, 1] == 0.5
    plain, _ = pool_max(m, 3)
    assert plain[2, 0] == 0.0 and plain[0, 0] == 0.0  # NaN ignored beside real zeros


def test_logit_attribution_matrix_uses_the_palettes_diverging_pair(tiny):
    view = iw.AttentionMatrix(tiny, TEXT, 1, 1, mode="logit_attr", palette="colorblind")
    attr = iw.TextActivations(tiny, TEXT).attention_and_attribution(1, 1)[1].numpy()
    rgba = np.asarray(iw.figure(view).axes[0].images[0].get_array())
    vmax = float(np.nanmax(np.abs(attr)))
    d, s = np.unravel_index(np.nanargmax(np.abs(attr)), attr.shape)
    sign = "negative" if attr[d, s] < 0 else "positive"
    assert np.allclose(rgba[d, s], [*(c / 255 for c in COLORBLIND[sign]), 1.0], atol=1 / 255)
    d2, s2 = 30, 12
    a = min(abs(float(attr[d2, s2])) / vmax, 1)
    assert abs(rgba[d2, s2, 3] - round(a * 255) / 255) <= 2 / 255


# --- head map --------------------------------------------------------------------------------


def _scores():
    z = torch.zeros(3, 4)
    pm = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 11  # L2H3 highest
    return iw.HeadScores(prefix_matching=pm, copying=z + 0.2, previous_token=z, ov_copying=z)


def test_head_map_marks_the_selected_head_and_labels_its_axes():
    fig = iw.figure(iw.HeadMap(_scores(), selected_head=(2, 1)))
    ax = fig.axes[0]
    mark = _patch(fig, "iw-selected-head")
    assert mark.get_xy() == (1 - 0.5, 2 - 0.5) and mark.get_width() == 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("head", "layer")
    assert "selected L2H1" in " ".join(ax.get_title().split())
    rgba = np.asarray(ax.images[0].get_array())
    assert np.allclose(rgba[2, 3, :3], viridis_lut()[255] / 255)  # the highest score: top colour
    assert np.allclose(rgba[0, 0, :3], viridis_lut()[0] / 255)
    assert fig.axes[1].get_ylabel() == "prefix matching"  # the colour bar


def test_head_map_delta_icl_is_diverging_with_unmeasured_heads_hatched():
    scores = _scores()
    change = torch.tensor([[0.2, -0.4, float("nan"), 0.0], [0.1, 0.05, -0.1, 0.3], [0.0] * 4])
    state = head_map_state(scores, selected_head=(0, 1), palette="colorblind")
    state.update({"ablation": encode(change, "float32"), "score": "icl_ablation"})
    fig = iw.figure(ViewSpec("head_map", state))
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert np.allclose(rgba[0, 1], _expected(COLORBLIND["negative"], 1.0), atol=1e-3)
    assert np.allclose(rgba[1, 3], _expected(COLORBLIND["positive"], 0.75), atol=1e-3)
    hatched = _patch(fig, "iw-unmeasured-L0H2")
    assert hatched.get_hatch() == "///"
    assert "hatched: not measured" in " ".join(fig.axes[0].get_title().split())
    assert fig.axes[1].get_ylabel() == "ΔICL (ablation)"  # the colour bar names the method
    state["ablation_method"] = "attribution"
    fig = iw.figure(ViewSpec("head_map", state))
    assert fig.axes[1].get_ylabel() == "ΔICL (attribution patching)"
    assert "coloured by ΔICL (attribution patching)" in " ".join(fig.axes[0].get_title().split())


# --- the other kinds -------------------------------------------------------------------------


def test_loss_curve_partners_phase_change_and_scatter_have_labelled_axes():
    pos = torch.arange(600, dtype=torch.float32)
    losses = (5 - pos / 200)[None].repeat(3, 1)
    losses[:, 0] = float("nan")
    fig = iw.figure(ViewSpec("loss_curve", loss_curve_state(losses)))
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "iw-loss"]
    np.testing.assert_allclose(line.get_ydata(), (5 - pos / 200)[1:].numpy(), rtol=1e-6)
    assert ax.get_xscale() == "log" and "nats" in ax.get_ylabel()
    assert "ICL score -2.25" in ax.get_title()

    k = torch.full((3, 2), float("nan"))
    k[:2] = torch.tensor([[0.0, 0.025], [0.25, 0.275]])
    prev = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.0, 0.0]])
    fig = iw.figure(ViewSpec("partners", partners_state(iw.Partners(2, 1, k, prev), top=3)))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["L1H1", "L1H0", "L0H1"]
    assert [round(b.get_width(), 3) for b in ax.containers[0]] == [0.275, 0.25, 0.025]
    assert ax.get_ylabel() == "earlier head" and "L2H1" in ax.get_title()

    pm = torch.zeros(4, 2, 2)
    pm[:, 1, 0] = torch.tensor([0.05, 0.1, 0.8, 0.9])
    cs = iw.CheckpointScores(
        [0, 100, 200, 400], pm, pm * 0.5, torch.full((4, 2, 2), 0.3), torch.zeros(4, 2, 2),
        torch.tensor([-0.1, -0.2, -0.5, -1.4]), torch.full((4,), 0.05), 6, 55,
    )  # fmt: skip
    fig = iw.figure(ViewSpec("phase_change", phase_change_state(cs)))
    ax = fig.axes[0]
    (pm_line,) = [ln for ln in ax.lines if ln.get_gid() == "iw-series-prefix_matching"]
    np.testing.assert_allclose(pm_line.get_ydata(), [0.05, 0.1, 0.8, 0.9])
    assert ax.get_xlabel() == "training step" and "between steps 100 and 200" in ax.get_title()

    fig = iw.figure(iw.VerdictScatter(_scores(), selected_head=(2, 3)))
    ax = fig.axes[0]
    (ring,) = [c for c in ax.collections if c.get_gid() == "iw-selected-point"]
    assert np.allclose(ring.get_offsets()[0], [1.0, 0.2], atol=1e-6)
    assert ax.get_xlabel() == "prefix matching"


def test_explorer_figure_has_its_panels(tiny):
    z = torch.zeros(2, 4)
    scores = iw.HeadScores(prefix_matching=z + 0.5, copying=z, previous_token=z, ov_copying=z)
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=2, matrix_mode="logit_attr")
    ex.selected = 40
    fig = iw.figure(ex)
    titles = " | ".join(ax.get_title() + ax.get_title(loc="left") for ax in fig.axes)
    for words in (
        "Head map",
        "Verdict scatter",
        "Text · L1H2",
        "Matrix · L1H2 · logit attribution",
    ):
        assert words in titles, words
    assert "L1H2" in fig.get_suptitle()
    assert _patch(fig, "iw-selected-head").get_xy() == (2 - 0.5, 1 - 0.5)
    assert _patch(fig, "iw-token-40").get_edgecolor()[3] == 1


# --- files -----------------------------------------------------------------------------------


def test_svg_pdf_png_files_are_real(tiny, tmp_path):
    view = iw.TokenView(tiny, TEXT, 1, 1)
    view.selected = 20
    svg = view.save_figure(tmp_path / "fig.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = "".join("".join(t.itertext()) for t in root.iter() if t.tag.endswith("text"))
    assert "mat." in texts and "L1H1" in texts  # text stays text (researchers can edit it)
    assert any(e.get("id") == "iw-token-20" for e in root.iter())
    pdf = iw.save_figure(view, tmp_path / "fig.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    png = view.save_figure(tmp_path / "sub" / "fig.png", dpi=100)
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    fig = iw.figure(view)
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 100), round(h_in * 100))


def test_every_declared_view_has_a_figure():
    assert set(VIEWS) <= set(FIGURES), set(VIEWS) - set(FIGURES)


def test_unknown_kind_names_the_kinds_drawn():
    with pytest.raises(
        iw.InputError, match=r"no figure for a 'sweep' view: figures exist for .*token_view"
    ):
        iw.figure(ViewSpec("sweep", {}))


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` finds absent
    with pytest.raises(ImportError, match=r"pip install 'induction_widgets\[figures\]'"):
        iw.figure(iw.HeadMap(_scores()))


# --- palettes --------------------------------------------------------------------------------


def test_python_and_js_palettes_are_the_same_numbers():
    js = (ROOT / "js/src/shared/colour.js").read_text()
    for name, colours in PALETTES.items():
        block = re.search(rf"{name}: Object\.freeze\(\{{(.*?)\}}\)", js)
        assert block, name
        for key, rgb in colours.items():
            assert re.search(
                rf"{key}: Object\.freeze\(\[{rgb[0]}, {rgb[1]}, {rgb[2]}\]\)", block.group(1)
            )
    assert PALETTES == {"paper": PAPER, "colorblind": COLORBLIND}


# Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB: the dichromat's view.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
}  # fmt: skip


def _lab_seen(rgb, alpha, matrix):
    """CIELAB of ``rgb`` at ``alpha`` over white (blended in sRGB, as a browser does), as a
    dichromat sees it."""
    srgb = alpha * np.asarray(rgb) / 255 + (1 - alpha)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    lin = np.clip(np.asarray(matrix) @ lin, 0, 1)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ lin
    )
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("cvd", sorted(CVD))
def test_colorblind_palette_keeps_faint_signs_further_apart(cvd):
    """The documented reason for the "colorblind" palette: at α = 0.3 (a faint attribution) its
    positive and negative colours differ more (CIE76 ΔE) for a protanope / deuteranope than the
    paper palette's do."""

    def gap(p):
        return np.linalg.norm(
            _lab_seen(p["positive"], 0.3, CVD[cvd]) - _lab_seen(p["negative"], 0.3, CVD[cvd])
        )

    assert gap(COLORBLIND) > gap(PAPER) + 1.0, (gap(COLORBLIND), gap(PAPER))
