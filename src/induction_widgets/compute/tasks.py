"""The paper's inputs: repeated random tokens, and texts for copying, translation, pattern matching.

Everything here is deterministic for a seed and uses its own ``torch.Generator`` / ``random.Random``,
never the global random state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch

from ..checks import check_int, check_seed
from ..errors import InputError
from ._model import model_device, model_info


def candidate_token_ids(model: Any) -> torch.Tensor:
    """Token ids random sequences are drawn from: the vocabulary minus special tokens. ``[n]``."""
    info = model_info(model)
    tokenizer = getattr(model, "tokenizer", None)
    n = info.d_vocab
    special: set[int] = set()
    if tokenizer is not None:
        n = min(n, len(tokenizer))
        special = {int(i) for i in getattr(tokenizer, "all_special_ids", []) or []}
    # Without a tokenizer the BOS id is 0 (see repeated_random_tokens): keep it out of the body.
    special.add(info.bos_token_id if info.bos_token_id is not None else 0)
    keep = torch.ones(n, dtype=torch.bool)
    for i in special:
        if 0 <= i < n:
            keep[i] = False
    return torch.nonzero(keep).flatten()


def repeated_random_tokens(
    model: Any,
    n_examples: int = 10,
    seq_len: int = 25,
    repeats: int = 4,
    seed: int = 0,
) -> torch.Tensor:
    """The paper's evaluation input: BOS followed by ``seq_len`` random tokens repeated ``repeats`` times.

    Returns ``[n_examples, 1 + seq_len * repeats]`` long tensor on the model's device. Within one
    example the ``seq_len`` tokens are distinct (drawn without replacement from the vocabulary minus
    special tokens), so each repeated token has exactly one earlier occurrence per earlier repeat.
    Without a tokenizer the BOS id is 0.
    """
    n_examples = check_int("n_examples", n_examples, 1)
    seq_len = check_int("seq_len", seq_len, 2)
    repeats = check_int("repeats", repeats, 2)
    seed = check_seed(seed)
    info = model_info(model)
    if 1 + seq_len * repeats > info.n_ctx:
        raise InputError(
            f"1 + seq_len * repeats = {1 + seq_len * repeats} tokens exceeds the model's context "
            f"n_ctx={info.n_ctx}: lower seq_len or repeats"
        )
    candidates = candidate_token_ids(model)
    if len(candidates) < seq_len:
        raise InputError(
            f"seq_len={seq_len} distinct tokens are needed but the vocabulary has only "
            f"{len(candidates)} ordinary tokens: lower seq_len"
        )
    gen = torch.Generator().manual_seed(seed)
    rows = [
        candidates[torch.randperm(len(candidates), generator=gen)[:seq_len]]
        for _ in range(n_examples)
    ]
    body = torch.stack(rows).repeat(1, repeats)
    bos = info.bos_token_id if info.bos_token_id is not None else 0
    tokens = torch.cat([torch.full((n_examples, 1), bos, dtype=torch.long), body], dim=1)
    return tokens.to(model_device(model))


# --- literal copying -------------------------------------------------------------------------

#: Opening of Jane Austen's *Pride and Prejudice* (1813, public domain).
PRIDE_AND_PREJUDICE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be on "
    "his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding "
    "families, that he is considered the rightful property of some one or other of their daughters. "
    '"My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park is '
    'let at last?" Mr. Bennet replied that he had not.'
)


def copying_text(paragraph: str = PRIDE_AND_PREJUDICE, n_sentences: int = 2) -> str:
    """A paragraph followed by its first ``n_sentences`` sentences again, for literal copying.

    As in the paper's Figure 12 (which used a copyrighted text), the repeat lets an induction head
    predict each repeated token by attending to the token after its first occurrence.
    """
    n_sentences = check_int("n_sentences", n_sentences, 1)
    if not isinstance(paragraph, str) or not paragraph.strip():
        raise InputError(
            f"paragraph must be a non-empty str (the text to repeat), got {type(paragraph).__name__} "
            f"{paragraph!r:.40}: leave it out to use the default paragraph"
        )
    sentences: list[str] = []
    rest = paragraph
    for _ in range(n_sentences):
        cut = rest.find(". ")
        if cut < 0:
            sentences.append(rest)
            break
        sentences.append(rest[: cut + 1])
        rest = rest[cut + 2 :]
    return paragraph + "\n\n" + " ".join(sentences)


# --- translation -----------------------------------------------------------------------------

#: Parallel sentences (English, French, German). The first is the paper's Figure 13.
PARALLEL_SENTENCES: tuple[tuple[str, str, str], ...] = (
    (
        "This is the largest temple that I've ever seen.",
        "C'est le plus grand temple que j'ai jamais vu.",
        "Das ist der größte Tempel, den ich je gesehen habe.",
    ),
    (
        "The cat is sleeping on the red chair.",
        "Le chat dort sur la chaise rouge.",
        "Die Katze schläft auf dem roten Stuhl.",
    ),
    (
        "My brother lives in a small house near the sea.",
        "Mon frère habite dans une petite maison près de la mer.",
        "Mein Bruder wohnt in einem kleinen Haus am Meer.",
    ),
    (
        "We will go to the market tomorrow morning.",
        "Nous irons au marché demain matin.",
        "Wir gehen morgen früh auf den Markt.",
    ),
)


def translation_text(index: int = 0) -> str:
    """The paper's three-language prompt (``EN:`` / ``FR:`` / ``DE:`` lines) for sentence ``index``."""
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(PARALLEL_SENTENCES)
    ):
        raise InputError(f"index must be an int in 0..{len(PARALLEL_SENTENCES) - 1}, got {index!r}")
    en, fr, de = PARALLEL_SENTENCES[index]
    return f"EN: {en}\nFR: {fr}\nDE: {de}"


