"""The sink control in the view layer: ``sink_scale`` in the states, its checks, the explorer's
scatter fields. (The scale itself is computed in the browser; ``tests/browser/test_sink_display.py``
checks it against ``without_sink``.)"""

from __future__ import annotations

import numpy as np
import pytest

import induction_widgets as iw
from induction_widgets.payload import decode
from induction_widgets.views import SINK_SCALES, attention_matrix_state, token_view_state
from induction_widgets.views import scatter_data as verdict_scatter

TEXT = "the cat sat on the mat. the cat sat on the mat."


@pytest.fixture(scope="module")
def acts(tiny):
    return iw.TextActivations(tiny, TEXT)


def test_states_carry_the_scale_and_check_it(acts):
    assert token_view_state(acts, 1, 0)["sink_scale"] == "auto"
    for scale in SINK_SCALES:
        assert token_view_state(acts, 1, 0, sink_scale=scale)["sink_scale"] == scale
        assert attention_matrix_state(acts, 1, 0, sink_scale=scale)["sink_scale"] == scale
    with pytest.raises(iw.InputError, match="sink_scale must be one of 'auto', 'without sink'"):
        token_view_state(acts, 1, 0, sink_scale="no sink")


def test_widgets_take_and_keep_the_scale(tiny, acts, tmp_path):
    tv = iw.TokenView(tiny, TEXT, 1, 0, activations=acts, sink_scale="all sources")
    assert tv.sink_scale == "all sources"
    tv.sink_scale = "without sink"
    assert tv.view_spec().state["sink_scale"] == "without sink"
    with pytest.raises(iw.InputError, match="sink_scale"):
        tv.sink_scale = "bos"
    am = iw.AttentionMatrix(tiny, TEXT, 1, 0, activations=acts, sink_scale="without sink")
    assert am.view_spec().state["sink_scale"] == "without sink"
    with pytest.raises(iw.InputError, match="sink_scale"):
        iw.AttentionMatrix(tiny, TEXT, 1, 0, activations=acts, sink_scale=1)


def test_explorer_state_has_the_scatter(tiny):
    scores = iw.head_scores(tiny, n_examples=2, progress=False)
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=0, sink_scale="all sources")
    ref = verdict_scatter(scores)
    state = ex.view_spec().state
    assert state["sink_scale"] == "all sources"
    for name in ("x", "y", "depth"):
        np.testing.assert_array_equal(decode(state[f"scatter_{name}"]), ref[name].numpy())
        np.testing.assert_array_equal(decode(getattr(ex, f"scatter_{name}")), ref[name].numpy())
    assert ex.y_threshold == ref["y_threshold"] and ex.y_name == ref["y_name"]
