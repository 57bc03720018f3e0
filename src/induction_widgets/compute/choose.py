r"""Heads chosen by what they do on a text, with the runner-ups and one line saying why.

Where a page or a notebook shows "the" head for a behaviour, it is the head that does the behaviour
most on the text on screen, measured from that text's :class:`TextActivations` (one forward pass;
each head's ``[dst, src]`` attention and direct logit attribution recomputed from it):

* **literal copying** (:func:`choose_copying_head`) — destinations ``d`` whose token occurred
  before at ``j < d`` with the same next token (``t[j+1] = t[d+1]``: copying predicts right there);
  targets ``T(d) = {j + 1}``. ``attention = mean_d Σ_{s∈T(d)} A[d, s]`` (attention on the copy),
  ``logit = mean_d Σ_{s∈T(d)} attr[d, s]`` (the direct-path logit of the right next token raised
  from the copy, :func:`logit_attribution`); the head maximises ``attention × logit``.
* **translation** (:func:`choose_translation_head`) — aligned-word attention: for each destination
  ``d`` of :func:`translation_targets` (a FR/DE token whose next word has a hand-aligned
  translation on an earlier line), the attention on the tokens of that translation, averaged. For a
  text without an alignment, attention from each line to the earlier lines (BOS and the previous
  token left out), and the reason says so.
* **pattern matching** (:func:`choose_pattern_matching_head`) — same-template attention: for each
  line whose template appeared before, the attention from the token before its label to the labels
  of the earlier same-template lines (:func:`pattern_matching_problem`'s targets), averaged.

Each returns a :class:`HeadChoice`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import InputError
from ._model import model_info
from .attribution import TextActivations
from .scores import (
    tokenize_with_offsets,
)
from .tasks import translation_text

Head = tuple[int, int]


@dataclass
class HeadChoice:
    """The head that does ``behaviour`` most on a text: ``head``, its ``value`` of the measure,
    ``runners_up`` (the next heads with their values, best first), ``reason`` (one line) and
    ``parts``: every measured head's components (e.g. ``{"attention": …, "logit": …}``)."""

    behaviour: str
    measure: str
    head: Head
    value: float
    runners_up: list[tuple[Head, float]]
    reason: str
    parts: dict[Head, dict[str, float]] = field(default_factory=dict, repr=False)

    def ranking(self) -> list[tuple[Head, float]]:
        """``[(head, value)]`` of the best head and the runner-ups, best first."""
        return [(self.head, self.value), *self.runners_up]


def _heads(acts: TextActivations, heads: Iterable[Head] | None) -> list[Head]:
    info = acts.info
    if heads is None:
        return [(l, h) for l in acts.layers for h in range(info.n_heads)]
    out = [(int(l), int(h)) for l, h in heads]
    if not out:
        raise InputError("heads is empty: give at least one (layer, head) pair, or None for all")
    return out


def _name(hd: Head) -> str:
    return f"L{hd[0]}H{hd[1]}"


def _choice(
    behaviour: str,
    measure: str,
    parts: dict[Head, dict[str, float]],
    key: str,
    n_runners_up: int,
    because: Any,
) -> HeadChoice:
    ranked = sorted(parts, key=lambda hd: (-parts[hd][key], hd))
    best = ranked[0]
    runners = [(hd, parts[hd][key]) for hd in ranked[1 : 1 + n_runners_up]]
    reason = f"{_name(best)}: {because(parts[best])}; the most of the {len(parts)} heads measured."
    return HeadChoice(behaviour, measure, best, parts[best][key], runners, reason, parts)


# --- literal copying ---------------------------------------------------------------------------


def copy_destinations(tokens: Sequence[int], start: int = 1) -> dict[int, list[int]]:
    """``{d: [j + 1, …]}`` for destinations ``d >= start`` whose token occurred at ``j < d`` followed
    by the same token as follows ``d`` (where copying predicts the right next token)."""
    toks = list(tokens)
    out: dict[int, list[int]] = {}
    for d in range(max(start, 1), len(toks) - 1):
        targets = [j + 1 for j in range(d) if toks[j] == toks[d] and toks[j + 1] == toks[d + 1]]
        if targets:
            out[d] = targets
    return out


def repeat_start(model: Any, text: str, marker: str = "\n\n") -> int:
    """Index of the first token that starts after ``marker`` (the blank line of
    :func:`copying_text`, before its repeat); 1 when the text has no ``marker``."""
    at = text.find(marker)
    if at < 0:
        return 1
    char = at + len(marker)
    _, spans = tokenize_with_offsets(model, text)
    return next((i for i, (a, _) in enumerate(spans) if i > 0 and a >= char), 1)


