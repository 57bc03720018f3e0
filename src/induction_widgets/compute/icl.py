r"""In-context learning: per-token loss against token index, and the paper's ICL score.

Olsson et al. 2022 define the **in-context learning score** as "the loss of the 500th token in the
context minus the average loss of the 50th token in the context, averaged over dataset examples":
a model that uses its context predicts late tokens better than early ones, so the score is
negative, and the more negative the more the model learns in context.

Notation: contexts ``t[b, ·]`` (``[batch, pos]``, BOS at index 0 when the model prepends one);
the **loss at token index** ``i >= 1`` is ``L[b, i] = −log p(t[b, i] | t[b, <i])``, read from the
logits at position ``i − 1``. Index 0 has no loss (NaN).

* ``loss curve[i] = mean_b L[b, i]`` (``[pos]``).
* ``icl = mean_b (L[b, late] − L[b, early])`` with ``early = 50``, ``late = 500`` (the paper's
  indices; the contexts must have at least ``late + 1`` tokens, 512 by default). A model whose
  context ``n_ctx`` is under 512 uses the largest indices of the same 1 : 10 ratio that fit:
  ``late = n_ctx − 1``, ``early = round(late / 10)`` (e.g. 26 and 255 for ``n_ctx = 256``), and
  :class:`ICLScore` says so in ``note``.

Contexts come from a corpus shipped in ``data/corpus`` (:func:`corpus_contexts`; default
``corpus="austen"``, three of Jane Austen's novels, long coherent narrative; ``"devils_dictionary"``,
Bierce's *The Devil's Dictionary*, short unrelated entries; both public domain) or from the tiny
model's own training distribution (:func:`copy_task_tokens`), or are passed in.

Defaults of :func:`icl_score`: 24 Austen contexts of ``min(n_ctx, 512)`` tokens, windows ±10 where
the paper's indices fit (``docs/beyond.md`` gives SmolLM2-135M's figure with them). Pages print a
score as a measurement only with at least :data:`MIN_CONTEXTS` contexts and a standard error at
most half its size.
"""

from __future__ import annotations

import contextlib
import gzip
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..checks import check_finite, check_int, check_seed, check_weights
from ..errors import InputError
from ._model import (
    Hook,
    StopForward,
    model_device,
    model_info,
    to_tokens,
)
from .tasks import candidate_token_ids, repeated_random_tokens

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "corpus"
CORPORA = {
    "austen": CORPUS_DIR / "austen.txt.gz",
    "devils_dictionary": CORPUS_DIR / "devils_dictionary.txt.gz",
}
"""The shipped public-domain corpora (see ``data/corpus/README.md``): name → gzipped text."""
DEFAULT_CORPUS = "austen"
CORPUS_PATH = CORPORA[DEFAULT_CORPUS]
"""The default corpus's file."""

MIN_CONTEXTS = 8
"""Fewer contexts than this: a standard error over them is itself too unreliable to print a
score as a measurement (pages say so in words instead)."""

PAPER_EARLY, PAPER_LATE = 50, 500
"""The paper's token indices for the ICL score."""


def check_corpus(corpus: Any) -> str:
    if not isinstance(corpus, str) or corpus not in CORPORA:
        raise InputError(f"corpus must be one of {tuple(CORPORA)}, got {corpus!r}")
    return corpus


def corpus_text(corpus: str = DEFAULT_CORPUS) -> str:
    """A shipped corpus as one string: ``"austen"`` (*Pride and Prejudice*, *Persuasion*,
    *Northanger Abbey*; 1,579,239 characters) or ``"devils_dictionary"`` (Bierce, 1911; 383,157)."""
    return _read_corpus(check_corpus(corpus))


@cache
def _read_corpus(corpus: str) -> str:
    with gzip.open(CORPORA[corpus], "rt", encoding="utf-8") as f:
        return f.read()


_CORPUS_IDS: weakref.WeakKeyDictionary[Any, dict[str, torch.Tensor]] = weakref.WeakKeyDictionary()


