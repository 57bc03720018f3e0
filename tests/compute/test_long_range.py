"""The long-range induction score (issue 22) against a plain loop over TransformerLens's own
``hook_pattern`` (tiny model) and a hand-built previous-token head with a known answer."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute._model import run_with_hooks
from induction_widgets.errors import InputError
from induction_widgets.views import head_map_state


def loop_reference(model, length: int, seed: int = 0) -> torch.Tensor:
    """Plain loop over every head's full pattern: mean over the second repeat of A[d, d − L + 1]."""
    tokens = iw.repeated_random_tokens(model, 1, length, 2, seed=seed)
    patterns = {}

    def grab(p, hook):
        patterns[hook.layer()] = p[0].detach().float().cpu()

    names = [f"blocks.{l}.attn.hook_pattern" for l in range(model.cfg.n_layers)]
    run_with_hooks(model, tokens, [(n, grab) for n in names])
    out = torch.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            total = 0.0
            for d in range(length + 1, 2 * length + 1):
                assert tokens[0, d] == tokens[0, d - length]  # the earlier occurrence
                total += float(patterns[layer][head, d, d - length + 1])
            out[layer, head] = total / length
    return out


def test_matches_the_plain_loop_on_the_tiny_model(tiny):
    longest = iw.compute.max_long_range_length(tiny)
    assert longest == min(127, 96)  # n_ctx 256; 96 ordinary characters
    for length in (30, longest):
        got = iw.long_range_induction_scores(tiny, length)
        assert got.shape == (2, 4) and got.dtype == torch.float32
        torch.testing.assert_close(got, loop_reference(tiny, length), atol=1e-5, rtol=0)
    assert torch.equal(
        iw.long_range_induction_scores(tiny), iw.long_range_induction_scores(tiny, longest)
    )


def test_a_previous_token_head_scores_one_only_at_length_two():
    """A[d, d − 1] ≈ 1: the induction target d − L + 1 is the previous token exactly when L = 2."""
    from handmade import build

    model = build()
    assert iw.long_range_induction_scores(model, 2)[0, 0] > 0.99
    assert iw.long_range_induction_scores(model, 7)[0, 0] < 0.01


def test_it_shows_in_the_head_map(tiny):
    scores = iw.head_scores(tiny, n_examples=2, progress=False)
    long_range = iw.long_range_induction_scores(tiny, 40)
    scores = dataclasses.replace(scores, long_range_induction=long_range)
    state = head_map_state(scores, score="long_range_induction")
    assert "long_range_induction" in state["score_names"]
    sent = iw.payload.decode(state["scores"]["long_range_induction"])
    assert torch.equal(torch.from_numpy(sent).reshape(2, 4), long_range)


@pytest.mark.parametrize("length", [1, 0, 2.0, "8", True, 10_000])
def test_bad_lengths_raise_input_errors(tiny, length):
    with pytest.raises(InputError):
        iw.long_range_induction_scores(tiny, length)