def choose_copying_head(
    acts: TextActivations,
    heads: Iterable[Head] | None = None,
    *,
    start: int = 1,
    n_runners_up: int = 3,
) -> HeadChoice:
    """The head that copies most on this text: max of attention on the copy × logit raised from it
    (module docstring). ``start``: the first destination considered (e.g. where a repeat begins)."""
    dsts = copy_destinations(acts.tokens.tolist(), start)
    if not dsts and start > 1:  # the repeat was cut off (a truncated text): the whole text
        dsts = copy_destinations(acts.tokens.tolist(), 1)
    if not dsts:
        raise InputError(
            "no token of this text repeats with the same next token, so literal copying cannot be "
            "measured: use a text with a repeated passage (iw.copying_text())"
        )
    rows = torch.tensor([d for d in dsts for _ in dsts[d]])
    cols = torch.tensor([s for d in dsts for s in dsts[d]])
    n = len(dsts)
    parts = {}
    for hd in _heads(acts, heads):
        att, attr = acts.attention_and_attribution(*hd)
        a = float(att[rows, cols].sum()) / n
        g = float(attr[rows, cols].sum()) / n
        parts[hd] = {"attention": a, "logit": g, "score": a * g}

    def because(p: dict[str, float]) -> str:
        return (
            f"{p['attention']:.0%} of its attention on the copy, raising the right next token by "
            f"{p['logit']:+.2f} logits from there (attention × logit {p['score']:.2f} over "
            f"{n} repeated tokens)"
        )

    return _choice("literal copying", "attention × logit", parts, "score", n_runners_up, because)


# --- translation -------------------------------------------------------------------------------

#: A hand-made word alignment of :data:`PARALLEL_SENTENCES`: for each sentence triple, groups of
#: (English, French, German) words or phrases that translate each other. A phrase is matched as a
#: whole word in its line (first occurrence, case-sensitive); a tuple lists several phrases of one
#: language in one group. Words in no group (German "habe", the comma) are ignored.
ALIGNMENTS: tuple[tuple[tuple[Any, Any, Any], ...], ...] = (
    (
        ("This is", "C'est", "Das ist"),
        ("the", "le", "der"),
        ("largest", "plus grand", "größte"),
        ("temple", "temple", "Tempel"),
        ("that", "que", "den"),
        ("I've", "j'ai", ("ich", "habe")),
        ("ever", "jamais", "je"),
        ("seen", "vu", "gesehen"),
        (".", ".", "."),
    ),
    (
        ("The", "Le", "Die"),
        ("cat", "chat", "Katze"),
        ("is sleeping", "dort", "schläft"),
        ("on", "sur", "auf"),
        ("the", "la", "dem"),
        ("red", "rouge", "roten"),
        ("chair", "chaise", "Stuhl"),
        (".", ".", "."),
    ),
    (
        ("My", "Mon", "Mein"),
        ("brother", "frère", "Bruder"),
        ("lives", "habite", "wohnt"),
        ("in", "dans", "in"),
        ("a", "une", "einem"),
        ("small", "petite", "kleinen"),
        ("house", "maison", "Haus"),
        ("near the", "près de la", "am"),
        ("sea", "mer", "Meer"),
        (".", ".", "."),
    ),
    (
        ("We", "Nous", "Wir"),
        ("will go", "irons", "gehen"),
        ("to the", "au", "auf den"),
        ("market", "marché", "Markt"),
        ("tomorrow", "demain", "morgen"),
        ("morning", "matin", "früh"),
        (".", ".", "."),
    ),
)


def _find_phrase(line: str, phrase: str) -> tuple[int, int]:
    left = r"(?<!\w)" if phrase[0].isalnum() else ""
    right = r"(?!\w)" if phrase[-1].isalnum() else ""
    if phrase == ".":
        i = line.rindex(".")
        return i, i + 1
    m = re.search(left + re.escape(phrase) + right, line)
    if m is None:
        raise ValueError(f"{phrase!r} is not a word of {line!r}")
    return m.span()


def translation_targets(
    model: Any, index: int
) -> tuple[torch.Tensor, dict[int, list[int]], list[int]]:
    """``(tokens, targets, line_of_token)`` for sentence triple ``index`` (:func:`translation_text`).

    Every token gets the alignment group of the word it overlaps (or none) and its line (0 = EN,
    1 = FR, 2 = DE; −1 for BOS). For a destination ``d`` on the FR or DE line whose *next* token
    ``d + 1`` is on the same line and in a group, the targets are the tokens of that group on the
    earlier lines: a translation head, like an induction head, should look at the earlier word that
    says what comes next. Only destinations whose next token starts a new word (begins with a space)
    count, and not the ``FR:`` / ``DE:`` prefix (where ":" matches the ``EN:`` line's ":" literally).
    """
    text = translation_text(index)
    ids, spans = tokenize_with_offsets(model, text)
    tokens = torch.tensor(ids)
    has_bos = model_info(model).bos_token_id is not None
    lines = text.split("\n")
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    prefix = len("EN: ")
    group_chars: dict[int, list[tuple[int, int, int]]] = {}  # group -> [(line, start, end)]
    for g, triple in enumerate(ALIGNMENTS[index]):
        for li, phrases in enumerate(triple):
            for phrase in (phrases,) if isinstance(phrases, str) else phrases:
                a, b = _find_phrase(lines[li][prefix:], phrase)
                off = starts[li] + prefix
                group_chars.setdefault(g, []).append((li, off + a, off + b))

    line_of: list[int] = []
    group_of: list[int | None] = []
    for i, (a, b) in enumerate(spans):
        if i == 0 and has_bos:
            line_of.append(-1)
            group_of.append(None)
            continue
        line_of.append(max(li for li, s in enumerate(starts) if s <= max(a, b - 1)))
        hit = [
            g
            for g, parts in group_chars.items()
            if any(s < b and a < e and li == line_of[-1] for li, s, e in parts)
        ]
        group_of.append(hit[0] if hit else None)

    targets: dict[int, list[int]] = {}
    for d in range(len(spans) - 1):
        li, group = line_of[d], group_of[d + 1]
        if li < 1 or line_of[d + 1] != li or group is None:
            continue
        if spans[d][1] <= starts[li] + prefix:  # the "FR:" prefix: literal induction would do
            continue
        start = spans[d + 1][0]  # offsets may include the token's leading space or not
        if not (text[start] == " " or text[start - 1] == " "):
            continue  # the next token continues the current word (or is punctuation)
        srcs = [s for s in range(d + 1) if 0 <= line_of[s] < li and group_of[s] == group]
        if srcs:
            targets[d] = srcs
    return tokens, targets, line_of


