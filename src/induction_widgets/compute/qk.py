r"""One head's attention from its queries and keys, a chunk of rows at a time.

A head's pattern on a text of ``n`` tokens is

.. math:: A[d, s] = \frac{\exp(S[d, s])}{\sum_{s' \le d} \exp(S[d, s'])}, \qquad
          S[d, s] = c\left(\frac{q_d \cdot k_s}{\text{scale}}\right) \text{ for } s \le d

(``c``: the soft cap ``cap · tanh(x / cap)`` where the model has one, else the identity; ``A[d, s] = 0``
for ``s > d``). Row ``d`` is one softmax of ``q_d · Kᵀ``: rows cost ``rows × n × d_head``
multiply-adds, never the ``[n, n]`` matrix. A column ``A[:, s]`` needs every row's normaliser
``lse[d] = log Σ_{s' ≤ d} exp(S[d, s'])``; :func:`row_logsumexp` computes it in row chunks once per
head (``[n]``, 32 KB at 8,192 tokens).

The block maximum ``M[i, j] = max_{d ∈ D_i, s ∈ S_j} A[d, s]`` (blocks of ``block`` tokens) is
computed exactly without normalising every element: within row ``d`` the softmax is monotone in
``S[d, s]``, so ``max_{s ∈ S_j} A[d, s] = exp(max_{s ∈ S_j} S[d, s] − lse[d])``. One pass over the
row chunks gives both (a matmul, a log-sum-exp and a max-pool per chunk); only the causal half
``s < ⌈(d+1)/block⌉·block`` of each chunk is multiplied.

Every function takes the head's ``q [n, d_head]`` and ``k [n, d_head]`` (any float dtype, computed
in float32) and a :class:`Scoring` (scale, soft cap) and returns float32 on the CPU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

#: Rows per chunk: a [512, 8,192] float32 score block is 16 MB.
ROW_CHUNK = 512


@dataclass(frozen=True)
class Scoring:
    """How scores are made from ``q · k``: divided by ``scale``, then soft-capped (``cap > 0``)."""

    scale: float
    cap: float = -1.0

    def __call__(self, dots: torch.Tensor) -> torch.Tensor:
        scores = dots.div_(self.scale) if self.scale != 1.0 else dots
        if self.cap > 0:
            scores = scores.div_(self.cap).tanh_().mul_(self.cap)
        return scores


def scores_rows(
    q: torch.Tensor, k: torch.Tensor, scoring: Scoring, rows: torch.Tensor, width: int | None = None
) -> torch.Tensor:
    """``S[rows, :width]`` with ``-inf`` where ``s > d``: ``[len(rows), width]`` float32
    (``width`` defaults to ``n``)."""
    width = k.shape[0] if width is None else width
    s = scoring(q[rows].float() @ k[:width].float().T)
    mask = torch.arange(width)[None, :] > rows[:, None]
    return s.masked_fill_(mask, float("-inf"))


def _chunk_scores(
    q: torch.Tensor,
    k: torch.Tensor,
    scoring: Scoring,
    start: int,
    stop: int,
    width: int,
    lse: torch.Tensor | None = None,
) -> torch.Tensor:
    """``S[start:stop, :width]`` (``width ≥ stop``), causal mask applied: float32. With ``lse``
    (the rows' normalisers, no soft cap) it returns ``S − lse[:, None]`` from the same matmul
    (``[q / scale, −lse] · [k, 1]``), ready to exponentiate."""
    qs = q[start:stop].float()
    ks = k[:width].float()
    if scoring.cap <= 0:  # the scale folded into the [rows, d_head] queries, not the scores
        if scoring.scale != 1.0:
            qs = qs / scoring.scale
        if lse is not None:
            qs = torch.cat([qs, -lse[:, None].float()], 1)
            ks = torch.cat([ks, torch.ones(width, 1)], 1)
        s = qs @ ks.T
    else:
        s = scoring(qs @ ks.T)
        if lse is not None:
            s.sub_(lse[:, None].float())
    # columns below start are all at or left of the diagonal; the square [start, stop) holds it,
    # and every column from stop on lies right of it
    s[:, start:stop].masked_fill_(_upper(stop - start), float("-inf"))
    s[:, stop:width] = float("-inf")
    return s


@functools.lru_cache(maxsize=8)
def _upper(m: int) -> torch.Tensor:
    """The strictly upper triangle of an ``m × m`` square (bool), kept per size (read only)."""
    return torch.ones(m, m, dtype=torch.bool).triu_(1)


def _chunks(n: int, chunk: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, chunk):
        yield start, min(n, start + chunk)


def row_logsumexp(
    q: torch.Tensor, k: torch.Tensor, scoring: Scoring, *, chunk: int = ROW_CHUNK
) -> torch.Tensor:
    """``lse[d] = log Σ_{s ≤ d} exp(S[d, s])``: ``[n]`` float32, in chunks of ``chunk`` rows."""
    n = q.shape[0]
    out = torch.empty(n)
    for start, stop in _chunks(n, chunk):
        out[start:stop] = torch.logsumexp(_chunk_scores(q, k, scoring, start, stop, stop), -1)
    return out


def pattern_rows(
    q: torch.Tensor, k: torch.Tensor, scoring: Scoring, rows: torch.Tensor
) -> torch.Tensor:
    """``A[rows, :]``: ``[len(rows), n]`` float32, each row a softmax over ``s ≤ d`` (0 beyond)."""
    out = torch.empty(len(rows), k.shape[0])
    for start, stop in _chunks(len(rows), ROW_CHUNK):
        out[start:stop] = scores_rows(q, k, scoring, rows[start:stop]).softmax(-1)
    return out


def pattern_cols(
    q: torch.Tensor, k: torch.Tensor, scoring: Scoring, cols: torch.Tensor, lse: torch.Tensor
) -> torch.Tensor:
    """``A[:, cols]``: ``[n, len(cols)]`` float32 from every row's normaliser ``lse [n]``
    (:func:`row_logsumexp`): ``exp(S[d, s] − lse[d])`` for ``d ≥ s``, 0 above the diagonal."""
    n = q.shape[0]
    s = scoring(q.float() @ k[cols].float().T)  # [n, cols]
    s = (s - lse[:, None]).exp_()
    return s.masked_fill_(torch.arange(n)[:, None] < cols[None, :], 0.0)


def pattern_chunks(
    q: torch.Tensor,
    k: torch.Tensor,
    scoring: Scoring,
    *,
    chunk: int = ROW_CHUNK,
    block: int = 1,
    lse: torch.Tensor | None = None,
    weights: tuple[torch.Tensor, torch.Tensor] | None = None,
    log: bool = False,
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor | None, torch.Tensor]]:
    """The pattern's causal part, a chunk of rows at a time: ``(start, A[start:stop, :w],
    X[start:stop, :w] or None, lse[start:stop])`` for consecutive chunks of ``chunk`` rows (a
    multiple of ``block``), ``w = min(n, ⌈stop / block⌉ · block)`` — every column right of ``w``
    is 0 in these rows, so a chunk costs ``rows × w × d_head``, half the square on average.

    ``A`` is each row's softmax (``exp(S − lse)``; with ``lse`` given, e.g. the attention pass's
    own, no log-sum-exp is taken). ``weights = (u [n, r], w [n, r])`` also gives the weighted
    pattern ``X[d, s] = A[d, s] · (u_d · w_s)`` from the same ``A`` (a row of NaN in ``u`` makes
    its row NaN). float32, one chunk alive at a time: what a view needs to show one head of a
    long text (block maxima, the largest entries of each row) in one pass over ``q · Kᵀ``.

    ``log=True`` (no ``weights``): ``log A = S − lse`` instead of ``A`` (``−inf`` above the
    diagonal), nothing exponentiated: block maxima and a row's largest entries are the same
    cells in log space, so a caller exponentiates only those."""
    if log and weights is not None:
        raise ValueError("log=True gives log A only: the weighted pattern needs A itself")
    n = q.shape[0]
    chunk = max(block, chunk // block * block)
    for start, stop in _chunks(n, chunk):
        width = min(n, n_blocks(stop, block) * block)
        if lse is None:
            s = _chunk_scores(q, k, scoring, start, stop, width)
            chunk_lse = torch.logsumexp(s, -1)
            a = s.sub_(chunk_lse[:, None])
        else:
            chunk_lse = lse[start:stop].float()
            a = _chunk_scores(q, k, scoring, start, stop, width, chunk_lse)
        if not log:
            a = a.exp_()
        x = None
        if weights is not None:
            u, w = weights
            x = (u[start:stop].float() @ w[:width].float().T).mul_(a)
        yield start, a, x, chunk_lse


def n_blocks(n: int, block: int) -> int:
    """``⌈n / block⌉``."""
    return -(-n // block)


def _pool_max(x: torch.Tensor, block: int, fill: float) -> torch.Tensor:
    """``[rows, width]`` → ``[rows, ⌈width / block⌉]`` maxima of column blocks (pad with ``fill``)."""
    rows, width = x.shape
    nb = n_blocks(width, block)
    if nb * block != width:
        x = torch.nn.functional.pad(x, (0, nb * block - width), value=fill)
    return x.view(rows, nb, block).amax(-1)


def block_extrema(
    x: torch.Tensor, block: int, *, fill: float = 0.0, low: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(hi, lo)``: the largest (and with ``low`` the smallest, else ``None``) value of each
    ``block × block`` cell group of ``x [rows, cols]``: ``[⌈rows / b⌉, ⌈cols / b⌉]`` each, the last
    groups padded with ``fill``. Rows of blocks first (a reduction over the middle axis, contiguous
    inside), then columns: far cheaper than a pooling over the last axis."""
    rows, cols = x.shape
    nr, nc = n_blocks(rows, block), n_blocks(cols, block)
    if (nr * block, nc * block) != (rows, cols):
        x = torch.nn.functional.pad(x, (0, nc * block - cols, 0, nr * block - rows), value=fill)
    blocks = x.reshape(nr, block, nc * block)
    hi = blocks.amax(1).view(nr, nc, block).amax(-1)
    lo = blocks.amin(1).view(nr, nc, block).amin(-1) if low else None
    return hi, lo


