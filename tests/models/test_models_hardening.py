"""Bad inputs to load_model: each raises ONE clear error of ours (machinery: ``tests/hardening.py``)."""

from __future__ import annotations

import pytest
import torch
from hardening import Rows, assert_raises_ours, make_ctx

import induction_widgets as iw

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

for _name, _m in (("int", 3), ("None", None), ("nn.Linear", torch.nn.Linear(2, 2))):
    row(
        f"load_model-{_name}",
        lambda c, m=_m: iw.load_model(m),
        iw.NotAModelError,
        r"load_model\(\) accepts 'tiny', 'smollm2', .*; got " + type(_m).__name__,
    )
for _name, _spec in (("empty", ""), ("whitespace", "   ")):
    row(
        f"load_model-{_name}-name",
        lambda c, s=_spec: iw.load_model(s),
        iw.InputError,
        r"the name is empty; try load_model\('tiny'\)",
    )


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)