# --- abstract pattern matching ---------------------------------------------------------------

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
COLORS = ("red", "blue", "green", "yellow", "purple", "gray", "orange", "pink", "brown", "white")
ANIMALS = ("dog", "cat", "bird", "fish", "lion", "snake", "frog", "monkey", "lizard", "horse")
FRUITS = ("apple", "grape", "pear", "kiwi", "cherry", "banana", "lemon", "mango", "peach", "plum")

#: The paper's four templates: label = 2 * (first word is a colour) + (second word is a fruit).
TEMPLATES = ("(month) (animal)", "(month) (fruit)", "(color) (animal)", "(color) (fruit)")


@dataclass(frozen=True)
class PatternLine:
    """One line ``"<word> <word>: <label>"`` and where its parts sit in the text (character offsets)."""

    text: str
    label: int
    start: int  # offset of the line's first character in the whole text
    colon: int  # offset of ":"
    label_at: int  # offset of the label digit


def pattern_matching_lines(n_lines: int = 30, seed: int = 0) -> list[PatternLine]:
    """Random lines of the paper's four templates, with their character offsets (see ``TEMPLATES``)."""
    n_lines = check_int("n_lines", n_lines, 1)
    rng = random.Random(check_seed(seed))
    lines: list[PatternLine] = []
    offset = 0
    for _ in range(n_lines):
        label = rng.randrange(4)
        first = rng.choice(COLORS if label >= 2 else MONTHS)
        second = rng.choice(FRUITS if label % 2 else ANIMALS)
        text = f"{first} {second}: {label}"
        colon = offset + text.index(":")
        lines.append(PatternLine(text, label, offset, colon, colon + 2))
        offset += len(text) + 1  # "\n"
    return lines


def pattern_matching_text(n_lines: int = 30, seed: int = 0) -> tuple[str, list[int]]:
    """``(text, labels)``: ``n_lines`` lines like ``"June grape: 1"``, one per line, and their labels 0–3."""
    lines = pattern_matching_lines(n_lines, seed)
    return "\n".join(line.text for line in lines), [line.label for line in lines]
