"""Attention patterns and direct-path logit attribution against TransformerLens's own quantities."""

from __future__ import annotations

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import TextActivations

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

TEXT = "The cat sat on the mat. The cat sat on the mat."


def tl_direct_logit_attribution(model, tokens, layer, head):
    """Per-head DLA from TransformerLens: ``stack_head_results`` → ``logit_attrs`` (which applies
    ``apply_ln_to_stack`` itself). ``[pos - 1]``: at each position d, the head's effect on the logit
    of the token at d + 1. Also checked against ``apply_ln_to_stack`` · ``W_U`` done by hand."""
    _, cache = model.run_with_cache(tokens)
    stack, labels = cache.stack_head_results(layer=-1, return_labels=True)
    idx = labels.index(f"L{layer}H{head}")
    one = stack[idx : idx + 1]  # [1, batch, pos, d_model]
    next_tokens = torch.cat([tokens[:, 1:], tokens[:, :1]], dim=1)  # last column is a dummy
    attrs = cache.logit_attrs(one, tokens=next_tokens)[0, 0, :-1]
    scaled = cache.apply_ln_to_stack(one, layer=-1)[0, 0, :-1]  # [pos - 1, d_model]
    by_hand = (scaled * model.W_U[:, tokens[0, 1:]].T).sum(-1)
    assert torch.allclose(attrs, by_hand, atol=1e-5)
    return attrs


def check_sum_identity(model, text, heads):
    tokens = model.to_tokens(text)
    acts = TextActivations(model, text, progress=False)
    for layer, head in heads:
        attr = acts.logit_attribution(layer, head)
        assert attr.shape == (tokens.shape[1], tokens.shape[1])
        assert torch.isnan(attr[-1]).all(), "the last position has no next token"
        assert torch.equal(attr[:-1].triu(1), torch.zeros_like(attr[:-1]).triu(1)), "causal"
        expected = tl_direct_logit_attribution(model, tokens, layer, head)
        assert torch.allclose(attr[:-1].sum(-1), expected.float(), atol=1e-4), (layer, head)


def test_logit_attribution_sums_to_tl_dla_tiny(tiny):
    check_sum_identity(tiny, TEXT, [(0, 0), (1, 0), (1, 3)])


def test_logit_attribution_function_equals_cached(tiny):
    acts = TextActivations(tiny, TEXT)
    a = iw.logit_attribution(tiny, TEXT, 1, 2)
    b = acts.logit_attribution(1, 2)
    assert torch.allclose(a, b, equal_nan=True, atol=1e-6)


def test_attention_pattern_equals_hook_pattern(tiny):
    tokens = tiny.to_tokens(TEXT)
    _, cache = tiny.run_with_cache(tokens)
    acts = TextActivations(tiny, TEXT)
    for layer in range(2):
        for head in range(4):
            expected = cache[f"blocks.{layer}.attn.hook_pattern"][0, head]
            assert torch.allclose(
                iw.attention_pattern(tiny, TEXT, layer, head), expected, atol=1e-6
            )
            assert torch.allclose(acts.attention(layer, head), expected, atol=1e-5)
    assert acts.cached_layers == 0  # recomputed from q, k: no layer's patterns are held


def test_fallback_recapture_is_bounded(tiny):
    acts = TextActivations(tiny, TEXT, max_cached_layers=1)
    acts.exact = {0: False, 1: False}  # as for an attention variant the recomputation misses
    p0 = acts.attention(0, 1)
    p1 = acts.attention(1, 2)
    assert acts.cached_layers == 1
    _, cache = tiny.run_with_cache(tiny.to_tokens(TEXT))
    assert torch.allclose(p0, cache["blocks.0.attn.hook_pattern"][0, 1], atol=1e-6)
    assert torch.allclose(p1, cache["blocks.1.attn.hook_pattern"][0, 2], atol=1e-6)


