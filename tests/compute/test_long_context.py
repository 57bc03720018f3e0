"""Reading a long text without materialising patterns (issue 22), on SmolLM2.

* The SDPA pass (``sdpa_capture``: the HF attention under each TransformerLens 4 bridge) keeps the
  same queries, keys and values as TransformerLens's eager pass, every layer verified, and the
  recomputed patterns are TransformerLens's own ``hook_pattern``.
* The memory model: with it, no ``[k·head, pos, pos]`` float32 tensor is ever allocated while
  reading (torch's profiler sees every CPU allocation); the eager pass allocates
  ``[head, pos, pos]`` — the check can fail. The explorer opens without a ``[head, pos, pos]`` allocation.
"""

from __future__ import annotations

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import induction_widgets as iw
from induction_widgets.compute._model import run_with_hooks, sdpa_available

pytestmark = pytest.mark.smollm2

N = 512


@pytest.fixture(autouse=True)
def sdpa_at_this_length(monkeypatch):
    """These tests read N tokens the memory-efficient way (the default starts at
    ``TextActivations.sdpa_min_tokens``)."""
    monkeypatch.setattr(iw.TextActivations, "sdpa_min_tokens", 0)


def long_tokens(model, n: int) -> torch.Tensor:
    return model.to_tokens((iw.copying_text() + "\n") * 4)[0, :n].cpu()


def allocations(fn) -> list[int]:
    """Bytes of every CPU allocation an op made while ``fn`` ran."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return [e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0]


def square_tensors(sizes: list[int], n: int, heads: int = 1) -> list[int]:
    """Allocations that are whole ``[k·heads, n, n]`` float32 tensors."""
    unit = heads * n * n * 4
    return [s for s in sizes if s >= unit and s % unit == 0]


@pytest.fixture(scope="module")
def tokens(smollm2):
    return long_tokens(smollm2, N)


def test_the_sdpa_pass_keeps_what_the_eager_pass_keeps(smollm2, tokens):
    assert sdpa_available(smollm2)
    fast = iw.TextActivations(smollm2, tokens, progress=False)
    assert all(fast.exact.values()) and len(fast.exact) == 30
    iw.TextActivations._sdpa = False
    try:
        eager = iw.TextActivations(smollm2, tokens, progress=False)
    finally:
        iw.TextActivations._sdpa = True
    for layer in (0, 7, 18, 29):
        for store in ("q", "k", "v"):
            torch.testing.assert_close(
                getattr(fast, store)[layer], getattr(eager, store)[layer], atol=2e-4, rtol=1e-4
            )
    torch.testing.assert_close(fast.scale, eager.scale, atol=2e-4, rtol=1e-4)
    theirs = {}

    def grab(p, hook):
        theirs[hook.layer()] = p[0].detach().float().cpu()

    run_with_hooks(
        smollm2, tokens[None], [(f"blocks.{l}.attn.hook_pattern", grab) for l in (3, 18)]
    )
    for layer, head in ((3, 1), (18, 6)):
        torch.testing.assert_close(
            fast.attention(layer, head), theirs[layer][head], atol=2e-5, rtol=0
        )
        rows = [0, 100, N - 1]
        torch.testing.assert_close(
            fast.pattern_cols(layer, head, rows), theirs[layer][head][:, rows], atol=2e-5, rtol=0
        )


def test_reading_allocates_no_head_by_pos_by_pos_tensor(smollm2, tokens):
    heads = smollm2.cfg.n_heads
    sdpa = allocations(lambda: iw.TextActivations(smollm2, tokens, progress=False))
    assert heads * N * N * 4 not in sdpa  # no [head, dst, src] scores
    iw.TextActivations._sdpa = False
    try:
        eager = allocations(lambda: iw.TextActivations(smollm2, tokens, progress=False))
    finally:
        iw.TextActivations._sdpa = True
    assert heads * N * N * 4 in eager  # the eager pass's [head, dst, src] scores


def test_the_explorer_opens_without_a_heads_by_pos_by_pos_tensor(smollm2, smollm2_scores, tokens):
    iw.close_all()
    sizes = allocations(lambda: iw.InductionExplorer(smollm2, tokens, scores=smollm2_scores))
    assert square_tensors(sizes, N, heads=smollm2.cfg.n_heads) == []
    iw.close_all()
