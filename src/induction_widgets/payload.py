"""Payload room: tensors → compact binary buffer dicts (the contract in ``docs/payload.md``).

A buffer dict is ``{"dtype", "shape", "scale", "offset", "layout", "view": bytes}``; the browser
decodes ``value = offset + scale * stored``. anywidget turns the ``bytes`` into a ``DataView``; for a
page without a kernel :func:`embed` swaps ``view`` for base64 text, optionally zlib-compressed.

Quantised integer dtypes (``uint8``, ``int8``, ``uint16``) refuse NaN and infinity (``ValueError``);
``float16`` and ``float32`` carry them unchanged (values beyond float16's range become ±inf). The
largest error of a quantised value is ``scale / 2``.
"""

from __future__ import annotations

import base64
import collections
import functools
import weakref
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

DTYPES = ("uint8", "int8", "uint16", "float16", "float32", "int32")
_INT_RANGE = {"uint8": (0, 255), "int8": (-127, 127), "uint16": (0, 65535)}

Payload = dict[str, Any]


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor without importing torch here
        x = (
            x.detach().cpu().float().numpy()
            if x.dtype.is_floating_point
            else x.detach().cpu().numpy()
        )
    return np.asarray(x)


def _float32_to_float16(flat: np.ndarray) -> np.ndarray:
    """float32 → float16, rounding to nearest even like numpy's cast. numpy takes a slow path for
    values that become float16 subnormals or zero (most of an attention pattern: ~45 ms for a
    1,024² pattern); torch's cast is vectorised (< 1 ms) and gives the same bits."""
    import torch  # a dependency of the package; imported here so decoding needs only numpy

    return torch.from_numpy(np.ascontiguousarray(flat)).half().numpy()


def encode(
    x: Any,
    dtype: str = "float32",
    *,
    layout: str = "dense",
    scale: float | None = None,
    offset: float | None = None,
) -> Payload:
    """Encode an array as a buffer dict.

    For integer dtypes the scale and offset default to the tightest that cover ``x``: ``uint8`` /
    ``uint16`` map ``[min, max]`` onto the code range, ``int8`` is symmetric (``offset = 0``,
    ``scale = max|x| / 127``). ``layout="tril"`` stores only the lower triangle (with the diagonal) of
    a square matrix, row by row.
    """
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if layout not in ("dense", "tril"):
        raise ValueError(f"unknown layout {layout!r}: use 'dense' or 'tril'")
    a = _as_numpy(x)
    shape = list(a.shape)
    flat = _tril(a) if layout == "tril" else a.reshape(-1)
    if dtype in _INT_RANGE:
        flat = flat.astype(np.float64)
        if not np.isfinite(flat).all():
            raise ValueError(f"{dtype} cannot hold NaN or infinity: use float16 or float32")
        lo_code, hi_code = _INT_RANGE[dtype]
        lo = float(flat.min()) if flat.size else 0.0
        hi = float(flat.max()) if flat.size else 0.0
        if dtype == "int8":
            offset = 0.0 if offset is None else offset
            scale = scale or (max(abs(lo), abs(hi)) / 127 or 1.0)
        else:
            offset = lo if offset is None else offset
            scale = scale or ((hi - offset) / hi_code or 1.0)
        codes = np.clip(np.rint((flat - offset) / scale), lo_code, hi_code)
        stored = codes.astype(dtype)
    else:  # straight from the source dtype: float32 → float16 rounds exactly as via float64
        if flat.dtype.kind not in "fc" and flat.dtype != np.bool_:
            flat = flat.astype(np.float64)
        if dtype == "float16" and flat.dtype == np.float32:
            stored = _float32_to_float16(flat)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                stored = flat.astype(dtype)
        scale, offset = 1.0, 0.0
    return {
        "dtype": dtype,
        "shape": shape,
        "scale": float(scale),
        "offset": float(offset),
        "layout": layout,
        "view": stored.astype(stored.dtype.newbyteorder("<"), copy=False).tobytes(),
    }


def decode(p: Payload) -> np.ndarray:
    """The inverse of :func:`encode` / :func:`embed` (float32 array of the original shape)."""
    raw = p.get("view")
    if raw is None:
        raw = base64.b64decode(p["b64"])
        if p.get("compression") == "deflate":
            raw = zlib.decompress(raw)
    raw = bytes(raw)
    stored = np.frombuffer(raw, dtype=np.dtype(p["dtype"]).newbyteorder("<")).astype(np.float64)
    values = (p["offset"] + p["scale"] * stored) if p["dtype"] in _INT_RANGE else stored
    shape = tuple(p["shape"])
    pad = int(p.get("pad_rows", 0))
    if pad:  # trailing rows not stored: NaN
        rows = np.full((shape[0], *shape[1:]), np.nan)
        rows[: shape[0] - pad] = values.reshape((shape[0] - pad, *shape[1:]))
        return rows.astype(np.float32)
    if p.get("layout", "dense") == "tril":
        n = shape[0]
        out = np.zeros((n, n))
        out[np.tril_indices(n)] = values
        return out.astype(np.float32)
    return values.reshape(shape).astype(np.float32)


