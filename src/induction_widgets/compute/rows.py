"""A head's ``[dst, src]`` matrices in row chunks, never the whole matrix at once (long texts).

``head_rows(acts, layer, head, start, stop)`` gives rows ``[start, stop)`` of the attention pattern
``A [dst, src]`` and, optionally, of the direct-path logit attribution

    attr[d, s] = A[d, s] · (v_s W_O / σ_d) · W̄_U[:, t_{d+1}]        (NaN for the last row d = n − 1)

(the same formula as :func:`~induction_widgets.compute.attribution.attribution_from`, a chunk of
rows at a time). The pattern rows come from ``acts.pattern_rows`` where the activations offer it
(recomputed from q/k for just those rows); otherwise the head's whole pattern is computed once per
:func:`iter_head_rows` and sliced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

#: Rows per chunk: [512, 8,192] float32 is 16 MB.
ROW_CHUNK = 512


def _attribution_rows(
    acts: Any, layer: int, head: int, start: int, pattern: torch.Tensor
) -> torch.Tensor:
    """Logit attribution rows ``[start, start + len(pattern))`` from the pattern's rows."""
    n = acts.n_tokens
    stop = start + pattern.shape[0]
    w_o = acts.w_o[acts.layers.index(layer), head]  # [d_head, d_model]
    scale = acts.scale
    if layer in acts.post_scale:
        scale = scale * acts.post_scale[layer]
    out = torch.empty(pattern.shape)
    last = min(stop, n - 1)  # the last row has no next token
    if last > start:
        direction = w_o @ acts.w_u_next[:, start:last]  # [d_head, rows]
        per_source = (acts.values(layer, head) @ direction).T  # [rows, src]
        torch.mul(pattern[: last - start], per_source, out=out[: last - start])
        out[: last - start] /= scale[start:last, None]
    out[last - start :] = float("nan")
    return out


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
    rows_of = getattr(acts, "pattern_rows", None)
    full: torch.Tensor | None = None
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        if rows_of is not None:
            pattern = rows_of(layer, head, start, stop).float()
        else:
            if full is None:
                full = acts.attention(layer, head).float()
            pattern = full[start:stop]
        attr = _attribution_rows(acts, layer, head, start, pattern) if attribution else None
        yield start, pattern, attr
