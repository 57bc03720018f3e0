"""Rows, columns and block maxima of a head from q/k (issue 22), against TransformerLens's own
``hook_pattern`` and plain-loop pooling of full matrices, on the tiny model and hand-built heads."""

from __future__ import annotations

import math

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import qk
from induction_widgets.compute._model import run_with_hooks
from induction_widgets.errors import InputError

TEXT = "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say. " * 3


def hook_patterns(model, tokens) -> dict[int, torch.Tensor]:
    out: dict[int, torch.Tensor] = {}

    def grab(p, hook):
        out[hook.layer()] = p[0].detach().float().cpu()

    names = [f"blocks.{l}.attn.hook_pattern" for l in range(model.cfg.n_layers)]
    run_with_hooks(model, tokens[None], [(n, grab) for n in names])
    return out


def loop_block_max(x: torch.Tensor, block: int, signed: bool = False) -> torch.Tensor:
    """The plain loop: every block's cells, the largest (or largest-|value|, sign kept; NaN
    ignored; 0 where nothing was ever above the diagonal is left to the caller)."""
    n = x.shape[0]
    if block == 1:  # every block is one cell
        return x.clone()
    nb = math.ceil(n / block)
    out = torch.full((nb, nb), math.nan)
    for i in range(nb):
        for j in range(nb):
            cells = x[i * block : (i + 1) * block, j * block : (j + 1) * block].reshape(-1)
            cells = cells[~torch.isnan(cells)]
            if cells.numel():
                out[i, j] = cells[cells.abs().argmax()] if signed else cells.max()
    return out


@pytest.fixture(scope="module")
def tiny_acts(tiny):
    acts = iw.TextActivations(tiny, TEXT, progress=False)
    return acts, hook_patterns(tiny, acts.tokens)


