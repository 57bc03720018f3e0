r"""Head ablation: switch heads off and measure what changes.

A head's contribution to the residual stream at position ``p`` is ``z[p, h] W_O[h]`` with
``z = A v`` its attention-weighted values (``blocks.{l}.attn.hook_z``, ``[batch, pos, head,
d_head]``). Ablating head ``(l, h)`` replaces ``z[b, p, h]`` at every position by

* ``kind="zero"``: ``0`` (the head writes only ``b_O``'s share, which is not per head);
* ``kind="mean"``: ``μ[l, h] = mean_{b, p} z[b, p, h]`` over reference contexts
  (:func:`head_means`; default 8 corpus contexts, or copy-task contexts without a tokenizer), so
  the head writes its average output regardless of the input.

The replacement is a plain PyTorch forward hook on the ``hook_z`` hook point, so it survives the
``reset_hooks`` that TransformerLens runs after every ``run_with_hooks`` and works the same under
TransformerLens 4 (where the hook point carries ``[batch, pos, head·d_head]``) and 3.9
(``[batch, pos, head, d_head]``).

:func:`ablation_scores` gives, per head, the change of the ICL score (:mod:`.icl`) when that head
alone is ablated, ``Δicl[l, h] = icl(ablate (l, h)) − icl(model)``, computed one forward pass per
layer (the contexts are repeated once per head of the layer, replica ``r`` ablating head ``r``),
and the paper's comparison: all strict induction heads ablated at once vs the same number of
random other heads (``n_draws`` draws, mean ± sd), for the ICL score and the loss on the repeated
half of repeated random tokens.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ..checks import (
    check_choice,
    check_finite,
    check_head,
    check_int,
    check_layers,
    check_seed,
    check_tensor,
    check_weights,
)
from ..errors import HeadIndexError, InputError
from ._model import ModelInfo, StopForward, model_info, to_tokens
from .icl import (
    ICLScore,
    auto_batch,
    check_corpus,
    copy_task_tokens,
    corpus_contexts,
    default_contexts,
    final_hook,
    icl_from_pair,
    icl_indices,
    icl_score,
    losses_at,
    pair_from,
    pair_losses,
    per_token_loss,
    repeated_tokens_loss,
    resolve_window,
    window_indices,
)
from .tasks import repeated_random_tokens

ABLATION_KINDS = ("mean", "zero")

Head = tuple[int, int]


def _as_heads(info: ModelInfo, heads: Any) -> list[Head]:
    """``(layer, head)``, a list of them, or ``[]`` → checked, de-duplicated ``[(l, h), ...]``."""
    if isinstance(heads, tuple) and len(heads) == 2 and not isinstance(heads[0], (tuple, list)):
        heads = [heads]
    if isinstance(heads, (str, bytes)) or not isinstance(heads, (list, tuple)):
        raise HeadIndexError(
            f"heads must be a (layer, head) pair or a list of them, got {type(heads).__name__} "
            f"{heads!r}: e.g. ablate(model, [(1, 0), (1, 2)])"
        )
    out: list[Head] = []
    for item in heads:
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise HeadIndexError(
                f"each head must be a (layer, head) pair, got {item!r}: e.g. [(1, 0), (1, 2)]"
            )
        pair = check_head(info, item[0], item[1])
        if pair not in out:
            out.append(pair)
    return out


def _check_means(info: ModelInfo, means: Any) -> torch.Tensor | None:
    """``means=`` as given to the ablation functions: ``None`` or ``[n_layers, n_heads, d_head]``."""
    if means is None:
        return None
    return check_tensor(
        "means",
        means,
        (info.n_layers, info.n_heads, info.d_head),
        "pass head_means(model) (or leave means out)",
    )


def _reference_tokens(model: Any, reference: Any) -> torch.Tensor:
    if reference is not None:
        return to_tokens(model, reference)
    if getattr(model, "tokenizer", None) is not None:
        return corpus_contexts(model, 8, seed=12345)
    return copy_task_tokens(model, 8, seed=12345)


def head_means(model: Any, reference: Any = None) -> torch.Tensor:
    """``μ[l, h] = mean_{b, p} z[b, p, h]`` over ``reference`` contexts: ``[n_layers, n_heads, d_head]``.

    ``reference``: text or ``[batch, pos]`` token ids; default 8 contexts of the shipped corpus
    (models with a tokenizer) or of :func:`copy_task_tokens`. One forward pass.
    """
    info = model_info(model)
    tokens = _reference_tokens(model, reference)
    out = torch.zeros(info.n_layers, info.n_heads, info.d_head)

    def grab(layer: int) -> Callable[..., None]:
        def fn(z: torch.Tensor, hook: Any) -> None:
            out[layer] = z.float().mean((0, 1)).cpu()

        return fn

    hooks = [(f"blocks.{l}.attn.hook_z", grab(l)) for l in range(info.n_layers)]
    size = auto_batch(info, tokens.shape[1])
    total = torch.zeros_like(out)
    check_weights(model)
    for start in range(0, tokens.shape[0], size):
        chunk = tokens[start : start + size]
        with torch.no_grad():
            model.run_with_hooks(chunk, fwd_hooks=hooks, return_type=None)
        total += out * chunk.shape[0]
    return total / tokens.shape[0]


def _z_forward_hook(
    info: ModelInfo, edit: Callable[[torch.Tensor], torch.Tensor]
) -> Callable[..., torch.Tensor]:
    """A torch forward hook for a ``hook_z`` hook point: views its output as ``[..., head, d_head]``
    (TL 4 passes ``[batch, pos, head·d_head]``), applies ``edit`` to a copy, returns it in the
    hook point's own shape."""

    def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        shape = output.shape
        z = output.reshape(*shape[:2], info.n_heads, info.d_head).clone()
        return edit(z).reshape(shape)

    return hook


