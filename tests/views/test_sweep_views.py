"""The sweep views' states (SweepHeatmap, SweepDepthMaps): buffers equal the sweep's grids, each
head's jump is the plain-loop argmax of its rises, layers sit at layer / (n_layers − 1), and a
click names the explorer call and reaches ``on_select``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sweepdata import TINY_STEPS, two_model_sweep

import induction_widgets as iw
from induction_widgets.views.sweep_depth import relative_depths, sweep_depth_state
from induction_widgets.views.sweep_heatmap import head_jumps, sweep_heatmap_state

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def sw(tmp_path_factory):
    return two_model_sweep(tmp_path_factory.mktemp("views"))


def _decode(buf) -> np.ndarray:
    dtype = {"float32": np.float32, "int32": np.int32}[buf["dtype"]]
    return np.frombuffer(bytes(buf["view"]), dtype=dtype).reshape(buf["shape"])


def test_head_jumps_by_hand():
    v = torch.tensor([[0.0, 1.0, 0.0], [0.1, 1.0, float("nan")], [0.9, 0.2, 1.0], [1.0, 0.3, 2.0]])
    # head 0 rises most from 1 to 2 (+0.8); head 1 from 2 to 3 (+0.1, all else falls or is flat);
    # head 2: only the step 2 → 3 is finite
    assert head_jumps(v).tolist() == [2, 3, 3]
    assert head_jumps(v[:1]).tolist() == [-1, -1, -1]


def test_heatmap_state(sw):
    state = sweep_heatmap_state(sw, model="tiny", measure="prefix_matching")
    grid = sw.grid("prefix_matching", "tiny")
    values = _decode(state["values"]["prefix_matching"])
    assert values.shape == (3, 8)
    np.testing.assert_array_equal(values, grid["value"].reshape(3, 8).float().numpy())
    assert _decode(state["steps"]).tolist() == TINY_STEPS
    assert state["revisions"] == [f"step{s}" for s in TINY_STEPS]
    assert state["calls"][1] == "iw.load_model('tiny', revision='step600')"
    # each head's jump: the plain loop over its rises
    jumps = _decode(state["jumps"]["prefix_matching"]).tolist()
    for r in range(8):
        rises = [values[i, r] - values[i - 1, r] for i in range(1, 3)]
        assert jumps[r] == 1 + int(np.argmax(rises))
    top = values.max(1)
    i = 1 + int(np.argmax(np.diff(top)))
    assert _decode(state["jump"]["prefix_matching"]).tolist() == [i - 1, i]
    icl = sw.grid("icl", "tiny")
    np.testing.assert_array_equal(_decode(state["icl"]), icl["value"].float().numpy())
    assert state["measure_names"] == ["prefix_matching", "copying", "previous_token", "ov_copying"]


def test_depth_state_relative_depth(sw):
    state = sweep_depth_state(sw, measure="copying")
    assert state["shapes"] == [[2, 4], [3, 3]]
    assert [relative_depths(n) for n in (1, 2, 3)] == [[0.5], [0.0, 1.0], [0.0, 0.5, 1.0]]
    assert state["revisions"] == ["step1900", "checkpoint-1"]
    np.testing.assert_array_equal(
        _decode(state["grids"]["1"]), sw.grid("copying", sw.models[1])["value"][-1].float().numpy()
    )
    other = sweep_depth_state(sw, revisions={"tiny": "step600"})
    assert other["revisions"][0] == "step600"


def test_click_names_the_call_and_calls_on_select(sw):
    seen = []
    hm = iw.SweepHeatmap(sw, measure="copying")
    hm.on_select(seen.append)
    hm.selected = [1, 1, 2]
    want = "iw.InductionExplorer(iw.load_model('tiny', revision='step600'), text, layer=1, head=2)"
    assert hm.call == want
    assert seen == [{"model": "tiny", "revision": "step600", "layer": 1, "head": 2, "call": want}]
    # the call it names runs and opens that checkpoint at that head
    text = "abcdefgh abcdefgh"
    explorer = eval(want, {"iw": iw, "text": text})
    assert (explorer.layer, explorer.head) == (1, 2)
    assert explorer.n_layers == 2
    explorer.close()
    depth = iw.SweepDepthMaps(sw)
    depth.on_select(seen.append)
    depth.selected = [1, 2, 0]
    assert seen[-1]["revision"] == "checkpoint-1" and seen[-1]["layer"] == 2
    assert depth.view_spec().kind == "sweep_depth"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda sw: sweep_heatmap_state("not a sweep"), "needs a Sweep"),
        (lambda sw: sweep_heatmap_state(sw, measure="icl"), "measure must be one of"),
        (lambda sw: sweep_heatmap_state(sw, model="gpt2"), "not in this sweep"),
        (lambda sw: sweep_depth_state(sw, revisions={"gpt2": "main"}), "not in the sweep"),
        (lambda sw: sweep_depth_state(sw, revisions={"tiny": "step5"}), "no finished checkpoint"),
    ],
)
def test_bad_inputs(sw, call, match):
    with pytest.raises(iw.InputError, match=match):
        call(sw)


def test_figures_draw_the_states_grids(sw):
    """iw.figure of each sweep view: the heatmap's image is the state's [checkpoint, head] grid
    transposed, with one outline per head at its jump; the depth figure draws each model's grid."""
    pytest.importorskip("matplotlib")
    from matplotlib.patches import Rectangle

    heat = iw.SweepHeatmap(sw, model="tiny", measure="prefix_matching")
    state = sweep_heatmap_state(sw, model="tiny", measure="prefix_matching")
    values = _decode(state["values"]["prefix_matching"])  # [checkpoint, head]
    jumps = _decode(state["jumps"]["prefix_matching"]).tolist()
    fig = iw.figure(heat)
    grid_ax = next(ax for ax in fig.axes if ax.images and ax.images[0].get_gid() == "iw-sweep-grid")
    np.testing.assert_array_equal(np.asarray(grid_ax.images[0].get_array()), values.T)
    outlines = sorted(
        (round(p.get_y() + 0.5), round(p.get_x() + 0.5))
        for p in grid_ax.patches
        if isinstance(p, Rectangle)
    )
    assert outlines == sorted((r, c) for r, c in enumerate(jumps) if c >= 0)
    assert "training step" in grid_ax.get_xlabel()

    depth = iw.SweepDepthMaps(sw, measure="copying")
    dstate = sweep_depth_state(sw, measure="copying")
    fig = iw.figure(depth)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == len(dstate["models"]) == 2
    for i, im in enumerate(images):
        np.testing.assert_array_equal(np.asarray(im.get_array()), _decode(dstate["grids"][str(i)]))
    assert "relative depth" in fig.axes[0].get_ylabel()
