"""Memory that does not grow (#16): one activations object per (model, tokens), a process-wide
budget with LRU eviction and recomputation, explicit release, lighter storage. Tiny model, real
forward passes; references are TransformerLens's own ``hook_pattern``."""

from __future__ import annotations

import gc

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute._model import run_with_hooks
from induction_widgets.compute.cache import CACHE, ActivationCache, parse_size
from induction_widgets.payload import decode

TEXTS = [
    "the cat sat on the mat. the cat sat on the mat.",
    "one two three four. one two three four.",
    "abc abd abe abc abd abe abc.",
    "Mr and Mrs Dursley of number four. Mr and Mrs Dursley.",
    "hello world hello world hello world hello.",
]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts from a cache that holds nothing and the default budget."""
    iw.close_all()
    gc.collect()
    CACHE.clear()
    saved = CACHE.budget
    yield
    iw.close_all()
    CACHE.set_budget(saved)
    gc.collect()


def hook_patterns(model, text) -> dict[int, torch.Tensor]:
    """``{layer: [head, dst, src]}`` from a plain TransformerLens pass."""
    ids = iw.TextActivations(model, text, layers=[], progress=False).tokens
    out: dict[int, torch.Tensor] = {}

    def grab(p, hook):
        out[hook.layer()] = p[0].detach().float().cpu()

    names = [f"blocks.{l}.attn.hook_pattern" for l in range(model.cfg.n_layers)]
    run_with_hooks(model, ids[None], [(n, grab) for n in names])
    return out


def shown_attention(view) -> torch.Tensor:
    n = len(view.tokens)
    return torch.from_numpy(decode(view.attention).reshape(n, n).astype("float32"))


def one_size(tiny) -> int:
    view = iw.TokenView(tiny, TEXTS[0], 0, 0)
    size = view.activations.nbytes
    view.close()
    return size


# -- sharing ---------------------------------------------------------------------------------------


def test_views_of_one_text_share_one_activations_object(tiny):
    a = iw.TokenView(tiny, TEXTS[0], 1, 0)
    b = iw.AttentionMatrix(tiny, TEXTS[0], 1, 1)
    ex = iw.InductionExplorer(tiny, TEXTS[0], scores=iw.head_scores(tiny, n_examples=2))
    objs = {id(v.activations) for v in (a, b, ex.token_view, ex.matrix)}
    assert len(objs) == 1
    info = iw.memory_info()
    # token view, matrix, and the explorer (one widget: one share for its map, text and matrix)
    assert info["resident"] == 1 and info["reads"] == 1 and info["holders"] == 3
    # another text, or the same text re-run in a new cell: no new object for the same text
    c = iw.TokenView(tiny, TEXTS[0], 0, 0)
    assert c.activations is a.activations
    d = iw.TokenView(tiny, TEXTS[1], 0, 0)
    assert d.activations is not a.activations
    assert iw.memory_info()["reads"] == 2


def test_given_activations_are_adopted_and_shared(tiny):
    acts = iw.TextActivations(tiny, TEXTS[2], progress=False)
    a = iw.TokenView(tiny, TEXTS[2], 0, 1, activations=acts)
    b = iw.AttentionMatrix(tiny, TEXTS[2], 0, 1)  # finds the caller's object, reads nothing
    assert a.activations is acts and b.activations is acts
    assert iw.memory_info()["reads"] == 0
    # activations of some layers only are the caller's own: never handed to another view
    part = iw.TextActivations(tiny, TEXTS[4], layers=[1], progress=False)
    c = iw.TokenView(tiny, TEXTS[4], 1, 0, activations=part)
    d = iw.TokenView(tiny, TEXTS[4], 0, 0)
    assert c.activations is part and d.activations is not part and d.activations.layers == [0, 1]


def test_another_dtype_or_edited_weights_is_another_entry(tiny):
    a = iw.TokenView(tiny, TEXTS[0], 0, 0)
    h = CACHE.acquire(tiny, TEXTS[0], dtype="float16")
    assert h.get() is not a.activations
    assert h.get().q[0].dtype == torch.float16
    h.release()
    with torch.no_grad():
        next(tiny.parameters()).add_(0.0)  # an in-place edit bumps the weights stamp
    b = iw.TokenView(tiny, TEXTS[0], 0, 0)
    assert b.activations is not a.activations


# -- release -------------------------------------------------------------------------------------


def test_close_releases_and_last_holder_lets_go(tiny):
    a = iw.TokenView(tiny, TEXTS[0], 0, 0)
    b = iw.AttentionMatrix(tiny, TEXTS[0], 0, 0)
    size = a.activations.nbytes
    assert CACHE.held_bytes() == size
    a.close()
    assert CACHE.held_bytes() == size  # b still holds it
    ref = __import__("weakref").ref(b.activations)
    b.close()
    gc.collect()
    assert CACHE.held_bytes() == 0 and iw.memory_info()["entries"] == 0
    assert ref() is None  # nothing keeps the activations alive any more


def test_collected_handle_releases_its_share(tiny):
    handle = CACHE.acquire(tiny, TEXTS[3])
    assert iw.memory_info()["holders"] == 1 and CACHE.held_bytes() > 0
    del handle  # a holder that goes away without release() (e.g. a collected view)
    gc.collect()
    assert iw.memory_info()["holders"] == 0 and CACHE.held_bytes() == 0


def test_user_reference_survives_release_and_is_found_again(tiny):
    a = iw.TokenView(tiny, TEXTS[0], 0, 0)
    acts = a.activations
    a.close()
    assert CACHE.held_bytes() == 0  # the cache no longer holds it for anybody
    b = iw.TokenView(tiny, TEXTS[0], 0, 0)
    assert b.activations is acts and iw.memory_info()["reads"] == 1


def test_close_all_closes_every_view_and_explorer(tiny, tmp_path):
    scores = iw.head_scores(tiny, n_examples=2)
    ex = iw.InductionExplorer(tiny, TEXTS[0], scores=scores)
    v = iw.TokenView(tiny, TEXTS[1], 1, 2)
    m = iw.HeadMap(scores)
    page = v.save_html(tmp_path / "v.html")
    before = (
        page.read_bytes() if hasattr(page, "read_bytes") else (tmp_path / "v.html").read_bytes()
    )
    assert iw.close_all() >= 3  # the explorer is one widget
    for w in (ex, v, m):
        assert w.comm is None
    assert CACHE.held_bytes() == 0 and iw.memory_info()["holders"] == 0
    assert (tmp_path / "v.html").read_bytes() == before  # pages already written are untouched
    # a closed view can still be exported: it reads the text again without holding a share
    v.save_html(tmp_path / "again.html")
    assert iw.memory_info()["holders"] == 0


def test_explorer_close_frees_its_share(tiny):
    ex = iw.InductionExplorer(tiny, TEXTS[2], scores=iw.head_scores(tiny, n_examples=2))
    assert iw.memory_info()["holders"] == 1  # the explorer is one widget holding one share
    ex.close()
    assert iw.memory_info()["holders"] == 0 and CACHE.held_bytes() == 0


# -- budget, eviction, recomputation -------------------------------------------------------------


def test_budget_evicts_least_recently_used(tiny):
    size = one_size(tiny)
    iw.set_memory_budget(2 * size + size // 2)  # room for two texts
    views = [iw.TokenView(tiny, t, 0, 0) for t in TEXTS[:3]]
    handles = [v._handle for v in views]
    assert [h.resident for h in handles] == [False, True, True]  # the oldest went
    views[1].head = 1  # text 1 used again: text 2 is now the least recently used
    iw.TokenView(tiny, TEXTS[3], 0, 0)
    assert [h.resident for h in handles] == [False, True, False]
    assert CACHE.held_bytes() <= CACHE.budget


def test_evicted_view_recomputes_identical_numbers(tiny):
    size = one_size(tiny)
    iw.set_memory_budget(size)
    refs = {t: hook_patterns(tiny, t) for t in TEXTS[:2]}
    a = iw.TokenView(tiny, TEXTS[0], 0, 0)
    before = a.activations.attention_and_attribution(1, 2)
    q_before = a.activations.q[1].clone()
    b = iw.TokenView(tiny, TEXTS[1], 0, 0)
    assert not a._handle.resident and b._handle.resident
    reads = a._handle.reads
    messages = []
    a.observe(lambda c: messages.append(c["new"]), names="message")
    a.head = 2
    a.layer = 1
    assert a._handle.reads == reads + 1  # one forward pass, once
    assert any("evicted" in m for m in messages) and a.message == ""
    after = a.activations.attention_and_attribution(1, 2)
    assert torch.equal(a.activations.q[1], q_before)
    assert torch.equal(before[0], after[0])
    assert torch.equal(before[1].nan_to_num(7.0), after[1].nan_to_num(7.0))
    torch.testing.assert_close(shown_attention(a), refs[TEXTS[0]][1][2], atol=1e-3, rtol=0)
    # and b, evicted in turn, still answers its own text
    b.layer, b.head = 1, 3
    torch.testing.assert_close(shown_attention(b), refs[TEXTS[1]][1][3], atol=1e-3, rtol=0)


def test_one_entry_larger_than_the_budget_still_works(tiny):
    iw.set_memory_budget(1)
    a = iw.TokenView(tiny, TEXTS[0], 1, 0)
    assert a._handle.resident  # a view must work: the entry being read is never evicted
    a.head = 3
    assert len(a.tokens) == shown_attention(a).shape[0]


def test_lowering_the_budget_evicts_at_once(tiny):
    views = [iw.TokenView(tiny, t, 0, 0) for t in TEXTS[:3]]
    assert CACHE.held_bytes() == sum(v.activations.nbytes for v in views)
    iw.set_memory_budget(1)
    assert iw.memory_info()["resident"] == 0 and CACHE.held_bytes() == 0
    views[0].head = 2  # read again, and held: the one being read is never evicted
    assert iw.memory_info()["resident"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5GB", 1_500_000_000),
        ("800 MB", 800_000_000),
        ("2GiB", 2 * 2**30),
        ("4096", 4096),
        (10**9, 10**9),
        ("512kib", 512 * 1024),
    ],
)
def test_budget_parsing(text, expected):
    assert parse_size(text) == expected
    assert iw.set_memory_budget(text) == expected == CACHE.budget


@pytest.mark.parametrize(
    "bad", ["lots", "1.5 GBs", "-3GB", "", "0", 0, -1, True, None, [1], 1.0e400]
)
def test_budget_errors_name_the_fix(bad):
    if bad is None:  # None means the default, not an error
        assert iw.set_memory_budget(None) == ActivationCache().budget
        return
    with pytest.raises(iw.InputError, match=r'size such as "1\.5GB", "800MB"'):
        iw.set_memory_budget(bad)


# -- lighter storage ---------------------------------------------------------------------------


def test_storage_dtype_against_hook_pattern(tiny):
    """``float16`` storage halves q/k/v and keeps every recomputed pattern within the exported
    page's own quantisation (uint8, 1/510) of ``hook_pattern``; float32 and the model's dtype
    (float32 here) stay exact."""
    text = TEXTS[3] * 3
    ref = hook_patterns(tiny, text)
    full = iw.TextActivations(tiny, text, progress=False)
    half = iw.TextActivations(tiny, text, progress=False, dtype="float16")
    as32 = iw.TextActivations(tiny, text, progress=False, dtype=torch.float32)
    assert full.storage_dtype == torch.float32 and half.q[0].dtype == torch.float16
    qkv = lambda a: sum(t.numel() * t.element_size() for d in (a.q, a.k, a.v) for t in d.values())  # noqa: E731
    assert qkv(half) * 2 == qkv(full)
    assert all(half.exact.values())  # verified on float32 before the cast: no recapture fallback
    for layer, pattern in ref.items():
        for h in range(tiny.cfg.n_heads):
            assert (full.attention(layer, h) - pattern[h]).abs().max() < 1e-4
            assert (as32.attention(layer, h) - pattern[h]).abs().max() < 1e-4
            assert (half.attention(layer, h) - pattern[h]).abs().max() <= 1 / 510
            a32, a16 = full.logit_attribution(layer, h), half.logit_attribution(layer, h)
            scale = a32[:-1].abs().max()
            assert ((a32[:-1] - a16[:-1]).abs().max() / scale) < 2e-3
    with pytest.raises(iw.InputError, match='dtype must be "model", "float32" or "float16"'):
        iw.TextActivations(tiny, text, dtype="int8")


def test_model_dtype_storage_of_a_half_precision_model():
    """A bfloat16 model's activations are stored as its own bfloat16 values (half the bytes)."""
    model = iw.load_model("tiny").to(torch.bfloat16)
    acts = iw.TextActivations(model, TEXTS[0], progress=False)
    assert acts.storage_dtype == torch.bfloat16 and acts.v[0].dtype == torch.bfloat16
    assert acts.attention(1, 0).dtype == torch.float32
