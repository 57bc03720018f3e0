"""Sink detection and the renormalised pattern, against hand-built patterns and TL's own."""

from __future__ import annotations

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute.sink import sink_share, sink_summary, sink_width, without_sink

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3


def _softmax_pattern(pos: int, sink_logit: float, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(pos, pos, generator=gen)
    scores[:, 0] += sink_logit
    mask = torch.ones(pos, pos, dtype=torch.bool).triu(1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1)


def test_share_and_renormalised_rows_by_hand():
    a = torch.tensor(
        [
            [1.0, 0.0, 0.0, 0.0],
            [0.6, 0.4, 0.0, 0.0],
            [0.5, 0.2, 0.3, 0.0],
            [0.8, 0.0, 0.05, 0.15],
        ]
    )
    assert sink_share(a).tolist() == pytest.approx([1.0, 0.6, 0.5, 0.8])
    assert sink_share(a, 2).tolist() == pytest.approx([1.0, 1.0, 0.7, 0.8])
    r = without_sink(a)
    assert r[0].tolist() == [0.0, 0.0, 0.0, 0.0]  # nothing outside the sink
    assert r[1].tolist() == pytest.approx([0, 1, 0, 0])
    assert r[2].tolist() == pytest.approx([0, 0.4, 0.6, 0])
    assert r[3].tolist() == pytest.approx([0, 0, 0.25, 0.75])
    torch.testing.assert_close(without_sink(a, 0), a)
    with pytest.raises(iw.InputError, match="pattern must be square"):
        sink_share(torch.zeros(3, 4))
    with pytest.raises(iw.InputError, match="first must be an int >= 0"):
        without_sink(a, -1)


def test_leading_dims_and_real_patterns(tiny):
    _, cache = tiny.run_with_cache(tiny.to_tokens("abcabcabd"))
    pattern = cache["blocks.1.attn.hook_pattern"][0]  # [head, dst, src]
    share = sink_share(pattern)
    assert share.shape == pattern.shape[:2]
    torch.testing.assert_close(share, pattern[..., 0])
    r = without_sink(pattern)
    for h in range(pattern.shape[0]):
        for d in range(1, pattern.shape[1]):
            expected = pattern[h, d, 1:] / pattern[h, d, 1:].sum()
            torch.testing.assert_close(r[h, d, 1:], expected, atol=1e-6, rtol=1e-5)
            assert r[h, d, 0] == 0


def test_sink_width_and_default_scale():
    sunk = _softmax_pattern(40, 6.0)
    assert sink_width(sunk) == 1
    flat = _softmax_pattern(40, 0.0)
    assert sink_width(flat) == 0
    two = _softmax_pattern(40, 0.0, seed=1)
    two[:, :2] += 3.0
    two = two.tril() / two.tril().sum(-1, keepdim=True)
    assert sink_width(two) == 2
    s = sink_summary(sunk)
    assert s["first"] == 1 and s["default_scale"] == "without sink"
    assert s["mean_share"] == pytest.approx(float(sunk[1:, 0].mean()))
    torch.testing.assert_close(s["pattern_without_sink"], without_sink(sunk))
    f = sink_summary(flat)
    assert f["first"] == 1 and f["default_scale"] == "all sources"
