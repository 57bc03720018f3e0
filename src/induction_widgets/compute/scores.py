r"""Per-head scores: prefix matching, previous token, copying (the paper's and three readable
measures), OV copying, pattern matching; each with its per-example values where it has them.

All scores are ``[n_layers, n_heads]`` float32 tensors. They are computed in **one forward pass**
whose hooks reduce each layer's attention pattern ``A`` (``[batch, head, dst, src]``) to scores as
soon as it is produced, so memory is bounded by one layer's pattern; nothing is cached.

Notation: batch ``b``, destination ``d``, source ``s``, tokens ``t[b, ·]``.

* **Prefix matching** — with the induction targets of ``d``
  :math:`T(b,d) = \{ j + 1 : j < d,\ t_{b,j} = t_{b,d} \}` (positions right after earlier
  occurrences of the current token) and the destinations that have one,
  :math:`D = \{(b, d) : T(b,d) \neq \emptyset\}`:
  ``prefix_matching[l, h] = mean_{(b,d) in D} sum_{s in T(b,d)} A[b, h, d, s]``. Range [0, 1].
* **Previous token** — ``previous_token[l, h] = mean_{b, d >= 1} A[b, h, d, d - 1]``. Range [0, 1].
* **Copying** — the paper's head-activation evaluator, read literally. At destination ``d`` the
  head writes ``o = z_d W_O`` to the residual stream; its direct-path logits are ``o / σ_d · W_U``
  (``σ_d``: final norm scale). Restricted to the example's distinct tokens ``S_b`` (BOS excluded),
  centred to zero mean over ``S_b`` and ReLU'd they give the *raise* ``ρ_d(x) >= 0`` of each token
  ``x ∈ S_b``. With ``a`` the token at the source the head attends to most (``argmax_s A[d, s]``),
  ``r_d = ρ_d(a) / (ρ_d(a) + Σ_{x ∈ S_b} ρ_d(x))`` — the attended token's raise over itself plus the
  raise of all sample tokens, so ``r_d ∈ [0, 1/2]`` — and, scaled linearly to [−1, 1],
  ``copying = mean_d (4 r_d − 1)``. Equivalently ``(2ρ(a) − R) / (2ρ(a) + R)`` with ``R`` the raise
  of the other tokens. Averaged over destinations ``d >= 1`` whose argmax source is not BOS (position
  0, the head's resting place) and whose raise is not all zero. An exactly copying OV circuit scores
  +1; one that suppresses the attended token scores −1; a random OV circuit over ``n`` sample tokens
  scores about ``(3 − n) / (n + 1)`` (−0.85 for the paper's 25). Readings taken: the attended token is
  the argmax source; ``σ_d`` is a positive per-position scalar, so ``r_d`` does not depend on it and
  the hook need not wait for the end of the pass.
* **Copying rank / accuracy / source-only** — the same direct-path logits ``ℓ_d(x)`` over ``S_b``
  and attended token ``a``, at destinations with an induction target whose argmax source is not
  BOS: ``copying_rank = mean_d #{x ≠ a : ℓ_d(x) < ℓ_d(a)} / (|S_b| − 1)`` ∈ [0, 1] (0.5 chance, 1
  perfect copier, 0 perfect suppressor; the verdict's measure), ``copying_accuracy = mean_d
  1[argmax_x ℓ_d(x) = a]`` (chance ``1/|S_b|``), and ``copying_source``: the paper's ratio on the
  attended source's value vector alone, ``v_{s*} W_O W_U`` (``hook_v``), over the paper's
  destinations. Calibration: docs/scores.md.
* **OV copying** — over the eigenvalues ``λ`` of the full OV circuit ``W_E W_V W_O W_U``
  (``[vocab, vocab]``, computed as the ``[d_head, d_head]`` product ``W_O W_U W_E W_V`` with the same
  non-zero eigenvalues, as ``FactoredMatrix`` does): ``ov_copying = Σλ / Σ|λ|`` ∈ [−1, 1].
* **Pattern matching** — see :func:`pattern_matching_scores`.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from tqdm.auto import tqdm

from ..checks import check_finite, check_int, check_seed, check_weights
from ..errors import InputError
from ._model import (
    model_device,
    model_info,
    post_attn_gain,
    run_with_hooks,
    stop_forward,
    to_tokens,
)
from .tasks import pattern_matching_lines, repeated_random_tokens

SCORE_NAMES = (
    "prefix_matching",
    "copying",
    "copying_accuracy",
    "copying_rank",
    "copying_source",
    "previous_token",
    "ov_copying",
    "pattern_matching",
    "long_range_induction",
)

#: Default thresholds of the strict empirical definition (see :meth:`HeadScores.verdict`). The
#: copying threshold sits clearly above the random-OV baseline ``(3 − n)/(n + 1) ≈ −0.85`` for the
#: protocol's ``n = 25`` sample tokens: a head above it raises the token it attends to far more than
#: chance (the tiny model's induction heads, whose OV circuits copy almost perfectly, score ≈ −0.1).
PREFIX_MATCHING_THRESHOLD = 0.3
COPYING_THRESHOLD = -0.4
PREVIOUS_TOKEN_THRESHOLD = 0.5
#: Default threshold of the verdict's measure, copying rank (calibrated in docs/scores.md: random OV
#: circuits score 0.44–0.59, the weakest direct copier among SmolLM2's prefix matchers 0.70).
COPYING_RANK_THRESHOLD = 0.65
#: Threshold when the verdict uses copying accuracy: the attended token ranks first at 40% of the
#: destinations (10× chance for 25 sample tokens; random OV circuits ≤ 0.08).
COPYING_ACCURACY_THRESHOLD = 0.4
#: Threshold when the verdict uses the source-only ratio (on the paper's scale, like ``copying``).
COPYING_SOURCE_THRESHOLD = -0.4


# --- target masks ------------------------------------------------------------------------------


def induction_targets(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Induction targets of a token batch ``[batch, pos]``.

    Returns ``(targets [batch, dst, src] bool, valid [batch, dst] bool)``: ``targets[b, d, s]`` is
    true when ``s = j + 1`` for an earlier occurrence ``j < d`` of token ``t[b, d]``; ``valid`` marks
    destinations with at least one target.
    """
    pos = tokens.shape[-1]
    same = tokens[:, :, None] == tokens[:, None, :]  # [b, d, j]
    earlier = torch.ones(pos, pos, dtype=torch.bool, device=tokens.device).tril(-1)
    occurrences = same & earlier
    targets = torch.zeros_like(occurrences)
    targets[:, :, 1:] = occurrences[:, :, :-1]
    return targets, occurrences.any(-1)


