"""A head's ``[dst, src]`` matrices in row chunks, never the whole matrix at once (long texts).

:func:`iter_head_rows` walks rows ``[0, n)`` a chunk at a time, giving the attention pattern's rows
(:meth:`TextActivations.pattern_rows`, recomputed from q/k for just those rows) and, when asked, the
direct-path logit attribution's (:meth:`TextActivations.attribution_rows`,
``attr[d, s] = A[d, s] · (u_d · v_s)``, the last row NaN).
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
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor | None]]:
    """``(start, A[start:stop], attr[start:stop] or None)`` for consecutive chunks of ``chunk`` rows
    covering ``[0, n)`` (float32 ``[rows, n]``)."""
    n = acts.n_tokens
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        pattern = acts.pattern_rows(layer, head, start, stop).float()
        attr = acts.attribution_rows(layer, head, start, stop).float() if attribution else None
        yield start, pattern, attr
