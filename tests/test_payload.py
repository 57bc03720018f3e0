"""Payload encode/decode round trips (property tests) and the embedded (base64, deflate) form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from induction_widgets.payload import (
    attention_payload,
    decode,
    embed,
    encode,
    mask_payload,
    signed_payload,
)

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12)


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float32, shapes, elements=finite),
    st.sampled_from(["uint8", "uint16", "int8"]),
    st.booleans(),
)
def test_quantised_round_trip_within_half_a_step(x, dtype, packed):
    p = encode(x, dtype)
    y = decode(embed(p, compress=packed) if packed else p)
    assert y.shape == x.shape and y.dtype == np.float32
    bound = p["scale"] / 2 + 1e-6 * max(1.0, float(np.abs(x).max()))
    assert np.all(np.abs(y - x) <= bound + 1e-3 * p["scale"])


@settings(max_examples=150, deadline=None)
@given(arrays(np.float32, shapes, elements=st.floats(width=32)))
def test_float32_round_trip_is_exact_including_nan_and_inf(x):
    y = decode(embed(encode(x, "float32")))
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.array_equal(x[~np.isnan(x)], y[~np.isnan(y)])


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        np.float32,
        shapes,
        elements=st.one_of(
            st.floats(width=32),  # anything, NaN and ±inf included
            st.floats(-(2.0**-13), 2.0**-13, width=32),  # float16 subnormals and underflow to ±0
        ),
    )
)
def test_float16_bits_equal_numpys_cast(x):
    """The fast float32 → float16 path rounds exactly as numpy's own cast (NaN payloads aside)."""
    got = np.frombuffer(encode(x, "float16")["view"], dtype="<f2").reshape(x.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        want = x.astype(np.float16)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint16), want[~nan].view(np.uint16))


@settings(max_examples=150, deadline=None)
@given(arrays(np.float32, shapes, elements=st.floats(width=32)))
def test_float16_keeps_nan_inf_and_relative_precision(x):
    y = decode(encode(x, "float16"))
    assert np.array_equal(np.isnan(x), np.isnan(y))
    ok = ~np.isnan(x)
    big = np.abs(x) > 65504
    assert np.all(np.isinf(y[ok & big]))  # beyond float16's range → ±inf, sign kept
    assert np.all(np.sign(y[ok & big]) == np.sign(x[ok & big]))
    small = ok & ~big
    err = np.abs(y[small] - x[small])
    assert np.all(err <= np.maximum(np.abs(x[small]) * 2**-11, 2**-24) + 1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_attention_tril_uint8_max_error(n, seed):
    rng = np.random.default_rng(seed)
    a = np.tril(rng.random((n, n))).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    p = embed(attention_payload(a, live=False))
    assert p["layout"] == "tril" and p["dtype"] == "uint8"
    y = decode(p)
    assert np.abs(y - a).max() <= 1 / 510 + 1e-7
    assert np.all(np.triu(y, 1) == 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**31 - 1), st.sampled_from(["zero", "tiny", "nan"]))
def test_live_matrices_send_the_lower_triangle_only_when_it_is_exact(n, seed, above):
    """A causal pattern and a logit attribution (NaN last row) travel live as float16 lower
    triangles and decode to the same values as the dense float16 buffer; anything but zeros above
    the diagonal keeps the dense layout."""
    rng = np.random.default_rng(seed)
    a = np.tril(rng.random((n, n))).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    attr = (np.tril(rng.normal(size=(n, n))) * 3).astype(np.float32)
    attr[-1] = np.nan
    if above != "zero":
        a[0, n - 1] = attr[0, n - 1] = 1e-6 if above == "tiny" else np.nan
    for x, payload in ((a, attention_payload(a)), (attr, signed_payload(attr))):
        dense = encode(x, "float16")
        assert payload["dtype"] == "float16"
        assert payload["layout"] == ("tril" if above == "zero" else "dense")
        got, want = decode(payload), decode(dense)
        assert np.array_equal(got, want, equal_nan=True)
        if above == "zero":
            assert len(payload["view"]) == 2 * n * (n + 1) // 2


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_quantised_refuses_non_finite(dtype, bad):
    with pytest.raises(ValueError, match="cannot hold NaN or infinity"):
        encode(np.array([0.0, bad], dtype=np.float32), dtype)


def test_pad_rows_decode_as_nan():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    p = encode(x, "int8")
    p["shape"] = [3, 3]
    p["pad_rows"] = 1
    y = decode(embed(p))
    assert np.allclose(y[:2], x, atol=p["scale"] / 2)
    assert np.isnan(y[2]).all()


def test_buffers_are_bytes_little_endian_and_compact():
    p = encode(np.array([1.0, 2.0], dtype=np.float32), "float32")
    assert isinstance(p["view"], bytes) and p["view"] == np.array([1.0, 2.0], "<f4").tobytes()
    assert set(p) == {"dtype", "shape", "scale", "offset", "layout", "view"}
    m = mask_payload([True, False, True])
    assert m["view"] == b"\x01\x00\x01" and m["dtype"] == "uint8"
    assert mask_payload(None) == {}


def test_unknown_dtype_and_layout():
    with pytest.raises(ValueError, match="unknown dtype 'float64'"):
        encode(np.zeros(2), "float64")
    with pytest.raises(ValueError, match="layout 'tril' needs a square matrix"):
        encode(np.zeros((2, 3)), "uint8", layout="tril")
