"""The long format (texts of more than LONG_TOKENS tokens): block-max overviews and compact rows,
against plain numpy references, and a planted far cell through the whole head payload."""

from __future__ import annotations

import numpy as np
import pytest
from planted import PLANTED, planted_activations

from induction_widgets.payload import (
    block_max,
    compact_rows,
    compact_rows_payload,
    csr_rest,
    decode,
    embed,
    head_payloads,
    overview_block,
    prefetch_heads,
    prefetch_idle,
    quantised_csr,
)


def ref_block_max(x: np.ndarray, b: int, signed: bool) -> np.ndarray:
    """Plain loops: each block's max (or largest-magnitude value, + wins ties), NaN left out."""
    rows, cols = -(-x.shape[0] // b), -(-x.shape[1] // b)
    out = np.zeros((rows, cols), np.float32)
    for i in range(rows):
        for j in range(cols):
            cells = x[i * b : (i + 1) * b, j * b : (j + 1) * b].ravel()
            cells = cells[~np.isnan(cells)]
            if cells.size == 0:
                continue
            if not signed:
                out[i, j] = cells.max()
            else:
                hi, lo = cells.max(), cells.min()
                out[i, j] = hi if hi >= -lo else lo
    return out


@pytest.mark.parametrize("shape", [(16, 16), (37, 53), (64, 5)])
@pytest.mark.parametrize("b", [1, 2, 4, 8])
@pytest.mark.parametrize("signed", [False, True])
def test_block_max_is_the_max_pool_of_plain_loops(shape, b, signed):
    rng = np.random.default_rng(sum(shape) * b)
    x = rng.normal(size=shape).astype(np.float32)
    if not signed:
        x = np.abs(x)
    x[rng.random(shape) < 0.1] = np.nan
    x[-1] = np.nan  # a NaN row (the attribution's last)
    np.testing.assert_array_equal(block_max(x, b, signed=signed), ref_block_max(x, b, signed))


def test_one_bright_cell_survives_every_level():
    x = np.zeros((8192, 8192), np.float32)
    x[6000, 1000] = 0.6
    for b in (2, 8, 64, 1024):
        level = block_max(x, b)
        assert level[6000 // b, 1000 // b] == np.float32(0.6)
        assert np.count_nonzero(level) == 1


def test_overview_block_is_the_smallest_power_of_two_that_fits():
    assert [overview_block(n) for n in (100, 1024, 1025, 2048, 8192, 8193)] == [1, 1, 2, 2, 8, 16]


@pytest.mark.parametrize("signed", [False, True])
def test_compact_rows_keep_the_largest_and_bound_the_rest(signed):
    rng = np.random.default_rng(3)
    n, keep = 300, 16
    x = rng.random((n, n)).astype(np.float32) ** 8
    if signed:
        x *= rng.choice([-1, 1], size=x.shape)
    x[5] = 0
    x[7, :3] = [0.5, 0, 0]
    x[7, 3:] = 0
    counts, idx, val, rest = compact_rows(x, keep, signed=signed)
    p = compact_rows_payload(counts, idx, val, rest, n)
    dense = decode(embed(p))
    for d in range(n):
        key = np.abs(x[d]) if signed else x[d]
        top = np.argsort(-key, kind="stable")[:keep]
        top = top[key[top] > 0]
        want = np.zeros(n, np.float32)
        want[top] = x[d, top].astype(np.float16)
        np.testing.assert_array_equal(dense[d], want)
        left = np.setdiff1d(np.arange(n), top)
        bound = key[left].max() if left.size else 0.0
        assert csr_rest(p)[d] == np.float16(bound)
    assert counts[5] == 0 and counts[7] == 1


def test_planted_head_in_the_long_format(tiny):
    n, cell = 2560, (2000, 200)
    acts = planted_activations(tiny, n, cell)
    p = head_payloads(acts, *PLANTED, names=["attention", "attention_overview", "attribution"])
    over = decode(p["attention_overview"])
    b = p["attention_overview"]["block"]
    assert b == overview_block(n) == 4 and over.shape == (640, 640)
    assert abs(over[cell[0] // b, cell[1] // b] - 0.6) <= 1 / 510  # uint8, scale 1/255
    # the whole overview is the max pool of the hand-built pattern (uint8-quantised)
    full = acts.attention(*PLANTED).numpy()
    np.testing.assert_allclose(over, block_max(full, b), atol=1 / 510 + 1e-7)
    rows = decode(p["attention"])
    np.testing.assert_array_equal(rows[cell[0]], full[cell[0]].astype(np.float16))
    attr = decode(p["attribution"])
    assert np.isnan(attr[-1]).all() and p["attribution"]["pad_rows"] == 1
    want = acts.logit_attribution(*PLANTED).numpy()
    d = cell[0]
    keep = np.nonzero(attr[d])[0]
    np.testing.assert_allclose(attr[d, keep], want[d, keep], rtol=1e-3, atol=1e-6)
    assert set(keep) == set(np.nonzero(want[d])[0])  # three non-zero sources, all kept


def test_a_live_matrix_of_a_long_text_answers_with_the_long_format(tiny):
    """Nothing is made up front or on a head change; a request gets compact rows and the overview
    (a short text's request for an overview gets nothing for it)."""
    import induction_widgets as iw

    acts = planted_activations(tiny, 2560, (2000, 200))
    view = iw.AttentionMatrix(tiny, None, *PLANTED, activations=acts)
    assert view.attention == {} and view.attention_overview == {}
    view.head = 1  # the browser asks; the kernel makes nothing here
    assert view.attention == {} and view.message == ""
    sent: list[tuple[dict, list]] = []
    view.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    names = ["attention", "attention_overview"]
    view._on_head_request(
        view, {"type": "iw:head", "id": 1, "layer": 1, "head": 2, "names": names}, []
    )
    content, buffers = sent[-1]
    assert content["names"] == names and content["meta"]["attention"]["layout"] == "csr"
    over = decode({**content["meta"]["attention_overview"], "view": buffers[1]})
    assert abs(over[2000 // 4, 200 // 4] - 0.6) <= 1 / 510
    short = iw.AttentionMatrix(tiny, "ab" * 20, 1, 2)
    short.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    short._on_head_request(
        short, {"type": "iw:head", "id": 2, "layer": 1, "head": 2, "names": names}, []
    )
    assert sent[-1][0]["names"] == ["attention"]


def test_bands_are_exact_block_maxima_of_the_rows(tiny):
    """An iw:band reply: the block maxima of every cell of its destinations, past the end 0."""
    import induction_widgets as iw
    from induction_widgets.payload import BAND_ROWS, band_payload

    n = 2560
    acts = planted_activations(tiny, n, (2000, 200))
    full = acts.attention(*PLANTED).numpy()
    for block, band in ((1, 31), (4, 7), (8, 4)):
        got = decode(band_payload(acts, *PLANTED, "attention", block, band))
        start = band * BAND_ROWS * block
        want = block_max(full[start : start + BAND_ROWS * block], block)
        assert got.shape == (BAND_ROWS, -(-n // block))
        np.testing.assert_array_equal(got[: want.shape[0]], want)
        assert not got[want.shape[0] :].any()
    attr = acts.logit_attribution(*PLANTED).numpy()
    got = decode(band_payload(acts, *PLANTED, "attribution", 2, 19))
    want = block_max(attr[19 * 128 :], 2, signed=True)
    np.testing.assert_allclose(got[: want.shape[0]], want, rtol=1e-5, atol=1e-7)
    for name, block, band, msg in (
        ("pattern", 2, 0, "name must be"),
        ("attention", 3, 0, "power of two"),
        ("attention", 4, 10, "outside"),
    ):
        with pytest.raises(ValueError, match=msg):
            band_payload(acts, *PLANTED, name, block, band)
    view = iw.AttentionMatrix(tiny, None, *PLANTED, activations=acts)
    sent: list[tuple[dict, list]] = []
    view.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    ask = {"type": "iw:band", "id": 3, "layer": 1, "head": 2, "name": "attention", "block": 4}
    view._on_band_request({**ask, "band": 7})
    content, buffers = sent[-1]
    assert content["id"] == 3 and content["band"] == 7
    band = decode({**content["meta"], "view": buffers[0]})
    assert abs(band[2000 // 4 - 7 * BAND_ROWS, 200 // 4] - 0.6) < 1e-6  # the far cell, exact
    view._on_band_request({**ask, "band": 99})
    assert "outside" in sent[-1][0]["error"]


def test_neighbours_are_made_in_the_background_and_sent_without_work(tiny):
    """prefetch_heads makes the neighbours' buffers in a background thread: asking for one then
    makes no row of its pattern, and gives what a cold request makes."""
    n = 2560
    acts = planted_activations(tiny, n, (2000, 200))
    on_screen = head_payloads(acts, 1, 1, names=["attention"])
    prefetch_heads(acts, [(1, 2), (1, 0)], ["attention"])
    assert prefetch_idle(timeout=120)
    before = acts.rows_made
    got = head_payloads(acts, 1, 2, names=["attention", "attention_overview"])
    assert acts.rows_made == before  # made already, in the background
    cold = planted_activations(tiny, n, (2000, 200))
    want = head_payloads(cold, 1, 2, names=["attention", "attention_overview"])
    for name in ("attention", "attention_overview"):
        np.testing.assert_array_equal(decode(got[name]), decode(want[name]))
    assert abs(decode(got["attention_overview"])[500, 50] - 0.6) <= 1 / 510  # the far cell
    assert on_screen["attention"] is head_payloads(acts, 1, 1, names=["attention"])["attention"]


def test_a_request_on_screen_interrupts_the_background_and_nothing_half_made_is_kept(tiny):
    n = 4096
    acts = planted_activations(tiny, n, (3000, 100))
    prefetch_heads(acts, [(1, h) for h in range(4)] + [(0, h) for h in range(4)], ["attention"])
    got = head_payloads(acts, 0, 3, names=["attention"])  # interrupts whatever is being made
    assert prefetch_idle(timeout=240)
    np.testing.assert_array_equal(
        decode(got["attention"])[2000],
        acts.pattern_rows(0, 3, [2000])[0].numpy().astype(np.float16),
    )
    for layer in (0, 1):
        for head in range(4):
            p = head_payloads(acts, layer, head, names=["attention", "attention_overview"])
            assert set(p) == {"attention", "attention_overview"}
            rows = decode(p["attention"])
            assert rows.shape == (n, n) and (rows.sum(1) > 0.99).all()  # every row whole


def test_attention_alone_in_log_space_is_the_models_own_pattern(tiny, monkeypatch):
    """An attention-only request works on log A (only kept entries and block maxima see an
    exp): its compact rows and overview are those of TransformerLens's own hook_pattern, and the
    same as the request that makes the attribution from A itself."""
    import torch

    import induction_widgets as iw
    import induction_widgets.payload as payload
    from induction_widgets.compute._model import run_with_hooks

    monkeypatch.setattr(payload, "LONG_TOKENS", 16)  # the long format on a short text
    text = "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say. " * 3
    acts = iw.TextActivations(tiny, text, progress=False)
    theirs = {}
    run_with_hooks(
        tiny,
        acts.tokens[None],
        [("blocks.1.attn.hook_pattern", lambda p, hook: theirs.setdefault(1, p[0].detach()))],
    )
    n = acts.n_tokens
    for head in range(acts.info.n_heads):
        ref = theirs[1][head].float().numpy()
        log_p = head_payloads(acts, 1, head, names=["attention", "attention_overview"])
        rows = decode(log_p["attention"])
        for d in (5, n // 2, n - 1):
            top = np.argsort(-ref[d], kind="stable")[:64]
            top = top[ref[d, top].astype(np.float16) > 0]  # float16 keeps what is above 6e-8
            np.testing.assert_allclose(rows[d, top], ref[d, top], atol=1e-3, rtol=0)
            assert np.count_nonzero(rows[d]) == len(top)
        b = log_p["attention_overview"]["block"]
        np.testing.assert_allclose(
            decode(log_p["attention_overview"]), block_max(ref, b), atol=1 / 510 + 1e-6
        )
        payload._RECENT_HEADS.pop(acts, None)  # forget: the next request makes A itself
        both = head_payloads(acts, 1, head, names=["attention", "attribution"])
        np.testing.assert_allclose(decode(both["attention"]), rows, atol=1e-3, rtol=0)
        assert torch.isfinite(torch.as_tensor(rows)).all()


@pytest.mark.parametrize(("dtype", "step"), [("uint8", 1 / 255), ("int8", None)])
def test_saved_pages_store_compact_values_in_one_byte_and_bound_what_they_drop(dtype, step):
    """quantised_csr: every kept value within half a step of the float16 one, entries that round
    to 0 left out, and each row's rest the largest of what it no longer holds."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.exponential(size=(n, n)).astype(np.float32) ** 4
    if dtype == "int8":
        x *= rng.choice([-1.0, 1.0], size=x.shape).astype(np.float32)
    x /= np.abs(x).max()
    c, i, v, r = compact_rows(x, 64, signed=dtype == "int8")
    p = compact_rows_payload(c, i, v, r, n)
    q = quantised_csr(p, dtype)
    before, after = decode(p), decode(q)
    step = step if step is not None else q["val_scale"]
    kept = after != 0
    np.testing.assert_allclose(after[kept], before[kept], atol=step / 2 + 1e-6, rtol=0)
    dropped = (before != 0) & ~kept
    assert dropped.any() and q["nnz"] == kept.sum() < p["nnz"]
    assert (np.abs(before[dropped]) < step / 2 + 1e-6).all()  # only what rounds to 0
    bound = csr_rest(q)
    for d in range(n):
        left = np.abs(before[d][dropped[d]])
        want = max(float(csr_rest(p)[d]), float(left.max()) if left.size else 0.0)
        assert bound[d] == np.float16(want)
    assert len(q["view"]) < len(p["view"])


def test_the_background_thread_keeps_no_activations_alive(tiny):
    """Once idle, the prefetch thread holds no reference: a text nobody uses any more is freed."""
    import gc
    import weakref

    acts = planted_activations(tiny, 2560, (2000, 200))
    prefetch_heads(acts, [(1, 0), (1, 1)], ["attention"])
    assert prefetch_idle(timeout=120)
    ref = weakref.ref(acts)
    del acts
    gc.collect()
    assert ref() is None
