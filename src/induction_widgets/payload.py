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
import threading
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


def _raw_bytes(p: Payload) -> bytes:
    raw = p.get("view")
    if raw is None:
        raw = base64.b64decode(p["b64"])
        if p.get("compression") == "deflate":
            raw = zlib.decompress(raw)
    return bytes(raw)


def decode(p: Payload) -> np.ndarray:
    """The inverse of :func:`encode` / :func:`embed` (float32 array of the original shape); a
    ``"csr"`` matrix (:func:`compact_rows_payload`) decodes to its dense ``[n, n]`` with the dropped
    entries as 0."""
    raw = _raw_bytes(p)
    if p.get("layout") == "csr":
        return _decode_csr(p, raw)
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
#: heads remembered per activations object (each up to ~8 MB of float16 at 2,048 tokens; in the
#: long format ≤ ~3 MB per mode at 8,192)
RECENT_HEADS = 6
_LOCK = threading.RLock()  # _RECENT_HEADS and each head's dict: the prefetch thread writes too


def _remembered(acts: Any, key: tuple[int, int, bool]) -> dict[str, Payload]:
    """The dict of head ``key`` in :data:`_RECENT_HEADS` (made empty when new; most recent last)."""
    with _LOCK:
        recent = _RECENT_HEADS.get(acts)
        if recent is None:
            recent = _RECENT_HEADS[acts] = collections.OrderedDict()
        have = recent.get(key)
        if have is None:
            have = recent[key] = {}
            while len(recent) > RECENT_HEADS:
                recent.popitem(last=False)
        recent.move_to_end(key)
        return have


HEAD_NAMES = ("attention", "attribution", "value_norm")
#: The long format's extra names (texts of more than :data:`LONG_TOKENS` tokens).
OVERVIEW_NAMES = ("attention_overview", "attribution_overview")


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
    have = _remembered(acts, key)
    if acts.n_tokens > LONG_TOKENS:
        return _long_head(acts, layer, head, have, names)
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


