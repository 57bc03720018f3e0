r"""The long-range induction score: prefix matching across the model's whole context.

Input: BOS followed by ``L`` distinct random tokens repeated twice (``1 + 2L`` tokens, seed ``seed``;
:func:`~.tasks.repeated_random_tokens`), ``L`` as long as the model allows by default
(``⌊(n_ctx − 1) / 2⌋``, at most the number of ordinary tokens): 2 × 4,095 on SmolLM2. Every
destination ``d`` of the second repeat has exactly one earlier occurrence of its token, at ``d − L``;
its induction target is the token after it, ``s = d − L + 1``. Then

.. math:: \text{long\_range\_induction}[l, h] = \frac{1}{L} \sum_{d = L + 1}^{2L} A_{l,h}[d, d - L + 1]

— the paper's prefix matching on one long repeated sequence, whose targets lie ``L − 1`` tokens
back instead of 25. Range [0, 1].

Cost: one pass over the tokens (:class:`~.attribution.TextActivations`: memory-efficient attention
where the model allows, every layer's q/k/v kept), then per head ``L`` dot products
``q_d · k_{d−L+1}`` and each row's normaliser — from the pass itself where PyTorch's CPU flash
attention gave it, else from ``q · Kᵀ`` in row chunks. Never a ``[head, pos, pos]`` tensor.
"""

from __future__ import annotations

from typing import Any

import torch

from ..checks import check_int, check_seed
from ..errors import InputError
from ._model import model_info
from .attribution import TextActivations
from .tasks import candidate_token_ids, repeated_random_tokens


def max_long_range_length(model: Any) -> int:
    """The longest ``L`` the model allows: ``min(⌊(n_ctx − 1) / 2⌋, #ordinary tokens)``."""
    info = model_info(model)
    return min((info.n_ctx - 1) // 2, len(candidate_token_ids(model)))


def long_range_induction_scores(
    model: Any, length: int | None = None, *, seed: int = 0, progress: bool | None = None
) -> torch.Tensor:
    """Every head's long-range induction score (module docstring): ``[n_layers, n_heads]`` float32.

    ``length``: the repeated sequence's ``L`` (default and maximum: :func:`max_long_range_length`).
    Show it in the head map with ``dataclasses.replace(scores, long_range_induction=...)``.
    """
    longest = max_long_range_length(model)
    if longest < 2:
        raise InputError(
            f"this model's context (n_ctx={model_info(model).n_ctx}) or vocabulary is too small "
            "for a repeated sequence of 2 tokens"
        )
    n = longest if length is None else check_int("length", length, 2)
    if n > longest:
        raise InputError(
            f"length={n} is too long: 1 + 2·length tokens must fit the context and the tokens "
            f"must be distinct, so use length <= {longest} (or length=None for the longest)"
        )
    seed = check_seed(seed)
    tokens = repeated_random_tokens(model, 1, n, 2, seed=seed)[0].cpu()
    acts = TextActivations(model, tokens, progress=progress)
    dst = torch.arange(n + 1, 2 * n + 1)
    src = dst - n + 1
    info = acts.info
    out = torch.empty(info.n_layers, info.n_heads)
    for layer in range(info.n_layers):
        for head in range(info.n_heads):
            out[layer, head] = acts.pattern_entries(layer, head, dst, src).mean()
    return out
