"""A long text with a known pattern: real TextActivations of the tiny model, re-shaped to ``n``
tokens, whose heads attend by hand (no forward pass at 8,192 tokens, no ``[n, n]`` tensor kept).

Every head: ``A[0, 0] = 1``; row ``d >= 1`` puts ``0.8`` on the previous token and ``0.2`` on BOS
(a sink share of 0.2: the "auto" scale stays "all sources"). Head ``PLANTED`` also puts
``weight`` on the one cell ``(dst, src)`` far from the diagonal, its row renormalised:
``A[dst, src] = weight``, ``A[dst, dst − 1] = 0.8 (1 − weight)``, ``A[dst, 0] = 0.2 (1 − weight)``.
"""

from __future__ import annotations

from typing import Any

import torch

from induction_widgets import TextActivations

PLANTED = (1, 2)  # (layer, head) with the far cell
TEXT = "the cat sat on the mat. a dog ran to the sun! "


class PlantedActivations(TextActivations):
    """:class:`TextActivations` whose patterns are the hand-built rows above."""

    cell: tuple[int, int] = (0, 0)
    weight: float = 0.6
    rows_made: int = 0  # rows of pattern made so far (tests count the work a request did)

    def pattern_rows(self, layer: int, head: int, dst: Any, stop: Any = None) -> torch.Tensor:
        """Rows ``dst`` (positions, or ``start, stop``) of the hand-built pattern ``[rows, n]``."""
        n = self.n_tokens
        d = torch.arange(dst, stop) if stop is not None else torch.as_tensor(dst).reshape(-1)
        self.rows_made += len(d)
        out = torch.zeros(len(d), n)
        out[:, 0] = 0.2
        out[torch.arange(len(d)), (d - 1).clamp(min=0)] += 0.8
        out[d == 0, 0] = 1.0
        far, src = self.cell
        if (layer, head) == PLANTED:
            for i in torch.nonzero(d == far).flatten().tolist():
                out[i] *= 1 - self.weight
                out[i, src] += self.weight
        return out

    def answers_without_model(self, layer: int) -> bool:
        return True  # hand-built rows: no forward pass

    def attention(self, layer: int, head: int) -> torch.Tensor:
        self._check(layer, head)
        return self.pattern_rows(layer, head, 0, self.n_tokens)


def planted_activations(
    model, n: int, cell: tuple[int, int], weight: float = 0.6, seed: int = 0
) -> PlantedActivations:
    """``n`` tokens of :data:`TEXT` repeated (one word per token, after the model's BOS) on
    ``model`` (the tiny one), the far cell at ``cell = (dst, src)`` of head :data:`PLANTED`."""
    acts = PlantedActivations(model, "ab", progress=False)
    acts.cell, acts.weight = cell, weight
    g = torch.Generator().manual_seed(seed)
    words = [" " + w for w in TEXT.split()]
    acts.str_tokens = [acts.str_tokens[0], *(words * (n // len(words) + 1))[: n - 1]]
    acts.tokens = torch.zeros(n, dtype=torch.long)
    for layer in acts.layers:
        v = acts.v[layer]
        acts.v[layer] = 0.1 * torch.randn(n, v.shape[1], v.shape[2], generator=g).to(v.dtype)
        for store in (acts.q, acts.k):  # not read (patterns are hand-built); kept tiny
            store[layer] = store[layer][:1]
        acts.exact[layer] = False  # rows come from pattern_rows, not from q/k
    acts.w_u_next = 0.1 * torch.randn(acts.w_u_next.shape[0], n - 1, generator=g)
    acts.scale = torch.ones(n)
    return acts
