r"""The previous-token partner of an induction head: K-composition and the attention check.

An induction head finds "the token after an earlier occurrence of the current token" because its
**keys** read what an earlier **previous-token head** wrote there ("the token before me was A").
That is K-composition (Elhage et al. 2021, *A Mathematical Framework for Transformer Circuits*).

**K-composition score** — TransformerLens's definition (``all_composition_scores("K")``), stated
here in full: for an earlier head ``e`` (OV circuit ``W_OV^e = W_V^e W_O^e``, ``[d_model,
d_model]``) and the chosen head ``i`` (QK circuit ``W_QK^i = W_Q^i W_K^{iT}``),

.. math:: \mathrm{K}(e \to i) = \frac{\lVert W_{OV}^e\, W_{QK}^{i\,T} \rVert_F}
          {\lVert W_{OV}^e \rVert_F\, \lVert W_{QK}^{i} \rVert_F}
          = \frac{\lVert W_V^e W_O^e W_K^i W_Q^{iT} \rVert_F}{\cdots}

(the framework paper's ``‖W_QK^T W_OV‖`` up to transposition, which leaves Frobenius norms alone).
It is in ``[0, 1]``: high when the head's output lands in the subspace the keys read (on the tiny
model the previous-token head L0H3 scores 0.22–0.25 into each layer-1 induction head, L0H0,
which rests on BOS, 0.11). Biases are ignored; the weights are
TransformerLens's processed ones (LayerNorm folded in), with ``W_K`` of the key/value head a query
head reads under grouped-query attention. Norms are computed from ``[d_head, d_head]`` Gram
matrices, never forming ``[d_model, d_model]`` products:
``‖V O K Qᵀ‖²_F = tr(Mᵀ (VᵀV) M (QᵀQ))`` with ``M = O K``.

**Attention check** — the previous-token score of every earlier head on repeated random tokens
(:func:`previous_token_scores`): a real partner also attends from each token to the one before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch

from ..checks import check_head, check_tensor, check_weights
from ..errors import InputError
from ._model import model_info
from .scores import previous_token_scores
from .tasks import repeated_random_tokens


def _expand_kv(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``[layer, kv_head, ...]`` → ``[layer, head, ...]`` (grouped-query attention)."""
    if w.shape[1] == n_heads:
        return w
    return w.repeat_interleave(n_heads // w.shape[1], dim=1)


def k_composition_scores(model: Any, layer: int, head: int) -> torch.Tensor:
    """K-composition of every earlier head into head ``(layer, head)``: ``[n_layers, n_heads]``.

    See the module docstring for the definition (TransformerLens's ``all_composition_scores("K")``
    column for this head). Entries for layers ``>= layer`` are NaN (no earlier head there).
    """
    info = model_info(model)
    layer, head = check_head(info, layer, head)
    check_weights(model)
    out = torch.full((info.n_layers, info.n_heads), float("nan"))
    if layer == 0:
        return out
    with torch.no_grad():
        w_q = model.W_Q[layer, head].double()  # [d_model, d_head]
        w_k = _expand_kv(model.W_K, info.n_heads)[layer, head].double()  # [d_model, d_head]
        w_v = _expand_kv(model.W_V, info.n_heads)[:layer].double()  # [l, h, d_model, d_head]
        w_o = model.W_O[:layer].double()  # [l, h, d_head, d_model]
        g_q = w_q.T @ w_q  # [d_head, d_head]
        g_k = w_k.T @ w_k
        g_v = w_v.transpose(-1, -2) @ w_v  # [l, h, d_head, d_head]
        g_o = w_o @ w_o.transpose(-1, -2)
        m = w_o @ w_k  # [l, h, d_head, d_head]
        prod = torch.einsum("lhab,lhac,lhcd,db->lh", m, g_v, m, g_q)  # tr(Mᵀ G_V M G_Q)
        ov = torch.einsum("lhab,lhba->lh", g_v, g_o)  # ‖V O‖²_F = tr(VᵀV · O Oᵀ)
        qk = torch.trace(g_q @ g_k)  # ‖Q Kᵀ‖²_F
        score = prod.clamp(min=0).sqrt() / (
            ov.clamp(min=1e-300).sqrt() * qk.clamp(min=1e-300).sqrt()
        )
    out[:layer] = score.float().cpu()
    return out


class PartnerRow(NamedTuple):
    """One earlier head, as :attr:`Partners.ranked` lists them."""

    layer: int
    head: int
    k_composition: float
    previous_token: float


@dataclass
class Partners:
    """The earlier heads of an induction head, ranked by K-composition."""

    layer: int
    head: int
    k_composition: torch.Tensor  # [n_layers, n_heads]; NaN for layers >= layer
    previous_token: torch.Tensor  # [n_layers, n_heads] on repeated random tokens
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ranked(self) -> list[PartnerRow]:
        """Every earlier head, highest K-composition first."""
        rows = [
            PartnerRow(l, h, float(self.k_composition[l, h]), float(self.previous_token[l, h]))
            for l in range(self.layer)
            for h in range(self.k_composition.shape[1])
        ]
        return sorted(rows, key=lambda r: -r.k_composition)

    def top(self, k: int = 5) -> list[PartnerRow]:
        """The ``k`` best partners."""
        return self.ranked[:k]

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.ranked, columns=list(PartnerRow._fields))


def previous_token_partners(
    model: Any,
    layer: int,
    head: int,
    *,
    tokens: Any = None,
    previous_token: torch.Tensor | None = None,
) -> Partners:
    """K-composition of every earlier head into ``(layer, head)``, beside its previous-token score.

    ``previous_token``: a ``[n_layers, n_heads]`` score to reuse (e.g. ``head_scores(model)
    .previous_token``); otherwise measured on ``tokens`` (default :func:`repeated_random_tokens`,
    the paper's 10 × (BOS + 25 random tokens × 4)). A layer-0 head has no earlier heads to
    compose with: :class:`InputError`.
    """
    info = model_info(model)
    layer, head = check_head(info, layer, head)
    if layer == 0:
        raise InputError(
            f"head L0H{head} is in layer 0: no earlier head can write what its keys read, so it "
            "has no previous-token partners; ask about a head in layer 1 or later (an induction "
            "head, e.g. head_scores(model).induction_heads()[0])"
        )
    comp = k_composition_scores(model, layer, head)
    if previous_token is None:
        toks = repeated_random_tokens(model) if tokens is None else tokens
        previous_token = previous_token_scores(model, toks)
    else:
        previous_token = check_tensor(
            "previous_token",
            previous_token,
            (info.n_layers, info.n_heads),
            "pass head_scores(model).previous_token (or leave it out)",
        )
    return Partners(layer, head, comp, previous_token.float().cpu())