def _line_targets(str_tokens: Sequence[str]) -> dict[int, list[int]]:
    """Without an alignment: each token of the second and later lines → every token of the earlier
    lines except BOS and its previous token."""
    line = 0
    line_of = []
    for i, tok in enumerate(str_tokens):
        line_of.append(line if i > 0 else -1)
        if "\n" in tok:
            line += 1
    out: dict[int, list[int]] = {}
    for d in range(1, len(str_tokens)):
        srcs = [s for s in range(1, d) if 0 <= line_of[s] < line_of[d] and s != d - 1]
        if srcs:
            out[d] = srcs
    return out


def choose_translation_head(
    acts: TextActivations,
    heads: Iterable[Head] | None = None,
    *,
    targets: dict[int, list[int]] | None = None,
    n_runners_up: int = 3,
) -> HeadChoice:
    """The head with the most aligned-word attention on a translation text (module docstring).

    ``targets`` (``{dst: [src, …]}``) default: :func:`translation_targets` when the text is one of
    :func:`translation_text`'s, else attention to the earlier lines (and the reason says so).
    """
    measure = "aligned-word attention"
    if targets is None:
        tokens = acts.tokens.tolist()
        model = acts._model_ref()
        for index in range(len(ALIGNMENTS)):
            if model is None:
                break
            ids, _ = tokenize_with_offsets(model, translation_text(index))
            if ids == tokens:
                targets = translation_targets(model, index)[1]
                break
    if targets is None:
        targets = _line_targets(acts.str_tokens)
        measure = "attention to earlier lines (no word alignment for this text)"
    if not targets:
        raise InputError(
            "this text has no token on a later line to measure translation from: use "
            "iw.translation_text() or lines separated by newlines"
        )
    dsts = sorted(targets)
    n = len(dsts)
    parts = {}
    for hd in _heads(acts, heads):
        att = acts.attention(*hd)
        parts[hd] = {"attention": sum(float(att[d, targets[d]].sum()) for d in dsts) / n}

    def because(p: dict[str, float]) -> str:
        what = (
            "on the earlier-language word that translates the next word"
            if measure.startswith("aligned")
            else "on earlier lines (no word alignment for this text)"
        )
        return f"{p['attention']:.0%} of its attention {what}, over {n} destinations"

    return _choice("translation", measure, parts, "attention", n_runners_up, because)


# --- pattern matching --------------------------------------------------------------------------


def choose_pattern_matching_head(
    acts: TextActivations,
    targets: torch.Tensor,
    valid: torch.Tensor,
    heads: Iterable[Head] | None = None,
    *,
    n_runners_up: int = 3,
) -> HeadChoice:
    """The head with the most same-template attention on this text: ``targets [dst, src]`` and
    ``valid [dst]`` as :func:`pattern_matching_problem` gives them for the same text."""
    pos = acts.n_tokens
    if targets.shape != (pos, pos) or valid.shape != (pos,):
        raise InputError(
            f"targets must be [{pos}, {pos}] and valid [{pos}] for this text (got "
            f"{tuple(targets.shape)} and {tuple(valid.shape)}): use pattern_matching_problem of the "
            "same text"
        )
    dsts = torch.nonzero(valid).flatten().tolist()
    if not dsts:
        raise InputError("no line of this text repeats an earlier line's template: use more lines")
    parts = {}
    for hd in _heads(acts, heads):
        att = acts.attention(*hd)
        same = float((att[dsts] * targets[dsts].float()).sum()) / len(dsts)
        parts[hd] = {"attention": same}

    def because(p: dict[str, float]) -> str:
        return (
            f"{p['attention']:.0%} of its attention from the token before each label goes to the "
            f"labels of earlier lines of the same template, over {len(dsts)} lines"
        )

    return _choice(
        "pattern matching", "same-template attention", parts, "attention", n_runners_up, because
    )
