r"""Attention patterns and direct-path logit attribution of one head on one text.

**Logit attribution** (``[dst, src]``): at destination ``d`` the head adds
``Σ_s A[d, s] · v_s W_O`` to the residual stream (``v_s``: the value vector of source ``s``, from the
key/value head the query head reads). Through the final norm (scale ``σ_d``; LayerNorm models also
centre the residual, so ``W_O`` is centred over ``d_model`` for them) and the unembedding, the part
that comes from source ``s`` raises the logit of the token that actually follows, ``t_{d+1}``, by

.. math:: \mathrm{attr}[d, s] = A[d, s] \cdot (v_s W_O / σ_d) \cdot \bar W_U[:, t_{d+1}]

where :math:`\bar W_U` is the unembedding centred over the vocabulary (logits of zero mean; a no-op
after ``enable_compatibility_mode`` / ``center_unembed``). Summed over ``s`` this is exactly
TransformerLens's per-head direct logit attribution (``stack_head_results`` →
``apply_ln_to_stack`` → ``logit_attrs``). The last position has no next token: its row is NaN.

The widget's view of a token "the logit attribution of token ``p``" is row ``p − 1``.

With a post-attention norm (Gemma 2/3, OLMo 2: gain ``g``, per-position scale ``σ^post_d``, frozen as
``σ_d`` is) the head's direct path is ``v_s (W_O ⊙ g) / (σ^post_d σ_d)``; see ``docs/scores.md``.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..checks import check_finite, check_head
from ..errors import InputError
from ._model import (
    ModelInfo,
    kv_index,
    model_info,
    post_attn_gain,
    run_with_hooks,
    sdpa_available,
    sdpa_capture,
    str_tokens,
    to_tokens,
)
from .qk import Scoring, n_blocks, pattern_chunks, row_logsumexp, scores_rows, signed_block_max
from .qk import block_max as qk_block_max
from .qk import pattern_cols as qk_pattern_cols
from .qk import pattern_rows as qk_pattern_rows


def _single(model: Any, text_or_tokens: Any, truncate: bool) -> torch.Tensor:
    tokens = to_tokens(model, text_or_tokens, truncate=truncate)
    if tokens.shape[0] != 1:
        raise InputError(
            f"one sequence at a time: got a batch of {tokens.shape[0]}, pass tokens[i]"
        )
    return tokens


_STORAGE = {"float32": torch.float32, "float16": torch.float16}


def storage_dtype(model: Any, dtype: Any) -> torch.dtype:
    """The dtype :class:`TextActivations` stores queries/keys/values in: ``"model"`` → the
    model's own (``W_Q``'s) floating dtype; ``"float32"``/``"float16"`` (or those torch dtypes)."""
    if dtype == "model":
        own = model.W_Q.dtype
        return own if own in (torch.float32, torch.float16, torch.bfloat16) else torch.float32
    for name, value in _STORAGE.items():
        if dtype in (name, value):
            return value
    raise InputError(
        f'dtype must be "model", "float32" or "float16" (how queries, keys and values are '
        f"stored), got {dtype!r}"
    )


def attention_pattern(
    model: Any, text_or_tokens: Any, layer: int, head: int, *, truncate: bool = False
) -> torch.Tensor:
    """The head's attention pattern ``A`` on one text: ``[dst, src]`` float32, rows sum to 1.

    The forward pass stops right after layer ``layer``.
    """
    info = model_info(model)
    layer, head = check_head(info, layer, head)
    tokens = _single(model, text_or_tokens, truncate)
    captured: dict[str, torch.Tensor] = {}

    def grab(pattern: torch.Tensor, hook: Any) -> None:
        captured["pattern"] = pattern[0, head].detach().float().cpu()

    name = f"blocks.{layer}.attn.hook_pattern"
    run_with_hooks(model, tokens, [(name, grab)], stop_at=name)
    check_finite(captured["pattern"], f"the attention pattern of L{layer}H{head}")
    return captured["pattern"]


def _centred_unembed_columns(model: Any, ids: torch.Tensor) -> torch.Tensor:
    """``W̄_U[:, ids]``: unembedding columns centred over the vocabulary. ``[d_model, len(ids)]``."""
    w_u = model.W_U.detach().float()
    return (w_u[:, ids] - w_u.mean(-1, keepdim=True)).cpu()


def _head_w_o(model: Any, info: ModelInfo, layer: int, head: int) -> torch.Tensor:
    """``W_O`` of a head ``[d_head, d_model]``, centred over ``d_model`` for LayerNorm models."""
    w_o = model.W_O[layer, head].detach().float().cpu()
    if info.final_norm in ("LN", "LNPre"):
        w_o = w_o - w_o.mean(-1, keepdim=True)
    return w_o


def attribution_from(
    pattern: torch.Tensor,
    v: torch.Tensor,
    w_o: torch.Tensor,
    w_u_next: torch.Tensor,
    scale: torch.Tensor,
) -> torch.Tensor:
    """``attr[d, s] = A[d, s] · (v_s W_O / σ_d) · W̄_U[:, t_{d+1}]``; the last row NaN.

    ``pattern [pos, pos]``, ``v [pos, d_head]``, ``w_o [d_head, d_model]``,
    ``w_u_next [d_model, pos - 1]`` (columns of the next tokens), ``scale [pos]``.
    """
    pos = pattern.shape[0]
    direction = w_o @ w_u_next  # [d_head, pos - 1]
    per_source = (v @ direction).T  # [dst (pos - 1), src]
    attr = torch.full((pos, pos), float("nan"))
    attr[:-1] = pattern[:-1] * per_source / scale[:-1, None]
    return attr


def logit_attribution(
    model: Any, text_or_tokens: Any, layer: int, head: int, *, truncate: bool = False
) -> torch.Tensor:
    """Direct-path logit attribution of one head: ``[dst, src]`` float32 (see the module docstring).

    Row ``d`` attributes the logit of the token at ``d + 1`` to the sources ``s <= d``; the last row
    is NaN (no next token).
    """
    acts = TextActivations(model, text_or_tokens, truncate=truncate, layers=[layer], progress=False)
    return acts.logit_attribution(layer, head)


def _rotate_half(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """NeoX-style rotary on the first ``r`` dims of ``x [pos, head, d_head]`` (``cos``/``sin``
    ``[pos, r]``): ``x_r cos + rotate_half(x_r) sin``, the other dims unchanged."""
    r = cos.shape[-1]
    xr, rest = x[..., :r], x[..., r:]
    rotated = torch.cat([-xr[..., r // 2 :], xr[..., : r // 2]], -1)
    return torch.cat([xr * cos[:, None] + rotated * sin[:, None], rest], -1)


#: heads whose row normalisers ([pos] float32 each) a TextActivations keeps
_LSE_HEADS = 64


def _is_int(x: Any) -> bool:
    return (isinstance(x, (int, np.integer)) and not isinstance(x, bool)) or (
        isinstance(x, torch.Tensor)
        and x.ndim == 0
        and not x.dtype.is_floating_point
        and x.dtype != torch.bool
    )


def _block(block: Any) -> int:
    if not _is_int(block) or int(block) < 1:
        raise InputError(f"block must be a positive int (tokens per block side), got {block!r}")
    return int(block)


def _pool2(x: torch.Tensor, block: int) -> torch.Tensor:
    """Max over ``block × block`` cells of ``x [n, n]`` (NaN ignored): ``[⌈n/b⌉, ⌈n/b⌉]``."""
    n = x.shape[0]
    nb = -(-n // block)
    pad = torch.full((nb * block, nb * block), -math.inf)
    pad[:n, :n] = x.nan_to_num(nan=-math.inf)
    out = pad.view(nb, block, nb, block).amax((1, 3))
    return out.masked_fill_(torch.isinf(out), math.nan)


def _signed_pool2(x: torch.Tensor, block: int) -> torch.Tensor:
    """Per ``block × block`` cell of ``x [n, n]`` the value of largest magnitude, sign kept."""
    hi, lo = _pool2(x, block), -_pool2(-x, block)
    return torch.where(hi.abs() >= lo.abs(), hi, lo)


class TextActivations:
    """One forward pass over one text, kept small enough to answer any head quickly.

    Keeps, per layer, the queries ``[pos, head, d_head]``, keys and values ``[pos, kv_head, d_head]``
    (after rotary embeddings where the model has them), the final norm scale ``σ [pos]``, every
    head's ``W_O`` and the centred unembedding columns of the next tokens. The pass runs
    memory-efficient attention where TransformerLens allows (:func:`~._model.sdpa_capture`;
    docs/long-context.md), else TransformerLens's eager attention. A head's pattern is
    recomputed from its queries and keys, whole or a chunk of rows at a time (:meth:`pattern_rows`,
    :meth:`pattern_block_max`, ...), checked during the pass on the first 256 and last 64 rows
    (against ``hook_pattern``, or the attention output ``z`` in the SDPA pass); if the recomputation does not match (an attention variant
    this does not reproduce), patterns are recaptured by a forward pass instead, keeping at most
    ``max_cached_layers`` layers' patterns. Holds no reference to the model except a weak one.

    ``dtype`` is how the queries, keys and values are stored: ``"model"`` (default; the dtype the
    model computes in, so a float32 model keeps float32 and a half-precision model its own half
    values, nothing lost), ``"float32"`` or ``"float16"`` (half the memory of float32; every
    computation casts back to float32). Float16 keys and queries move SmolLM2's recomputed patterns
    by up to ~5e-3 from ``hook_pattern`` (1,024 tokens), more than the live view's float16 payload
    (≤ 2.4e-4) but about the exported page's uint8 step (1/510): hence not the default for float32
    models. The check against ``hook_pattern`` uses the float32 values, before the cast.
    """

    #: read texts with memory-efficient attention where the model allows (:func:`sdpa_capture`);
    #: False: the eager pass with ``hook_pattern`` (benchmarks compare the two)
    _sdpa = True
    #: texts shorter than this are read the eager way, each pattern checked against TransformerLens's
    #: own ``hook_pattern`` to 1e-4: there ``[head, pos, pos]`` costs little (38 MB a layer of 9
    #: heads at 1,024 tokens), and on some families (GPT-2, GPT-NeoX, GPT-J, OPT built from their
    #: configs) the Hugging Face module's own attention, which the memory-efficient read runs, differs
    #: from TransformerLens's processed weights by up to ~3e-3 in a pattern (tests/models)
    sdpa_min_tokens = 1024

    def __init__(
        self,
        model: Any,
        text_or_tokens: Any,
        *,
        truncate: bool = False,
        layers: list[int] | None = None,
        max_cached_layers: int = 2,
        progress: bool | None = None,
        dtype: Any = "model",
    ) -> None:
        info = model_info(model)
        self.info = info
        self.storage_dtype_option = dtype
        self.storage_dtype = storage_dtype(model, dtype)
        self.tokens = _single(model, text_or_tokens, truncate)[0].cpu()  # [pos]
        self.str_tokens = str_tokens(model, self.tokens)
        self.has_bos = info.bos_token_id is not None and int(self.tokens[0]) == info.bos_token_id
        self.layers = (
            list(range(info.n_layers))
            if layers is None
            else [check_head(info, l, 0)[0] for l in layers]
        )
        self._model_ref = weakref.ref(model)
        self.max_cached_layers = max_cached_layers
        self._patterns: OrderedDict[int, torch.Tensor] = OrderedDict()  # fallback: [head, dst, src]
        self._lse: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()  # [dst] per head
        self._pass_lse: dict[int, torch.Tensor] = {}  # [head, dst] per layer, from the pass
        cfg = model.cfg
        attn_scale = float(getattr(cfg, "attn_scale", -1.0) or -1.0)
        self._attn_scale = attn_scale if attn_scale > 0 else math.sqrt(info.d_head)
        if getattr(cfg, "use_attn_scale", True) is False:
            self._attn_scale = 1.0
        self._per_layer_scale = bool(getattr(cfg, "scale_attn_by_inverse_layer_idx", False))
        self._soft_cap = float(getattr(cfg, "attn_scores_soft_cap", -1.0) or -1.0)
        self.q: dict[int, torch.Tensor] = {}
        self.k: dict[int, torch.Tensor] = {}
        self.v: dict[int, torch.Tensor] = {}
        self.exact: dict[int, bool] = {}
        self._rotated: set[int] = set()
        self.scale = torch.ones(len(self.tokens))
        # ln1_post.hook_scale per layer [pos] (post-attention norms; see the module docstring)
        self.post_scale: dict[int, torch.Tensor] = {}
        self.w_o = model.W_O.detach().float().cpu()[self.layers] if self.layers else None
        gain = post_attn_gain(model, info)
        if gain is not None and self.w_o is not None:
            self.w_o = self.w_o * gain[self.layers][:, None, None, :]
        if info.final_norm in ("LN", "LNPre") and self.w_o is not None:
            self.w_o = self.w_o - self.w_o.mean(-1, keepdim=True)
        self.w_u_next = _centred_unembed_columns(model, self.tokens[1:].to(model.W_U.device))
        self._forward(model, progress)

    # -- the one forward pass -------------------------------------------------------------------

    def _forward(self, model: Any, progress: bool | None) -> None:
        """Capture q, k, v (and the norm scales) of every wanted layer in one pass, and decide per
        layer whether recomputing patterns from q and k is exact (:meth:`_verify`).

        Hook order differs between architectures (TL 4 bridges that read the pattern from the HF
        module's returned weights fire ``hook_pattern`` after ``hook_z``; joint-QKV rotary models
        such as GPT-NeoX, GPT-J, Phi-3 and Falcon rotate inside the HF module, so their
        ``hook_rot_q``/``hook_rot_k`` exist but never fire). Nothing here assumes an order: the
        rotated q/k are used where they fired, the unrotated ones otherwise, and a pattern that
        arrives before its q/k is verified after the pass.
        """
        info = self.info
        hook_names = model.hook_dict
        show = info.n_layers > 4 if progress is None else progress
        bar = tqdm(
            total=len(self.layers), desc="reading activations", disable=not show, leave=False
        )
        rot_q: dict[int, torch.Tensor] = {}
        rot_k: dict[int, torch.Tensor] = {}
        self._cos: dict[int, torch.Tensor] = {}
        self._sin: dict[int, torch.Tensor] = {}
        late: dict[int, torch.Tensor] = {}  # patterns seen before their q/k: rows to verify

        def grab(store: dict[int, torch.Tensor], layer: int) -> Any:
            def fn(x: torch.Tensor, hook: Any) -> None:
                store[layer] = x[0].detach().float().cpu()

            return fn

        def verify(layer: int) -> Any:
            def fn(pattern: torch.Tensor, hook: Any) -> None:
                check_finite(pattern, f"the attention pattern of layer {layer}")
                rows = self._check_rows()
                theirs = pattern[0][:, rows].detach().float().cpu()  # [head, rows, src]
                if self._qk_ready(layer, rot_q, rot_k):
                    self.exact[layer] = self._verify(layer, rows, theirs)
                else:
                    late[layer] = theirs
                bar.update(1)

            return fn

        def grab_scale(store: dict[int, torch.Tensor], layer: int) -> Any:
            def fn(x: torch.Tensor, hook: Any) -> None:
                store[layer] = x[0, :, 0].detach().float().cpu()

            return fn

        final: dict[int, torch.Tensor] = {}
        if self._sdpa and len(self.tokens) >= self.sdpa_min_tokens and sdpa_available(model):
            try:
                self._forward_sdpa(model, final, bar, grab_scale)
            finally:
                bar.close()
            if all(self.exact.get(l, False) for l in self.layers):
                return self._finish(final)
            # a layer's scores recomputed from the pass's q/k do not reproduce the pass (its
            # log-sum-exp or output differ, e.g. a module whose q/k are not its scores' own): read
            # the text again the eager way, where each pattern is checked against hook_pattern
            for store in (self.q, self.k, self.v, self.post_scale, self._pass_lse, self.exact):
                store.clear()
            self._rotated.clear()
            final.clear()
            bar = tqdm(
                total=len(self.layers), desc="reading activations", disable=not show, leave=False
            )
        hooks = []
        for l in self.layers:
            prefix = f"blocks.{l}.attn."
            hooks += [
                (prefix + "hook_q", grab(self.q, l)),
                (prefix + "hook_k", grab(self.k, l)),
                (prefix + "hook_v", grab(self.v, l)),
                (prefix + "hook_pattern", verify(l)),
            ]
            if prefix + "hook_rot_q" in hook_names and prefix + "hook_rot_k" in hook_names:
                hooks += [
                    (prefix + "hook_rot_q", grab(rot_q, l)),
                    (prefix + "hook_rot_k", grab(rot_k, l)),
                ]
            if prefix + "hook_cos" in hook_names and prefix + "hook_sin" in hook_names:
                hooks += [
                    (prefix + "hook_cos", grab(self._cos, l)),
                    (prefix + "hook_sin", grab(self._sin, l)),
                ]
            if info.post_attn_norm:
                hooks.append((f"blocks.{l}.ln1_post.hook_scale", grab_scale(self.post_scale, l)))
        stop_at = None
        if "ln_final.hook_scale" in hook_names:
            hooks.append(("ln_final.hook_scale", grab_scale(final, 0)))
            # nothing after the final norm is needed: skip the unembedding ([pos, d_vocab] logits,
            # 400 MB at 2,048 tokens on a 49k vocabulary)
            stop_at = "ln_final.hook_scale"
        try:
            run_with_hooks(model, self.tokens[None].to(model.W_U.device), hooks, stop_at=stop_at)
        finally:
            bar.close()
        for l in self.layers:
            self._qk_ready(l, rot_q, rot_k)
        for l, theirs in late.items():
            self.exact[l] = self._verify(l, self._check_rows(), theirs)
        self._cos.clear()  # only needed while q/k were being rotated
        self._sin.clear()
        self._finish(final)

    def _finish(self, final: dict[int, torch.Tensor]) -> None:
        """Check the norm scales; store q/k/v in the storage dtype."""
        if 0 in final:
            self.scale = final[0]
        check_finite(self.scale, "the final norm scale")
        for l, post in self.post_scale.items():
            check_finite(post, f"the post-attention norm scale of layer {l}")
        # verified in float32 above; stored in the storage dtype from here on (cast back where used)
        for store in (self.q, self.k, self.v):
            for l in store:
                store[l] = store[l].to(self.storage_dtype)

    def _forward_sdpa(
        self, model: Any, final: dict[int, torch.Tensor], bar: Any, grab_scale: Any
    ) -> None:
        """The pass for a long text (:func:`~._model.sdpa_capture`): the model's attention runs
        SDPA, never ``[head, pos, pos]``; each layer's rotated q, k, v arrive from inside the HF
        attention, with the attention output ``z`` at the check rows. A layer is exact when the
        recomputed pattern reproduces that ``z`` (:meth:`_verify_pass`)."""
        rows = self._check_rows()
        wanted = set(self.layers)
        z: dict[int, torch.Tensor] = {}

        def sink(
            layer: int,
            q: torch.Tensor,
            k: torch.Tensor,
            v: torch.Tensor,
            out: torch.Tensor,
            lse: torch.Tensor | None,
        ) -> None:
            if layer not in wanted:
                return
            if lse is not None:
                self._pass_lse[layer] = lse[0].detach().float().cpu()  # [head, pos]
            for store, x in ((self.q, q), (self.k, k), (self.v, v)):
                store[layer] = x[0].detach().transpose(0, 1).float().cpu().contiguous()
            z[layer] = out[0, rows.to(out.device)].detach().float().cpu()  # [rows, head, d_head]
            self._rotated.add(layer)
            bar.update(1)

        hooks = []
        if self.info.post_attn_norm:
            hooks += [
                (f"blocks.{l}.ln1_post.hook_scale", grab_scale(self.post_scale, l))
                for l in self.layers
            ]
        stop_at = None
        if "ln_final.hook_scale" in model.hook_dict:
            hooks.append(("ln_final.hook_scale", grab_scale(final, 0)))
            stop_at = "ln_final.hook_scale"
        with sdpa_capture(model, sink):
            run_with_hooks(model, self.tokens[None].to(model.W_U.device), hooks, stop_at=stop_at)
        for l in self.layers:
            if l not in z:
                raise InputError(f"layer {l}'s attention did not run during the pass")
            check_finite(z[l], f"the attention output of layer {l}")
            self.exact[l] = self._verify_pass(l, rows, z.pop(l))

    def _verify_pass(self, layer: int, rows: torch.Tensor, theirs: torch.Tensor) -> bool:
        """Whether the recomputed pattern rows, times the values, give the model's own attention
        output ``theirs [rows, head, d_head]``: ``max |Δz| ≤ 1e-4 · max |v|`` (a row's L1 error
        ``δ`` moves ``z`` by at most ``δ · max |v|``; ``δ < 1e-4`` here). The pass's
        log-sum-exp (CPU flash attention), where the pass gives one, must match the recomputed
        scores' (``|Δ| < 1e-4`` at every check row and head), or the layer is not exact."""
        v = self.v[layer].float()  # [src, kv_head, d_head]
        bound = 1e-4 * float(v.abs().max()) + 1e-6
        scoring = self._scoring(layer)
        lse = self._pass_lse.get(layer)
        lse_ok = lse is not None
        # the check rows in runs of consecutive rows, each scored only up to its last row (the
        # first 256 rows need 256 columns, not the text's n: most of the check's cost)
        cuts = (torch.nonzero(rows[1:] != rows[:-1] + 1).flatten() + 1).tolist()
        runs = [r for r in torch.tensor_split(torch.arange(len(rows)), cuts) if len(r)]
        for head in range(self.info.n_heads):
            q, k = self._head_qk(layer, head)
            v_head = v[:, kv_index(self.info, v.shape[1], head)]
            for run in runs:
                dst = rows[run]
                width = int(dst[-1]) + 1
                scores = scores_rows(q, k, scoring, dst, width)  # [run, width]
                row_lse = torch.logsumexp(scores, -1)
                z = scores.sub_(row_lse[:, None]).exp_() @ v_head[:width]
                if not bool((z - theirs[run, head]).abs().max() <= bound):
                    self._pass_lse.pop(layer, None)
                    return False
                if lse_ok and lse is not None:
                    lse_ok = bool((row_lse - lse[head, dst]).abs().max() < 1e-4)
                    if not lse_ok:  # the recomputed scores are not the pass's: not exact
                        self._pass_lse.pop(layer, None)
                        return False
        if not lse_ok:
            self._pass_lse.pop(layer, None)
        return True

    def _qk_ready(
        self, layer: int, rot_q: dict[int, torch.Tensor], rot_k: dict[int, torch.Tensor]
    ) -> bool:
        """Prefer the rotated q/k where those hooks fired; True once q and k of ``layer`` are in."""
        if layer in rot_q and layer in rot_k:
            self.q[layer], self.k[layer] = rot_q.pop(layer), rot_k.pop(layer)
            self._rotated.add(layer)
        ready = layer in self.q and layer in self.k
        if ready and layer not in self._rotated and layer in self._cos and layer in self._sin:
            # rotary applied inside a joint QKV module (GPT-NeoX, Falcon, Phi-3): only cos/sin
            # fire. Rotate the first cos.shape[-1] dimensions the NeoX way (rotate_half); whether
            # that is this model's rotary is decided by _verify, like everything else.
            cos, sin = self._cos.pop(layer), self._sin.pop(layer)
            self.q[layer] = _rotate_half(self.q[layer], cos, sin)
            self.k[layer] = _rotate_half(self.k[layer], cos, sin)
            self._rotated.add(layer)
        return ready

    def _check_rows(self) -> torch.Tensor:
        """Destinations checked against ``hook_pattern``: the first 256 and the last 64.

        The last rows see the whole context, so a sliding window shorter than the text, ALiBi or
        any other position-dependent term the recomputation lacks shows up there.
        """
        n = len(self.tokens)
        return torch.unique(torch.cat([torch.arange(min(n, 256)), torch.arange(max(0, n - 64), n)]))

    def _verify(self, layer: int, rows: torch.Tensor, theirs: torch.Tensor) -> bool:
        """Whether :meth:`_recompute` reproduces the model's own pattern rows ``theirs``
        (``[head, rows, src]``): max abs difference < 1e-4 and per-row L1 difference < 1e-3."""
        ours = self._recompute(layer, torch.arange(self.info.n_heads), rows)
        diff = (ours - theirs).abs()
        return bool(diff.max() < 1e-4 and diff.sum(-1).max() < 1e-3)

    def _recompute(
        self, layer: int, heads: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``softmax(q kᵀ / scale + causal mask)`` for ``heads`` of ``layer``: ``[head, dst, src]``
        (``dst`` = ``rows`` if given, else every position)."""
        q = self.q[layer] if rows is None else self.q[layer][rows]  # [dst, head, d_head]
        q = q.float()
        k = self.k[layer].float()  # [pos, kv_head, d_head]
        kv = torch.tensor([kv_index(self.info, k.shape[1], int(h)) for h in heads])
        scores = torch.einsum("phk,shk->hps", q[:, heads], k[:, kv]) / self._attn_scale
        if self._per_layer_scale:
            scores = scores / (layer + 1)
        if self._soft_cap > 0:
            scores = self._soft_cap * torch.tanh(scores / self._soft_cap)
        dst = torch.arange(k.shape[0]) if rows is None else rows
        mask = torch.arange(k.shape[0])[None, :] > dst[:, None]
        return scores.masked_fill(mask, float("-inf")).softmax(-1)

    # -- per-head answers -----------------------------------------------------------------------

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def cached_layers(self) -> int:
        """How many layers' full patterns are held right now (0 while recomputation is exact)."""
        return len(self._patterns)

    def _check(self, layer: int, head: int) -> tuple[int, int]:
        layer, head = check_head(self.info, layer, head)
        if layer not in self.q:
            raise InputError(f"layer {layer} was not read for this text: read layers {self.layers}")
        return layer, head

    def attention(self, layer: int, head: int) -> torch.Tensor:
        """The head's attention pattern ``[dst, src]``."""
        layer, head = self._check(layer, head)
        if self.exact.get(layer, False):
            return self._recompute(layer, torch.tensor([head]))[0]
        if layer not in self._patterns:
            self._patterns[layer] = self._capture(layer)
            while len(self._patterns) > self.max_cached_layers:
                self._patterns.popitem(last=False)
        self._patterns.move_to_end(layer)
        return self._patterns[layer][head]

    def _capture(self, layer: int) -> torch.Tensor:
        model = self._model_ref()
        if model is None:
            raise InputError(
                "the model behind this view was garbage-collected: keep a reference to it "
                "(e.g. model = iw.load_model(...)) and open the view again"
            )
        out: dict[str, torch.Tensor] = {}

        def grab(pattern: torch.Tensor, hook: Any) -> None:
            out["p"] = pattern[0].detach().float().cpu()

        name = f"blocks.{layer}.attn.hook_pattern"
        run_with_hooks(model, self.tokens[None].to(model.W_U.device), [(name, grab)], stop_at=name)
        return out["p"]

    def values(self, layer: int, head: int) -> torch.Tensor:
        """The value vectors the head reads, ``[src, d_head]``."""
        layer, head = self._check(layer, head)
        v = self.v[layer]
        return v[:, kv_index(self.info, v.shape[1], head)].float()

    def value_norm(self, layer: int, head: int) -> torch.Tensor:
        """``‖v_s W_O‖`` per source ``[src]``, for value-weighted attention."""
        w_o = self._w_o(layer, head)
        return (self.values(layer, head) @ w_o).norm(dim=-1)

    def _w_o(self, layer: int, head: int) -> torch.Tensor:
        assert self.w_o is not None
        return self.w_o[self.layers.index(layer), head]

    def logit_attribution(self, layer: int, head: int) -> torch.Tensor:
        """Direct-path logit attribution ``[dst, src]``, last row NaN (see the module docstring)."""
        return self.attention_and_attribution(layer, head)[1]

    def attention_and_attribution(self, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(attention [dst, src], logit attribution [dst, src])`` of one head, the pattern
        computed once for both (what a view needs on every head change)."""
        layer, head = self._check(layer, head)
        pattern = self.attention(layer, head)
        scale = self.scale
        if layer in self.post_scale:
            scale = scale * self.post_scale[layer]
        attribution = attribution_from(
            pattern,
            self.values(layer, head),
            self._w_o(layer, head),
            self.w_u_next,
            scale,
        )
        return pattern, attribution

    # -- rows, columns and block maxima (long texts: never the whole [dst, src] matrix) ------------

    def _scoring(self, layer: int) -> Scoring:
        scale = self._attn_scale * (layer + 1 if self._per_layer_scale else 1)
        return Scoring(scale=scale, cap=self._soft_cap)

    def _head_qk(self, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q [pos, d_head], k [pos, d_head])`` of one head, in the storage dtype."""
        k = self.k[layer]
        return self.q[layer][:, head], k[:, kv_index(self.info, k.shape[1], head)]

    def _row_lse(self, layer: int, head: int) -> torch.Tensor:
        """``lse [dst]``: each row's softmax normaliser (module :mod:`.qk`), kept per head."""
        key = (layer, head)
        if layer in self._pass_lse:  # from the pass itself (CPU flash attention), verified
            return self._pass_lse[layer][head]
        lse = self._lse.get(key)
        if lse is None:
            q, k = self._head_qk(layer, head)
            lse = self._remember_lse(key, row_logsumexp(q, k, self._scoring(layer)))
        self._lse.move_to_end(key)
        return lse

    def _remember_lse(self, key: tuple[int, int], lse: torch.Tensor) -> torch.Tensor:
        self._lse[key] = lse
        while len(self._lse) > _LSE_HEADS:
            self._lse.popitem(last=False)
        return lse

    def _indices(self, index: Any, stop: Any, what: str) -> torch.Tensor:
        """Positions as a 1-D long tensor: a sequence / range / slice / 1-D integer array, or
        ``(start, stop)`` given as two ints."""
        n = self.n_tokens
        if stop is not None:
            index = (
                range(*slice(index, stop).indices(n)) if _is_int(index) and _is_int(stop) else None
            )
            if index is None:
                raise InputError(
                    f"{what}: give start and stop as ints, or one sequence of positions"
                )
        if isinstance(index, slice):
            index = range(*index.indices(n))
        if _is_int(index):
            raise InputError(f"{what}: give a sequence of positions, e.g. [{int(index)}]")
        try:
            idx = torch.as_tensor(list(index) if isinstance(index, range) else np.asarray(index))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InputError(
                f"{what}: give positions as a list, range, slice or 1-D integer tensor"
            ) from exc
        if idx.ndim != 1 or (
            idx.numel() and (idx.dtype.is_floating_point or idx.dtype == torch.bool)
        ):
            raise InputError(
                f"{what}: positions must be a 1-D sequence of ints, got shape {tuple(idx.shape)} "
                f"dtype {idx.dtype}"
            )
        idx = idx.long()
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise InputError(f"{what}: positions must lie in 0..{n - 1} (this text has {n} tokens)")
        return idx

    def _attr_weights(self, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u [dst, d_head], v [src, d_head])`` with ``attr[d, s] = A[d, s] · (u_d · v_s)``:
        ``u_d = W_O W̄_U[:, t_{d+1}] / σ_d`` (NaN for the last row)."""
        scale = self.scale
        if layer in self.post_scale:
            scale = scale * self.post_scale[layer]
        u = torch.full((self.n_tokens, self.info.d_head), float("nan"))
        u[:-1] = (self._w_o(layer, head) @ self.w_u_next).T / scale[:-1, None]
        return u, self.values(layer, head)

    def pattern_rows(self, layer: int, head: int, dst: Any, stop: Any = None) -> torch.Tensor:
        """Rows ``A[dst, :]`` of the head's pattern: ``[len(dst), src]`` float32, each one softmax
        of ``q_d · Kᵀ`` over ``s ≤ d`` (0 for ``s > d``); ``rows × pos × d_head`` work.

        ``dst``: positions (list, range, slice, 1-D integer tensor), or ``pattern_rows(l, h,
        start, stop)`` for the rows ``start..stop-1``."""
        layer, head = self._check(layer, head)
        rows = self._indices(dst, stop, "pattern_rows")
        if not self.exact.get(layer, False):
            return self.attention(layer, head)[rows]
        q, k = self._head_qk(layer, head)
        return qk_pattern_rows(q, k, self._scoring(layer), rows)

    def pattern_cols(self, layer: int, head: int, src: Any, stop: Any = None) -> torch.Tensor:
        """Columns ``A[:, src]``: ``[dst, len(src)]`` float32 (0 above the diagonal). Needs every
        row's normaliser, computed once per head in row chunks (a full ``q · Kᵀ`` pass the first
        time; :meth:`pattern_block_max` leaves it behind)."""
        layer, head = self._check(layer, head)
        cols = self._indices(src, stop, "pattern_cols")
        if not self.exact.get(layer, False):
            return self.attention(layer, head)[:, cols]
        q, k = self._head_qk(layer, head)
        return qk_pattern_cols(q, k, self._scoring(layer), cols, self._row_lse(layer, head))

    def pattern_entries(self, layer: int, head: int, dst: Any, src: Any) -> torch.Tensor:
        """Single cells ``A[dst_i, src_i]``: ``[len(dst)]`` float32 (0 where ``src_i > dst_i``),
        one dot product and each row's normaliser (kept per head, as for :meth:`pattern_cols`)."""
        layer, head = self._check(layer, head)
        rows = self._indices(dst, None, "pattern_entries")
        cols = self._indices(src, None, "pattern_entries")
        if rows.shape != cols.shape:
            raise InputError(
                f"pattern_entries: dst and src must have the same length, got {len(rows)} and "
                f"{len(cols)}"
            )
        if not self.exact.get(layer, False):
            return self.attention(layer, head)[rows, cols]
        q, k = self._head_qk(layer, head)
        scores = self._scoring(layer)((q[rows].float() * k[cols].float()).sum(-1))
        out = (scores - self._row_lse(layer, head)[rows]).exp()
        return out.masked_fill_(cols > rows, 0.0)

    def attribution_rows(self, layer: int, head: int, dst: Any, stop: Any = None) -> torch.Tensor:
        """Rows of the logit attribution ``attr[dst, :]``: ``[len(dst), src]`` float32, the row of
        the last position NaN (see the module docstring)."""
        layer, head = self._check(layer, head)
        rows = self._indices(dst, stop, "attribution_rows")
        u, v = self._attr_weights(layer, head)
        return self.pattern_rows(layer, head, rows) * (u[rows] @ v.T)

    def attribution_cols(self, layer: int, head: int, src: Any, stop: Any = None) -> torch.Tensor:
        """Columns ``attr[:, src]``: ``[dst, len(src)]`` float32, the last row NaN."""
        layer, head = self._check(layer, head)
        cols = self._indices(src, stop, "attribution_cols")
        u, v = self._attr_weights(layer, head)
        return self.pattern_cols(layer, head, cols) * (u @ v[cols].T)

    def answers_without_model(self, layer: int) -> bool:
        """Whether layer ``layer``'s rows come from what is stored (its queries and keys), with
        no forward pass of the model (which a background thread must not run)."""
        return bool(self.exact.get(layer, False))

    def row_chunks(
        self,
        layer: int,
        head: int,
        *,
        chunk: int = 512,
        block: int = 1,
        attribution: bool = False,
        log: bool = False,
    ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor | None]]:
        """The head's pattern and (``attribution=True``) logit attribution a chunk of rows at a
        time, only their causal part: ``(start, A[start:stop, :w], attr[start:stop, :w] or
        None)`` with ``w = min(pos, ⌈stop / block⌉ · block)`` (every column beyond is 0), float32.
        One ``q · Kᵀ`` per chunk serves both (:func:`.qk.pattern_chunks`); the attention pass's
        log-sum-exp is used where it kept one, else each row's is computed and kept for
        :meth:`pattern_cols`. The last row of the attribution is NaN. ``log=True`` (without
        ``attribution``): ``log A`` instead of ``A`` (``−inf`` for 0), see :func:`.qk.pattern_chunks`."""
        if log and attribution:
            raise InputError(
                "row_chunks: log=True gives log A only; ask for the attribution without it"
            )
        layer, head = self._check(layer, head)
        n = self.n_tokens
        weights = self._attr_weights(layer, head) if attribution else None
        if not self.exact.get(layer, False):  # patterns recaptured (kept per layer)
            chunk = max(block, chunk // block * block)
            for start in range(0, n, chunk):
                stop = min(n, start + chunk)
                width = min(n, n_blocks(stop, block) * block)
                a = self.pattern_rows(layer, head, start, stop)[:, :width].float()
                if log:
                    a = a.log_()
                x = None
                if weights is not None:
                    x = a * (weights[0][start:stop] @ weights[1][:width].T)
                yield start, a, x
            return
        q, k = self._head_qk(layer, head)
        known = self._pass_lse[layer][head] if layer in self._pass_lse else None
        lse = torch.empty(n) if known is None else None
        chunks = pattern_chunks(
            q,
            k,
            self._scoring(layer),
            chunk=chunk,
            block=block,
            lse=known,
            weights=weights,
            log=log,
        )
        for start, a, x, chunk_lse in chunks:
            if lse is not None:
                lse[start : start + a.shape[0]] = chunk_lse
            yield start, a, x
        if lse is not None:
            self._remember_lse((layer, head), lse)

    def pattern_block_max(self, layer: int, head: int, block: int) -> torch.Tensor:
        """``M [⌈pos/block⌉, ⌈pos/block⌉]`` float32: ``M[i, j]`` is the largest attention weight
        among destinations ``i·block ..`` and sources ``j·block ..`` (0 wholly above the diagonal),
        exact, from q/k in row chunks (never the ``[dst, src]`` matrix); also keeps each row's
        normaliser for :meth:`pattern_cols`."""
        layer, head = self._check(layer, head)
        block = _block(block)
        if not self.exact.get(layer, False):
            return _pool2(self.attention(layer, head), block)
        q, k = self._head_qk(layer, head)
        known = self._pass_lse[layer][head] if layer in self._pass_lse else None
        out, lse = qk_block_max(q, k, self._scoring(layer), block, lse=known)
        if known is None:
            self._remember_lse((layer, head), lse)
        return out

    def attribution_block_max(self, layer: int, head: int, block: int) -> torch.Tensor:
        """``[⌈pos/block⌉, ⌈pos/block⌉]`` float32: per block, the logit attribution of largest
        magnitude, its sign kept (the last row's NaN ignored; NaN only for a block of it alone)."""
        layer, head = self._check(layer, head)
        block = _block(block)
        u, v = self._attr_weights(layer, head)
        if not self.exact.get(layer, False):
            return _signed_pool2(self.attention(layer, head) * (u @ v.T), block)
        q, k = self._head_qk(layer, head)
        lse = self._row_lse(layer, head)
        return signed_block_max(q, k, self._scoring(layer), lse, u, v, block)

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached activations and weights."""
        tensors = [*self.q.values(), *self.k.values(), *self.v.values(), *self._patterns.values()]
        tensors += [*self.post_scale.values(), *self._pass_lse.values(), *self._lse.values()]
        tensors += [self.scale, self.w_u_next] + ([self.w_o] if self.w_o is not None else [])
        return sum(t.numel() * t.element_size() for t in tensors)
