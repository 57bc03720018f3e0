"""The SmolLM2 report's sections beyond Argument 4 with their defaults (issue 21, "Must show": the
SmolLM2 report shows per-head ΔICL and a ≥ 20-draw comparison with z-score, its ICL figure
negative with its uncertainty).

``beyond_blocks`` is what ``iw.report`` / ``induction-widgets report --model smollm2`` appends
after the Argument-4 views; called here on the shared SmolLM2 and its scores, at the report's
defaults (about 2 minutes on 2 idle cores). The blocks are read as the page holds them: the
paragraphs' text, the comparison's SVG, the head map's state. Independent checks: the ICL figure
is bold only when resolved, and negative; the strip's dots and bar give the table's z-score and
share beaten by their definitions; the head map's best-resolved attribution estimate has the sign
of that head's exact mean ablation (``iw.ablate``) on the same contexts. The browser half on the
tiny model's report is ``tests/browser/test_exports.py``.
"""

from __future__ import annotations

import importlib
import math
import re
import statistics

import numpy as np
import pytest
import torch

import induction_widgets as iw
from induction_widgets.payload import decode
from induction_widgets.views import ABLATION_SCORE

report = importlib.import_module("induction_widgets.export.report")

pytestmark = pytest.mark.smollm2

NUMBER = r"([+−-]\d+\.\d+)"


def _num(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.fixture(scope="module")
def blocks(smollm2, smollm2_scores):
    return report.beyond_blocks(smollm2, smollm2_scores)


@pytest.fixture(scope="module")
def text(blocks):
    return "".join(b for b in blocks if isinstance(b, str))


def test_icl_figure_is_negative_and_resolved(text):
    """The ICL score over ``REPORT_CONTEXTS`` (24) Austen windows: printed in bold as a figure ±
    its standard error, negative, and at least two standard errors from 0 (the page's rule for
    bold)."""
    para = re.search(r"<p class='iw-beyond-icl'>(.*?)</p>", text, re.S)
    assert para is not None
    assert f"{report.REPORT_CONTEXTS} windows of 512 tokens" in para.group(1)
    assert "not resolved" not in para.group(1)
    bold = re.search(rf"<b>{NUMBER} ± (\d+\.\d+)</b>", para.group(1))
    assert bold is not None, para.group(1)
    score, sem = _num(bold.group(1)), float(bold.group(2))
    assert score < 0 and 0 < sem <= abs(score) / 2
    assert "Negative: later tokens are predicted better" in para.group(1)


def test_comparison_has_twenty_draws_and_its_z_score(text, smollm2_scores):
    """Every one of the ≥ 20 random sets is a dot of the strip, the induction set its red bar; the
    table's z-score and share beaten follow from those values by their definitions."""
    assert report.REPORT_DRAWS >= 20
    heads = smollm2_scores.induction_heads()
    assert f"{report.REPORT_DRAWS} random sets of {len(heads)} other heads" in text
    svg = re.search(r"<svg class='iw-ablation-figure'.*?</svg>", text, re.S)
    assert svg is not None
    dots = [
        float(v)
        for v in re.findall(
            r"class='iw-draw' data-measure='repeated_loss' "
            r"data-value='([^']+)'",
            svg.group(0),
        )
    ]
    bars = re.findall(
        r"class='iw-bar-induction' data-measure='(\w+)' data-value='([^']+)'", svg.group(0)
    )
    assert len(dots) == report.REPORT_DRAWS and [m for m, _ in bars] == ["repeated_loss"]
    ours = float(bars[0][1])
    table = text.split("<table class='iw-report iw-ablation-table'>")[1].split("</table>")[0]
    row = re.findall(r"<td[^>]*>(.*?)</td>", table.split("<tbody>")[1])
    assert row[0].startswith("Δ loss on repeated tokens") and len(row) == 5
    assert _num(row[1]) == pytest.approx(ours, abs=5e-4)
    z = (ours - statistics.mean(dots)) / statistics.stdev(dots)
    assert _num(row[3]) == pytest.approx(z, abs=0.051)
    beaten = sum(d < ours for d in dots) / len(dots)
    assert row[4].startswith(f"{beaten:.0%} (p = ")
    # removing the induction heads hurts the repeated-token loss more than most random sets
    assert z > 1 and ours > 0


def test_head_map_is_coloured_by_attribution_patching(blocks, text, smollm2):
    """The ΔICL head map: every one of the 270 heads estimated by attribution patching, the method
    and its validation figure named; the best-resolved estimate agrees in sign with exact mean
    ablation of that head on the same 8 contexts."""
    maps = [b for b in blocks if isinstance(b, dict) and b["kind"] == "head_map"]
    assert len(maps) == 1
    state = maps[0]["state"]
    assert state["score"] == ABLATION_SCORE
    assert "attribution patching" in state["ablation_note"]
    assert (
        state["ablation_method"] == "attribution"
    )  # the map's label: "ΔICL (attribution patching)"
    change = decode(state["ablation"])
    assert change.shape == (30, 9) and np.isfinite(change).all()
    sem = decode(state["ablation_sd"])
    assert np.isfinite(sem).all() and (sem > 0).all()
    para = re.search(r"<p class='iw-beyond-per-head'>(.*?)</p>", text, re.S)
    assert para is not None
    assert "attribution patching (first-order estimate of mean ablation)" in para.group(1)
    assert "Spearman +0.948" in para.group(1) and "all 270 heads" in para.group(1)
    # the best-resolved estimate (largest |ΔICL| / its standard error; on 8 contexts the largest
    # |ΔICL| is often within its error of 0) vs exact ablation of that head, same contexts and means
    layer, head = np.unravel_index((np.abs(change) / sem).argmax(), change.shape)
    assert abs(change[layer, head]) > 2 * sem[layer, head]
    tokens = iw.corpus_contexts(smollm2, report.ATTRIBUTION_CONTEXTS, seed=0)
    means = iw.head_means(smollm2, tokens[:, :128])
    clean = iw.icl_score(smollm2, tokens, window=10, curve=False).score
    with iw.ablate(smollm2, (int(layer), int(head)), means=means):
        ablated = iw.icl_score(smollm2, tokens, window=10, curve=False).score
    exact = ablated - clean
    assert math.copysign(1, exact) == math.copysign(1, float(change[layer, head])), (
        layer,
        head,
        exact,
        float(change[layer, head]),
    )
    assert torch.is_tensor(tokens)