def block_max(
    q: torch.Tensor,
    k: torch.Tensor,
    scoring: Scoring,
    block: int,
    *,
    chunk: int = ROW_CHUNK,
    lse: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M [nb, nb], lse [n])``: ``M[i, j] = max A[d, s]`` over the block's cells (0 for blocks
    wholly above the diagonal), ``nb = ⌈n / block⌉``, and each row's normaliser (module docstring).

    Rows go ``chunk`` at a time (rounded to a multiple of ``block``); a chunk multiplies only the
    keys up to its last block's end; only the block maxima of ``log A`` are exponentiated. Given
    ``lse`` (known normalisers, e.g. from the attention pass), ``log A`` comes from the matmul
    itself: no log-sum-exp over every score."""
    n = q.shape[0]
    nb = n_blocks(n, block)
    chunk = max(block, chunk // block * block)
    out = torch.zeros(nb, nb)
    known = lse is not None
    lse = lse.float() if lse is not None else torch.empty(n)
    for start, stop in _chunks(n, chunk):
        width = min(n, n_blocks(stop, block) * block)
        if known:  # log A = S − lse straight from the matmul
            log_a = _chunk_scores(q, k, scoring, start, stop, width, lse[start:stop])
        else:
            log_a = _chunk_scores(q, k, scoring, start, stop, width)  # [rows, width]
            chunk_lse = torch.logsumexp(log_a, -1)
            lse[start:stop] = chunk_lse
            log_a.sub_(chunk_lse[:, None])
        # exp is monotone: the block maxima of log A, then one exp per block
        pooled, _ = block_extrema(log_a, block, fill=float("-inf"))
        b0 = start // block
        out[b0 : b0 + pooled.shape[0], : pooled.shape[1]] = pooled.exp_()  # exp(-inf) = 0
    return out, lse


def signed_block_max(
    q: torch.Tensor,
    k: torch.Tensor,
    scoring: Scoring,
    lse: torch.Tensor,
    weight_rows: torch.Tensor,
    weight_cols: torch.Tensor,
    block: int,
    *,
    chunk: int = ROW_CHUNK,
) -> torch.Tensor:
    """Largest-magnitude value of ``X[d, s] = A[d, s] · (u_d · w_s)`` per block, sign kept:
    ``[nb, nb]`` float32.

    ``weight_rows [n, r]`` (``u_d``; a row of NaN makes its row of ``X`` NaN, ignored unless a
    block has nothing else, then NaN), ``weight_cols [n, r]`` (``w_s``), ``lse [n]`` from
    :func:`block_max` / :func:`row_logsumexp`. Blocks wholly above the diagonal are 0."""
    n = q.shape[0]
    nb = n_blocks(n, block)
    chunk = max(block, chunk // block * block)
    out = torch.zeros(nb, nb)
    w_cols = weight_cols.float()
    for start, stop in _chunks(n, chunk):
        width = min(n, n_blocks(stop, block) * block)
        s = _chunk_scores(q, k, scoring, start, stop, width)
        x = s.sub_(lse[start:stop, None]).exp_()  # A[start:stop, :width]
        x.mul_(weight_rows[start:stop].float() @ w_cols[:width].T)
        nan = torch.isnan(x)
        hi = _pool_max(x.masked_fill(nan, -math.inf), block, -math.inf)
        lo = -_pool_max((-x).masked_fill_(nan, -math.inf), block, -math.inf)
        hi = _pool_max(hi.T.contiguous(), block, -math.inf).T
        lo = -_pool_max((-lo).T.contiguous(), block, -math.inf).T
        best = torch.where(hi.abs() >= lo.abs(), hi, lo)
        best = best.masked_fill_(torch.isinf(best), math.nan)  # a block of NaN cells only
        b0 = start // block
        out[b0 : b0 + best.shape[0], : best.shape[1]] = best
    return out