def test_rows_and_columns_are_the_models_own_pattern(tiny_acts):
    acts, theirs = tiny_acts
    n = acts.n_tokens
    rows = [0, 1, 5, n // 2, n - 1]
    for layer in range(acts.info.n_layers):
        for head in range(acts.info.n_heads):
            ref = theirs[layer][head]
            got = acts.pattern_rows(layer, head, rows)
            assert got.shape == (len(rows), n)
            torch.testing.assert_close(got, ref[rows], atol=1e-5, rtol=0)
            torch.testing.assert_close(acts.pattern_rows(layer, head, 3, 9), ref[3:9])
            cols = torch.tensor([0, 2, n // 3, n - 1])
            torch.testing.assert_close(
                acts.pattern_cols(layer, head, cols), ref[:, cols], atol=1e-5, rtol=0
            )
            torch.testing.assert_close(acts.pattern_cols(layer, head, slice(4, 8)), ref[:, 4:8])


@pytest.mark.parametrize("block", [1, 7, 64])
def test_block_max_is_the_plain_loop_max_of_the_models_pattern(tiny_acts, block):
    acts, theirs = tiny_acts
    for layer in range(acts.info.n_layers):
        for head in range(acts.info.n_heads):
            got = acts.pattern_block_max(layer, head, block)
            ref = loop_block_max(theirs[layer][head], block)  # upper blocks hold zeros
            torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("block", [1, 9])
def test_attribution_rows_columns_and_block_max_match_the_full_matrix(tiny_acts, block):
    acts, _ = tiny_acts
    n = acts.n_tokens
    for layer, head in ((0, 1), (1, 3)):
        full = acts.logit_attribution(layer, head)  # checked against TL's logit attrs elsewhere
        rows = [0, 7, n - 2, n - 1]
        got = acts.attribution_rows(layer, head, rows)
        torch.testing.assert_close(got, full[rows], atol=1e-5, rtol=1e-4, equal_nan=True)
        assert torch.isnan(got[-1]).all()
        cols = [1, n // 2, n - 1]
        torch.testing.assert_close(
            acts.attribution_cols(layer, head, cols),
            full[:, cols],
            atol=1e-5,
            rtol=1e-4,
            equal_nan=True,
        )
        got = acts.attribution_block_max(layer, head, block)
        ref = loop_block_max(full, block, signed=True)
        if block == 1:  # the last row's blocks hold only NaN
            assert torch.isnan(got[-1]).all()
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4, equal_nan=True)


@pytest.mark.parametrize(("chunk", "block"), [(16, 1), (32, 8), (7, 3)])
def test_row_chunks_are_the_causal_part_of_the_models_pattern_and_attribution(
    tiny_acts, chunk, block
):
    """One q · Kᵀ per chunk gives both matrices: each chunk is TL's ``hook_pattern`` (and the
    full attribution) cut at the chunk's causal width, every column beyond it 0 in those rows."""
    acts, theirs = tiny_acts
    n = acts.n_tokens
    for layer, head in ((0, 1), (1, 3)):
        ref, full = theirs[layer][head], acts.logit_attribution(layer, head)
        covered = 0
        step = max(block, chunk // block * block)
        for start, a, x in acts.row_chunks(layer, head, chunk=chunk, block=block, attribution=True):
            stop = start + a.shape[0]
            width = min(n, math.ceil(stop / block) * block)
            assert start == covered and a.shape == (min(step, n - start), width)
            assert x is not None and x.shape == a.shape
            torch.testing.assert_close(a, ref[start:stop, :width], atol=1e-5, rtol=0)
            assert not ref[start:stop, width:].any()  # nothing was cut off
            torch.testing.assert_close(
                x, full[start:stop, :width], atol=1e-5, rtol=1e-4, equal_nan=True
            )
            covered = stop
        assert covered == n
    # the fallback (patterns recaptured) gives the same chunks
    acts.exact[1] = False
    try:
        (_, a, x), *_ = acts.row_chunks(1, 3, chunk=chunk, block=block)
        torch.testing.assert_close(a, theirs[1][3][: a.shape[0], : a.shape[1]], atol=1e-5, rtol=0)
        assert x is None
    finally:
        acts.exact[1] = True


def test_fallback_layers_answer_from_the_captured_pattern(tiny):
    acts = iw.TextActivations(tiny, TEXT[:80], progress=False)
    theirs = hook_patterns(tiny, acts.tokens)
    acts.exact[1] = False  # as for an attention variant the recomputation does not reproduce
    ref = theirs[1][2]
    torch.testing.assert_close(acts.pattern_rows(1, 2, [3, 40]), ref[[3, 40]])
    torch.testing.assert_close(acts.pattern_cols(1, 2, [3, 40]), ref[:, [3, 40]])
    torch.testing.assert_close(acts.pattern_block_max(1, 2, 16), loop_block_max(ref, 16))
    assert acts.cached_layers == 1


def test_a_hand_built_previous_token_head(tiny):
    from handmade import build

    model = build()
    tokens = torch.tensor([0, 3, 5, 1, 7, 2, 9, 4, 4, 6, 11, 8])
    acts = iw.TextActivations(model, tokens, progress=False)
    n = len(tokens)
    rows = acts.pattern_rows(0, 0, range(n))
    assert (rows[torch.arange(1, n), torch.arange(n - 1)] > 0.99).all()  # s = d − 1
    torch.testing.assert_close(acts.pattern_block_max(0, 0, 1), rows)
    grid = acts.pattern_block_max(0, 0, 4)  # the previous token of a block's first row lies left
    assert (grid.diagonal() > 0.99).all() and (grid.diagonal(-1) > 0.99).all()
    assert (grid.triu(1) == 0).all()


def test_a_planted_far_cell_survives_the_block_max():
    """One destination looks far back (q_d = 40·k_s): its single bright cell is the block's max
    at every block size, and equal to the plain softmax."""
    torch.manual_seed(0)
    n, d = 700, 16
    q, k = torch.randn(n, d) * 0.3, torch.randn(n, d)
    k[13] = torch.randn(d)
    q[650] = 40 * k[13] / k[13].norm()
    scoring = qk.Scoring(scale=math.sqrt(d))
    s = (q @ k.T / math.sqrt(d)).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), -math.inf)
    full = s.softmax(-1)
    assert full[650, 13] > 0.5
    for block in (1, 3, 64, 256):
        got, lse = qk.block_max(q, k, scoring, block, chunk=128)
        torch.testing.assert_close(got, loop_block_max(full, block), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(lse, s.logsumexp(-1))
        assert got[650 // block, 13 // block] >= full[650, 13] - 1e-6


def test_bad_positions_and_blocks_raise_input_errors(tiny_acts):
    acts, _ = tiny_acts
    n = acts.n_tokens
    for bad in ([n], [-1], [[1, 2]], [0.5], "12", 3):
        with pytest.raises(InputError):
            acts.pattern_rows(0, 0, bad)
    with pytest.raises(InputError):
        acts.pattern_cols(0, 0, 2.0, 5)
    for block in (0, -3, 2.5, True, "8"):
        with pytest.raises(InputError):
            acts.pattern_block_max(0, 0, block)
