"""OV copying under grouped-query attention, against the full ``[vocab, vocab]`` circuit."""

from __future__ import annotations

from pathlib import Path

import torch
from archs import TL_MAJOR, build


def test_ov_copying_under_grouped_query_attention(tmp_path: Path) -> None:
    """OV copying on a GQA model (4 query heads over 2 KV heads) equals the eigenvalues of the
    full ``[vocab, vocab]`` circuit ``W_E W_V W_O W_U`` of each head, computed the long way."""
    import induction_widgets as iw

    model = iw.load_model(build("llama" if TL_MAJOR >= 4 else "qwen2", tmp_path), progress=False)
    ours = iw.ov_copying_scores(model)
    w_e, w_u = model.W_E.detach().double(), model.W_U.detach().double()
    n_heads = ours.shape[1]
    for layer in range(ours.shape[0]):
        w_v = model.W_V[layer].detach().double()
        group = n_heads // w_v.shape[0]
        for head in range(n_heads):
            full = w_e @ w_v[head // group] @ model.W_O[layer, head].detach().double() @ w_u
            eig = torch.linalg.eigvals(full)
            expected = eig.sum().real / eig.abs().sum()
            assert abs(float(ours[layer, head]) - float(expected)) < 1e-3, (layer, head)
