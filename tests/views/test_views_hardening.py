"""Bad inputs to the view house (issue 20): the export's spec functions, the scatter's data, the ICL
score of a per_token_loss tensor, the views' declaration. Each raises ONE clear error of ours.

The matrix's machinery is in ``tests/hardening.py``.
"""

from __future__ import annotations

import pytest
import torch
from hardening import Rows, assert_raises_ours, make_ctx

import induction_widgets as iw
from induction_widgets.compute.icl import icl_from_losses
from induction_widgets.views.declare import Str, declare

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

HEADS = r"heads must be 'all', None or a list of \(layer, head\)"

for _name, _call, _msg in [
    ("export.page_spec-heads-str", lambda c: iw.export.page_spec(c.view, heads="top"), HEADS),
    (
        "export.page_spec-not-a-view",
        lambda c: iw.export.page_spec(c.scores),
        r"cannot export HeadScores: not an induction_widgets view",
    ),
    (
        "export.view_spec-not-a-view",
        lambda c: iw.export.view_spec("a view"),
        r"cannot export str: not an induction_widgets view",
    ),
    (
        "views.scatter_data-measure",
        lambda c: iw.views.scatter_data(c.scores, measure="rank"),
        r"unknown verdict measure 'rank': choose one of .*copying_rank",
    ),
    (
        "icl_from_losses-int-tensor",
        lambda c: icl_from_losses(torch.zeros(2, 30, dtype=torch.long)),
        r"losses must be a float tensor \[batch, pos\] \(per_token_loss\), got a 2-d torch\.int64",
    ),
    (
        "icl_from_losses-list",
        lambda c: icl_from_losses([[1.0, 2.0]]),
        r"losses must be a float tensor .* got list",
    ),
    (
        "icl_from_losses-too-short",
        lambda c: icl_from_losses(torch.zeros(2, 2)),
        r"contexts of 2 tokens are too short for an ICL score",
    ),
    (
        "views.declare-base-trait",
        lambda c: declare("again", "Again", {"message": Str()}),
        r"view 'again' declares \['message'\] again",
    ),
    (
        "views.declare-kind",
        lambda c: declare("head map", "HeadMap2", {}),
        r"a view's kind and widget must be identifiers, got 'head map'",
    ),
    (
        "views.declare-twice",
        lambda c: declare("head_map", "HeadMap", {}, module="elsewhere"),
        r"view kind 'head_map' is declared twice .*: give the new view another kind",
    ),
    (
        "views.VIEWS-unknown",
        lambda c: iw.views.VIEWS["headmap"],
        r"unknown view kind 'headmap': the views are .*'head_map'",
    ),
]:
    row(_name, _call, iw.InputError, _msg)


# The sweep views (docs/sweeps.md).
row(
    "SweepHeatmap-not-a-sweep",
    lambda c: iw.SweepHeatmap(c.scores),
    iw.InputError,
    r"SweepHeatmap needs a Sweep \(from induction_widgets\.sweep",
)
row(
    "SweepDepthMaps-not-a-sweep",
    lambda c: iw.SweepDepthMaps("sweeps/x"),
    iw.InputError,
    r"SweepDepthMaps needs a Sweep .* got str",
)


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)
