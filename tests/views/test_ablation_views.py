"""The head map's colouring by a per-head ablation result (issue 15: "the head map can colour by it
and the table gets the column"): ``head_map_state(..., ablation=)`` / ``HeadMap(ablation=)`` /
``InductionExplorer(ablation=)`` / ``set_ablation``, against hand-built :class:`AblationScores`
(values land in their ``[layer, head]`` cells, NaN stays NaN) and a real one of the tiny model.

The browser half (the mode switches the colours, the hover reads the value) is in
``tests/browser/test_beyond_pages.py``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import AblationScores, ICLScore
from induction_widgets.errors import InputError
from induction_widgets.payload import decode
from induction_widgets.views import ABLATION_SCORE, explorer_state, head_map_state

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

TEXT = "The cat sat on the mat. The cat sat on the mat."


@pytest.fixture(scope="module")
def scores(tiny):
    return iw.head_scores(tiny, n_examples=4)


def _base(n: int = 6) -> ICLScore:
    return ICLScore(-1.0, 0.1, 26, 255, 4.5, 3.5, None, n, 256)


def handmade(n_layers: int, n_heads: int, *, model: str = "", missing=((0, 2),)) -> AblationScores:
    """``icl_change[l, h] = (10 l + h + 1) / 100 · (−1)^h``: every cell distinct, both signs;
    ``icl_change_sem`` = a tenth of |value|; NaN at ``missing``."""
    change = torch.tensor(
        [[(10 * l + h + 1) / 100 * (-1) ** h for h in range(n_heads)] for l in range(n_layers)]
    )
    sem = change.abs() / 10
    for l, h in missing:
        change[l, h] = float("nan")
        sem[l, h] = float("nan")
    return AblationScores(
        change, _base(), "mean", meta={"model": model, "n_contexts": 6}, icl_change_sem=sem
    )


def test_values_land_in_their_layer_head_cells(scores):
    abl = handmade(2, 4)
    state = head_map_state(scores, ablation=abl, score=ABLATION_SCORE)
    got = decode(state["ablation"])
    sd = decode(state["ablation_sd"])
    assert got.dtype == np.float32 and got.shape == (2, 4)
    for l in range(2):
        for h in range(4):
            if (l, h) == (0, 2):
                assert math.isnan(got[l, h]) and math.isnan(sd[l, h])  # missing, not zero
            else:
                want = (10 * l + h + 1) / 100 * (-1) ** h
                assert got[l, h] == pytest.approx(want, abs=1e-7)
                assert sd[l, h] == pytest.approx(abs(want) / 10, abs=1e-7)
    assert state["score"] == ABLATION_SCORE
    assert "ΔICL = ICL(ablated) − ICL(clean)" in state["ablation_note"]
    assert "6 contexts" in state["ablation_note"]
    assert state["ablation_method"] == "exact"  # the map's label: "ΔICL (ablation)"
    # binary buffers, not JSON lists; the rest is plain JSON
    for name in ("ablation", "ablation_sd"):
        assert isinstance(state[name]["view"], (bytes, memoryview))
    json.dumps({k: v for k, v in state.items() if not isinstance(v, dict)}, allow_nan=False)


def test_no_ablation_no_fields_and_no_mode(scores):
    state = head_map_state(scores)
    assert (
        state["ablation"],
        state["ablation_sd"],
        state["ablation_note"],
        state["ablation_method"],
    ) == ({}, {}, "", "")
    with pytest.raises(InputError, match=r"pass ablation=induction_widgets\.ablation_scores"):
        head_map_state(scores, score=ABLATION_SCORE)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (handmade(3, 4), r"3 × 4 head grid and the scores for 2 × 4.*different models"),
        (
            handmade(2, 4, model="gpt2"),
            r"\('gpt2' vs 'induction-widgets/tiny-char'\).*compute both on the same one",
        ),
        (torch.zeros(2, 4), r"ablation must be AblationScores .* got Tensor"),
        (
            AblationScores(None, _base(), "mean"),
            r"no per-head values \(computed with per_head=False\): rerun .*per_head=True",
        ),
    ],
)
def test_wrong_ablation_is_one_clear_error(scores, bad, message):
    with pytest.raises(InputError, match=message):
        head_map_state(scores, ablation=bad)
    with pytest.raises(InputError, match=message):
        iw.HeadMap(scores, ablation=bad)
    hm = iw.HeadMap(scores)
    with pytest.raises(InputError, match=message):
        hm.set_ablation(bad)
    assert hm.ablation == {}


def test_head_map_widget_ablation_and_set_ablation(tiny, scores):
    abl = iw.ablation_scores(tiny, n_contexts=2, compare=False, layers=[1], progress=False)
    assert torch.isnan(abl.icl_change[0]).all() and torch.isfinite(abl.icl_change[1]).all()
    hm = iw.HeadMap(scores, ablation=abl, score=ABLATION_SCORE)
    np.testing.assert_array_equal(decode(hm.ablation), abl.icl_change.numpy())
    assert "only layer 1 measured" in hm.ablation_note
    # the saved page carries the same numbers (embedded buffers)
    spec = hm.view_spec()
    np.testing.assert_array_equal(decode(spec.state["ablation"]), abl.icl_change.numpy())
    # set_ablation on a map without one: the traits arrive and the colouring switches
    plain = iw.HeadMap(scores)
    with pytest.raises(InputError, match="pass ablation="):
        plain.score = ABLATION_SCORE
    plain.set_ablation(abl)
    assert plain.score == ABLATION_SCORE
    np.testing.assert_array_equal(decode(plain.ablation), abl.icl_change.numpy())
    plain.set_ablation(None)  # removed: back to a head score
    assert plain.ablation == {} and plain.score == "prefix_matching"


def test_explorer_takes_the_ablation(tiny, scores):
    abl = handmade(2, 4, model="induction-widgets/tiny-char")
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=0, ablation=abl)
    np.testing.assert_array_equal(decode(ex.ablation), abl.icl_change.numpy())
    ex.score = ABLATION_SCORE
    state = explorer_state(ex._acts, scores, 1, 0, ablation=abl, score=ABLATION_SCORE)
    np.testing.assert_array_equal(decode(state["ablation"]), decode(ex.ablation))
    ex.set_ablation(None)
    assert ex.ablation == {} and ex.score == "prefix_matching"
    other = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=0)
    other.set_ablation(abl, show=False)
    assert other.score == "prefix_matching" and other.ablation_note
    with pytest.raises(InputError, match="different models"):
        other.set_ablation(handmade(1, 4))


def test_ablation_scores_layers_and_sem(tiny):
    """``layers=`` measures those layers only (NaN elsewhere), the same numbers as measuring all;
    ``icl_change_sem`` is the paired standard error over contexts."""
    tokens = iw.copy_task_tokens(tiny, 4, n_tokens=201, seed=1)
    full = iw.ablation_scores(tiny, tokens, compare=False, progress=False)
    part = iw.ablation_scores(tiny, tokens, compare=False, layers=1, progress=False)
    assert part.meta["layers"] == [1] and full.meta["layers"] == [0, 1]
    assert torch.isnan(part.icl_change[0]).all() and torch.isnan(part.icl_change_sem[0]).all()
    torch.testing.assert_close(part.icl_change[1], full.icl_change[1])
    # the sem from a plain loop: per-context ICL change with head (1, 0) ablated
    base = iw.icl_score(tiny, tokens, curve=False)
    e, l = base.early, base.late
    clean = iw.per_token_loss(tiny, tokens)
    with iw.ablate(tiny, (1, 0)):
        ablated = iw.per_token_loss(tiny, tokens)
    delta = (ablated[:, l] - ablated[:, e]) - (clean[:, l] - clean[:, e])
    assert float(full.icl_change[1, 0]) == pytest.approx(float(delta.mean()), abs=1e-4)
    assert float(full.icl_change_sem[1, 0]) == pytest.approx(
        float(delta.std() / math.sqrt(4)), abs=1e-4
    )
    with pytest.raises(iw.HeadIndexError, match=r"layers must be layer numbers in 0\.\.1"):
        iw.ablation_scores(tiny, tokens, compare=False, layers=[2])


def test_report_beyond_quick_measures_on_a_large_model(tiny, scores, monkeypatch):
    """Above ``FULL_MEASURES_HEADS`` heads (and without checkpoints) the report's beyond sections
    take the large-model measures and say so: ``REPORT_CONTEXTS`` corpus contexts, the comparison
    on the repeated-token loss only (its ΔICL not measured, said in words), the per-head ΔICL map
    by attribution patching (the method named), one line for the phase change. The tiny model
    stands in for a large one here (threshold lowered, not recognised as the tiny model); the
    table's numbers are :func:`ablation_comparison`'s with the arguments the page states."""
    import importlib

    report = importlib.import_module("induction_widgets.export.report")
    monkeypatch.setattr(report, "FULL_MEASURES_HEADS", 4)
    monkeypatch.setattr(report, "_is_tiny", lambda model: False)
    blocks = report.beyond_blocks(tiny, scores)
    kinds = [b["kind"] for b in blocks if isinstance(b, dict)]
    assert kinds == ["loss_curve", "head_map", "partners"]  # no phase change
    text = "".join(b for b in blocks if isinstance(b, str))
    assert f"{report.REPORT_CONTEXTS} windows of 256 tokens of the shipped corpus" in text
    assert "Δ ICL score of the sets not measured here" in text
    assert "attribution patching (first-order estimate of mean ablation)" in text
    assert "No training checkpoints for this model" in text
    assert report.ATTRIBUTION_VALIDATION in text and "Spearman +0.948" in text
    hm = next(b for b in blocks if isinstance(b, dict) and b["kind"] == "head_map")
    assert "attribution patching" in hm["state"]["ablation_note"]
    assert f"{report.ATTRIBUTION_CONTEXTS} contexts" in hm["state"]["ablation_note"]
    assert hm["state"]["ablation_method"] == "attribution"
    # means and the per-head estimate on ATTRIBUTION_CONTEXTS of the corpus windows (seed 0)
    contexts = iw.corpus_contexts(tiny, report.ATTRIBUTION_CONTEXTS, seed=0)
    means = iw.head_means(tiny, contexts[:, :128])
    abl = iw.ablation_scores(
        tiny, contexts, compare=False, means=means, method="attribution", progress=False
    )
    np.testing.assert_allclose(
        decode(hm["state"]["ablation"]), abl.icl_change.numpy(), rtol=1e-3, atol=1e-5
    )
    heads = scores.induction_heads()
    want = iw.ablation_comparison(tiny, heads, means=means, n_examples=5)
    assert math.isnan(want.icl_change) and len(want.draws) == 1  # 4 other heads: 1 set of 4
    table = text.split("<table class='iw-report iw-ablation-table'>")[1].split("</table>")[0]
    assert "Δ ICL score" not in table  # no row for what was not measured
    row = table.split("<tbody>")[1].split("</tr>")[0]
    assert f"<td>{want.repeated_loss_change:+.3f}</td>".replace("-", "−") in row


def test_comparison_batched_equals_one_set_at_a_time(tiny):
    """The comparison measures all sets in shared passes (replica r ablating set r): each set's
    changes equal ablating that set alone with ``iw.ablate`` and measuring both losses plainly;
    z-score, share beaten and empirical p follow their definitions."""
    tokens = iw.copy_task_tokens(tiny, 4, n_tokens=201, seed=5)
    means = iw.head_means(tiny)
    c = iw.ablation_comparison(tiny, [(1, 1)], tokens=tokens, n_draws=6, window=2, means=means)
    assert len(c.draws) == 6 and len({tuple(d) for d in c.draws}) == 6
    base_icl = iw.icl_score(tiny, tokens, curve=False, window=2).score
    base_rep = iw.repeated_tokens_loss(tiny)
    for hs, icl_c, rep_c in zip(
        [[(1, 1)], *c.draws],
        [c.icl_change, *c.random_icl_changes],
        [c.repeated_loss_change, *c.random_repeated_loss_changes],
        strict=True,
    ):
        with iw.ablate(tiny, hs, means=means):
            icl_alone = iw.icl_score(tiny, tokens, curve=False, window=2).score - base_icl
            rep_alone = iw.repeated_tokens_loss(tiny) - base_rep
        assert icl_c == pytest.approx(icl_alone, abs=1e-4)
        assert rep_c == pytest.approx(rep_alone, abs=1e-4)
    draws = c.random_repeated_loss_changes
    mean = sum(draws) / 6
    sd = math.sqrt(sum((d - mean) ** 2 for d in draws) / 5)
    assert c.z_score() == pytest.approx((c.repeated_loss_change - mean) / sd)
    assert c.beats() == sum(d < c.repeated_loss_change for d in draws) / 6
    assert c.p_value("icl") == (1 + sum(d >= c.icl_change for d in c.random_icl_changes)) / 7