@contextlib.contextmanager
def _z_hooks(
    model: Any, edits: dict[int, Callable[[torch.Tensor], torch.Tensor]]
) -> Iterator[None]:
    """Register ``edits[layer]`` on ``blocks.{layer}.attn.hook_z`` for the duration of the block."""
    info = model_info(model)
    handles = []
    try:
        for layer, edit in edits.items():
            point = model.hook_dict[f"blocks.{layer}.attn.hook_z"]
            handles.append(point.register_forward_hook(_z_forward_hook(info, edit)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _replacement(
    info: ModelInfo, heads: Sequence[Head], kind: str, means: torch.Tensor | None
) -> dict[int, Callable[[torch.Tensor], torch.Tensor]]:
    by_layer: dict[int, list[int]] = {}
    for l, h in heads:
        by_layer.setdefault(l, []).append(h)
    edits: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {}
    for layer, hs in by_layer.items():
        idx = torch.tensor(hs)

        def edit(z: torch.Tensor, layer: int = layer, idx: torch.Tensor = idx) -> torch.Tensor:
            if kind == "zero" or means is None:
                z[:, :, idx] = 0
            else:
                z[:, :, idx] = means[layer, idx].to(z.device, z.dtype)
            return z

        edits[layer] = edit
    return edits


@contextlib.contextmanager
def ablate(
    model: Any,
    heads: Any,
    kind: str = "mean",
    *,
    means: torch.Tensor | None = None,
    reference: Any = None,
) -> Iterator[list[Head]]:
    """Ablate ``heads`` of ``model`` inside a ``with`` block; yields the checked head list.

    ``heads``: ``(layer, head)`` or a list of pairs. ``kind``: ``"mean"`` (replace the head's
    ``z`` by its mean over ``reference`` contexts, :func:`head_means`; pass ``means=`` to reuse
    them) or ``"zero"``. Every forward pass inside the block sees the ablated model — the
    package's own functions (:func:`icl_score`, :func:`per_token_loss`, :func:`head_scores`, …)
    and ``model(tokens)`` alike; the hooks are removed on exit, also after an error::

        with iw.ablate(model, [(1, 0), (1, 2)], kind="zero"):
            print(iw.icl_score(model))
    """
    info = model_info(model)
    kind = check_choice("kind", kind, ABLATION_KINDS)
    means = _check_means(info, means)
    checked = _as_heads(info, heads)
    if kind == "mean" and means is None and checked:
        means = head_means(model, reference)
    with _z_hooks(model, _replacement(info, checked, kind, means)):
        yield checked


# --- measured effects ----------------------------------------------------------------------------


@dataclass
class AblationEffect:
    """What one ablation changes: ICL score, repeated-tokens loss and (optionally) a text's losses."""

    heads: list[Head]
    kind: str
    icl_before: ICLScore
    icl_after: ICLScore
    repeated_loss_before: float
    repeated_loss_after: float
    text_loss_before: torch.Tensor | None = None  # [pos], NaN at 0
    text_loss_after: torch.Tensor | None = None

    @property
    def icl_change(self) -> float:
        return self.icl_after.score - self.icl_before.score

    @property
    def repeated_loss_change(self) -> float:
        return self.repeated_loss_after - self.repeated_loss_before


def ablation_effect(
    model: Any,
    heads: Any,
    kind: str = "mean",
    *,
    tokens: Any = None,
    text: Any = None,
    n_contexts: int = 32,
    seed: int = 0,
    means: torch.Tensor | None = None,
) -> AblationEffect:
    """Measure ``model`` with and without ``heads`` ablated: the ICL score on ``tokens`` (default
    :func:`icl_score`'s contexts), the loss on the repeated half of repeated random tokens
    (:func:`repeated_tokens_loss`) and, if ``text`` is given, its per-token loss ``[pos]``."""
    info = model_info(model)
    kind = check_choice("kind", kind, ABLATION_KINDS)
    means = _check_means(info, means)
    checked = _as_heads(info, heads)
    if tokens is None:
        tokens, _ = default_contexts(model, n_contexts, check_seed(seed))
    if kind == "mean" and means is None:
        means = head_means(model)

    def measure() -> tuple[ICLScore, float, torch.Tensor | None]:
        icl = icl_score(model, tokens, curve=False)
        rep = repeated_tokens_loss(model)
        txt = None if text is None else per_token_loss(model, text)[0]
        return icl, rep, txt

    before = measure()
    with ablate(model, checked, kind, means=means):
        after = measure()
    return AblationEffect(
        checked, kind, before[0], after[0], before[1], after[1], before[2], after[2]
    )


@dataclass
class AblationComparison:
    """The paper's comparison: the strict induction heads ablated together vs random head sets."""

    heads: list[Head]
    draws: list[list[Head]]
    icl_change: float  # Δ ICL score with ``heads`` ablated (NaN: not measured)
    repeated_loss_change: float  # Δ loss on the repeated half of repeated random tokens
    random_icl_changes: list[float]  # one per draw
    random_repeated_loss_changes: list[float]

    @staticmethod
    def _mean_sd(values: list[float]) -> tuple[float, float]:
        if not values:
            return float("nan"), float("nan")
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
        return mean, math.sqrt(var) if len(values) > 1 else 0.0

    @property
    def random_icl(self) -> tuple[float, float]:
        """``(mean, sd)`` of the ICL-score change over the random draws."""
        return self._mean_sd(self.random_icl_changes)

    @property
    def random_repeated_loss(self) -> tuple[float, float]:
        """``(mean, sd)`` of the repeated-tokens loss change over the random draws."""
        return self._mean_sd(self.random_repeated_loss_changes)

    def _measure(self, measure: str) -> tuple[float, list[float]]:
        if measure == "icl":
            return self.icl_change, self.random_icl_changes
        if measure == "repeated_loss":
            return self.repeated_loss_change, self.random_repeated_loss_changes
        raise InputError(f"measure must be 'icl' or 'repeated_loss', got {measure!r}")

    def z_score(self, measure: str = "repeated_loss") -> float:
        """``(x − mean_r) / sd_r``: the induction set's change ``x`` against the random draws' mean
        and standard deviation (NaN with fewer than 2 draws, a zero spread or ``x`` not measured)."""
        x, draws = self._measure(measure)
        mean, sd = self._mean_sd(draws)
        if len(draws) < 2 or not sd > 0 or math.isnan(x):
            return float("nan")
        return (x - mean) / sd

    def beats(self, measure: str = "repeated_loss") -> float:
        """Fraction of random draws whose change is smaller than the induction set's (ties count
        half); ``1 − beats`` is the empirical one-sided p-value of "the induction heads matter no
        more than random heads" (its resolution is ``1 / n_draws``). NaN when not measured."""
        x, draws = self._measure(measure)
        if not draws or math.isnan(x) or any(math.isnan(d) for d in draws):
            return float("nan")
        return sum(1.0 if d < x else 0.5 if d == x else 0.0 for d in draws) / len(draws)

    def p_value(self, measure: str = "repeated_loss") -> float:
        """Empirical one-sided p-value ``(1 + #{draws ≥ x}) / (1 + n_draws)`` (never 0)."""
        x, draws = self._measure(measure)
        if not draws or math.isnan(x) or any(math.isnan(d) for d in draws):
            return float("nan")
        return (1 + sum(1 for d in draws if d >= x)) / (1 + len(draws))


@dataclass
class AblationScores:
    """Per-head ICL-score change (``[n_layers, n_heads]``) and the induction-vs-random comparison.

    ``icl_change[l, h] = icl(ablate (l, h)) − icl(model)``: positive where removing the head makes
    the (negative) ICL score less negative, i.e. the model learns less in context without it; NaN
    for heads not measured (layers left out with ``layers=``). ``icl_change_sem[l, h]``: the
    standard error of that mean over contexts (the change is paired: the same contexts with and
    without the ablation, ``sd_c(Δ_c) / √n``). ``meta``: ``model`` (``cfg.model_name``),
    ``n_contexts``, ``window``, ``layers`` (the layers measured), ``contexts`` (their source).
    """

    icl_change: torch.Tensor | None  # [n_layers, n_heads]; None when per_head=False
    base: ICLScore
    kind: str
    comparison: AblationComparison | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    icl_change_sem: torch.Tensor | None = None  # [n_layers, n_heads]; NaN where not measured
    method: str = "exact"  # "exact": each head ablated; "attribution": first-order estimate
    qk_fix: bool = False  # attribution with AtP*'s QK fix (exact softmax of later patterns)

    @property
    def method_label(self) -> str:
        """How ``icl_change`` was obtained, in words (for views and pages)."""
        if self.method == "attribution" and self.qk_fix:
            return (
                f"attribution patching with the AtP* QK fix (first-order estimate of {self.kind} "
                "ablation, later attention patterns recomputed exactly)"
            )
        if self.method == "attribution":
            return f"attribution patching (first-order estimate of {self.kind} ablation)"
        return f"exact {self.kind} ablation, one head at a time"


def _per_head_icl(
    model: Any,
    tokens: torch.Tensor,
    early: int,
    late: int,
    base_pair: torch.Tensor,
    window: int,
    kind: str,
    means: torch.Tensor | None,
    batch_size: int | None,
    progress: bool | None,
    layers: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Δicl, sem)``, each ``[n_layers, n_heads]``: one pass per layer (of ``layers``, default
    all; NaN elsewhere) over ``n_heads`` replicas of the contexts."""
    info = model_info(model)
    n_ctx, H = tokens.shape[0], info.n_heads
    indices = window_indices(early, late, window, tokens.shape[1])
    tokens = tokens[:, : max(indices) + 1]
    size = max(1, auto_batch(info, tokens.shape[1]) // H) if batch_size is None else batch_size
    out = torch.full((info.n_layers, H), float("nan"))
    sem = torch.full((info.n_layers, H), float("nan"))
    todo = list(range(info.n_layers)) if layers is None else list(layers)
    show = len(todo) > 4 if progress is None else progress
    base_diff = base_pair[:, 1] - base_pair[:, 0]  # [n_ctx]
    for layer in tqdm(todo, desc="ablating heads", disable=not show, leave=False):
        pairs = []
        for start in range(0, n_ctx, size):
            chunk = tokens[start : start + size]
            b = chunk.shape[0]
            replicas = chunk.repeat(H, 1)  # [H * b, pos]: replica r = rows r*b .. r*b + b - 1

            def edit(z: torch.Tensor, b: int = b, layer: int = layer) -> torch.Tensor:
                zr = z.view(H, b, *z.shape[1:])  # [replica, b, pos, head, d_head]
                for r in range(H):
                    if kind == "zero" or means is None:
                        zr[r, :, :, r] = 0
                    else:
                        zr[r, :, :, r] = means[layer, r].to(z.device, z.dtype)
                return z

            with _z_hooks(model, {layer: edit}):
                pair = pair_from(losses_at(model, replicas, indices), window)  # [H * b, 2]
            pairs.append(pair.view(H, b, 2))
        pair_all = torch.cat(pairs, dim=1)  # [H, n_ctx, 2]
        change = (pair_all[..., 1] - pair_all[..., 0]) - base_diff  # [H, n_ctx], paired
        out[layer] = change.mean(1)
        if n_ctx > 1:
            sem[layer] = change.std(1) / n_ctx**0.5
    return out, sem


ABLATION_METHODS = ("exact", "attribution")


def _check_method(method: Any) -> str:
    if method not in ABLATION_METHODS:
        raise InputError(
            f"method must be one of {ABLATION_METHODS}, got {method!r}: 'exact' ablates each head "
            "(one pass per layer), 'attribution' estimates every head from one forward and one "
            "backward pass"
        )
    return str(method)


def _check_qk_fix(qk_fix: Any, method: str) -> bool:
    if not isinstance(qk_fix, bool):
        raise InputError(f"qk_fix must be True or False, got {qk_fix!r}")
    if qk_fix and method != "attribution":
        raise InputError(
            f"qk_fix=True corrects the attribution estimate; it needs method='attribution', got "
            f"method={method!r} (exact ablation needs no fix: leave qk_fix out)"
        )
    return qk_fix


def _all_heads(info: ModelInfo) -> list[Head]:
    return [(l, h) for l in range(info.n_layers) for h in range(info.n_heads)]


@contextlib.contextmanager
def _frozen_weights(model: Any) -> Iterator[None]:
    """Parameters set to ``requires_grad=False`` inside the block (restored after): a backward
    pass then computes gradients at the activations asked for and none for the weights."""
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


@dataclass
class _PatternParts:
    """What the QK fix needs from the clean pass of a chunk of ``b`` contexts, per layer ``l``:
    ``grad[l] = ∂(Σ_b icl_b)/∂A[l]`` at ``hook_pattern`` ``[b, head, dst, src]`` (every pattern a
    leaf of the backward) and the clean pattern ``pattern[l]`` (same shape); detached, on the
    model's device."""

    grad: list[torch.Tensor]
    pattern: list[torch.Tensor]


def _z_grad_pass(
    model: Any, tokens: torch.Tensor, indices: list[int], window: int, qk_fix: bool = False
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], _PatternParts | None]:
    """One forward and one backward pass over ``tokens`` ``[b, pos]``: returns the per-context
    (early, late) window-mean losses ``[b, 2]``, and per layer ``z`` and ``∂(Σ_b icl_b)/∂z``, each
    ``[b, pos, head, d_head]`` float32 on CPU. Gradients are taken only at ``hook_z`` (weights
    frozen; layer 0's ``z`` is made a leaf so every later ``z`` depends on it).

    ``qk_fix``: every attention pattern (``hook_pattern``) is replaced by a detached copy that is a
    leaf of the backward, so ``∂icl/∂z`` holds every pattern fixed (paths through values, MLPs and
    the residual stream only) and the same backward gives ``∂icl/∂A`` per layer; the fourth item
    then holds those and the clean patterns (:class:`_PatternParts`)."""
    info = model_info(model)
    zs: list[torch.Tensor] = []
    patterns: list[torch.Tensor] = []

    def keep(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if not output.requires_grad:
            output = output.detach().requires_grad_(True)
        zs.append(output)
        return output

    def leaf(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        out = output.detach().requires_grad_(True)
        patterns.append(out)
        return out

    idx = torch.tensor(indices, device=tokens.device)
    name = final_hook(model)
    grabbed: dict[str, torch.Tensor] = {}

    def grab(x: torch.Tensor, hook: Any) -> None:
        grabbed["r"] = x[:, idx - 1].float()
        raise StopForward

    points = model.hook_dict
    handles = [
        points[f"blocks.{l}.attn.hook_z"].register_forward_hook(keep) for l in range(info.n_layers)
    ]
    if qk_fix:
        for l in range(info.n_layers):
            handles.append(points[f"blocks.{l}.attn.hook_pattern"].register_forward_hook(leaf))
    try:
        with _frozen_weights(model), torch.enable_grad():
            if name is None:
                logits = model(tokens, return_type="logits")[:, idx - 1].float()
            else:
                with contextlib.suppress(StopForward):
                    model.run_with_hooks(tokens, fwd_hooks=[(name, grab)], return_type=None)
                logits = grabbed["r"] @ model.W_U.float()
                b_u = getattr(model, "b_U", None)
                if b_u is not None:
                    logits = logits + b_u.float()
            check_finite(logits.detach(), "the logits")
            loss = -logits.log_softmax(-1).gather(-1, tokens[:, idx, None])[..., 0]  # [b, k]
            pair = pair_from(loss, window)  # [b, 2]
            diff = pair[:, 1] - pair[:, 0]
            grads = torch.autograd.grad(diff.sum(), zs + patterns, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    shape = (*tokens.shape, info.n_heads, info.d_head)
    parts = None
    if qk_fix:
        if len(patterns) != info.n_layers:
            raise InputError(
                f"the QK fix needs hook_pattern to fire in every layer (got {len(patterns)} of "
                f"{info.n_layers}): this model runs an attention without it; use qk_fix=False"
            )
        g_pat = [
            torch.zeros_like(a) if g is None else g.detach()
            for a, g in zip(patterns, grads[len(zs) :], strict=True)
        ]
        parts = _PatternParts(g_pat, [a.detach() for a in patterns])
    return (
        pair.detach().cpu(),
        [z.detach().float().reshape(shape).cpu() for z in zs],
        [
            torch.zeros(shape) if g is None else g.float().reshape(shape).cpu()
            for g in grads[: len(zs)]
        ],
        parts,
    )


def _qk_fix_terms(
    model: Any,
    info: ModelInfo,
    tokens: torch.Tensor,
    delta_z: list[torch.Tensor],
    parts: _PatternParts,
    sources: Sequence[Head],
    rows: int,
) -> torch.Tensor:
    r"""The AtP* QK-fix term of each head in ``sources`` on each context: ``[b, n_layers, n_heads]``
    (0 for heads not in ``sources`` and for last-layer heads, which have no attention downstream).

    Head ``(l, h)`` is ablated (``z ← z + Δz``, ``Δz = delta_z[l][..., h, :]``
    ``[b, pos, d_head]``) in a forward pass of its own replica of the contexts; every later layer's
    pattern ``A'[l']`` is taken as that pass computes it — the softmax exactly, with the change
    reaching the queries and keys by every route (directly, through MLPs and through other heads'
    values), rotary and grouped-query heads as the model has them — and the term is
    ``Σ_{l' > l} Σ_{head, dst, src} (A'[l'] − A[l']) · ∂icl/∂A[l']``, the gradient taken with every
    pattern a leaf (:func:`_z_grad_pass`). With the frozen-pattern gradient term this is
    ``dicl = ∂icl/∂z|_A · Δz + Σ_{l'} ∂icl/∂A[l'] · ΔA[l']``, first order in what follows the
    patterns and exact in the patterns themselves: for a small ``Δz`` it is the plain estimate.

    Cost: one forward pass, stopped after the last layer's pattern, over ``len(sources)``
    replicas of the contexts (``rows`` rows per pass): as many rows as exact ablation of those
    heads, without the unembedding and the loss.
    """
    b = tokens.shape[0]
    L = info.n_layers
    out = torch.zeros(b, L, info.n_heads)
    todo = [(l, h) for l, h in sources if l < L - 1]
    per_pass = max(1, rows // b)
    for start in range(0, len(todo), per_pass):
        group = todo[start : start + per_pass]
        acc = _qk_fix_pass(model, info, tokens, parts, group, delta_z)
        for r, (l, h) in enumerate(group):
            out[:, l, h] = acc[r].cpu()
    return out


def _qk_fix_pass(
    model: Any,
    info: ModelInfo,
    tokens: torch.Tensor,
    parts: _PatternParts,
    group: list[Head],
    delta_z: list[torch.Tensor],
) -> torch.Tensor:
    """One pass of :func:`_qk_fix_terms` over ``R = len(group)`` replicas of ``tokens [b, pos]``
    (replica ``r`` = rows ``r·b … r·b + b − 1`` ablates head ``group[r]``); returns
    ``Σ_{l' > l_r} Σ (A'[l'] − A[l']) · ∂icl/∂A[l']`` ``[R, b]``."""
    R, b = len(group), tokens.shape[0]
    L = info.n_layers
    device = parts.pattern[0].device
    src_layer = torch.tensor([l for l, _ in group], device=device)
    acc = torch.zeros(R, b, device=device)

    def ablate_rows(layer: int) -> Callable[[torch.Tensor], torch.Tensor]:
        def edit(z: torch.Tensor) -> torch.Tensor:
            zr = z.view(R, b, *z.shape[1:])  # [R, b, pos, head, d_head]
            for r, (l, h) in enumerate(group):
                if l == layer:
                    zr[r, :, :, h] += delta_z[l][:, :, h].to(z.device, z.dtype)
            return z

        return edit

    def score(layer: int) -> Callable[..., None]:
        def fn(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            a = output.detach().float().view(R, b, *output.shape[1:])
            a = a - parts.pattern[layer].float()[None]
            term = (a * parts.grad[layer].float()[None]).sum((2, 3, 4))
            acc.add_(term * (src_layer < layer).float()[:, None])
            if layer == L - 1:
                raise StopForward

        return fn

    edits = {l: ablate_rows(l) for l in sorted({l for l, _ in group})}
    points = model.hook_dict
    handles = [
        points[f"blocks.{l}.attn.hook_pattern"].register_forward_hook(score(l)) for l in range(1, L)
    ]
    try:
        with _z_hooks(model, edits), torch.no_grad(), contextlib.suppress(StopForward):
            model.run_with_hooks(tokens.repeat(R, 1), return_type=None)
    finally:
        for handle in handles:
            handle.remove()
    return acc


def _attribution_icl(
    model: Any,
    tokens: torch.Tensor,
    early: int,
    late: int,
    window: int,
    kind: str,
    means: torch.Tensor | None,
    batch_size: int | None,
    progress: bool | None,
    qk_fix: bool = False,
    sources: Sequence[Head] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Attribution patching (Nanda 2023; Kramár et al. 2024, "AtP"): every head's Δicl at once.

    First-order Taylor estimate of mean (or zero) ablation of head ``(l, h)`` on context ``b``:
    ``Δ̂[b, l, h] = Σ_{p, d} (μ[l, h, d] − z[b, p, l, h, d]) · ∂icl_b/∂z[b, p, l, h, d]``
    (``μ = 0`` for ``kind="zero"``), with ``icl_b`` the context's (window-mean) late − early
    loss. One forward and one backward pass per batch of contexts, gradients only at
    ``hook_z``. Returns ``(mean_b Δ̂, sem_b Δ̂, clean pair losses [n_ctx, 2])``, the first two
    ``[n_layers, n_heads]``.

    ``qk_fix`` (AtP*'s fix for attention saturation, Kramár et al. 2024): the gradient at
    ``hook_z`` is taken with every attention pattern held fixed, ``g̃ = ∂icl/∂z|_A``, and each
    head gets, beside ``Σ (μ − z) · g̃``, the term of :func:`_qk_fix_terms`:
    ``Σ_{l' > l} (A'_{l,h}[l'] − A[l']) · ∂icl/∂A[l']``, with ``A'`` the later layers' patterns
    computed exactly with the head ablated. Where no pattern is saturated, ``A' − A`` is linear in
    ``μ − z`` for a small change and the sum is the plain estimate again; where one is, the softmax
    is taken as it is. ``sources``: the heads that get the term (default all; the cost is one
    truncated forward pass over that many replicas of the contexts).
    """
    info = model_info(model)
    indices = window_indices(early, late, window, tokens.shape[1])
    tokens = tokens[:, : max(indices) + 1]
    # backward keeps every activation of the pass: ~6x a forward's logits budget per context
    size = max(1, auto_batch(info, tokens.shape[1]) // 2) if batch_size is None else batch_size
    per_ctx: list[torch.Tensor] = []
    diffs: list[torch.Tensor] = []
    starts = range(0, tokens.shape[0], size)
    show = len(starts) > 4 if progress is None else progress
    check_weights(model)
    for start in tqdm(starts, desc="attribution", disable=not show, leave=False):
        chunk = tokens[start : start + size]
        pair, zs, grads, parts = _z_grad_pass(model, chunk, indices, window, qk_fix)
        est = torch.zeros(chunk.shape[0], info.n_layers, info.n_heads)
        deltas = []
        for layer, (z, g) in enumerate(zip(zs, grads, strict=True)):
            target = (
                torch.zeros_like(z)
                if kind == "zero" or means is None
                else means[layer].to(z.dtype).expand_as(z)
            )
            deltas.append(target - z)  # [b, pos, head, d_head]
            est[:, layer] = (deltas[-1] * g).sum((1, 3))  # [b, head]
        if parts is not None:
            heads = sources if sources is not None else _all_heads(info)
            # replica rows per pass: ~16M pattern floats ([rows, head, pos, pos])
            rows = max(chunk.shape[0], (16 << 20) // (info.n_heads * chunk.shape[1] ** 2))
            est += _qk_fix_terms(model, info, chunk, deltas, parts, heads, rows)
        per_ctx.append(est)
        diffs.append(pair)
    all_est = torch.cat(per_ctx)  # [n_ctx, L, H]
    n = all_est.shape[0]
    sem = (
        all_est.std(0) / n**0.5
        if n > 1
        else torch.full((info.n_layers, info.n_heads), float("nan"))
    )
    return all_est.mean(0), sem, torch.cat(diffs)


def ablation_scores(
    model: Any,
    tokens: Any = None,
    *,
    kind: str = "mean",
    n_contexts: int = 16,
    seed: int = 0,
    per_head: bool = True,
    compare: bool = True,
    induction_heads: Any = None,
    n_draws: int = 20,
    window: int | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    layers: Any = None,
    means: torch.Tensor | None = None,
    method: str = "exact",
    corpus: str = "austen",
    qk_fix: bool = False,
) -> AblationScores:
    """Per-head ICL-score change under ablation, and strict induction heads vs random heads.

    ``tokens``: ICL contexts (default ``n_contexts`` corpus windows, see :func:`icl_score`).
    ``per_head``: compute ``icl_change[l, h]`` (one pass per layer, ``n_heads`` replicas of the
    contexts, ``progress`` bar over layers). ``compare``: ablate ``induction_heads`` together
    (default ``head_scores(model).induction_heads()``, the strict empirical definition) and
    ``n_draws`` sets of as many heads drawn at random (seeded) from the other heads; for each, the
    change of the ICL score and of :func:`repeated_tokens_loss`. ``window``: as in
    :func:`icl_score` (losses averaged over index ± window). ``layers``: measure the heads of
    these layers only (an int or a list; default all), the others' ``icl_change`` is NaN — one
    pass per layer is the cost, so on a large model measure the layers of interest. ``means``:
    the mean-ablation values ``[n_layers, n_heads, d_head]`` (:func:`head_means`; default its 8
    corpus contexts).

    ``method``: ``"exact"`` (default) ablates each head (one pass per layer per chunk of
    contexts); ``"attribution"`` estimates every head's change at once to first order
    (attribution patching, :func:`_attribution_icl`: one forward and one backward pass per chunk
    of contexts, whatever the number of heads; validated against exact ablation in
    ``docs/beyond.md``). ``corpus``: as in :func:`icl_score`.

    ``qk_fix`` (with ``method="attribution"``): AtP*'s fix for attention saturation (Kramár et
    al. 2024): the estimate is the gradient term with every attention pattern held fixed plus,
    per head, the exact change of every later layer's pattern with the head ablated (a forward
    pass), times ``∂icl/∂pattern`` (:func:`_attribution_icl`). It costs one
    more forward pass (stopped after the last attention) over one replica of the contexts per
    head of ``layers`` (default all but the last layer, whose heads have no attention
    downstream) — as many rows as exact ablation: use it to check where the plain estimate
    misses (docs/beyond.md), with ``layers=`` to bound it.

    Sign: ``icl_change = icl(ablated) − icl(clean)``; the ICL score is negative for a model that
    learns in context, so removing a head it needs gives ``icl_change > 0``.
    """
    info = model_info(model)
    chosen = check_layers(info, layers)
    kind = check_choice("kind", kind, ABLATION_KINDS)
    means = _check_means(info, means)
    method = _check_method(method)
    qk_fix = _check_qk_fix(qk_fix, method)
    seed = check_seed(seed)
    n_draws = check_int("n_draws", n_draws, 1)
    if tokens is None:
        tokens, source = default_contexts(model, n_contexts, seed, check_corpus(corpus))
    else:
        tokens, source = to_tokens(model, tokens), "given"
    window = resolve_window(window, tokens.shape[1])
    early, late, note = icl_indices(tokens.shape[1], window)
    if kind == "mean" and means is None:
        means = head_means(model)
    indices = window_indices(early, late, window, tokens.shape[1])
    change: torch.Tensor | None = None
    sem: torch.Tensor | None = None
    if per_head and method == "attribution":
        change, sem, base_pair = _attribution_icl(
            model,
            tokens,
            early,
            late,
            window,
            kind,
            means,
            batch_size,
            progress,
            qk_fix,
            None if chosen is None else [(l, h) for l, h in _all_heads(info) if l in chosen],
        )
        if chosen is not None:
            skip = [l for l in range(info.n_layers) if l not in chosen]
            change[skip] = float("nan")
            sem[skip] = float("nan")
    else:
        base_pair = pair_losses(model, tokens, indices, window, batch_size)
    base = icl_from_pair(base_pair, early, late, None, tokens.shape[1], note, source)
    base.window = window
    if per_head and method == "exact":
        change, sem = _per_head_icl(
            model, tokens, early, late, base_pair, window, kind, means, batch_size, progress, chosen
        )
    comparison = None
    if compare:
        if induction_heads is None:
            from .scores import head_scores

            induction_heads = head_scores(model, progress=False).induction_heads()
        heads = _as_heads(info, list(induction_heads))
        comparison = _compare(model, heads, kind, means, n_draws, seed, (tokens, base, window))
    meta = {
        "contexts": source,
        "model": str(getattr(model.cfg, "model_name", "")),
        "n_contexts": int(tokens.shape[0]),
        "window": int(window),
        "layers": list(range(info.n_layers)) if chosen is None else chosen,
        "method": method,
        "qk_fix": qk_fix,
    }
    return AblationScores(
        change, base, kind, comparison, meta=meta, icl_change_sem=sem, method=method, qk_fix=qk_fix
    )


def ablation_comparison(
    model: Any,
    heads: Any,
    *,
    kind: str = "mean",
    tokens: Any = None,
    n_draws: int = 20,
    seed: int = 0,
    window: int | None = None,
    means: torch.Tensor | None = None,
    n_examples: int = 10,
) -> AblationComparison:
    """The paper's comparison on its own: ``heads`` ablated together vs ``n_draws`` sets of as many
    heads drawn at random (seeded) from the other heads, each measured by the change of
    :func:`repeated_tokens_loss` and — when ``tokens`` (ICL contexts) are given — of the ICL score
    on them (``window`` as in :func:`icl_score`). Without ``tokens`` the ICL changes are NaN (not
    measured): the quick look at a large model, where a few 512-token contexts cost more than the
    repeated-tokens loss many times over. ``means``: as in :func:`ablate`. ``n_examples``: the
    repeated-token sequences of :func:`repeated_tokens_loss`.
    """
    info = model_info(model)
    kind = check_choice("kind", kind, ABLATION_KINDS)
    means = _check_means(info, means)
    checked = _as_heads(info, heads)
    n_draws = check_int("n_draws", n_draws, 1)
    seed = check_seed(seed)
    if kind == "mean" and means is None:
        means = head_means(model)
    icl_on = None
    if tokens is not None:
        toks = to_tokens(model, tokens)
        window = resolve_window(window, toks.shape[1])
        icl_on = (toks, icl_score(model, toks, curve=False, window=window), window)
    n_examples = check_int("n_examples", n_examples, 1)
    return _compare(model, checked, kind, means, n_draws, seed, icl_on, n_examples)


def _draw_sets(info: ModelInfo, heads: list[Head], n_draws: int, seed: int) -> list[list[Head]]:
    """``n_draws`` distinct sets of ``len(heads)`` heads drawn (seeded) from the other heads."""
    others = [
        (l, h) for l in range(info.n_layers) for h in range(info.n_heads) if (l, h) not in heads
    ]
    k = len(heads)
    possible = math.comb(len(others), k) if k <= len(others) else 0
    rng = random.Random(seed)
    draws: list[list[Head]] = []
    seen: set[tuple[Head, ...]] = set()
    while k and len(draws) < min(n_draws, possible):
        draw = tuple(sorted(rng.sample(others, k)))
        if draw not in seen:
            seen.add(draw)
            draws.append(list(draw))
    return draws


def _set_losses(
    model: Any,
    tokens: torch.Tensor,
    sets: list[list[Head]],
    kind: str,
    means: torch.Tensor | None,
    measure: Callable[[torch.Tensor], torch.Tensor],
    rows: int,
) -> torch.Tensor:
    """``measure`` (``[rows', pos]`` tokens → ``[rows', k]`` losses) of ``tokens`` ``[b, pos]``
    under each head set ablated: ``[len(sets), b, k]``. Several sets share a forward pass: the
    contexts are repeated once per set, replica ``r`` ablating ``sets[r]`` (a mask
    ``[set, layer, head]`` applied at every ``hook_z``); at most ``rows`` rows per pass."""
    info = model_info(model)
    b = tokens.shape[0]
    per_pass = max(1, rows // b)
    mask = torch.zeros(len(sets), info.n_layers, info.n_heads, dtype=torch.bool)
    for r, hs in enumerate(sets):
        for l, h in hs:
            mask[r, l, h] = True
    out = []
    for start in range(0, len(sets), per_pass):
        m = mask[start : start + per_pass]  # [R, L, H]
        R = m.shape[0]

        def edit(z: torch.Tensor, layer: int, m: torch.Tensor = m, R: int = R) -> torch.Tensor:
            zr = z.view(R, b, *z.shape[1:])  # [R, b, pos, H, d_head]
            sel = m[:, layer].to(z.device)[:, None, None, :, None]
            repl = (
                torch.zeros_like(zr[:1])
                if kind == "zero" or means is None
                else means[layer].to(z.device, z.dtype)[None, None, None]
            )
            return torch.where(sel, repl, zr).view(z.shape)

        edits: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {
            l: functools.partial(edit, layer=l) for l in range(info.n_layers) if bool(m[:, l].any())
        }
        with _z_hooks(model, edits):
            out.append(measure(tokens.repeat(R, 1)).view(R, b, -1))
    return torch.cat(out)


def _compare(
    model: Any,
    heads: list[Head],
    kind: str,
    means: torch.Tensor | None,
    n_draws: int,
    seed: int,
    icl_on: tuple[torch.Tensor, ICLScore, int] | None,
    n_examples: int = 10,
) -> AblationComparison:
    """``icl_on``: ``(contexts, their clean ICL score, window)``, or ``None``: ICL not measured.

    The induction set and every draw are measured in shared passes (:func:`_set_losses`): the
    cost is that of ``1 + n_draws`` copies of the contexts, not of ``1 + n_draws`` separate
    model calls."""
    info = model_info(model)
    draws = _draw_sets(info, heads, n_draws, seed)
    sets = [heads, *draws]
    rep_tokens = repeated_random_tokens(model, n_examples, 25, 2, 0)
    rep_idx = list(range(27, rep_tokens.shape[1]))
    rep_base = float(losses_at(model, rep_tokens, rep_idx).mean())
    rows = max(rep_tokens.shape[0], auto_batch(info, rep_tokens.shape[1]) * 4)
    rep = _set_losses(
        model, rep_tokens, sets, kind, means, lambda t: losses_at(model, t, rep_idx), rows
    )  # [sets, n_examples, k]
    rep_c = [float(x) - rep_base for x in rep.mean((1, 2))]
    icl_c = [float("nan")] * len(sets)
    if icl_on is not None:
        tokens, base, window = icl_on
        indices = window_indices(base.early, base.late, window, tokens.shape[1])
        cut = tokens[:, : max(indices) + 1]
        pair = _set_losses(
            model,
            cut,
            sets,
            kind,
            means,
            lambda t: pair_from(losses_at(model, t, indices), window),
            max(cut.shape[0], auto_batch(info, cut.shape[1])),
        )  # [sets, n_ctx, 2]
        icl_c = [float((p[:, 1] - p[:, 0]).mean()) - base.score for p in pair]
    if not heads:
        icl_c[0], rep_c[0] = 0.0, 0.0
    return AblationComparison(heads, draws, icl_c[0], rep_c[0], icl_c[1:], rep_c[1:])