def previous_token_targets(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(targets [batch, dst, src], valid [batch, dst])`` with ``targets[b, d, d-1]`` for ``d >= 1``."""
    batch, pos = tokens.shape
    eye = torch.ones(pos, pos, dtype=torch.bool, device=tokens.device).tril(-1).triu(-1)
    valid = torch.ones(batch, pos, dtype=torch.bool, device=tokens.device)
    valid[:, 0] = False
    return eye.expand(batch, pos, pos), valid


def target_attention(
    pattern: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """Mean attention mass on targets: ``[batch, head, dst, src]`` pattern → ``[head]``.

    ``score[h] = Σ_{(b,d) valid} Σ_s A[b,h,d,s]·targets[b,d,s] / #valid``.
    """
    mass = torch.einsum("bhds,bds->bhd", pattern.float(), targets.float())
    weight = valid.float()
    return (mass * weight[:, None]).sum((0, 2)) / weight.sum()


def _target_scores(
    model: Any, tokens: torch.Tensor, masks: list[tuple[torch.Tensor, torch.Tensor]]
) -> list[torch.Tensor]:
    """One forward pass; for each ``(targets, valid)`` mask, ``[n_layers, n_heads]`` target attention."""
    info = model_info(model)
    out = [torch.zeros(info.n_layers, info.n_heads) for _ in masks]

    def hook(layer: int) -> Callable[..., None]:
        def fn(pattern: torch.Tensor, hook: Any) -> None:
            check_finite(pattern, f"the attention pattern of layer {layer}")
            for i, (targets, valid) in enumerate(masks):
                out[i][layer] = target_attention(pattern, targets, valid).cpu()

        return fn

    hooks = [(f"blocks.{l}.attn.hook_pattern", hook(l)) for l in range(info.n_layers)]
    run_with_hooks(model, tokens, hooks, stop_at=f"blocks.{info.n_layers - 1}.attn.hook_pattern")
    return out


def prefix_matching_scores(model: Any, tokens: Any, *, truncate: bool = False) -> torch.Tensor:
    """Prefix-matching score of every head on any token batch: ``[n_layers, n_heads]`` in [0, 1].

    See the module docstring for the definition. ``tokens`` may be text or token ids (``[pos]`` or
    ``[batch, pos]``); at least one token must occur twice. ``truncate=True`` keeps the first
    ``n_ctx`` tokens of a longer input (otherwise it raises).
    """
    tokens = to_tokens(model, tokens, truncate=truncate)
    targets, valid = induction_targets(tokens)
    if not valid.any():
        raise InputError(
            "no token occurs twice in the input, so prefix matching is undefined: use "
            "repeated_random_tokens(model) or a text with repeats"
        )
    return _target_scores(model, tokens, [(targets, valid)])[0]


def previous_token_scores(model: Any, tokens: Any, *, truncate: bool = False) -> torch.Tensor:
    """Mean attention from each position ``i >= 1`` to ``i − 1``: ``[n_layers, n_heads]`` in [0, 1].

    ``truncate=True`` keeps the first ``n_ctx`` tokens of a longer input (otherwise it raises).
    """
    tokens = to_tokens(model, tokens, truncate=truncate)
    if tokens.shape[-1] < 2:
        raise InputError(
            "previous-token score needs at least two tokens: give a longer text or more token ids"
        )
    return _target_scores(model, tokens, [previous_token_targets(tokens)])[0]


# --- copying -------------------------------------------------------------------------------------


def copying_ratio(logits: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
    """Per-destination copying value ``4 r − 1`` from direct-path logits over the sample's tokens.

    ``logits``: ``[..., n_sample]`` (any positive per-row scale); ``attended``: ``[...]`` index of the
    attended token in the sample. ``r = ρ(a) / (ρ(a) + Σ_x ρ(x))`` with ``ρ`` the centred, ReLU'd
    logits. Rows whose raise is all zero give NaN (excluded from means).
    """
    raise_ = torch.relu(logits - logits.mean(-1, keepdim=True))
    total = raise_.sum(-1)
    own = raise_.gather(-1, attended[..., None])[..., 0]
    r = own / (own + total)
    return torch.where(total > 0, 4 * r - 1, torch.full_like(total, float("nan")))


class CopyingSums(NamedTuple):
    """Per-example sums and counts of the three copying measures of one layer, each
    ``[batch, head]``: the score of example ``b`` is ``sum[b] / count[b]``; pooled over the batch
    ``sum.sum(0) / count.sum(0)``."""

    copying: torch.Tensor
    copying_n: torch.Tensor
    accuracy: torch.Tensor
    accuracy_n: torch.Tensor
    rank: torch.Tensor
    source: torch.Tensor
    source_n: torch.Tensor


def _copying_for_layer(
    z: torch.Tensor,
    argmax_src: torch.Tensor,
    tokens: torch.Tensor,
    w_o: torch.Tensor,
    w_u: torch.Tensor,
    bos: int | None,
    v: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> CopyingSums:
    """The copying measures of one layer's heads, as per-example sums and counts (:class:`CopyingSums`).

    ``z [batch, pos, head, d_head]`` (``hook_z``); ``argmax_src [batch, head, dst]``; ``w_o [head,
    d_head, d_model]``; ``w_u [d_model, vocab]``; ``v [batch, pos, head, d_head]`` (``hook_v``
    repeated to the query heads; ``None`` skips the source-only measure); ``valid [batch, dst]``
    marks destinations with an induction target (``None``: all destinations, for copying accuracy).
    """
    batch, n_heads = tokens.shape[0], z.shape[2]
    # accumulated on the model's device, moved to the CPU once: no device sync per example
    sums = CopyingSums(*(torch.zeros(batch, n_heads, device=z.device) for _ in range(7)))
    for b in range(batch):
        sample = torch.unique(tokens[b])
        if bos is not None:
            sample = sample[sample != bos]
        if len(sample) < 2:
            continue
        ou = torch.einsum("hkm,ms->hks", w_o, w_u[:, sample])  # [head, d_head, n_sample]
        logits = torch.einsum("phk,hks->hps", z[b].float(), ou)  # [head, pos, n_sample]
        attended_tok = tokens[b][argmax_src[b]]  # [head, dst]
        index = torch.searchsorted(sample, attended_tok.clamp(min=int(sample[0])))
        index = index.clamp(max=len(sample) - 1)
        in_sample = sample[index] == attended_tok
        attends = in_sample & (argmax_src[b] != 0)
        attends[:, 0] = False
        value = copying_ratio(logits, index)
        keep = attends & ~value.isnan()
        sums.copying[b] = torch.where(keep, value, torch.zeros_like(value)).sum(-1)
        sums.copying_n[b] = keep.sum(-1)
        # copying accuracy: the attended token ranks first among the sample tokens
        scored = attends if valid is None else attends & valid[b].to(attends.device)[None]
        first = logits.argmax(-1) == index  # [head, dst]
        sums.accuracy[b] = (first & scored).sum(-1).float()
        sums.accuracy_n[b] = scored.sum(-1).float()
        # copying rank: the share of the other sample tokens whose logit the attended token's beats
        own = logits.gather(-1, index[..., None])
        beaten = (logits < own).sum(-1).float() / (len(sample) - 1)
        sums.rank[b] = torch.where(scored, beaten, torch.zeros_like(beaten)).sum(-1)
        if v is not None:
            # the attended source's value vector alone through the OV circuit
            v_src = (
                v[b].float().gather(0, argmax_src[b].T[:, :, None].expand(-1, -1, v.shape[-1]))
            )  # [dst, head, d_head]
            src_logits = torch.einsum("phk,hks->hps", v_src, ou)
            src_value = copying_ratio(src_logits, index)
            src_keep = attends & ~src_value.isnan()
            sums.source[b] = torch.where(src_keep, src_value, torch.zeros_like(src_value)).sum(-1)
            sums.source_n[b] = src_keep.sum(-1)
    return CopyingSums(*(t.cpu() for t in sums))


def _pooled(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``Σ_b total / Σ_b count`` over dim 0, 0 where nothing was counted."""
    t, c = total.sum(0), count.sum(0)
    return torch.where(c > 0, t / c.clamp(min=1), torch.zeros_like(t))


def _per_example(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``total / count`` elementwise, NaN where nothing was counted."""
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))


_GRAM: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], torch.Tensor]] = (
    weakref.WeakKeyDictionary()
)


def _tensor_stamp(t: torch.Tensor) -> tuple[Any, ...] | None:
    """Identity and version of the parameter behind ``t`` (itself or the tensor it views); ``None``
    for a fresh tensor computed on access, whose version says nothing about the weights."""
    base = t._base if t._base is not None else t
    if t._base is None and not isinstance(t, torch.nn.Parameter):
        return None
    return (id(base), base.data_ptr(), base._version, t.dtype, tuple(t.shape), t.stride())


def unembed_embed_gram(model: Any) -> torch.Tensor:
    """``W_U @ W_E`` (``[d_model, d_model]`` float32), cached per model until ``W_U`` or ``W_E``
    changes (an in-place edit bumps the parameter's version; a new parameter has a new identity).

    On SmolLM2 the product over its 49k-token vocabulary takes about a second; every other part of
    :func:`ov_copying_scores` is small.
    """
    w_u, w_e = model.W_U, model.W_E
    stamps = (_tensor_stamp(w_u), _tensor_stamp(w_e))
    cacheable = None not in stamps
    if cacheable:
        with contextlib.suppress(TypeError):  # a model that cannot be weakly referenced
            hit = _GRAM.get(model)
            if hit is not None and hit[0] == stamps:
                return hit[1]
    with torch.no_grad():
        gram = w_u.detach().float() @ w_e.detach().float()
    if cacheable:
        with contextlib.suppress(TypeError):
            _GRAM[model] = (stamps, gram)
    return gram


def ov_copying_scores(model: Any) -> torch.Tensor:
    """``Σλ / Σ|λ|`` over the eigenvalues of each head's full OV circuit: ``[n_layers, n_heads]``.

    The circuit ``W_E W_V W_O W_U`` (``[vocab, vocab]``) has the same non-zero eigenvalues as
    ``W_O (W_U W_E) W_V`` (``[d_head, d_head]``), which is what is decomposed. ``W_V`` of the
    key/value head a query head reads is used under grouped-query attention. ``W_U W_E`` is cached
    per model (:func:`unembed_embed_gram`). With a post-attention norm (Gemma 2/3, OLMo 2) the
    circuit goes through its gain: ``W_O ⊙ g`` (see ``docs/scores.md``). Weights are read one layer at
    a time (TL 4's stacked ``model.W_O`` copies every layer's on each access).
    """
    info = model_info(model)
    check_weights(model)  # a broken checkpoint is reported by name, as before every forward pass
    gain = post_attn_gain(model, info)
    with torch.no_grad():
        gram = unembed_embed_gram(model)  # [d_model, d_model]
        circuits = []
        for layer in range(info.n_layers):
            attn = model.blocks[layer].attn
            w_o = attn.W_O.detach().float()  # [head, d_head, d_model]
            if gain is not None:
                w_o = w_o * gain[layer].to(w_o.device)
            w_v = attn.W_V.detach().float()  # [head or kv_head, d_model, d_head]
            # (W_U W_E) W_V first, on the key/value heads: d_model² · d_head per KV head instead
            # of per query head (8× fewer flops on a 32-query / 4-KV-head model)
            gram_v = gram @ w_v  # [head or kv_head, d_model, d_head]
            if gram_v.shape[0] != info.n_heads:
                gram_v = gram_v.repeat_interleave(info.n_heads // gram_v.shape[0], dim=0)
            circuits.append(w_o @ gram_v)  # [head, d_head, d_head]
        circuit = torch.stack(circuits)  # [layer, head, d_head, d_head]
        check_finite(circuit, "the OV circuit")
        # On the CPU whatever the model's device: [layer, head, d_head, d_head] is small, and CUDA's
        # eigvals runs one cuSOLVER geev per matrix (slow in torch 2.11 + CUDA 13, pytorch/pytorch
        # #183806): the likely cause of the flat ~1.5 s head_scores took on an H100 for SmolLM2's
        # 270 heads at any length (benchmarks/results_cuda.md).
        eig = torch.linalg.eigvals(circuit.double().cpu())
        score = eig.sum(-1).real / eig.abs().sum(-1).clamp(min=1e-30)
    return score.float().cpu()


# --- all scores in one pass --------------------------------------------------------------------


class HeadRow(NamedTuple):
    """One head's scores, as :meth:`HeadScores.top` returns them."""

    layer: int
    head: int
    depth: str
    prefix_matching: float
    copying: float
    previous_token: float
    ov_copying: float
    pattern_matching: float | None
    verdict: str
    copying_accuracy: float | None = None
    copying_source: float | None = None
    copying_rank: float | None = None


#: Measures the verdict may use (``measure=``), with their default thresholds.
VERDICT_THRESHOLDS = {
    "copying_rank": COPYING_RANK_THRESHOLD,
    "copying_accuracy": COPYING_ACCURACY_THRESHOLD,
    "copying": COPYING_THRESHOLD,
    "copying_source": COPYING_SOURCE_THRESHOLD,
}


def _verdict(prefix: bool, copying: bool, previous: bool) -> str:
    """One head's verdict from its three threshold tests (:meth:`HeadScores.verdict`)."""
    if prefix:
        return "induction head" if copying else "prefix matching, not copying"
    return "previous token" if previous else ""


@dataclass
class HeadScores:
    """Every head's scores, each ``[n_layers, n_heads]`` float32 (see the module docstring).

    ``per_example`` maps a score name to its ``[n_examples, n_layers, n_heads]`` values, one per
    example of the protocol (NaN where an example has no destination the score counts); the score
    itself is the mean over all counted destinations. :meth:`mean` and :meth:`std` summarise the
    per-example values.
    """

    prefix_matching: torch.Tensor
    copying: torch.Tensor
    previous_token: torch.Tensor
    ov_copying: torch.Tensor
    pattern_matching: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    copying_accuracy: torch.Tensor | None = None
    copying_source: torch.Tensor | None = None
    copying_rank: torch.Tensor | None = None
    per_example: dict[str, torch.Tensor] = field(default_factory=dict)
    #: :func:`~induction_widgets.compute.long_range.long_range_induction_scores`, where given
    long_range_induction: torch.Tensor | None = None

    @property
    def n_layers(self) -> int:
        return int(self.prefix_matching.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.prefix_matching.shape[1])

    def as_dict(self) -> dict[str, torch.Tensor]:
        """Score name → ``[n_layers, n_heads]`` tensor, for the scores that were computed."""
        out = {name: getattr(self, name) for name in SCORE_NAMES}
        return {k: v for k, v in out.items() if v is not None}

    def get(self, name: str) -> torch.Tensor:
        """The ``[n_layers, n_heads]`` tensor of score ``name``; a clear error for unknown names."""
        scores = self.as_dict()
        if name not in scores:
            known = ", ".join(scores)
            hint = (
                " (compute it with pattern_matching_scores and pass it as pattern_matching=)"
                if name == "pattern_matching"
                else ""
            )
            raise InputError(f"unknown score {name!r}: choose one of {known}{hint}")
        return scores[name]

    def _examples(self, name: str) -> torch.Tensor:
        self.get(name)  # unknown names: one clear error
        if name not in self.per_example:
            raise InputError(
                f"no per-example values for {name!r}: they come from head_scores (ov_copying has "
                "one value per head, pattern_matching one per line)"
            )
        return self.per_example[name]

    def mean(self, name: str) -> torch.Tensor:
        """Mean over examples of the per-example values of ``name``: ``[n_layers, n_heads]``
        (equal to the score itself when every example counts the same destinations, as for
        prefix matching and previous token on repeated random tokens)."""
        return self._examples(name).nanmean(0)

    def std(self, name: str) -> torch.Tensor:
        """Standard deviation over examples (``n − 1`` in the denominator) of the per-example values
        of ``name``: ``[n_layers, n_heads]``; NaN with fewer than two examples."""
        x = self._examples(name)
        n = (~x.isnan()).sum(0)
        mu = x.nanmean(0)
        sq = torch.where(x.isnan(), torch.zeros_like(x), (x - mu) ** 2).sum(0)
        return torch.where(
            n > 1, (sq / (n - 1).clamp(min=1)).sqrt(), torch.full_like(mu, float("nan"))
        )

    def verdict(
        self,
        layer: int,
        head: int,
        prefix_threshold: float = PREFIX_MATCHING_THRESHOLD,
        copying_threshold: float | None = None,
        measure: str | None = None,
    ) -> str:
        """The strict empirical definition: prefix matching AND copying on repeated random tokens.

        "induction head" when ``prefix_matching >= prefix_threshold`` and the copying ``measure``
        (default ``"copying_rank"``, or ``"copying"`` for scores without it; ``"copying"`` is the paper's literal score, the verdict of
        earlier versions with ``copying_threshold=-0.4``; ``"copying_accuracy"`` the stricter top-1
        reading; or ``"copying_source"``) is at least
        ``copying_threshold`` (default: :data:`VERDICT_THRESHOLDS` of the measure); "prefix matching,
        not copying" when only the first holds; "previous token" for heads with ``previous_token >=
        0.5``; "" otherwise. Thresholds: docs/scores.md (calibration).
        """
        measure, copying_threshold = self._verdict_measure(measure, copying_threshold)
        p = float(self.prefix_matching[layer, head])
        if p >= prefix_threshold:
            c = float(self.get(measure)[layer, head])
            return _verdict(True, c >= copying_threshold, False)
        return _verdict(
            False, False, float(self.previous_token[layer, head]) >= PREVIOUS_TOKEN_THRESHOLD
        )

    def _verdict_measure(
        self, measure: str | None, copying_threshold: float | None
    ) -> tuple[str, float]:
        """The verdict's copying measure and its threshold (defaults filled in, the name checked)."""
        if measure is None:  # scores built by hand without the rank fall back to the paper's
            measure = "copying_rank" if self.copying_rank is not None else "copying"
        if measure not in VERDICT_THRESHOLDS:
            raise InputError(
                f"unknown verdict measure {measure!r}: choose one of {', '.join(VERDICT_THRESHOLDS)}"
            )
        if copying_threshold is None:
            copying_threshold = VERDICT_THRESHOLDS[measure]
        return measure, copying_threshold

    def verdicts(
        self,
        prefix_threshold: float = PREFIX_MATCHING_THRESHOLD,
        copying_threshold: float | None = None,
        measure: str | None = None,
    ) -> list[str]:
        """:meth:`verdict` of every head, row-major over ``[layer, head]``: the same comparisons,
        made on whole grids in float64 (as ``float(...)`` makes them one head at a time)."""
        measure, copying_threshold = self._verdict_measure(measure, copying_threshold)
        prefix = (self.prefix_matching.double().flatten() >= prefix_threshold).tolist()
        copying = (self.get(measure).double().flatten() >= copying_threshold).tolist()
        previous = (self.previous_token.double().flatten() >= PREVIOUS_TOKEN_THRESHOLD).tolist()
        return [_verdict(*flags) for flags in zip(prefix, copying, previous, strict=True)]

    def induction_heads(self, **thresholds: Any) -> list[tuple[int, int]]:
        """``(layer, head)`` of every head whose verdict is "induction head", best prefix matching first.

        Keyword arguments go to :meth:`verdict` (``measure="copying", copying_threshold=-0.4`` gives
        the paper-literal verdict of earlier versions)."""
        heads = [
            (l, h)
            for l in range(self.n_layers)
            for h in range(self.n_heads)
            if self.verdict(l, h, **thresholds) == "induction head"
        ]
        return sorted(heads, key=lambda lh: -float(self.prefix_matching[lh]))

    def default_head(self) -> tuple[int, int]:
        """The head a view opens on when none is given: the strongest induction head — the highest
        prefix-matching score among the heads whose :meth:`verdict` is "induction head"
        (:meth:`induction_heads`' first) — or, when no head passes, the highest prefix-matching
        score of all heads (ties: the first in ``[layer, head]`` row-major order). Every view, the
        explorer and the report open on this head."""
        heads = self.induction_heads()
        if heads:
            return heads[0]
        best = self.top(1, by="prefix_matching")[0]
        return (best.layer, best.head)

    def row(self, layer: int, head: int) -> HeadRow:
        def opt(t: torch.Tensor | None) -> float | None:
            return None if t is None else float(t[layer, head])

        return HeadRow(
            layer,
            head,
            f"{layer + 1} / {self.n_layers}",
            float(self.prefix_matching[layer, head]),
            float(self.copying[layer, head]),
            float(self.previous_token[layer, head]),
            float(self.ov_copying[layer, head]),
            opt(self.pattern_matching),
            self.verdict(layer, head),
            opt(self.copying_accuracy),
            opt(self.copying_source),
            opt(self.copying_rank),
        )

    def top(self, k: int = 10, by: str = "prefix_matching") -> list[HeadRow]:
        """The ``k`` heads with the highest score ``by``, best first."""
        k = check_int("k", k, 1)
        values = self.get(by).flatten()
        order = torch.argsort(values, descending=True, stable=True)[:k]
        return [self.row(int(i) // self.n_heads, int(i) % self.n_heads) for i in order]

    def to_pandas(self) -> Any:
        """One row per head: layer, head, "layer depth" (1-based, e.g. "17 / 30"), every score,
        ``<score>_std`` (standard deviation over examples) for the scores with per-example values,
        and the verdict."""
        import pandas as pd

        rows = [self.row(l, h) for l in range(self.n_layers) for h in range(self.n_heads)]
        frame = pd.DataFrame(rows, columns=list(HeadRow._fields))
        frame = frame.rename(columns={"depth": "layer depth"})
        order = ["layer", "head", "layer depth"]
        for name in SCORE_NAMES:
            if getattr(self, name) is None:
                continue
            order.append(name)
            if name in self.per_example:
                frame[f"{name}_std"] = self.std(name).flatten().numpy()
                order.append(f"{name}_std")
        return frame[[*order, "verdict"]]


def target_attention_per_example(
    pattern: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """Like :func:`target_attention`, but the mean within each example: ``[batch, head]`` (NaN for an
    example without a valid destination)."""
    mass = torch.einsum("bhds,bds->bhd", pattern.float(), targets.float())
    weight = valid.float()
    total = (mass * weight[:, None]).sum(-1)
    count = weight.sum(-1)[:, None].expand_as(total)
    return _per_example(total, count)


def head_scores(
    model: Any,
    n_examples: int = 10,
    seq_len: int = 25,
    repeats: int = 4,
    seed: int = 0,
    *,
    tokens: torch.Tensor | None = None,
    truncate: bool = False,
    progress: bool | None = None,
) -> HeadScores:
    """Prefix matching, previous token, the copying measures and OV copying of every head, in one
    forward pass.

    The input is :func:`repeated_random_tokens` (``[n_examples, 1 + seq_len * repeats]``: the paper's
    protocol is 10 × (BOS + 25 random tokens × 4)) unless ``tokens`` is given. Each layer's pattern is
    reduced to scores inside its hook; ``progress`` shows a bar over layers (default: models with
    more than 4 layers). ``truncate=True`` keeps the first ``n_ctx`` positions of longer ``tokens``.
    Per-example values (``[n_examples, n_layers, n_heads]``) are kept in ``per_example``.
    """
    info = model_info(model)
    if tokens is None:
        tokens = repeated_random_tokens(model, n_examples, seq_len, repeats, seed)
    else:
        tokens = to_tokens(model, tokens, truncate=truncate)
    targets, valid = induction_targets(tokens)
    if not valid.any():
        raise InputError(
            "no token occurs twice in the given tokens, so prefix matching is undefined: use "
            "tokens=None (the paper's repeated random tokens) or a text with repeats"
        )
    prev_targets, prev_valid = previous_token_targets(tokens)

    batch = int(tokens.shape[0])
    shape = (batch, info.n_layers, info.n_heads)
    prefix = torch.zeros(info.n_layers, info.n_heads)
    previous = torch.zeros(info.n_layers, info.n_heads)
    prefix_ex, previous_ex = torch.zeros(shape), torch.zeros(shape)
    sums = {name: torch.zeros(shape) for name in CopyingSums._fields}
    values: dict[int, torch.Tensor] = {}
    w_u = model.W_U.detach().float()
    # Direct path of a head through a post-attention norm (Gemma 2/3, OLMo 2): W_O ⊙ g (the
    # per-position scale σ_post is a positive scalar, which copying does not depend on).
    gain = post_attn_gain(model, info)
    show = info.n_layers > 4 if progress is None else progress
    bar = tqdm(total=info.n_layers, desc="scoring heads", disable=not show, leave=False)
    # hook_pattern fires before hook_z on most architectures but after it on some (TL 4 bridges
    # that read the pattern from the HF module's returned weights: GPT-Neo, GPT-J, OPT, XGLM), so
    # each layer is finished by whichever of the two arrives second.
    argmax: dict[int, torch.Tensor] = {}
    zs: dict[int, torch.Tensor] = {}
    done: set[int] = set()

    def finish(layer: int) -> None:
        if layer not in argmax or layer not in zs:
            return
        w_o = model.blocks[layer].attn.W_O.detach().float()  # one layer, not the stacked W_O
        if gain is not None:
            w_o = w_o * gain[layer].to(w_o.device)
        # hook_v fires before hook_z (v is needed to compute z); without it the source-only
        # measure of the layer is left out (NaN)
        v = values.pop(layer, None)
        if v is not None and v.shape[2] != info.n_heads:
            v = v.repeat_interleave(info.n_heads // v.shape[2], dim=2)
        layer_sums = _copying_for_layer(
            zs.pop(layer), argmax.pop(layer), tokens, w_o, w_u, info.bos_token_id, v, valid
        )
        for name, value in layer_sums._asdict().items():
            sums[name][:, layer] = value
        done.add(layer)
        bar.update(1)
        if len(done) == info.n_layers:
            stop_forward()  # nothing after the last layer's attention is needed

    def pattern_hook(layer: int) -> Callable[..., None]:
        def fn(pattern: torch.Tensor, hook: Any) -> None:
            check_finite(pattern, f"the attention pattern of layer {layer}", bounded=True)
            prefix[layer] = target_attention(pattern, targets, valid).cpu()
            previous[layer] = target_attention(pattern, prev_targets, prev_valid).cpu()
            prefix_ex[:, layer] = target_attention_per_example(pattern, targets, valid).cpu()
            previous_ex[:, layer] = target_attention_per_example(
                pattern, prev_targets, prev_valid
            ).cpu()
            argmax[layer] = pattern.argmax(-1)  # [batch, head, dst]
            finish(layer)

        return fn

    def v_hook(layer: int) -> Callable[..., None]:
        def fn(v: torch.Tensor, hook: Any) -> None:
            values[layer] = v.detach()  # [batch, pos, head or kv_head, d_head]

        return fn

    def z_hook(layer: int) -> Callable[..., None]:
        def fn(z: torch.Tensor, hook: Any) -> None:
            zs[layer] = z.detach()
            finish(layer)

        return fn

    hooks = []
    for l in range(info.n_layers):
        hooks.append((f"blocks.{l}.attn.hook_pattern", pattern_hook(l)))
        hooks.append((f"blocks.{l}.attn.hook_v", v_hook(l)))
        hooks.append((f"blocks.{l}.attn.hook_z", z_hook(l)))
    try:
        run_with_hooks(model, tokens, hooks)
    finally:
        bar.close()
    return HeadScores(
        prefix_matching=prefix,
        copying=_pooled(sums["copying"], sums["copying_n"]),
        previous_token=previous,
        ov_copying=ov_copying_scores(model),
        meta={
            "n_examples": batch,
            "n_tokens": int(tokens.shape[1]),
            "seed": seed,
            "model": str(getattr(model.cfg, "model_name", "")),
        },
        copying_accuracy=_pooled(sums["accuracy"], sums["accuracy_n"]),
        copying_source=_pooled(sums["source"], sums["source_n"]),
        copying_rank=_pooled(sums["rank"], sums["accuracy_n"]),
        per_example={
            "prefix_matching": prefix_ex,
            "previous_token": previous_ex,
            "copying": _per_example(sums["copying"], sums["copying_n"]),
            "copying_accuracy": _per_example(sums["accuracy"], sums["accuracy_n"]),
            "copying_source": _per_example(sums["source"], sums["source_n"]),
            "copying_rank": _per_example(sums["rank"], sums["accuracy_n"]),
        },
    )


# --- pattern matching --------------------------------------------------------------------------


@dataclass
class PatternProblem:
    """One pattern-matching problem, tokenised: ``tokens [pos]`` and its target mask."""

    tokens: torch.Tensor  # [pos]
    targets: torch.Tensor  # [dst, src] bool
    valid: torch.Tensor  # [dst] bool
    destinations: list[int]  # the token before each line's label (":" for GPT-style tokenizers)
    label_positions: list[int]


def tokenize_with_offsets(model: Any, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids of ``text`` with BOS first, and each token's ``(start, end)`` character span.

    BOS gets the empty span ``(0, 0)``. Needs a fast (Rust) tokenizer for the offsets.
    """
    info = model_info(model)  # NotAModelError first: a string or a torch module has no tokenizer
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise InputError(
            "this model has no tokenizer, so it cannot read the pattern-matching text: give it a "
            "tokenizer (model.tokenizer = AutoTokenizer.from_pretrained(...))"
        )
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    spans = [tuple(s) for s in enc["offset_mapping"]]
    if info.bos_token_id is not None:
        ids = [info.bos_token_id, *ids]
        spans = [(0, 0), *spans]
    return ids, spans  # type: ignore[return-value]


def pattern_matching_problem(model: Any, n_lines: int = 30, seed: int = 0) -> PatternProblem:
    """Tokenise one problem and mark, for each line whose template appeared before, the targets.

    Destination: the token right before the label's first token (":" when the label is its own
    token, as with GPT-style tokenizers). Targets: the first label token of every earlier line of the
    same template.
    """
    lines = pattern_matching_lines(n_lines, seed)
    text = "\n".join(line.text for line in lines)
    ids, spans = tokenize_with_offsets(model, text)

    def token_at(char: int) -> int:
        for i, (start, end) in enumerate(spans):
            if start <= char < end:
                return i
        raise InputError(
            f"no token covers character {char} of the pattern text"
        )  # pragma: no cover

    label_pos = [token_at(line.label_at) for line in lines]
    pos = len(ids)
    targets = torch.zeros(pos, pos, dtype=torch.bool)
    valid = torch.zeros(pos, dtype=torch.bool)
    destinations = []
    for i, line in enumerate(lines):
        dst = label_pos[i] - 1
        destinations.append(dst)
        for j in range(i):
            if lines[j].label == line.label:
                targets[dst, label_pos[j]] = True
                valid[dst] = True
    return PatternProblem(torch.tensor(ids), targets, valid, destinations, label_pos)


def pattern_matching_scores(
    model: Any,
    n_problems: int = 50,
    n_lines: int = 30,
    seed: int = 0,
    *,
    batch_size: int = 8,
    progress: bool | None = None,
) -> torch.Tensor:
    """Share of attention from each line's ":" to the labels of earlier same-template lines.

    ``n_problems`` random problems of ``n_lines`` lines (:func:`pattern_matching_text`, problem ``i``
    drawn with seed ``seed * 1_000_003 + i``). For every line whose template appeared earlier, the
    head's attention from the destination (see :func:`pattern_matching_problem`) summed over the label
    tokens of the earlier lines with the same template; averaged over those lines and problems. A problem in which no template repeats
    contributes nothing; if no problem has one, :class:`InputError`.
    ``[n_layers, n_heads]`` in [0, 1]; the paper reports ~0.65 for its best head at 13B.
    """
    n_problems = check_int("n_problems", n_problems, 1)
    n_lines = check_int("n_lines", n_lines, 2)
    batch_size = check_int("batch_size", batch_size, 1)
    seed = check_seed(seed)
    info = model_info(model)
    problems = [
        pattern_matching_problem(model, n_lines, seed * 1_000_003 + i) for i in range(n_problems)
    ]
    # a problem without a line whose template appeared before has no destination: it contributes
    # nothing (and would make its batch's mean 0/0)
    problems = [p for p in problems if bool(p.valid.any())]
    if not problems:
        raise InputError(
            f"none of the {n_problems} problems of {n_lines} lines repeats a template, so pattern "
            "matching is undefined: raise n_lines (4 templates: 5 lines always repeat one) or "
            "n_problems"
        )
    longest = max(len(p.tokens) for p in problems)
    if longest > info.n_ctx:
        raise InputError(
            f"{n_lines} lines need {longest} tokens, more than n_ctx={info.n_ctx}: lower n_lines"
        )
    total = torch.zeros(info.n_layers, info.n_heads)
    count = 0.0
    show = (info.n_layers > 4 and len(problems) > batch_size) if progress is None else progress
    chunks = range(0, len(problems), batch_size)
    for start in tqdm(chunks, desc="pattern matching", disable=not show, leave=False):
        batch = problems[start : start + batch_size]
        # Right padding never changes earlier positions of a causal model.
        tokens = torch.zeros(len(batch), longest, dtype=torch.long)
        targets = torch.zeros(len(batch), longest, longest, dtype=torch.bool)
        valid = torch.zeros(len(batch), longest, dtype=torch.bool)
        for i, p in enumerate(batch):
            n = len(p.tokens)
            tokens[i, :n] = p.tokens
            targets[i, :n, :n] = p.targets
            valid[i, :n] = p.valid
        tokens = tokens.to(model_device(model))
        n_valid = float(valid.sum())
        (score,) = _target_scores(
            model, tokens, [(targets.to(tokens.device), valid.to(tokens.device))]
        )
        total += score * n_valid
        count += n_valid
    return total / count
