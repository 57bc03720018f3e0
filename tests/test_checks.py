"""induction_widgets.checks: the one home of the input checks, tested on its own (no model needed).

The same rules are exercised through every public function by the hardening matrix; here each check
meets the values its docstring accepts and rejects, with the exact error and message.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from induction_widgets import checks
from induction_widgets.errors import HeadIndexError, InputError, ModelWeightsError

GRID = SimpleNamespace(n_layers=2, n_heads=4)


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3)])
def test_check_int_accepts_ints(value):
    out = checks.check_int("n", value, 1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, r"n must be >= 1, got 0"),
        (True, r"n must be an int >= 1, got bool True"),
        (2.0, r"n must be an int >= 1, got float 2\.0"),
        ("2", r"n must be an int >= 1, got str '2'"),
        (None, r"n must be an int >= 1, got NoneType None"),
    ],
)
def test_check_int_rejects(value, message):
    with pytest.raises(InputError, match=message):
        checks.check_int("n", value, 1)


def test_check_seed():
    assert checks.check_seed(-7) == -7 and checks.check_seed(np.int32(5)) == 5
    for bad in (1.5, "a", None, False):
        with pytest.raises(InputError, match=r"seed must be an int, got .*pass e\.g\. seed=0"):
            checks.check_seed(bad)


def test_check_choice_names_the_choices():
    assert checks.check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(InputError, match=r"^mode must be 'a' or 'b', got 'c'$"):
        checks.check_choice("mode", "c", ("a", "b"))
    with pytest.raises(InputError, match=r"^kind must be one of 'x', 'y', 'z', got None$"):
        checks.check_choice("kind", None, ("x", "y", "z"))
    with pytest.raises(InputError, match="got \\['a'\\]"):
        checks.check_choice("mode", ["a"], ("a", "b"))  # unhashable, not a string


def test_check_head_accepts_int_like_and_names_the_range():
    assert checks.check_head(GRID, np.int64(1), torch.tensor(3)) == (1, 3)
    with pytest.raises(HeadIndexError, match=r"layer 2 is out of range: this model has 2 layers"):
        checks.check_head(GRID, 2, 0)
    with pytest.raises(HeadIndexError, match=r"head -1 is out of range.*use 0\.\.3"):
        checks.check_head(GRID, 0, -1)
    for bad in (True, 1.0, "1", torch.tensor(1.0), torch.tensor([1])):
        with pytest.raises(HeadIndexError, match=r"layer must be an int in 0\.\.1"):
            checks.check_head(GRID, bad, 0)


def test_check_head_pair():
    assert checks.check_head_pair((1, np.int64(2)), GRID) == [1, 2]
    assert checks.check_head_pair(torch.tensor([0, 3]), GRID) == [0, 3]
    message = r"selected_head must be \[layer, head\] with layer in 0\.\.1 and head in 0\.\.3, got "
    for bad in [(2, 0), (0, 4), (0, -1), (1,), (1, 2, 3), 3, "ab", (True, 0), (1.0, 0), None]:
        with pytest.raises(InputError, match=message):
            checks.check_head_pair(bad, GRID)
    # narrowed to the heads before layer 1 (the partners view), with its own wording
    with pytest.raises(
        InputError, match=r"must be an earlier head \[layer, head\] with layer in 0\.\.0"
    ):
        checks.check_head_pair((1, 0), GRID, n_layers=1, what="an earlier head ")


def test_check_layers():
    assert checks.check_layers(GRID, None) is None
    assert checks.check_layers(GRID, [1, 0, 1]) == [0, 1]
    assert checks.check_layers(GRID, np.int64(1)) == [1]
    for bad in (2, -1, [0, 5], True, "1", 1.0):
        with pytest.raises(HeadIndexError, match=r"layers must be layer numbers in 0\.\.1"):
            checks.check_layers(GRID, bad)
    with pytest.raises(InputError, match="layers is empty"):
        checks.check_layers(GRID, [])


def test_check_weights_and_finite():
    model = torch.nn.Linear(3, 2)
    checks.check_weights(model)
    checks.check_weights(model)  # cached: unchanged parameters are not scanned again
    with torch.no_grad():
        model.weight[0, 0] = float("nan")  # an in-place edit bumps the stamp
    with pytest.raises(ModelWeightsError, match=r"parameter 'weight' holds NaN or infinity"):
        checks.check_weights(model)
    checks.check_finite(torch.ones(3), "x")
    for bounded in (False, True):
        with pytest.raises(ModelWeightsError, match="the pattern holds NaN or infinity"):
            checks.check_finite(torch.tensor([0.5, float("inf")]), "the pattern", bounded=bounded)
