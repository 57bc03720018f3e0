r"""Attention sinks: how much of each row goes to the first positions, and the pattern without them.

Real models park most of an idle head's attention on BOS (and sometimes on the next few positions):
the *sink*. A colour scale over all sources then shows the sink and hides the token the head
actually reads. With a head's pattern ``A [..., dst, src]`` (any leading dims, e.g. ``[head, dst,
src]``) and the sink taken as the first ``k`` positions:

* :func:`sink_share` — ``share[..., d] = Σ_{s < k} A[..., d, s]``, the row's attention on the sink;
* :func:`without_sink` — the row renormalised over the other sources,
  ``Ã[..., d, s] = A[..., d, s] / (1 − share[..., d])`` for ``s >= k``, ``0`` for ``s < k``; a row
  with nothing outside the sink (``d < k``, or all its mass on the sink) is all zeros;
* :func:`sink_width` — ``k`` read off the pattern: the leading run of positions ``s < most`` that each
  receive at least ``threshold`` of the attention of the rows that can see past them (rows
  ``d >= most``) on average; 1 (BOS) for most heads of models with a sink, 0 when nothing stands out;
* :func:`sink_summary` — all of it for one head, with the default scale a view should start on.

Pure torch; nothing here runs a model.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputError

#: A head whose rows put this much of their attention on the sink on average starts on the
#: renormalised scale ("without sink") by default.
SINK_DEFAULT_THRESHOLD = 0.3


def _check(pattern: Any, first: int) -> torch.Tensor:
    if not isinstance(pattern, torch.Tensor) or pattern.ndim < 2:
        raise InputError(
            "pattern must be a tensor [..., dst, src]: e.g. acts.attention(layer, head)"
        )
    if pattern.shape[-1] != pattern.shape[-2]:
        raise InputError(
            f"pattern must be square over [dst, src], got shape {tuple(pattern.shape)}"
        )
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise InputError(f"first must be an int >= 0 (how many leading positions), got {first!r}")
    return pattern


def sink_share(pattern: torch.Tensor, first: int = 1) -> torch.Tensor:
    """Each row's attention on the first ``first`` positions: ``[..., dst, src]`` → ``[..., dst]``."""
    pattern = _check(pattern, first)
    return pattern[..., :first].float().sum(-1)


def without_sink(pattern: torch.Tensor, first: int = 1) -> torch.Tensor:
    """The pattern with the first ``first`` source positions left out and each row renormalised over
    the others: ``[..., dst, src]`` float32, rows summing to 1 (or 0 when nothing is left)."""
    pattern = _check(pattern, first)
    rest = pattern.float().clone()
    rest[..., :first] = 0
    total = rest.sum(-1, keepdim=True)
    return torch.where(total > 0, rest / total.clamp(min=1e-30), torch.zeros_like(rest))


def sink_width(pattern: torch.Tensor, *, most: int = 4, threshold: float = 0.1) -> int:
    """How many leading positions form the sink (0 … ``most``): the longest run ``0 … k−1`` of
    sources that each get, on average over the rows ``d >= most`` (over every leading dim too), at
    least ``threshold`` of the attention. A uniform head over ``n`` sources gives each ``1/n``."""
    pattern = _check(pattern, 0)
    n = pattern.shape[-1]
    if n <= most:
        most = max(n - 1, 0)
    rows = pattern[..., most:, :].float().reshape(-1, n)
    if rows.shape[0] == 0:
        return 0
    mean = rows.mean(0)
    k = 0
    while k < most and float(mean[k]) >= threshold:
        k += 1
    return k


def sink_summary(pattern: torch.Tensor, first: int | None = None) -> dict[str, Any]:
    """What a view needs to offer the sink control for one head's ``[dst, src]`` pattern.

    ``first``: the sink width (default :func:`sink_width`, at least 1 so that BOS is always the
    candidate); ``share``: :func:`sink_share` per row ``[dst]``; ``mean_share``: its mean over rows
    ``d >= first`` (rows that can see past the sink); ``default_scale``: ``"without sink"`` when
    ``mean_share >= SINK_DEFAULT_THRESHOLD``, else ``"all sources"``; ``pattern_without_sink``:
    :func:`without_sink` ``[dst, src]``.
    """
    pattern = _check(pattern, 0)
    if pattern.ndim != 2:
        raise InputError(
            f"sink_summary takes one head's [dst, src] pattern, got {tuple(pattern.shape)}"
        )
    k = max(1, sink_width(pattern)) if first is None else first
    share = sink_share(pattern, k)
    seen = share[k:]
    mean = float(seen.mean()) if len(seen) else 0.0
    return {
        "first": k,
        "share": share,
        "mean_share": mean,
        "default_scale": "without sink" if mean >= SINK_DEFAULT_THRESHOLD else "all sources",
        "pattern_without_sink": without_sink(pattern, k),
    }
