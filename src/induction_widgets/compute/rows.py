"""A head's ``[dst, src]`` matrices in row chunks, never the whole matrix at once (long texts).

:func:`iter_head_rows` walks rows ``[0, n)`` a chunk at a time, giving the causal part of the
attention pattern's rows (recomputed from q/k for just those rows) and, when asked, of the
direct-path logit attribution's (``attr[d, s] = A[d, s] · (u_d · v_s)``, the last row NaN), both
from one ``q · Kᵀ`` per chunk (:meth:`TextActivations.row_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

#: Rows per chunk: [512, 8,192] float32 is 16 MB.
ROW_CHUNK = 512


def iter_head_rows(
    acts: Any,
    layer: int,
    head: int,
    *,
    attribution: bool = True,
    chunk: int = ROW_CHUNK,
    block: int = 1,
    log: bool = False,
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor | None]]:
    """``(start, A[start:stop, :w], attr[start:stop, :w] or None)`` for consecutive chunks of
    ``chunk`` rows covering ``[0, n)`` (float32 ``[rows, w]``, ``w = min(n, ⌈stop / block⌉ ·
    block)``: the columns beyond are 0 in these rows); ``log``: ``log A`` instead of ``A``
    (without the attribution)."""
    yield from acts.row_chunks(
        layer, head, chunk=chunk, block=block, attribution=attribution, log=log
    )
