"""The verdict scatter's view layer: ``verdict_scatter_state`` against ``compute.verdict_scatter``
and a hand-built ``HeadScores``; the ``VerdictScatter`` widget and its exported page.

The browser half (pixel position and colour of a known head, hover, click) is in
``tests/browser/test_scatter_page.py``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import HeadScores
from induction_widgets.errors import InputError
from induction_widgets.payload import decode
from induction_widgets.views import scatter_data as verdict_scatter
from induction_widgets.views import verdict_scatter_state


def handmade(n_layers: int = 3, n_heads: int = 2) -> HeadScores:
    """Scores with known values: prefix matching ``(10 l + h) / 100``, copying rank
    ``1 − (10 l + h) / 50`` (so the verdicts differ from head to head)."""
    idx = torch.arange(n_layers)[:, None] * 10 + torch.arange(n_heads)[None, :]
    z = torch.zeros(n_layers, n_heads)
    return HeadScores(
        prefix_matching=idx.float() / 100 * 3,
        copying=z - 0.5,
        previous_token=z,
        ov_copying=z,
        copying_rank=1 - idx.float() / 50,
    )


def test_state_matches_compute_and_travels_as_buffers():
    scores = handmade()
    state = verdict_scatter_state(scores, selected_head=(1, 0), title="t")
    ref = verdict_scatter(scores)
    for name in ("x", "y", "depth"):
        buf = state[name]
        assert buf["dtype"] == "float32" and isinstance(buf["view"], (bytes, memoryview))
        np.testing.assert_array_equal(decode(buf), ref[name].numpy())
    # row-major over [layer, head], independent of compute: point i is L{i // H}H{i % H}
    x = decode(state["x"])
    for l in range(3):
        for h in range(2):
            assert x[l * 2 + h] == pytest.approx((10 * l + h) * 3 / 100, abs=1e-6)
            assert decode(state["depth"])[l * 2 + h] == pytest.approx(l / 2)
    assert state["verdicts"] == scores.verdicts()
    assert state["y_name"] == "copying_rank" and state["x_name"] == "prefix_matching"
    assert state["x_threshold"] == ref["x_threshold"] and state["y_threshold"] == ref["y_threshold"]
    assert state["y_range"] == [0.0, 1.0] and state["x_range"] == [0.0, 1.0]
    assert state["selected_head"] == [1, 0] and state["n_layers"] == 3 and state["n_heads"] == 2
    # no nested number lists: everything numeric per head is a buffer
    json.dumps({k: v for k, v in state.items() if k not in ("x", "y", "depth")})


def test_state_right_and_above_both_lines_is_exactly_the_induction_heads():
    scores = handmade(4, 3)
    state = verdict_scatter_state(scores)
    x, y = decode(state["x"]), decode(state["y"])
    inside = (x >= state["x_threshold"]) & (y >= state["y_threshold"])
    heads = {(i // 3, i % 3) for i in np.flatnonzero(inside)}
    assert heads == set(scores.induction_heads()) and heads


def test_paper_measure_and_its_range():
    state = verdict_scatter_state(handmade(), measure="copying")
    assert state["y_name"] == "copying" and state["y_range"] == [-1.0, 1.0]
    np.testing.assert_array_equal(decode(state["y"]), np.full(6, -0.5, np.float32))
    with pytest.raises(InputError, match="copying_rank"):
        verdict_scatter_state(handmade(), measure="nope")


@pytest.fixture(scope="module")
def scores(tiny):
    return iw.head_scores(tiny, n_examples=2, progress=False)


def test_widget_traits_and_errors(scores):
    w = iw.VerdictScatter(scores, selected_head=(1, 1), title="verdict")
    ref = verdict_scatter(scores)
    np.testing.assert_array_equal(decode(w.y), ref["y"].numpy())
    assert w.selected_head == [1, 1] and w.verdicts == ref["verdicts"]
    w.selected_head = [0, 1]
    assert w.view_spec().state["selected_head"] == [0, 1]
    with pytest.raises(InputError, match="selected_head"):
        w.selected_head = [5, 0]
    with pytest.raises(InputError, match="HeadScores"):
        iw.VerdictScatter({"x": 1})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="selected_head"):
        iw.VerdictScatter(scores, selected_head=(1,))


def test_save_html_embeds_the_points(scores, tmp_path):
    path = iw.VerdictScatter(scores).save_html(tmp_path / "scatter.html")
    text = path.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="iw-data-0">(.*?)</script>', text, re.S)
    assert blob is not None
    spec = json.loads(blob.group(1))
    assert spec["kind"] == "verdict_scatter" and spec["store"] == {}
    assert "b64" in spec["state"]["x"] and spec["state"]["n_heads"] == scores.n_heads
