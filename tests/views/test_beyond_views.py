"""The views of the "beyond" measures (issue 15 item 5): ``loss_curve_state`` / ``LossCurve``,
``partners_state`` / ``PartnerBars``, ``phase_change_state`` / ``PhaseChangeCurves``, against the
compute results they show (values round-trip through the binary buffers) and hand-built inputs.

The browser half (a known point / bar at its place, hover text, click) is in
``tests/browser/test_beyond_pages.py``.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import CheckpointScores, ICLScore, Partners
from induction_widgets.errors import InputError
from induction_widgets.payload import decode
from induction_widgets.views import loss_curve_state, partners_state, phase_change_state


def _page_state(path):
    text = path.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="iw-data-0">(.*?)</script>', text, re.S)
    assert blob is not None
    return json.loads(blob.group(1))


def _static_copy(widget) -> str:
    """The ``text/html`` copy a notebook exported without a widget manager shows."""
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    return data["text/html"]


def _no_nested_numbers(state, buffers):
    json.dumps({k: v for k, v in state.items() if k not in buffers}, allow_nan=False)
    for name in buffers:
        assert isinstance(state[name]["view"], (bytes, memoryview)), name


# --- loss curve -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def icl(tiny):
    return iw.icl_score(tiny, n_contexts=6, progress=False)


def test_loss_curve_state_is_the_icl_result(icl):
    state = loss_curve_state(icl, title="t")
    assert icl.curve is not None
    np.testing.assert_array_equal(decode(state["loss"]), icl.curve.numpy().astype(np.float32))
    assert math.isnan(decode(state["loss"])[0])  # nothing predicts token 0
    # the tiny model's 256-token contexts cannot hold index 500: the 1 : 10 pair and a note
    assert (state["early"], state["late"]) == (icl.early, icl.late) == (26, 255)
    assert "500 and 50 do not fit" in state["note"]
    assert state["score"] == pytest.approx(icl.score) and state["sem"] == pytest.approx(icl.sem)
    # the score is the curve's difference at the two marks (window 0: single indices)
    curve = decode(state["loss"])
    assert state["score"] == pytest.approx(float(curve[255] - curve[26]), abs=1e-5)
    assert state["n_contexts"] == 6 and state["title"] == "t"
    _no_nested_numbers(state, ["loss"])


def test_loss_curve_from_per_token_loss_tensor():
    # hand-built losses [batch 3, pos 600]: L = 5 − i / 200, plus a per-context offset
    pos = torch.arange(600, dtype=torch.float32)
    losses = 5 - pos[None] / 200 + torch.tensor([[0.0], [0.3], [-0.3]])
    losses[:, 0] = float("nan")
    state = loss_curve_state(losses)
    assert (state["early"], state["late"], state["note"]) == (50, 500, "")
    assert state["score"] == pytest.approx(-450 / 200, abs=1e-5)
    assert state["sem"] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(decode(state["loss"])[1:], (5 - pos / 200)[1:].numpy(), rtol=1e-6)
    one = loss_curve_state(losses[0])  # a single context [pos]: no standard error
    assert one["sem"] is None and one["n_contexts"] == 1


def test_loss_curve_widget_and_page(icl, tmp_path):
    w = iw.LossCurve(icl, title="loss")
    assert (w.early, w.late) == (26, 255) and w.score == pytest.approx(icl.score)
    spec = _page_state(w.save_html(tmp_path / "loss.html"))
    assert spec["kind"] == "loss_curve" and spec["store"] == {} and "b64" in spec["state"]["loss"]
    assert "&quot;kind&quot;:&quot;loss_curve&quot;" in _static_copy(w)
    with pytest.raises(InputError, match="curve=True"):
        iw.LossCurve(ICLScore(0.0, 0.0, 1, 2, 0.0, 0.0, None, 1, 3))
    with pytest.raises(InputError, match="ICLScore"):
        iw.LossCurve([1.0, 2.0])


# --- partners ---------------------------------------------------------------------------------


def handmade_partners() -> Partners:
    """Head (2, 1) of a 3 × 2 model: K-composition ``(10 l + h) / 40`` for layers 0–1, NaN after."""
    k = torch.full((3, 2), float("nan"))
    k[:2] = (torch.arange(2)[:, None] * 10 + torch.arange(2)[None, :]).float() / 40
    prev = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.0, 0.0]])
    return Partners(2, 1, k, prev)


def test_partners_state_round_trips_the_scores():
    p = handmade_partners()
    state = partners_state(p, selected_head=(0, 1), top=3, title="p")
    np.testing.assert_array_equal(decode(state["k_composition"]), p.k_composition.numpy())
    np.testing.assert_array_equal(decode(state["previous_token"]), p.previous_token.numpy())
    assert decode(state["k_composition"]).shape == (3, 2)
    assert (state["layer"], state["head"], state["n_layers"], state["n_heads"]) == (2, 1, 3, 2)
    assert state["top"] == 3 and state["selected_head"] == [0, 1]
    _no_nested_numbers(state, ["k_composition", "previous_token"])
    # the ranking the browser makes (js rankPartners) is Partners.ranked: L1H1, L1H0, L0H1, L0H0
    assert [(r.layer, r.head) for r in p.ranked] == [(1, 1), (1, 0), (0, 1), (0, 0)]


def test_partners_widget_selected_head_and_link(tiny, tmp_path):
    import traitlets

    p = iw.previous_token_partners(tiny, 1, 1)
    w = iw.PartnerBars(p, selected_head=(0, 3))
    np.testing.assert_array_equal(decode(w.k_composition), p.k_composition.numpy())
    assert w.selected_head == [0, 3]
    hm = iw.HeadMap(iw.head_scores(tiny, n_examples=2, progress=False))
    link = traitlets.link((w, "selected_head"), (hm, "selected_head"))
    w.selected_head = [0, 1]  # what a click in the browser does
    assert hm.selected_head == [0, 1]
    link.unlink()
    # the explorer's selected_head is a property: follow the partners view with observe
    ex = iw.InductionExplorer(
        tiny, "the cat sat. the cat sat.", scores=hm.head_scores, layer=1, head=1
    )
    w.observe(lambda change: setattr(ex, "selected_head", change["new"]), "selected_head")
    w.selected_head = [0, 3]
    assert (ex.layer, ex.head) == (0, 3)
    with pytest.raises(InputError, match="earlier head"):
        w.selected_head = [1, 0]  # not earlier than L1H1
    spec = _page_state(w.save_html(tmp_path / "partners.html"))
    assert spec["kind"] == "partners" and spec["state"]["selected_head"] == [0, 3]
    assert "&quot;kind&quot;:&quot;partners&quot;" in _static_copy(w)
    with pytest.raises(InputError, match="Partners"):
        iw.PartnerBars(p.k_composition)
    with pytest.raises(InputError, match="top must be a positive int"):
        iw.PartnerBars(p, top=0)


# --- phase change -----------------------------------------------------------------------------


def handmade_checkpoints() -> CheckpointScores:
    """4 checkpoints of a 2 × 2 model; head (1, 0)'s prefix matching jumps between steps 100 and
    200 (0.1 → 0.8), the ICL score falls most between 200 and 400."""
    n = 4
    pm = torch.zeros(n, 2, 2)
    pm[:, 1, 0] = torch.tensor([0.05, 0.1, 0.8, 0.9])
    pm[:, 0, 1] = 0.2  # another head, best only before the jump
    return CheckpointScores(
        steps=[0, 100, 200, 400],
        prefix_matching=pm,
        copying=pm * 0.5,
        previous_token=torch.full((n, 2, 2), 0.3),
        ov_copying=torch.zeros(n, 2, 2),
        icl=torch.tensor([-0.1, -0.2, -0.5, -1.4]),
        icl_sem=torch.full((n,), 0.05),
        early=6,
        late=55,
        note="short contexts",
    )


def test_phase_change_state_from_handmade_checkpoints():
    cs = handmade_checkpoints()
    state = phase_change_state(cs, title="phase")
    np.testing.assert_array_equal(decode(state["steps"]), [0, 100, 200, 400])
    assert state["steps"]["dtype"] == "int32"
    # the best head's score per checkpoint: max over [layer, head]
    np.testing.assert_allclose(decode(state["prefix_matching"]), [0.2, 0.2, 0.8, 0.9])
    np.testing.assert_allclose(decode(state["copying"]), [0.1, 0.1, 0.4, 0.45])
    np.testing.assert_allclose(decode(state["icl"]), cs.icl.numpy())
    assert state["jump"] == [100, 200] and state["jump_measure"] == "prefix_matching"
    assert phase_change_state(cs, jump="icl")["jump"] == [200, 400]
    assert (state["early"], state["late"], state["note"]) == (6, 55, "short contexts")
    _no_nested_numbers(
        state, ["steps", "prefix_matching", "copying", "previous_token", "icl", "icl_sem"]
    )
    with pytest.raises(InputError, match="jump must be one of"):
        phase_change_state(cs, jump="ov")


def test_phase_change_widget_on_the_shipped_checkpoints(tmp_path):
    cs = iw.checkpoint_scores("tiny", steps=[0, 400, 600], n_examples=2, progress=False)
    w = iw.PhaseChangeCurves(cs, title="tiny run")
    np.testing.assert_array_equal(decode(w.steps), cs.steps)
    for name in ("prefix_matching", "copying", "previous_token"):
        np.testing.assert_allclose(decode(getattr(w, name)), cs.top(name).numpy())
    np.testing.assert_allclose(decode(w.icl), cs.icl.numpy())
    assert w.jump == list(cs.jump())
    spec = _page_state(w.save_html(tmp_path / "phase.html"))
    assert spec["kind"] == "phase_change" and "b64" in spec["state"]["icl"]
    assert "&quot;kind&quot;:&quot;phase_change&quot;" in _static_copy(w)
    with pytest.raises(InputError, match="CheckpointScores"):
        iw.PhaseChangeCurves(cs.to_pandas())
