"""Bad inputs to the views room's public functions (the declaration, the registry, the scatter's
data): each raises ONE clear error of ours. The matrix's machinery is in ``tests/hardening.py``; the
state functions are reached through the widgets' rows (tests/widgets/test_widgets_hardening.py)."""

from __future__ import annotations

import pytest
from hardening import Rows, assert_raises_ours, make_ctx

import induction_widgets as iw
from induction_widgets.views.declare import Str, declare

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

for _name, _call, _msg in [
    (
        "views.scatter_data-measure",
        lambda c: iw.views.scatter_data(c.scores, measure="rank"),
        r"unknown verdict measure 'rank': choose one of .*copying_rank",
    ),
    (
        "views.declare-base-trait",
        lambda c: declare("again", "Again", {"message": Str()}),
        r"view 'again' declares \['message'\] again: base traits and head buffers come with it",
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


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)