def _long_head(
    acts: Any,
    layer: int,
    head: int,
    have: dict[str, Payload],
    names: Sequence[str] | None,
    background: bool = False,
) -> dict[str, Payload]:
    """:func:`head_payloads` in the long format: compact rows and overviews, computed from the
    head's rows a chunk at a time (:func:`compute.rows.iter_head_rows`). A request on screen
    waits for the background thread if that is making this head (:func:`prefetch_heads`), else
    interrupts it; ``background``: made by that thread, given up at the next chunk when
    interrupted (:class:`_Interrupted`)."""
    from .compute.rows import iter_head_rows

    every = (*HEAD_NAMES, *OVERVIEW_NAMES)
    wanted = every if names is None else tuple(n for n in every if n in names)
    missing = [n for n in wanted if n not in have and n != "value_norm"]
    if missing and not background:
        busy = _PREFETCH.running(acts, (layer, head))
        if busy is not None:  # the background thread is making this very head: wait for it
            busy.wait()
            missing = [n for n in wanted if n not in have and n != "value_norm"]
        if missing:
            _PREFETCH.interrupt()  # whatever it makes can wait: this head is on screen
    if missing:
        attribution = any(n.startswith("attribution") for n in missing)
        # one pass makes both of a base (rows and overview): a second request needs nothing
        todo = [n for n in (*HEAD_NAMES, *OVERVIEW_NAMES) if n != "value_norm" and n not in have]
        todo = [n for n in todo if attribution or not n.startswith("attribution")]
        block = overview_block(acts.n_tokens)
        chunk = max(block, 512 // block * block)
        # attention alone travels in log space: only block maxima and kept entries see an exp
        rows: Any = iter_head_rows(
            acts,
            layer,
            head,
            attribution=attribution,
            chunk=chunk,
            block=block,
            log=not attribution,
        )
        if background:
            rows = _PREFETCH.interruptible(rows)
        made = long_head_payloads(rows, acts.n_tokens, todo, log=not attribution)
        with _LOCK:
            have.update(made)
    if "value_norm" in wanted and "value_norm" not in have:
        have["value_norm"] = encode(acts.value_norm(layer, head), "float32")
    return {n: have[n] for n in wanted}


# -- long texts: compact rows + a max overview ----------------------------------------------------

#: Texts longer than this travel in the long format: per head a max overview and compact rows
#: (:func:`long_head_payloads`) instead of whole ``[dst, src]`` matrices (67 MB of float16 at 8,192).
LONG_TOKENS = 2048
#: Entries kept per row of a compact matrix (the largest, by value or by magnitude).
ROW_KEEP = 64
#: The overview has at most this many blocks per side.
OVERVIEW_CELLS = 1024


def overview_block(n: int, cells: int = OVERVIEW_CELLS) -> int:
    """The overview's block side ``b``: the smallest power of two with ``ceil(n / b) <= cells``."""
    b = 1
    while -(-n // b) > cells:
        b *= 2
    return b


def block_max(
    x: Any, block: int, *, signed: bool = False, finite: bool = False, fill: float = 0.0
) -> np.ndarray:
    """Max pooling of a ``[rows, cols]`` matrix over ``block`` × ``block`` cells (the last blocks
    cover what is left): ``[ceil(rows / b), ceil(cols / b)]`` float32.

    ``signed=False``: the largest value of each block (attention). ``signed=True``: the value of
    largest magnitude, with its sign (logit attribution; ``+v`` wins a tie with ``−v``). NaN cells
    are left out; a block of NaN only is 0. ``finite``: the caller knows there is no NaN (the
    check, a pass over ``x``, is skipped). ``fill``: what pads the last blocks (``-inf`` for log
    values, ``signed=False``)."""
    import torch

    from .compute.qk import block_extrema

    t = _as_float_tensor(x)
    if not finite and t.numel() and bool(t.sum().isnan()):  # one reduction, no mask
        t = torch.nan_to_num(t, nan=0.0)
    hi, lo = block_extrema(t, block, fill=fill, low=signed)
    if lo is None:
        return hi.numpy()
    return torch.where(hi >= -lo, hi, lo).numpy()


def _as_float_tensor(x: Any) -> Any:
    """``x`` as a float32 CPU tensor, without a copy where it already is one."""
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float32)
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def compact_rows(
    x: Any, keep: int = ROW_KEEP, *, signed: bool = False, finite: bool = False, log: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``keep`` largest entries of each row of ``x [rows, n]`` (by value, or by magnitude when
    ``signed``), zeros and NaN left out: ``(counts [rows], idx, val, rest [rows])`` with ``idx`` /
    ``val`` the kept columns (ascending) and values row after row, and ``rest[d]`` the largest
    value (magnitude) left out of row ``d`` (0 when nothing non-zero was left out; NaN for a row of
    NaN) — every entry not kept is at most ``rest[d]`` (in magnitude). ``finite`` as in
    :func:`block_max`. ``log=True``: ``x`` holds the logarithms of non-negative values (``-inf``
    for 0; not ``signed``): the same entries are kept, and only they and ``rest`` are
    exponentiated."""
    import torch

    t = _as_float_tensor(x)
    rows, n = t.shape
    nan_rows = None
    if not finite and t.numel() and bool(t.sum().isnan()):
        nan_rows = torch.isnan(t).all(1)
        t = torch.nan_to_num(t, nan=0.0)
    k = min(keep + 1, n)
    if signed:
        top, where = torch.topk(t.abs(), k, dim=1)  # descending magnitudes
    else:
        top, where = torch.topk(t, k, dim=1)
        if log:  # exp is monotone: the same entries, exponentiated now
            top = top.exp()
    kept_key, kept_idx = top[:, :keep], where[:, :keep]
    rest = top[:, keep].clamp(min=0) if n > keep else torch.zeros(rows)
    if nan_rows is not None:
        rest = torch.where(nan_rows, torch.tensor(float("nan")), rest)
    good = kept_key > 0
    idx, perm = torch.where(good, kept_idx, n + 1).sort(dim=1)  # ascending columns, dropped last
    kept_val = torch.gather(t, 1, kept_idx) if signed else kept_key
    val = torch.gather(kept_val, 1, perm)
    counts = good.sum(1)
    mask = torch.arange(idx.shape[1])[None, :] < counts[:, None]
    return counts.numpy(), idx[mask].numpy(), val[mask].numpy(), rest.numpy()


def compact_rows_payload(
    counts: np.ndarray, idx: np.ndarray, val: np.ndarray, rest: np.ndarray, n: int
) -> Payload:
    """A ``[n, n]`` matrix as compact rows (``layout: "csr"``, see docs/payload.md): one buffer of
    ``ptr`` int32 ``[n + 1]`` (row ``d``'s entries are ``ptr[d] … ptr[d + 1] − 1``), ``idx``
    (uint16 when ``n <= 65,536``, else int32) ``[nnz]``, ``val`` float16 ``[nnz]`` and ``rest``
    float16 ``[n]`` (the bound on each row's entries left out). Values not kept read as 0."""
    ptr = np.zeros(n + 1, dtype="<i4")
    np.cumsum(counts, out=ptr[1:])
    nnz = int(ptr[-1])
    index_dtype = "uint16" if n <= 65536 else "int32"
    parts = [
        ptr.tobytes(),
        np.asarray(idx, dtype="<u2" if index_dtype == "uint16" else "<i4").tobytes(),
        _float32_to_float16(np.asarray(val, np.float32)).astype("<f2").tobytes(),
        _float32_to_float16(np.asarray(rest, np.float32)).astype("<f2").tobytes(),
    ]
    return {
        "dtype": "float16",
        "shape": [n, n],
        "scale": 1.0,
        "offset": 0.0,
        "layout": "csr",
        "nnz": nnz,
        "index_dtype": index_dtype,
        "view": b"".join(parts),
    }


_CSR_VALUES = {"float16": "<f2", "uint8": "u1", "int8": "i1"}


def _csr_parts(p: Payload) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ptr [n + 1], idx [nnz], val [nnz] float32, rest [n] float32)`` of a ``"csr"`` payload
    (values stored as float16, or as ``val_dtype`` uint8 / int8 times ``val_scale``)."""
    raw = _raw_bytes(p)
    n, nnz = int(p["shape"][0]), int(p["nnz"])
    ptr = np.frombuffer(raw, "<i4", n + 1)
    at = 4 * (n + 1)
    wide = p.get("index_dtype") == "int32"
    idx = np.frombuffer(raw, "<i4" if wide else "<u2", nnz, at)
    at += (4 if wide else 2) * nnz
    kind = str(p.get("val_dtype", "float16"))
    val = np.frombuffer(raw, _CSR_VALUES[kind], nnz, at).astype(np.float32)
    if kind != "float16":
        val *= np.float32(p["val_scale"])
    at += np.dtype(_CSR_VALUES[kind]).itemsize * nnz
    rest = np.frombuffer(raw, "<f2", n, at).astype(np.float32)
    return ptr, idx, val, rest


def _decode_csr(p: Payload, raw: bytes) -> np.ndarray:
    n = int(p["shape"][0])
    ptr, idx, val, _ = _csr_parts({**p, "view": raw})
    out = np.zeros((n, n), np.float32)
    rows = np.repeat(np.arange(n), np.diff(ptr))
    out[rows, idx] = val
    pad = int(p.get("pad_rows", 0))
    if pad:
        out[n - pad :] = np.nan
    return out


def csr_rest(p: Payload) -> np.ndarray:
    """The ``rest [n]`` bounds of a ``"csr"`` payload (float32)."""
    return _csr_parts(p)[3].copy()


def quantised_csr(p: Payload, val_dtype: str) -> Payload:
    """A compact-rows payload with its values stored in one byte, for saved pages: ``"uint8"``
    (attention: scale 1/255, error ≤ 1/510, the short format's page precision) or ``"int8"``
    (attribution: scale ``max|val| / 127``, error ≤ scale / 2). Entries that round to 0 are left
    out and bounded by ``rest`` (the larger of the old bound and the largest of them, float16)."""
    n = int(p["shape"][0])
    ptr, idx, val, rest = _csr_parts(p)
    if val_dtype == "uint8":
        scale = 1 / 255
        q = np.clip(np.rint(val / scale), 0, 255)
    elif val_dtype == "int8":
        top = float(np.abs(val).max()) if val.size else 0.0
        scale = top / 127 if top > 0 else 1.0
        q = np.clip(np.rint(val / scale), -127, 127)
    else:
        raise ValueError(f"val_dtype must be 'uint8' or 'int8', got {val_dtype!r}")
    rows = np.repeat(np.arange(n), np.diff(ptr))
    keep = q != 0
    rest = rest.copy()
    np.maximum.at(rest, rows[~keep], np.abs(val[~keep]))
    counts = np.bincount(rows[keep], minlength=n)
    new_ptr = np.zeros(n + 1, dtype="<i4")
    np.cumsum(counts, out=new_ptr[1:])
    wide = p.get("index_dtype") == "int32"
    parts = [
        new_ptr.tobytes(),
        np.asarray(idx[keep], dtype="<i4" if wide else "<u2").tobytes(),
        q[keep].astype("u1" if val_dtype == "uint8" else "i1").tobytes(),
        _float32_to_float16(rest.astype(np.float32)).astype("<f2").tobytes(),
    ]
    out = {k: v for k, v in p.items() if k != "view"}
    out.update(nnz=int(new_ptr[-1]), val_dtype=val_dtype, val_scale=scale)
    out["view"] = b"".join(parts)
    return out


def overview_payload(over: np.ndarray, n: int, block: int, *, signed: bool) -> Payload:
    """A block-max overview ``[ceil(n / b), ceil(n / b)]``: attention ``uint8`` (scale 1/255, max
    error 1/510), attribution ``int8`` symmetric on ± its largest magnitude (max error scale / 2);
    with ``n`` (the matrix side) and ``block`` (cells per block side)."""
    if signed:
        p = encode(over, "int8")
    else:
        p = encode(np.clip(over, 0.0, 1.0), "uint8", scale=1 / 255, offset=0.0)
    p["n"] = int(n)
    p["block"] = int(block)
    return p


def long_head_payloads(
    chunks: Any, n: int, names: Sequence[str], *, keep: int = ROW_KEEP, log: bool = False
) -> dict[str, Payload]:
    """The long format of one head from its rows, chunk by chunk (``chunks`` yields ``(start,
    attention rows, attribution rows or None)`` as :func:`compute.rows.iter_head_rows`; chunk sizes
    a multiple of the overview block; a chunk's rows may stop at any column that is a multiple of
    the block or ``n``, the rest read as 0): ``attention`` / ``attribution`` as compact rows and
    ``attention_overview`` / ``attribution_overview`` as block-max overviews, for the ``names``
    asked. Memory: one chunk at a time plus the results (≈ 3 MB at 8,192 tokens). ``log``: the
    attention rows come as ``log A`` (:meth:`TextActivations.row_chunks` with ``log=True``): only
    the block maxima and the kept entries are exponentiated."""
    block = overview_block(n)
    nb = -(-n // block)
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    for start, att, attr in chunks:
        if start % block:
            raise ValueError(f"chunk start {start} is not a multiple of the block {block}")
        if attr is not None and start + attr.shape[0] == n:  # the last row (NaN): pad_rows
            attr[-1] = 0.0
        for base, rows, signed in (("attention", att, False), ("attribution", attr, True)):
            if rows is None or not ({base, f"{base}_overview"} & set(names)):
                continue
            acc = parts.setdefault(base, {"over": [], "c": [], "i": [], "v": [], "r": []})
            # patterns are finite (checked when read); the attribution's only NaN row is zeroed.
            # A chunk may stop short of column n (its causal part): the blocks right of it are 0
            in_log = log and base == "attention"
            if in_log:
                over = np.exp(block_max(rows, block, finite=True, fill=-np.inf))
            else:
                over = block_max(rows, block, signed=signed, finite=True)
            if over.shape[1] < nb:
                over = np.pad(over, ((0, 0), (0, nb - over.shape[1])))
            acc["over"].append(over)
            if base in names:
                c, i, v, r = compact_rows(rows, keep, signed=signed, finite=True, log=in_log)
                for key, value in zip("civr", (c, i, v, r), strict=True):
                    acc[key].append(value)
    out: dict[str, Payload] = {}
    for base, acc in parts.items():
        if f"{base}_overview" in names:
            over = np.concatenate(acc["over"])
            out[f"{base}_overview"] = overview_payload(over, n, block, signed=base == "attribution")
        if base in names:
            c, i, v, r = (np.concatenate(acc[k]) for k in "civr")
            payload = compact_rows_payload(c, i, v, r, n)
            if base == "attribution":
                payload["pad_rows"] = 1  # the last row (no next token) is NaN
            out[base] = payload
    return out


class _Interrupted(Exception):
    """A background head given up because a head on screen needed the CPU."""


class _Prefetcher:
    """One background thread that makes long-format heads before they are asked for
    (:func:`prefetch_heads`). A head asked for on screen interrupts it at the next chunk of rows
    (~512 rows, tens of ms) unless it is the head being made, which the request then waits for.
    Only heads whose pattern comes from q/k alone are made here (no forward pass off the main
    thread)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: collections.deque[tuple[Any, int, int, tuple[str, ...]]] = collections.deque()
        self.epoch = 0  # bumped by every interrupt
        self.current: tuple[Any, tuple[int, int], threading.Event] | None = None
        self.thread: threading.Thread | None = None

    def running(self, acts: Any, head: tuple[int, int]) -> threading.Event | None:
        with self.cond:
            cur = self.current
            if cur is not None and cur[0] is acts and cur[1] == head:
                return cur[2]
            return None

    def interrupt(self) -> None:
        """Give up the head being made and what is queued: those were the neighbours of a head
        no longer on screen (the request that interrupts queues its own when answered), and
        making them now would compete with the request for the CPU."""
        with self.cond:
            self.epoch += 1
            self.queue.clear()

    def interruptible(self, chunks: Any) -> Any:
        epoch = self.epoch
        for item in chunks:
            if self.epoch != epoch:
                raise _Interrupted
            yield item

    def submit(self, acts: Any, heads: Sequence[tuple[int, int]], names: tuple[str, ...]) -> None:
        with self.cond:
            self.queue.clear()  # only the neighbours of the head on screen now
            self.queue.extend((acts, int(l), int(h), names) for l, h in heads)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._work, name="iw-prefetch", daemon=True)
                self.thread.start()
            self.cond.notify()

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or being made; ``False`` on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.queue and self.current is None, timeout)

    def _work(self) -> None:
        while True:
            with self.cond:
                if not self.cond.wait_for(lambda: bool(self.queue), timeout=30.0):
                    self.thread = None
                    return
                job = self.queue.popleft()
                done = threading.Event()
                self.current = (job[0], (job[1], job[2]), done)
            try:
                self._make(*job)
            finally:
                with self.cond:
                    self.current = None
                    done.set()
                    self.cond.notify_all()
            del job  # hold no activations while idle: a closed view's are freed (and evictable)

    @staticmethod
    def _make(acts: Any, layer: int, head: int, names: tuple[str, ...]) -> None:
        try:
            have = _remembered(acts, (layer, head, True))
            _long_head(acts, layer, head, have, names, background=True)
        except Exception:  # _Interrupted, or a failure: the head is made again when asked
            pass


_PREFETCH = _Prefetcher()


def prefetch_heads(acts: Any, heads: Sequence[tuple[int, int]], names: Sequence[str]) -> None:
    """Make the long-format ``names`` of ``heads`` of a long text in the background (one thread,
    in order), so that a switch to one of them only sends what is made. Replaces what was queued;
    interrupted by any head asked for on screen. Heads already made, heads of a layer whose
    patterns are recaptured by forward passes, and short texts are skipped."""
    if acts.n_tokens <= LONG_TOKENS:
        return
    wanted = tuple(n for n in names if n in (*HEAD_NAMES, *OVERVIEW_NAMES) and n != "value_norm")
    todo = []
    for layer, head in heads:
        if not acts.answers_without_model(layer):
            continue
        with _LOCK:
            recent = _RECENT_HEADS.get(acts)
            have = recent.get((layer, head, True)) if recent is not None else None
            if have is not None and all(n in have for n in wanted):
                continue
        todo.append((layer, head))
    if todo and wanted:
        _PREFETCH.submit(acts, todo, wanted)


def prefetch_idle(timeout: float | None = None) -> bool:
    """Wait for the background thread of :func:`prefetch_heads` to finish; ``False`` on timeout."""
    return _PREFETCH.idle(timeout)


#: Level rows per band of the matrix's finer levels (``js/src/shared/pyramid.js`` ``TILE``).
BAND_ROWS = 64


def band_payload(acts: Any, layer: int, head: int, name: str, block: Any, band: Any) -> Payload:
    """One band of a finer level of the matrix's max pyramid, exact from the head's rows: float32
    ``[BAND_ROWS, ceil(n / block)]``, the block maxima (attribution: largest magnitude, signed) of
    destinations ``band · BAND_ROWS · block …`` (rows past the end 0). What the page computes from
    compact rows, without their dropped entries (``iw:band`` requests, docs/payload.md)."""
    n = acts.n_tokens
    if name not in ("attention", "attribution"):
        raise ValueError(f"name must be 'attention' or 'attribution', got {name!r}")
    if not (isinstance(block, int) and block >= 1 and block & (block - 1) == 0):
        raise ValueError(f"block must be a power of two, got {block!r}")
    start = band * BAND_ROWS * block
    if not (isinstance(band, int) and 0 <= start < n):
        raise ValueError(f"band {band!r} is outside the {n}-token matrix at block {block}")
    stop = min(n, start + BAND_ROWS * block)
    if name == "attention":
        rows = acts.pattern_rows(layer, head, start, stop)
    else:
        rows = acts.attribution_rows(layer, head, start, stop)
    level = block_max(rows, block, signed=name == "attribution")
    out = np.zeros((BAND_ROWS, level.shape[1]), np.float32)
    out[: level.shape[0]] = level
    return encode(out, "float32")