def embed(p: Payload, *, compress: bool = True, level: int = 9) -> Payload:
    """A copy of ``p`` for a page without a kernel: ``view`` → ``b64`` (zlib ``deflate`` at ``level``
    if smaller)."""
    out = {k: v for k, v in p.items() if k != "view"}
    raw = bytes(p["view"])
    if compress:
        packed = zlib.compress(raw, level)
        if len(packed) < len(raw):
            out["compression"] = "deflate"
            raw = packed
    out["b64"] = base64.b64encode(raw).decode("ascii")
    return out


@functools.lru_cache(maxsize=4)
def _tri_masks(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``[n, n]`` masks of the lower triangle (with the diagonal) and of the rest."""
    lower = np.tri(n, dtype=bool)
    return lower, ~lower


def _tril(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"layout 'tril' needs a square matrix, got shape {a.shape}")
    return a[_tri_masks(a.shape[0])[0]]  # row by row, as np.tril_indices, without index arrays


def live_matrix_payload(x: Any) -> Payload:
    """A ``[dst, src]`` matrix for a live view: float16, and only its lower triangle (``"tril"``)
    when every element above the diagonal is ±0 in float16 — a causal pattern, and the logit
    attribution made from it. The browser then reads exactly the float16 values of the dense
    buffer (above the diagonal as +0) from half the bytes; a NaN or any non-zero above the diagonal
    keeps the dense layout."""
    a = _as_numpy(x)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2 or a.dtype != np.float32:
        return encode(a, "float16")
    n = a.shape[0]
    half = _float32_to_float16(a.reshape(-1)).reshape(n, n)
    lower, upper = _tri_masks(n)
    causal = not (half.view(np.uint16)[upper] & 0x7FFF).any()
    stored = half[lower] if causal else half
    return {
        "dtype": "float16",
        "shape": [n, n],
        "scale": 1.0,
        "offset": 0.0,
        "layout": "tril" if causal else "dense",
        "view": stored.astype("<f2", copy=False).tobytes(),
    }


def attention_payload(pattern: Any, *, live: bool = True) -> Payload:
    """A ``[dst, src]`` pattern: float16 for a live view (its lower triangle only when the pattern is
    causal, see :func:`live_matrix_payload`); uint8 (scale 1/255) lower triangle for an embedded
    page (max error 1/510)."""
    if live:
        return live_matrix_payload(pattern)
    return encode(pattern, "uint8", layout="tril", scale=1 / 255, offset=0.0)


def signed_payload(x: Any, *, live: bool = True) -> Payload:
    """A signed matrix (logit attribution): float16 (keeps NaN rows) for live and embedded views;
    live, its lower triangle only when the rest is ±0 (:func:`live_matrix_payload`)."""
    return live_matrix_payload(x) if live else encode(x, "float16")


def mask_payload(mask: Any) -> Payload:
    """A boolean mask ``[n]`` → uint8 buffer (1 = keep); ``None`` → ``{}`` (no mask)."""
    if mask is None:
        return {}
    return encode(
        np.asarray(_as_numpy(mask), dtype=bool).astype(np.float64), "uint8", scale=1.0, offset=0.0
    )


#: The buffers of the last few heads per TextActivations, each filled name by name as asked:
#: linked views (explorer) share one activations object and switch heads together, traitlets
#: reports a (layer, head) change as two notifications, and the browser's neighbour prefetch asks
#: for heads around the one on screen; all of them reuse one computation. Most recent last.
_RECENT_HEADS: weakref.WeakKeyDictionary[
    Any, collections.OrderedDict[tuple[int, int, bool], dict[str, Payload]]
] = weakref.WeakKeyDictionary()
#: heads remembered per activations object (each up to ~8 MB of float16 at 2,048 tokens)
RECENT_HEADS = 4
HEAD_NAMES = ("attention", "attribution", "value_norm")


def head_payloads(
    acts: Any,
    layer: int,
    head: int,
    *,
    live: bool = True,
    names: Sequence[str] | None = None,
) -> dict[str, Payload]:
    """The buffers a view needs for one head of a :class:`~induction_widgets.compute.TextActivations`:
    ``attention [dst, src]``, ``attribution [dst, src]`` (logit attribution) and ``value_norm [src]``
    — all three, or only ``names`` (the browser asks for the mode on screen; the attribution costs a
    second ``[dst, src]`` product and buffer, so an attention-only request does not make it).

    The last :data:`RECENT_HEADS` heads asked of each activations object are remembered (the same
    dicts are returned, so a view given them again sends nothing); treat them as read-only."""
    key = (int(layer), int(head), bool(live))
    recent = _RECENT_HEADS.get(acts)
    if recent is None:
        recent = _RECENT_HEADS[acts] = collections.OrderedDict()
    have = recent.get(key)
    if have is None:
        have = recent[key] = {}
        while len(recent) > RECENT_HEADS:
            recent.popitem(last=False)
    recent.move_to_end(key)
    wanted = HEAD_NAMES if names is None else tuple(n for n in HEAD_NAMES if n in names)
    if "attribution" in wanted and "attribution" not in have:
        attention, attribution = acts.attention_and_attribution(layer, head)
        have["attribution"] = signed_payload(attribution, live=live)
        if "attention" not in have:
            have["attention"] = attention_payload(attention, live=live)
    if "attention" in wanted and "attention" not in have:
        have["attention"] = attention_payload(acts.attention(layer, head), live=live)
    if "value_norm" in wanted and "value_norm" not in have:
        have["value_norm"] = encode(acts.value_norm(layer, head), "float32" if live else "float16")
    return {n: have[n] for n in wanted}
