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


# Named checkpoints (load_model revision=, docs/sweeps.md).
for _name, _kw, _msg in [
    ("tiny-step", {"revision": "step601"}, r"the shipped run has checkpoints at steps \[0, 50"),
    ("bool", {"revision": True}, r"a revision is a string .* got True"),
    ("empty", {"revision": " "}, r"the revision is empty"),
    ("two-names", {"revision": "step0", "checkpoint_value": 0}, r"give one of revision="),
    ("index-range", {"checkpoint_index": 23}, r"out of range, the run has 23 checkpoints"),
    ("value-float", {"checkpoint_value": 6.0}, r"checkpoint_value=\.\.\.\) takes an int"),
]:
    row(
        f"load_model-revision-{_name}",
        lambda c, k=_kw: iw.load_model("tiny", **k),
        iw.InputError,
        _msg,
    )
row(
    "load_model-revision-of-loaded-model",
    lambda c: iw.load_model(c.tiny, revision="step0"),
    iw.InputError,
    r"the model is already loaded; pass its name",
)
row(
    "load_model-revision-local-missing",
    lambda c: iw.load_model(c.tmp, revision="checkpoint-9"),
    iw.InputError,
    r"a local folder's revisions are its sub-directories holding a model",
)


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)
