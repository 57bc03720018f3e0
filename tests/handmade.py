"""Hand-built one-layer models with known answers, for TransformerLens 4 and 3.9 alike.

Vocabulary ``V`` tokens, ``P`` positions, no normalisation, one attention head:

* ``W_E[t] = e_t`` (dims ``0..V-1``), ``W_pos[p] = e_{V+p}``;
* queries ``q_d = e_d`` and keys ``k_s = c·e_{s+1}`` (head space), so ``q_d·k_s`` is large exactly when
  ``s = d − 1``: a sharp previous-token head;
* ``W_V`` copies the token one-hot into head dims ``0..V-1``, ``W_O`` writes it back (times ``sign``),
  ``W_U`` reads dims ``0..V-1``: the OV circuit is ``sign · I``.
"""

from __future__ import annotations

from importlib.metadata import version

import torch

V, P, D_HEAD, SHARPNESS = 12, 16, 16, 80.0
D_MODEL = V + P


def weights(sign: float = 1.0, poison: float | None = None) -> dict[str, torch.Tensor]:
    """TL-named weights: W_E [V, D], W_pos [P, D], W_Q/W_K/W_V [1, D, d_head], W_O [1, d_head, D], W_U [D, V]."""
    w_e = torch.zeros(V, D_MODEL)
    w_e[torch.arange(V), torch.arange(V)] = 1
    w_pos = torch.zeros(P, D_MODEL)
    w_pos[torch.arange(P), V + torch.arange(P)] = 1
    w_q = torch.zeros(1, D_MODEL, D_HEAD)
    w_q[0, V + torch.arange(P), torch.arange(P)] = 1
    w_k = torch.zeros(1, D_MODEL, D_HEAD)
    w_k[0, V + torch.arange(P - 1), torch.arange(1, P)] = SHARPNESS
    w_v = torch.zeros(1, D_MODEL, D_HEAD)
    w_v[0, torch.arange(V), torch.arange(V)] = 1
    w_o = torch.zeros(1, D_HEAD, D_MODEL)
    w_o[0, torch.arange(V), torch.arange(V)] = sign
    w_u = torch.zeros(D_MODEL, V)
    w_u[torch.arange(V), torch.arange(V)] = 1
    if poison is not None:  # a broken checkpoint: one key weight is NaN or infinite
        w_k[0, V + 2, 3] = poison
    return {"W_E": w_e, "W_pos": w_pos, "W_Q": w_q, "W_K": w_k, "W_V": w_v, "W_O": w_o, "W_U": w_u}


CONFIG = dict(
    d_model=D_MODEL, d_head=D_HEAD, n_layers=1, n_heads=1, n_ctx=P, d_vocab=V,
    attn_only=True, normalization_type=None, positional_embedding_type="standard", act_fn="relu",
)  # fmt: skip


def build(sign: float = 1.0, poison: float | None = None):
    """The hand-built model as a TransformerBridge (TL 4) or HookedTransformer (TL 3.9), no tokenizer."""
    w = weights(sign, poison)
    if int(version("transformer_lens").split(".")[0]) >= 4:
        from transformer_lens import TransformerBridge, TransformerBridgeConfig

        bridge = TransformerBridge.boot_native(
            TransformerBridgeConfig(**CONFIG, init_weights=False)
        )
        native = {
            "tok_embed.weight": w["W_E"],
            "pos.weight": w["W_pos"],
            "layers.0.attn.q.weight": w["W_Q"][0].T,
            "layers.0.attn.k.weight": w["W_K"][0].T,
            "layers.0.attn.v.weight": w["W_V"][0].T,
            "layers.0.attn.o.weight": w["W_O"][0].T,
            "head.weight": w["W_U"].T,
        }
        with torch.no_grad():
            for key, tensor in bridge.original_model.state_dict(keep_vars=True).items():
                clean = key.replace("._original_component", "").replace("_original_component.", "")
                tensor.copy_(native[clean]) if clean in native else tensor.zero_()
        bridge.enable_compatibility_mode(disable_warnings=True)
        return bridge
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    model = HookedTransformer(HookedTransformerConfig(**CONFIG))
    state = model.state_dict()
    for key in state:
        state[key] = torch.zeros_like(state[key])
    state.update(
        {
            "embed.W_E": w["W_E"],
            "pos_embed.W_pos": w["W_pos"],
            "blocks.0.attn.W_Q": w["W_Q"],
            "blocks.0.attn.W_K": w["W_K"],
            "blocks.0.attn.W_V": w["W_V"],
            "blocks.0.attn.W_O": w["W_O"],
            "unembed.W_U": w["W_U"],
        }
    )
    model.load_state_dict(state)
    return model