def _corpus_ids(model: Any, corpus: str = DEFAULT_CORPUS) -> torch.Tensor:
    """The whole corpus tokenised (no special tokens), cached per tokenizer: ``[n_tokens]``."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise InputError(
            "this model has no tokenizer, so it cannot read the corpus: pass tokens= "
            "(e.g. copy_task_tokens(model)) or give the model a tokenizer"
        )
    with contextlib.suppress(TypeError):
        hit = _CORPUS_IDS.get(tokenizer, {}).get(corpus)
        if hit is not None:
            return hit
    ids = tokenizer(corpus_text(corpus), add_special_tokens=False, verbose=False)["input_ids"]
    out = torch.tensor(ids, dtype=torch.long)
    with contextlib.suppress(TypeError):
        _CORPUS_IDS.setdefault(tokenizer, {})[corpus] = out
    return out


def context_length(model: Any) -> int:
    """Default context length: ``min(n_ctx, 512)`` (the paper's contexts have at least 512 tokens)."""
    return min(model_info(model).n_ctx, PAPER_LATE + 12)


def corpus_contexts(
    model: Any,
    n_contexts: int = 32,
    n_tokens: int | None = None,
    seed: int = 0,
    *,
    corpus: str = DEFAULT_CORPUS,
) -> torch.Tensor:
    """``n_contexts`` disjoint windows of a shipped corpus: ``[n_contexts, n_tokens]`` long.

    The corpus is tokenised once, cut into consecutive windows of ``n_tokens`` tokens (BOS first
    when the model has one, then ``n_tokens − 1`` corpus tokens), and ``n_contexts`` windows are
    drawn without replacement with ``seed``. ``n_tokens`` defaults to :func:`context_length`.
    ``corpus``: ``"austen"`` (default) or ``"devils_dictionary"`` (:data:`CORPORA`).
    """
    corpus = check_corpus(corpus)
    n_contexts = check_int("n_contexts", n_contexts, 1)
    seed = check_seed(seed)
    info = model_info(model)
    n_tokens = context_length(model) if n_tokens is None else check_int("n_tokens", n_tokens, 2)
    if n_tokens > info.n_ctx:
        raise InputError(f"n_tokens={n_tokens} exceeds the model's context n_ctx={info.n_ctx}")
    ids = _corpus_ids(model, corpus)
    bos = info.bos_token_id
    body = n_tokens - (1 if bos is not None else 0)
    available = len(ids) // body
    if n_contexts > available:
        raise InputError(
            f"the corpus holds {available} disjoint contexts of {n_tokens} tokens for this "
            f"tokenizer: lower n_contexts to at most {available}"
        )
    gen = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(available, generator=gen)[:n_contexts].sort().values
    rows = torch.stack([ids[int(i) * body : (int(i) + 1) * body] for i in chosen])
    if bos is not None:
        rows = torch.cat([torch.full((n_contexts, 1), bos, dtype=torch.long), rows], dim=1)
    return rows.to(model_device(model))


#: The shortest copy-task sequence: BOS and a repeated prefix of at least 8 tokens, twice.
COPY_TASK_MIN_LENGTH = 17


def copy_task_tokens(
    model: Any,
    n_contexts: int = 32,
    n_tokens: int | None = None,
    seed: int = 0,
    *,
    length: int | None = None,
) -> torch.Tensor:
    """The tiny model's training distribution (``make_batch`` in ``scripts/train_tiny_model.py``).

    ``[n_contexts, n_tokens]``: sequences of ``length`` tokens (default ``n_ctx``) cut to their
    first ``n_tokens`` (default ``length``). A sequence is BOS, then random ordinary tokens
    (:func:`candidate_token_ids`) in which spans are copied: with probability 1/4 the whole prefix
    ``A`` of random length ``k ∈ [8, (length−1)/2]`` is repeated right after itself
    (``BOS A A …``); otherwise one (prob. 1/2) or two (prob. 1/4) spans of length
    ``k ∈ [6, min(60, (length−2)/2))`` are copied to a later position. For the tiny model
    (ordinary ids 3..98) a seed gives exactly the script's batch.

    Spans are placed inside the generated sequence, so its last index is rarely inside one (the
    share of copyable tokens falls from about 1/3 to 3% over the last 40 indices of 256): an ICL
    score on these contexts reads better from a cut, e.g. the first 201 tokens of 256
    (indices 20 and 200, copyable 2% and 33% of the time).
    """
    n_contexts = check_int("n_contexts", n_contexts, 1)
    seed = check_seed(seed)
    info = model_info(model)
    n = info.n_ctx if length is None else check_int("length", length, COPY_TASK_MIN_LENGTH)
    keep = n if n_tokens is None else check_int("n_tokens", n_tokens, 2)
    if n > info.n_ctx:
        raise InputError(f"length={n} exceeds the model's context n_ctx={info.n_ctx}")
    if n < COPY_TASK_MIN_LENGTH:  # the model's own context, too short for a copied span
        raise InputError(
            f"the model's context n_ctx={n} is too short for copy-task contexts (at least "
            f"{COPY_TASK_MIN_LENGTH} tokens, for a copied span of 8): pass token ids of your own "
            "(tokens= / reference=)"
        )
    if keep > n:
        raise InputError(f"n_tokens={keep} exceeds length={n}: lower n_tokens or raise length")
    candidates = candidate_token_ids(model)
    gen = torch.Generator().manual_seed(seed)
    tokens = candidates[torch.randint(0, len(candidates), (n_contexts, n), generator=gen)]
    tokens[:, 0] = info.bos_token_id if info.bos_token_id is not None else 0
    for i in range(n_contexts):
        mode = int(torch.randint(0, 4, (1,), generator=gen))
        if mode == 0:
            k = int(torch.randint(8, (n - 1) // 2 + 1, (1,), generator=gen))
            tokens[i, 1 + k : 1 + 2 * k] = tokens[i, 1 : 1 + k]
            continue
        for _ in range(1 if mode < 3 else 2):
            k = int(torch.randint(6, min(60, (n - 2) // 2), (1,), generator=gen))
            src = int(torch.randint(1, n - 2 * k + 1, (1,), generator=gen))
            dst = int(torch.randint(src + k, n - k + 1, (1,), generator=gen))
            tokens[i, dst : dst + k] = tokens[i, src : src + k]
    return tokens[:, :keep].to(model_device(model))


# --- losses ------------------------------------------------------------------------------------


def auto_batch(info: Any, n_tokens: int, replicas: int = 1) -> int:
    """Contexts per forward pass: about 64M logit floats (SmolLM2 at 512 tokens: 2 contexts)."""
    per = max(1, n_tokens * max(info.d_vocab, 4 * info.d_model) * replicas)
    return max(1, (64 << 20) // per)


def final_hook(model: Any) -> str | None:
    """The hook holding the final normalised residual (what ``W_U`` reads); None without one."""
    for name in ("ln_final.hook_normalized", "ln_final.hook_out"):
        if name in model.hook_dict:
            return name
    return None


def losses_at(
    model: Any,
    tokens: torch.Tensor,
    indices: Sequence[int],
    hooks: Sequence[Hook] = (),
) -> torch.Tensor:
    """Loss at chosen token indices: ``[batch, len(indices)]`` float32, one forward pass.

    ``L[b, j] = −log softmax(r[b, i_j − 1] W_U + b_U)[t[b, i_j]]`` with ``r`` the final normalised
    residual (``ln_final.hook_normalized``), so only ``len(indices)`` rows of logits are formed;
    the pass stops there. ``hooks`` are added for this pass (e.g. ablations). Equal to
    :func:`per_token_loss` at those indices (tested).
    """
    idx = torch.tensor([int(i) for i in indices], device=tokens.device)
    if (idx < 1).any() or (idx >= tokens.shape[1]).any():
        raise InputError(f"loss indices must be in 1..{tokens.shape[1] - 1}, got {list(indices)}")
    name = final_hook(model)
    if name is None:  # no final norm (e.g. a hand-built model): read the full logits
        return per_token_loss(model, tokens, hooks=hooks)[:, idx.cpu()]
    grabbed: dict[str, torch.Tensor] = {}

    def grab(x: torch.Tensor, hook: Any) -> None:
        grabbed["r"] = x[:, idx - 1].float()
        raise StopForward

    check_weights(model)
    with torch.no_grad(), contextlib.suppress(StopForward):
        model.run_with_hooks(tokens, fwd_hooks=[*hooks, (name, grab)], return_type=None)
    with torch.no_grad():
        logits = grabbed["r"] @ model.W_U.float()
        b_u = getattr(model, "b_U", None)
        if b_u is not None:
            logits = logits + b_u.float()
        check_finite(logits, "the logits")
        logp = logits.log_softmax(-1)
        target = tokens[:, idx]
        return -logp.gather(-1, target[..., None])[..., 0].cpu()


def per_token_loss(
    model: Any,
    tokens: Any,
    *,
    batch_size: int | None = None,
    truncate: bool = False,
    progress: bool | None = None,
    hooks: Sequence[Hook] = (),
) -> torch.Tensor:
    """Loss at every token index: ``[batch, pos]`` float32, NaN at index 0 (nothing predicts it).

    ``tokens``: text or ids (``[pos]`` or ``[batch, pos]``). ``L[b, i] = −log p(t[b, i] | t[b, <i])``.
    Works inside :func:`induction_widgets.ablate` (the ablation's hooks stay on).
    """
    tokens = to_tokens(model, tokens, truncate=truncate)
    info = model_info(model)
    if tokens.shape[1] < 2:
        raise InputError("a loss needs at least two tokens: give a longer text")
    size = auto_batch(info, tokens.shape[1]) if batch_size is None else batch_size
    size = check_int("batch_size", size, 1)
    out = torch.full(tuple(tokens.shape), float("nan"))
    starts = range(0, tokens.shape[0], size)
    show = (len(starts) > 4) if progress is None else progress
    check_weights(model)
    for start in tqdm(starts, desc="losses", disable=not show, leave=False):
        chunk = tokens[start : start + size]
        with torch.no_grad():
            logits = model.run_with_hooks(chunk, fwd_hooks=list(hooks), return_type="logits")
            check_finite(logits, "the logits")
            logp = logits[:, :-1].float().log_softmax(-1)
            out[start : start + size, 1:] = -logp.gather(-1, chunk[:, 1:, None])[..., 0].cpu()
    return out


# --- the ICL score -----------------------------------------------------------------------------


DEFAULT_WINDOW = 10
"""``window=None`` means this when the contexts hold the paper's indices (``late + w < n``), else 0."""


def min_icl_tokens(window: int = 0) -> int:
    """The fewest tokens a context needs for an ICL score with ``window``: the smallest ``n`` for
    which the 1 : 10 pair of :func:`icl_indices` has ``late >= 10``, ``early − w >= 1`` and
    ``early + w < late − w`` (``window=0``: 11 tokens, indices 1 and 10)."""
    w = check_int("window", window, 0)
    n = 11 + w
    while True:
        late = n - 1 - w
        early = max(1, round(late / 10))
        if late >= 10 and early - w >= 1 and early + w < late - w:
            return n
        n += 1


def icl_indices(n_tokens: int, window: int = 0) -> tuple[int, int, str]:
    """``(early, late, note)``: the paper's 50 and 500 when they fit (``n_tokens > 500 + window``),
    else the largest pair of the same 1 : 10 ratio that fits, ``late = n_tokens − 1 − window``,
    ``early = max(1, round(late / 10))``, with a note saying so. Contexts shorter than
    :func:`min_icl_tokens` raise :class:`InputError` naming that length."""
    if n_tokens > PAPER_LATE + window:
        return PAPER_EARLY, PAPER_LATE, ""
    need = min_icl_tokens(window)
    if n_tokens < need:
        hint = " or lower window" if window else ""
        raise InputError(
            f"contexts of {n_tokens} tokens are too short for an ICL score with window={window}: "
            f"give at least {need} tokens{hint} (the paper reads indices 50 and 500 of "
            f"{PAPER_LATE + 1}+ token contexts)"
        )
    late = n_tokens - 1 - window
    early = max(1, round(late / 10))
    note = (
        f"contexts of {n_tokens} tokens (< {PAPER_LATE + window + 1}): loss at index {late} minus "
        f"loss at index {early} (the paper's 500 and 50 do not fit; same 1 : 10 ratio)"
    )
    return early, late, note


def resolve_window(window: int | None, n_tokens: int) -> int:
    """``window=None`` → :data:`DEFAULT_WINDOW` if the paper's indices fit ``n_tokens`` with it,
    else 0; an int is checked and returned."""
    if window is None:
        return DEFAULT_WINDOW if n_tokens > PAPER_LATE + DEFAULT_WINDOW else 0
    return check_int("window", window, 0)


@dataclass
class ICLScore:
    """The ICL score and the loss curve it was read from (see the module docstring)."""

    score: float  # mean_b (L[b, late] − L[b, early]); negative = learns in context
    sem: float  # standard error of that mean over contexts
    early: int
    late: int
    loss_early: float
    loss_late: float
    curve: torch.Tensor | None  # [pos] mean loss per token index (NaN at 0); None if not computed
    n_contexts: int
    n_tokens: int
    note: str = ""  # says when indices other than the paper's 50 / 500 were used
    window: int = 0  # losses averaged over index ± window (0: single indices, as in the paper)
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        extra = f", window=±{self.window}" if self.window else ""
        extra += f", note={self.note!r}" if self.note else ""
        return (
            f"ICLScore(score={self.score:+.4f} ± {self.sem:.4f}, loss[{self.late}]="
            f"{self.loss_late:.4f} − loss[{self.early}]={self.loss_early:.4f}, "
            f"{self.n_contexts} contexts of {self.n_tokens} tokens{extra})"
        )


def default_contexts(
    model: Any, n_contexts: int, seed: int, corpus: str = DEFAULT_CORPUS
) -> tuple[torch.Tensor, str]:
    if getattr(model, "tokenizer", None) is not None:
        return corpus_contexts(model, n_contexts, seed=seed, corpus=corpus), f"corpus {corpus}"
    return copy_task_tokens(model, n_contexts, seed=seed), "copy task"


def icl_score(
    model: Any,
    tokens: Any = None,
    *,
    n_contexts: int = 24,
    seed: int = 0,
    early: int | None = None,
    late: int | None = None,
    curve: bool = True,
    window: int | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    corpus: str = DEFAULT_CORPUS,
) -> ICLScore:
    """The in-context-learning score of ``model`` (see the module docstring).

    ``tokens``: ``[batch, pos]`` contexts or a text; default ``n_contexts`` (24) windows of the
    shipped ``corpus`` (:func:`corpus_contexts`, ``min(n_ctx, 512)`` tokens; ``"austen"`` or
    ``"devils_dictionary"``) or, for a model without a tokenizer, of :func:`copy_task_tokens`.
    ``early``/``late`` override the indices. ``curve=False`` reads only the two indices (one cheap
    pass; no ``curve``). ``window=w`` averages each context's loss over indices ``early ± w`` and
    ``late ± w`` instead of reading one index; default ``None``: ±10 (:data:`DEFAULT_WINDOW`) when
    the contexts hold the paper's 50 and 500, single indices otherwise. The paper reads single
    indices over thousands of contexts; with tens of contexts one token's loss is too noisy (on
    SmolLM2 one context's ``L[500] − L[50]`` has a standard deviation of about 4.8 nats, its
    ``w = 10`` version about 1.2). Contexts shorter than :func:`min_icl_tokens` raise
    :class:`InputError` naming the minimum. Inside :func:`induction_widgets.ablate` it measures
    the ablated model.
    """
    source = "given"
    if tokens is None:
        tokens, source = default_contexts(model, n_contexts, check_seed(seed), check_corpus(corpus))
    else:
        tokens = to_tokens(model, tokens)
    window = resolve_window(window, tokens.shape[1])
    if early is None and late is None:
        e, l, note = icl_indices(tokens.shape[1], window)
    else:
        e_default, l_default = (
            icl_indices(tokens.shape[1], window)[:2] if early is None or late is None else (1, 2)
        )
        e = e_default if early is None else check_int("early", early, 1)
        l = l_default if late is None else check_int("late", late, 1)
        note = ""
    if not e < l < tokens.shape[1]:
        raise InputError(
            f"need 1 <= early < late < n_tokens, got early={e}, late={l} for "
            f"{tokens.shape[1]}-token contexts"
        )
    indices = window_indices(e, l, window, tokens.shape[1])
    if curve:
        losses = per_token_loss(model, tokens, batch_size=batch_size, progress=progress)
        pair = pair_from(losses[:, indices], window)
        mean_curve: torch.Tensor | None = losses.mean(0)
    else:
        pair = pair_losses(model, tokens, indices, window, batch_size)
        mean_curve = None
    result = icl_from_pair(pair, e, l, mean_curve, tokens.shape[1], note, source)
    result.window = int(window)
    return result


def window_indices(early: int, late: int, window: int, n_tokens: int) -> list[int]:
    """``[early − w … early + w, late − w … late + w]`` after checking they fit in the contexts."""
    w = check_int("window", window, 0)
    if early - w < 1 or late + w >= n_tokens or early + w >= late - w:
        raise InputError(
            f"window={w} around indices {early} and {late} does not fit {n_tokens}-token "
            f"contexts (need 1 <= early - w, early + w < late - w, late + w < n_tokens): lower it"
        )
    return [*range(early - w, early + w + 1), *range(late - w, late + w + 1)]


def pair_from(losses: torch.Tensor, window: int) -> torch.Tensor:
    """``[batch, 2·(2w+1)]`` losses at :func:`window_indices` → ``[batch, 2]`` window means."""
    k = 2 * window + 1
    return torch.stack([losses[:, :k].mean(1), losses[:, k:].mean(1)], dim=1)


def pair_losses(
    model: Any,
    tokens: torch.Tensor,
    indices: list[int],
    window: int,
    batch_size: int | None = None,
    hooks: Sequence[Hook] = (),
) -> torch.Tensor:
    """``[batch, 2]``: each context's (early, late) window-mean loss, via :func:`losses_at` on
    contexts cut after the last index, in chunks."""
    last = max(indices) + 1
    size = auto_batch(model_info(model), last) if batch_size is None else batch_size
    return torch.cat(
        [
            pair_from(losses_at(model, tokens[s : s + size, :last], indices, hooks), window)
            for s in range(0, len(tokens), size)
        ]
    )


def icl_from_pair(
    pair: torch.Tensor,
    early: int,
    late: int,
    curve: torch.Tensor | None,
    n_tokens: int,
    note: str,
    source: str,
) -> ICLScore:
    """:class:`ICLScore` from per-context losses ``[batch, 2]`` at ``(early, late)``."""
    diff = pair[:, 1] - pair[:, 0]
    n = diff.shape[0]
    sem = float(diff.std() / n**0.5) if n > 1 else float("nan")
    return ICLScore(
        score=float(diff.mean()),
        sem=sem,
        early=early,
        late=late,
        loss_early=float(pair[:, 0].mean()),
        loss_late=float(pair[:, 1].mean()),
        curve=curve,
        n_contexts=n,
        n_tokens=n_tokens,
        note=note,
        meta={"contexts": source},
    )


def icl_from_losses(losses: torch.Tensor) -> ICLScore:
    """:class:`ICLScore` from per-token losses ``[batch, pos]`` (or ``[pos]``, one context), e.g. a
    :func:`per_token_loss` result: ``score = mean_b (L[b, late] − L[b, early])`` at
    :func:`icl_indices`, its standard error over the contexts, and the curve ``mean_b L[b, :]``."""
    if (
        not isinstance(losses, torch.Tensor)
        or losses.ndim not in (1, 2)
        or not losses.is_floating_point()
    ):
        what = (
            f"a {losses.ndim}-d {losses.dtype} tensor"
            if isinstance(losses, torch.Tensor)
            else type(losses).__name__
        )
        raise InputError(f"losses must be a float tensor [batch, pos] (per_token_loss), got {what}")
    losses = losses.detach().float().cpu()
    losses = losses[None] if losses.ndim == 1 else losses
    early, late, note = icl_indices(losses.shape[1])
    pair = torch.stack([losses[:, early], losses[:, late]], dim=1)
    return icl_from_pair(
        pair, early, late, losses.mean(0), losses.shape[1], note, "per_token_loss tensor"
    )


def repeated_tokens_loss(
    model: Any, n_examples: int = 10, seq_len: int = 25, seed: int = 0
) -> float:
    """Mean loss on the repeated half of ``BOS A A`` (``A``: ``seq_len`` random distinct tokens).

    Token indices ``seq_len + 2 … 2·seq_len`` (the second ``A`` minus its first token, which
    nothing in the context predicts): an induction circuit drives it towards 0; a model without
    one stays near ``log(vocab)``. Inputs: :func:`repeated_random_tokens` with ``repeats=2``.
    """
    tokens = repeated_random_tokens(model, n_examples, seq_len, 2, seed)
    losses = per_token_loss(model, tokens)
    return float(losses[:, seq_len + 2 :].mean())