def test_attribution_by_hand_from_parts(tiny):
    """attr[d, s] = A[d, s] (v_s W_O / σ_d) · W̄_U[:, t_{d+1}] computed here from the cache."""
    tokens = tiny.to_tokens(TEXT)
    _, cache = tiny.run_with_cache(tokens)
    layer, head = 1, 1
    A = cache[f"blocks.{layer}.attn.hook_pattern"][0, head]
    v = cache[f"blocks.{layer}.attn.hook_v"][0, :, head]
    scale = cache["ln_final.hook_scale"][0, :, 0]
    w_o = tiny.W_O[layer, head]
    w_o = w_o - w_o.mean(-1, keepdim=True)
    w_u = tiny.W_U - tiny.W_U.mean(-1, keepdim=True)
    d, s = 30, 7
    expected = A[d, s] * (v[s] @ w_o / scale[d]) @ w_u[:, tokens[0, d + 1]]
    got = iw.logit_attribution(tiny, TEXT, layer, head)[d, s]
    assert got.item() == pytest.approx(expected.item(), abs=1e-5)


def test_value_norm(tiny):
    acts = TextActivations(tiny, TEXT)
    _, cache = tiny.run_with_cache(tiny.to_tokens(TEXT))
    v = cache["blocks.1.attn.hook_v"][0, :, 3]
    w_o = tiny.W_O[1, 3] - tiny.W_O[1, 3].mean(-1, keepdim=True)
    assert torch.allclose(acts.value_norm(1, 3), (v @ w_o).norm(dim=-1), atol=1e-5)


# --- bad input ---------------------------------------------------------------------------------


def test_bad_inputs(tiny):
    with pytest.raises(iw.InputError, match="the text is empty"):
        iw.attention_pattern(tiny, "", 0, 0)
    with pytest.raises(iw.HeadIndexError, match=r"layer 2 is out of range.*use 0\.\.1"):
        iw.attention_pattern(tiny, "abc", 2, 0)
    with pytest.raises(iw.HeadIndexError, match=r"head -1 is out of range.*use 0\.\.3"):
        iw.logit_attribution(tiny, "abc", 0, -1)
    with pytest.raises(iw.HeadIndexError, match="layer must be an int"):
        iw.attention_pattern(tiny, "abc", "1", 0)
    with pytest.raises(iw.InputError, match=r"outside the vocabulary: ids must be in 0\.\.\d+"):
        iw.attention_pattern(tiny, [0, 1, 10**6], 0, 0)
    long_text = "ab" * 200
    with pytest.raises(iw.InputError, match="n_ctx=256 tokens: pass truncate=True"):
        iw.attention_pattern(tiny, long_text, 0, 0)
    assert iw.attention_pattern(tiny, long_text, 0, 0, truncate=True).shape == (256, 256)
    # whitespace is real text: a sensible answer exists
    assert iw.attention_pattern(tiny, "   ", 0, 0).shape[0] == 4


def test_no_tokenizer_given_text(tiny):
    tokenizer = tiny.tokenizer
    tiny.tokenizer = None
    try:
        with pytest.raises(iw.InputError, match=r"no tokenizer.*pass token ids"):
            iw.attention_pattern(tiny, "abc", 0, 0)
        ids = tokenizer("abc")["input_ids"]
        assert iw.attention_pattern(tiny, ids, 0, 0).shape[0] == len(ids)
    finally:
        tiny.tokenizer = tokenizer


@pytest.mark.smollm2
def test_logit_attribution_sums_to_tl_dla_smollm2(smollm2, smollm2_scores):
    heads = [(r.layer, r.head) for r in smollm2_scores.top(2, by="prefix_matching")] + [(0, 0)]
    check_sum_identity(smollm2, iw.copying_text(n_sentences=1), heads)


@pytest.mark.smollm2
def test_grouped_query_values(smollm2):
    acts = TextActivations(smollm2, "one two three one two three", layers=[3])
    _, cache = smollm2.run_with_cache(smollm2.to_tokens("one two three one two three"))
    v = cache["blocks.3.attn.hook_v"]
    assert v.shape[2] == 3  # 3 key/value heads
    for head in range(9):
        assert torch.equal(acts.values(3, head), v[0, :, head // 3].float())
        assert torch.allclose(
            acts.attention(3, head), cache["blocks.3.attn.hook_pattern"][0, head], atol=1e-5
        )
