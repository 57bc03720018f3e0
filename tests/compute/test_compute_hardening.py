"""Bad inputs to the compute room (scores, attribution, tasks): each raises ONE clear error of ours.

The matrix's machinery (the ``ctx`` objects, the text and head cross products, the assertion) is
in ``tests/hardening.py``; here are the compute room's rows, and the decisions where a sensible
answer exists (whitespace text, ``truncate=True``, integer-like indices, numpy counts, one seed →
one result across interpreters, the cached ``W_U @ W_E``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch
from hardening import (
    BROKEN,
    HEAD_CASES,
    LONG,
    N_CTX,
    TEXT,
    Rows,
    assert_raises_ours,
    head_rows,
    make_ctx,
    non_model_rows,
    text_rows,
    with_poisoned_tiny,
)

import induction_widgets as iw
from induction_widgets import errors
from induction_widgets.compute.scores import _GRAM, unembed_embed_gram

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

# Everything that reads one text or a token batch. Each takes (ctx, model, text_or_tokens, **kwargs).
text_rows(
    ROWS,
    {
        "attention_pattern": lambda c, m, x, **k: iw.attention_pattern(m, x, 0, 0, **k),
        "logit_attribution": lambda c, m, x, **k: iw.logit_attribution(m, x, 0, 0, **k),
        "TextActivations": lambda c, m, x, **k: iw.TextActivations(m, x, progress=False, **k),
        "prefix_matching_scores": lambda c, m, x, **k: iw.prefix_matching_scores(m, x, **k),
        "previous_token_scores": lambda c, m, x, **k: iw.previous_token_scores(m, x, **k),
        "head_scores": lambda c, m, x, **k: iw.head_scores(m, tokens=x, progress=False, **k),
    },
    {"attention_pattern", "logit_attribution", "TextActivations"},
)

# Everything that takes a (layer, head). Each takes (ctx, layer, head).
head_rows(
    ROWS,
    {
        "attention_pattern": lambda c, l, h: iw.attention_pattern(c.tiny, TEXT, l, h),
        "logit_attribution": lambda c, l, h: iw.logit_attribution(c.tiny, TEXT, l, h),
    },
)
for _case, _l, _h, _msg in HEAD_CASES[:2] + HEAD_CASES[3:6]:
    row(
        f"TextActivations-layers-{_case}",
        lambda c, l=_l: iw.TextActivations(c.tiny, TEXT, layers=[l], progress=False),
        iw.HeadIndexError,
        _msg,
    )
for _name, _call in {
    "attention_pattern": lambda c: iw.attention_pattern(c.tiny, TEXT, 0, None),
    "logit_attribution": lambda c: iw.logit_attribution(c.tiny, TEXT, None, 0),
}.items():
    row(f"{_name}-None-index", _call, iw.HeadIndexError, r"must be an int in 0\.\.\d, got NoneType")

# Non-models where a model is needed (beyond the text functions above).
non_model_rows(
    ROWS,
    {
        "ov_copying_scores": lambda c, m: iw.ov_copying_scores(m),
        "head_scores": lambda c, m: iw.head_scores(m),
        "repeated_random_tokens": lambda c, m: iw.repeated_random_tokens(m),
        "pattern_matching_scores": lambda c, m: iw.pattern_matching_scores(m, 2, 10),
        "pattern_matching_problem": lambda c, m: iw.pattern_matching_problem(m, 10),
        "long_range_induction_scores": lambda c, m: iw.long_range_induction_scores(m),
    },
)

# NaN / inf weights everywhere a model is read (the text functions are above).
for _name, _call in {
    "ov_copying_scores-nan": lambda c: iw.ov_copying_scores(c.nan_model),
    "ov_copying_scores-inf": lambda c: iw.ov_copying_scores(c.inf_model),
    "head_scores-nan": lambda c: iw.head_scores(c.nan_model, 2, 5, 2),
    "pattern_matching_scores-nan": with_poisoned_tiny(
        lambda m: iw.pattern_matching_scores(m, 2, 10)
    ),
    "long_range_induction_scores-nan": lambda c: iw.long_range_induction_scores(c.nan_model, 3),
}.items():
    row(_name, _call, iw.ModelWeightsError, BROKEN)

# Counts, seeds and the protocol.
for _name, _call, _msg in [
    (
        "n_examples=0",
        lambda c: iw.head_scores(c.tiny, n_examples=0),
        r"n_examples must be >= 1, got 0",
    ),
    (
        "n_examples=-1",
        lambda c: iw.head_scores(c.tiny, n_examples=-1),
        r"n_examples must be >= 1, got -1",
    ),
    (
        "n_examples=2.5",
        lambda c: iw.head_scores(c.tiny, n_examples=2.5),
        r"n_examples must be an int >= 1, got float 2\.5",
    ),
    (
        "n_examples=True",
        lambda c: iw.head_scores(c.tiny, n_examples=True),
        r"n_examples must be an int >= 1, got bool True",
    ),
    ("seq_len=-3", lambda c: iw.head_scores(c.tiny, seq_len=-3), r"seq_len must be >= 2, got -3"),
    ("repeats=0", lambda c: iw.head_scores(c.tiny, repeats=0), r"repeats must be >= 2, got 0"),
    (
        "seq_len-over-n_ctx",
        lambda c: iw.head_scores(c.tiny, seq_len=200),
        r"801 tokens exceeds the model's context n_ctx=256: lower seq_len or repeats",
    ),
    (
        "seed=str",
        lambda c: iw.head_scores(c.tiny, seed="a"),
        r"seed must be an int, got str 'a': pass e\.g\. seed=0",
    ),
    (
        "seed=1.5",
        lambda c: iw.head_scores(c.tiny, seed=1.5),
        r"seed must be an int, got float 1\.5",
    ),
    (
        "no-repeats-in-tokens",
        lambda c: iw.head_scores(c.tiny, tokens=[1, 2, 3]),
        r"no token occurs twice .*: use tokens=None \(the paper's repeated random tokens\)",
    ),
]:
    row(f"head_scores-{_name}", _call, iw.InputError, _msg)
for _name, _call, _msg in [
    ("n_examples=0", lambda c: iw.repeated_random_tokens(c.tiny, 0), r"n_examples must be >= 1"),
    (
        "seq_len=1",
        lambda c: iw.repeated_random_tokens(c.tiny, 2, 1),
        r"seq_len must be >= 2, got 1",
    ),
    ("seed=None", lambda c: iw.repeated_random_tokens(c.tiny, seed=None), r"seed must be an int"),
]:
    row(f"repeated_random_tokens-{_name}", _call, iw.InputError, _msg)
for _name, kwargs, _msg in [
    ("n_problems=0", {"n_problems": 0}, r"n_problems must be >= 1, got 0"),
    ("n_lines=1", {"n_lines": 1}, r"n_lines must be >= 2, got 1"),
    (
        "n_lines-over-n_ctx",
        {"n_lines": 60},
        r"60 lines need \d+ tokens, more than n_ctx=256: lower n_lines",
    ),
    ("batch_size=0", {"batch_size": 0}, r"batch_size must be >= 1, got 0"),
    ("batch_size=-1", {"batch_size": -1}, r"batch_size must be >= 1, got -1"),
    ("seed=1.5", {"seed": 1.5}, r"seed must be an int, got float 1\.5"),
]:
    row(
        f"pattern_matching_scores-{_name}",
        lambda c, k=kwargs: iw.pattern_matching_scores(
            c.tiny, **{"n_problems": 2, "n_lines": 10, **k}
        ),
        iw.InputError,
        _msg,
    )
for _name, _call, _msg in [
    (
        "pattern_matching_problem-n_lines=0",
        lambda c: iw.pattern_matching_problem(c.tiny, 0),
        r"n_lines must be >= 1, got 0",
    ),
    (
        "pattern_matching_problem-seed=str",
        lambda c: iw.pattern_matching_problem(c.tiny, 5, seed="x"),
        r"seed must be an int",
    ),
    (
        "pattern_matching_problem-no-tokenizer",
        lambda c: iw.pattern_matching_problem(c.bare, 5),
        r"no tokenizer, so it cannot read the pattern-matching text: give it a tokenizer",
    ),
    (
        "pattern_matching_scores-no-tokenizer",
        lambda c: iw.pattern_matching_scores(c.bare, 2, 5),
        r"no tokenizer, so it cannot read the pattern-matching text: give it a tokenizer",
    ),
    (
        "prefix_matching_scores-no-repeats",
        lambda c: iw.prefix_matching_scores(c.tiny, "abcdefg"),
        r"no token occurs twice .*: use repeated_random_tokens\(model\) or a text with repeats",
    ),
    (
        "previous_token_scores-one-token",
        lambda c: iw.previous_token_scores(c.tiny, [5]),
        r"needs at least two tokens: give a longer text or more token ids",
    ),
]:
    row(_name, _call, iw.InputError, _msg)


# The beyond-Argument-4 measures and the paper's other inputs (issue 20: every public callable of
# induction_widgets.__all__ has rows; tests/test_hardening_coverage.py checks it).
def _enter(manager: Any) -> None:
    with manager:
        pass


KIND = r"kind must be 'mean' or 'zero', got 'half'"
MEANS = r"means must be a float tensor of shape \(2, 4, 16\), got {}: pass head_means\(model\)"
for _name, _call, _exc, _msg in [
    ("ablate-kind", lambda c: _enter(iw.ablate(c.tiny, (0, 0), "half")), iw.InputError, KIND),
    (
        "ablate-head-out-of-range",
        lambda c: _enter(iw.ablate(c.tiny, (5, 0))),
        iw.HeadIndexError,
        r"layer 5 is out of range: this model has 2 layers, so use 0\.\.1",
    ),
    (
        "ablate-heads-str",
        lambda c: _enter(iw.ablate(c.tiny, "L1H0")),
        iw.HeadIndexError,
        r"heads must be a \(layer, head\) pair or a list of them, got str 'L1H0'",
    ),
    (
        "ablate-means-shape",
        lambda c: _enter(iw.ablate(c.tiny, (0, 0), means=torch.zeros(2, 4, 3))),
        iw.InputError,
        MEANS.format(r"a \(2, 4, 3\) torch\.float32 tensor"),
    ),
    (
        "ablate-reference-empty",
        lambda c: _enter(iw.ablate(c.tiny, (0, 0), reference="")),
        iw.InputError,
        r"the text is empty",
    ),
    (
        "ablate-context-too-short-for-the-default-reference",
        lambda c: _enter(iw.ablate(c.bare, (0, 0))),
        iw.InputError,
        r"n_ctx=16 is too short for copy-task contexts .* pass token ids of your own",
    ),
    (
        "ablate-nan",
        lambda c: _enter(iw.ablate(c.nan_model, (0, 0), reference=[0, 1, 2, 3])),
        iw.ModelWeightsError,
        BROKEN,
    ),
    (
        "ablation_effect-kind",
        lambda c: iw.ablation_effect(c.tiny, (0, 0), "half"),
        iw.InputError,
        KIND,
    ),
    (
        "ablation_effect-n_contexts=0",
        lambda c: iw.ablation_effect(c.tiny, (0, 0), n_contexts=0),
        iw.InputError,
        r"n_contexts must be >= 1, got 0",
    ),
    (
        "ablation_effect-seed=str",
        lambda c: iw.ablation_effect(c.tiny, (0, 0), seed="a"),
        iw.InputError,
        r"seed must be an int, got str 'a'",
    ),
    (
        "ablation_effect-head-out-of-range",
        lambda c: iw.ablation_effect(c.tiny, (0, 9)),
        iw.HeadIndexError,
        r"head 9 is out of range: this model has 4 heads",
    ),
    (
        "ablation_comparison-n_draws=0",
        lambda c: iw.ablation_comparison(c.tiny, [(1, 0)], n_draws=0),
        iw.InputError,
        r"n_draws must be >= 1, got 0",
    ),
    (
        "ablation_comparison-window=-1",
        lambda c: iw.ablation_comparison(c.tiny, [(1, 0)], window=-1, tokens=[[1, 2, 3, 1, 2, 3]]),
        iw.InputError,
        r"window must be >= 0, got -1",
    ),
    (
        "ablation_comparison-head-out-of-range",
        lambda c: iw.ablation_comparison(c.tiny, [(1, 0), (2, 0)]),
        iw.HeadIndexError,
        r"layer 2 is out of range",
    ),
    (
        "ablation_scores-n_draws=0",
        lambda c: iw.ablation_scores(c.tiny, n_draws=0),
        iw.InputError,
        r"n_draws must be >= 1, got 0",
    ),
    (
        "ablation_scores-layers",
        lambda c: iw.ablation_scores(c.tiny, layers=[5]),
        iw.HeadIndexError,
        r"layers must be layer numbers in 0\.\.1 \(an int or a list\), got \[5\]: e\.g\. layers=\[1\]",
    ),
    (
        "ablation_scores-layers-empty",
        lambda c: iw.ablation_scores(c.tiny, layers=[]),
        iw.InputError,
        r"layers is empty: give at least one layer, or None for all layers",
    ),
    (
        "ablation_scores-kind",
        lambda c: iw.ablation_scores(c.tiny, kind="half"),
        iw.InputError,
        KIND,
    ),
    (
        "ablation_scores-means-list",
        lambda c: iw.ablation_scores(c.tiny, means=[1.0]),
        iw.InputError,
        MEANS.format("list"),
    ),
    (
        "checkpoint_scores-name",
        lambda c: iw.checkpoint_scores("smollm2"),
        iw.InputError,
        r"checkpoints must be 'tiny', a checkpoint file written by scripts/train_tiny_model\.py, or "
        r"a non-empty list",
    ),
    (
        "checkpoint_scores-steps",
        lambda c: iw.checkpoint_scores("tiny", steps=[12345]),
        iw.InputError,
        r"no checkpoint at steps \[12345\]: the file holds \[0, 50, ",
    ),
    (
        "copy_task_tokens-n_contexts=0",
        lambda c: iw.copy_task_tokens(c.tiny, 0),
        iw.InputError,
        r"n_contexts must be >= 1, got 0",
    ),
    (
        "copy_task_tokens-n_tokens-over-length",
        lambda c: iw.copy_task_tokens(c.tiny, 2, n_tokens=1000),
        iw.InputError,
        r"n_tokens=1000 exceeds length=256: lower n_tokens or raise length",
    ),
    (
        "copy_task_tokens-short-context",
        lambda c: iw.copy_task_tokens(c.bare, 2),
        iw.InputError,
        r"n_ctx=16 is too short for copy-task contexts \(at least 17 tokens",
    ),
    (
        "copying_text-n_sentences=0",
        lambda c: iw.copying_text(n_sentences=0),
        iw.InputError,
        r"n_sentences must be >= 1, got 0",
    ),
    (
        "copying_text-paragraph-int",
        lambda c: iw.copying_text(paragraph=5),
        iw.InputError,
        r"paragraph must be a non-empty str \(the text to repeat\), got int 5",
    ),
    (
        "copying_text-paragraph-blank",
        lambda c: iw.copying_text(paragraph="  "),
        iw.InputError,
        r"paragraph must be a non-empty str .*: leave it out to use the default paragraph",
    ),
    (
        "corpus_contexts-n_contexts=0",
        lambda c: iw.corpus_contexts(c.tiny, 0),
        iw.InputError,
        r"n_contexts must be >= 1, got 0",
    ),
    (
        "corpus_contexts-no-tokenizer",
        lambda c: iw.corpus_contexts(c.bare, 2),
        iw.InputError,
        r"this model has no tokenizer, so it cannot read the corpus: pass tokens=",
    ),
    (
        "corpus_contexts-n_tokens-over-n_ctx",
        lambda c: iw.corpus_contexts(c.tiny, 2, n_tokens=1000),
        iw.InputError,
        r"n_tokens=1000 exceeds the model's context n_ctx=256",
    ),
    (
        "head_means-reference-empty",
        lambda c: iw.head_means(c.tiny, ""),
        iw.InputError,
        r"the text is empty",
    ),
    (
        "head_means-nan",
        lambda c: iw.head_means(c.nan_model, [0, 1, 2, 3]),
        iw.ModelWeightsError,
        BROKEN,
    ),
    (
        "icl_score-n_contexts=0",
        lambda c: iw.icl_score(c.tiny, n_contexts=0),
        iw.InputError,
        r"n_contexts must be >= 1, got 0",
    ),
    (
        "icl_score-window=-1",
        lambda c: iw.icl_score(c.tiny, n_contexts=2, window=-1),
        iw.InputError,
        r"window must be >= 0, got -1",
    ),
    (
        "icl_score-early-after-late",
        lambda c: iw.icl_score(c.tiny, n_contexts=2, early=50, late=10),
        iw.InputError,
        r"need 1 <= early < late < n_tokens, got early=50, late=10 for 256-token contexts",
    ),
    (
        "icl_score-nan",
        lambda c: iw.icl_score(c.nan_model, [[1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]]),
        iw.ModelWeightsError,
        BROKEN,
    ),
    # issue 21: the ICL score's minimum length, corpus=, method=, measure=, layer-0 partners
    (
        "icl_score-text-too-short",
        lambda c: iw.icl_score(c.tiny, "abc", progress=False),
        iw.InputError,
        r"contexts of 4 tokens are too short for an ICL score with window=0: give at least 11 "
        r"tokens",
    ),
    (
        "icl_score-window-too-wide-for-text",
        lambda c: iw.icl_score(c.tiny, "ab" * 20, window=5, progress=False),
        iw.InputError,
        r"contexts of 41 tokens are too short for an ICL score with window=5: give at least \d+ "
        r"tokens or lower window",
    ),
    (
        "corpus_contexts-unknown-corpus",
        lambda c: iw.corpus_contexts(c.tiny, 2, corpus="bierce"),
        iw.InputError,
        r"corpus must be one of \('austen', 'devils_dictionary'\), got 'bierce'",
    ),
    (
        "corpus_text-unknown-corpus",
        lambda c: iw.corpus_text("bierce"),
        iw.InputError,
        r"corpus must be one of \('austen', 'devils_dictionary'\), got 'bierce'",
    ),
    (
        "ablation_scores-method",
        lambda c: iw.ablation_scores(c.tiny, n_contexts=2, method="gradient", progress=False),
        iw.InputError,
        r"method must be one of \('exact', 'attribution'\), got 'gradient'",
    ),
    (
        "ablation_scores-qk_fix-with-exact",
        lambda c: iw.ablation_scores(c.tiny, n_contexts=2, qk_fix=True, progress=False),
        iw.InputError,
        r"qk_fix=True corrects the attribution estimate; it needs method='attribution'",
    ),
    (
        "ablation_scores-qk_fix-not-bool",
        lambda c: iw.ablation_scores(
            c.tiny, n_contexts=2, method="attribution", qk_fix="yes", progress=False
        ),
        iw.InputError,
        r"qk_fix must be True or False, got 'yes'",
    ),
    (
        "AblationComparison-measure",
        lambda c: iw.AblationComparison([], [], 0.0, 0.0, [], []).z_score("loss"),
        iw.InputError,
        r"measure must be 'icl' or 'repeated_loss', got 'loss'",
    ),
    (
        "previous_token_partners-layer-0",
        lambda c: iw.previous_token_partners(c.tiny, 0, 3),
        iw.InputError,
        r"head L0H3 is in layer 0: no earlier head .* ask about a head in layer 1 or later",
    ),
    (
        "k_composition_scores-nan",
        lambda c: iw.k_composition_scores(c.nan_model, 0, 0),
        iw.ModelWeightsError,
        BROKEN,
    ),
    (
        "pattern_matching_text-n_lines=0",
        lambda c: iw.pattern_matching_text(0),
        iw.InputError,
        r"n_lines must be >= 1, got 0",
    ),
    (
        "pattern_matching_text-seed=str",
        lambda c: iw.pattern_matching_text(5, seed="x"),
        iw.InputError,
        r"seed must be an int, got str 'x'",
    ),
    (
        "per_token_loss-batch_size=0",
        lambda c: iw.per_token_loss(c.tiny, TEXT, batch_size=0),
        iw.InputError,
        r"batch_size must be >= 1, got 0",
    ),
    (
        "previous_token_partners-previous_token-shape",
        lambda c: iw.previous_token_partners(c.tiny, 1, 0, previous_token=torch.zeros(3)),
        iw.InputError,
        r"previous_token must be a float tensor of shape \(2, 4\), got a \(3,\) torch\.float32 "
        r"tensor: pass head_scores\(model\)\.previous_token",
    ),
    (
        "repeated_tokens_loss-n_examples=0",
        lambda c: iw.repeated_tokens_loss(c.tiny, 0),
        iw.InputError,
        r"n_examples must be >= 1, got 0",
    ),
    (
        "repeated_tokens_loss-seed=None",
        lambda c: iw.repeated_tokens_loss(c.tiny, 2, seed=None),
        iw.InputError,
        r"seed must be an int, got NoneType None",
    ),
    (
        "set_memory_budget-str",
        lambda c: iw.set_memory_budget("lots"),
        iw.InputError,
        r"give the memory budget as a size such as \"1\.5GB\", \"800MB\", \"2GiB\" or a number of "
        r"bytes; got 'lots'",
    ),
    (
        "set_memory_budget-negative",
        lambda c: iw.set_memory_budget(-5),
        iw.InputError,
        r"\(at least 1 byte, finite\); got -5",
    ),
    (
        "translation_text-index",
        lambda c: iw.translation_text(99),
        iw.InputError,
        r"index must be an int in 0\.\.3, got 99",
    ),
    (
        "translation_text-str",
        lambda c: iw.translation_text("a"),
        iw.InputError,
        r"index must be an int in 0\.\.3, got 'a'",
    ),
]:
    row(_name, _call, _exc, _msg)

# Everything that reads a text, a (layer, head) or a model, through the shared cross products.
text_rows(
    ROWS,
    {
        "per_token_loss": lambda c, m, x, **k: iw.per_token_loss(m, x, **k),
        "head_means": lambda c, m, x, **k: iw.head_means(m, x, **k),
    },
    set(),
)
head_rows(
    ROWS,
    {
        "k_composition_scores": lambda c, l, h: iw.k_composition_scores(c.tiny, l, h),
        "previous_token_partners": lambda c, l, h: iw.previous_token_partners(c.tiny, l, h),
        "ablate": lambda c, l, h: _enter(iw.ablate(c.tiny, (l, h))),
    },
)
non_model_rows(
    ROWS,
    {
        "ablate": lambda c, m: _enter(iw.ablate(m, (0, 0))),
        "ablation_effect": lambda c, m: iw.ablation_effect(m, (0, 0)),
        "ablation_comparison": lambda c, m: iw.ablation_comparison(m, [(0, 0)]),
        "ablation_scores": lambda c, m: iw.ablation_scores(m),
        "copy_task_tokens": lambda c, m: iw.copy_task_tokens(m),
        "corpus_contexts": lambda c, m: iw.corpus_contexts(m),
        "head_means": lambda c, m: iw.head_means(m),
        "icl_score": lambda c, m: iw.icl_score(m),
        "k_composition_scores": lambda c, m: iw.k_composition_scores(m, 1, 0),
        "per_token_loss": lambda c, m: iw.per_token_loss(m, TEXT),
        "previous_token_partners": lambda c, m: iw.previous_token_partners(m, 1, 0),
        "repeated_tokens_loss": lambda c, m: iw.repeated_tokens_loss(m),
    },
)

# Score names.
UNKNOWN = (
    r"unknown score {}: choose one of prefix_matching, copying, copying_accuracy, copying_rank, "
    r"copying_source, previous_token, ov_copying"
)
for _name, _call, _msg in [
    ("HeadScores.get", lambda c: c.scores.get("prefix"), UNKNOWN.format("'prefix'")),
    ("HeadScores.top-by", lambda c: c.scores.top(3, by="Copying"), UNKNOWN.format("'Copying'")),
    ("HeadScores.top-k=0", lambda c: c.scores.top(0), r"k must be >= 1, got 0"),
]:
    row(_name, _call, iw.InputError, _msg)


# The long-range induction score's length; a head's rows, columns, cells and block maxima.
for _name, _call, _msg in [
    ("length=1", lambda c: iw.long_range_induction_scores(c.tiny, 1), r"length must be >= 2"),
    ("length=2.0", lambda c: iw.long_range_induction_scores(c.tiny, 2.0), r"length must be an int"),
    (
        "length-too-long",
        lambda c: iw.long_range_induction_scores(c.tiny, 500),
        r"length=500 is too long: .* use length <= 96",
    ),
    (
        "seed=None",
        lambda c: iw.long_range_induction_scores(c.tiny, 4, seed=None),
        r"seed must be an int",
    ),
]:
    row(f"long_range_induction_scores-{_name}", _call, iw.InputError, _msg)
_ACTS: dict[str, Any] = {}


def _acts(c: Any) -> Any:
    if "tiny" not in _ACTS:
        _ACTS["tiny"] = iw.TextActivations(c.tiny, TEXT, progress=False)
    return _ACTS["tiny"]


for _name, _call, _exc, _msg in [
    (
        "pattern_rows-out-of-range",
        lambda c: _acts(c).pattern_rows(0, 0, [0, 48]),
        iw.InputError,
        r"positions must lie in 0\.\.47 \(this text has 48 tokens\)",
    ),
    (
        "pattern_rows-int",
        lambda c: _acts(c).pattern_rows(0, 0, 3),
        iw.InputError,
        r"give a sequence of positions, e\.g\. \[3\]",
    ),
    (
        "pattern_cols-floats",
        lambda c: _acts(c).pattern_cols(0, 0, [0.5]),
        iw.InputError,
        r"positions must be a 1-D sequence of ints",
    ),
    (
        "attribution_rows-2d",
        lambda c: _acts(c).attribution_rows(0, 0, [[1, 2]]),
        iw.InputError,
        r"positions must be a 1-D sequence of ints, got shape \(1, 2\)",
    ),
    (
        "attribution_cols-start-float",
        lambda c: _acts(c).attribution_cols(0, 0, 1.0, 4),
        iw.InputError,
        r"give start and stop as ints",
    ),
    (
        "pattern_entries-lengths",
        lambda c: _acts(c).pattern_entries(0, 0, [3, 4], [1]),
        iw.InputError,
        r"dst and src must have the same length, got 2 and 1",
    ),
    (
        "pattern_block_max-zero",
        lambda c: _acts(c).pattern_block_max(0, 0, 0),
        iw.InputError,
        r"block must be a positive int",
    ),
    (
        "attribution_block_max-float",
        lambda c: _acts(c).attribution_block_max(0, 0, 8.0),
        iw.InputError,
        r"block must be a positive int",
    ),
    (
        "pattern_rows-head",
        lambda c: _acts(c).pattern_rows(0, 9, [1]),
        iw.HeadIndexError,
        r"head 9 is out of range",
    ),
]:
    row(f"TextActivations.{_name}", _call, _exc, _msg)


# Sweeps and named checkpoints (docs/sweeps.md).
for _name, _call, _msg in [
    ("models-empty", lambda c: iw.sweep([], out=c.tmp / "s1"), r"give at least one model"),
    (
        "models-loaded",
        lambda c: iw.sweep([c.tiny], out=c.tmp / "s1"),
        r"takes load_model specs .* because each task loads its checkpoint in its own worker",
    ),
    ("models-twice", lambda c: iw.sweep(["tiny", "tiny"], out=c.tmp / "s1"), r"listed twice"),
    (
        "checkpoints-str",
        lambda c: iw.sweep("tiny", "step600", out=c.tmp / "s1"),
        r"checkpoints=\.\.\.\) takes None .* 'all', a list of revisions",
    ),
    (
        "checkpoints-unknown-step",
        lambda c: iw.sweep("tiny", [601], out=c.tmp / "s1"),
        r"no checkpoint at that step; the nearest are",
    ),
    (
        "measures-unknown",
        lambda c: iw.sweep("tiny", out=c.tmp / "s1", measures=["loss"]),
        r"choose among 'head_scores', 'icl', 'icl_ablation'",
    ),
    (
        "executor-str",
        lambda c: iw.sweep("tiny", out=c.tmp / "s1", executor="dask"),
        r"takes a concurrent\.futures\.Executor",
    ),
    ("retries-negative", lambda c: iw.sweep("tiny", out=c.tmp / "s1", retries=-1), r"retries"),
    ("out-None", lambda c: iw.sweep("tiny", out=None), r"takes a folder path"),
    (
        "ablation_method-without-measure",
        lambda c: iw.sweep("tiny", out=c.tmp / "s1", ablation_method="attribution"),
        r"applies to the 'icl_ablation' measure: add it to measures",
    ),
    (
        "n_examples-0",
        lambda c: iw.sweep("tiny", out=c.tmp / "s1", n_examples=0),
        r"n_examples must be >= 1",
    ),
]:
    row(f"sweep-{_name}", _call, iw.InputError, _msg)
row(
    "Sweep.open-no-manifest",
    lambda c: iw.Sweep.open(c.tmp / "nowhere"),
    iw.InputError,
    r"no sweep\.json there",
)


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)


@pytest.mark.parametrize(
    ("ours", "builtins"),
    [
        (errors.InputError, (ValueError,)),
        (errors.HeadIndexError, (IndexError, ValueError)),
        (errors.NotAModelError, (TypeError,)),
        (errors.ModelWeightsError, (ValueError,)),
    ],
)
def test_error_types_subclass_ours_and_a_builtin(ours, builtins):
    assert issubclass(ours, errors.InductionWidgetsError)
    for builtin in builtins:
        assert issubclass(ours, builtin)
    with pytest.raises(builtins[0]):  # an ordinary `except ValueError:` etc. catches it
        raise ours("x")


# --- where a sensible answer exists, it is given ----------------------------------------------------


def test_whitespace_only_text_is_answered(ctx):
    tiny = ctx.tiny
    pattern = iw.attention_pattern(tiny, "   ", 1, 2)
    assert pattern.shape == (4, 4)  # BOS + three spaces
    assert torch.allclose(pattern.sum(-1), torch.ones(4), atol=1e-5)
    assert (pattern.triu(1) == 0).all()
    # prefix matching on [BOS, ' ', ' ', ' ']: d=2 targets s=2; d=3 targets s=2 and s=3
    scores = iw.prefix_matching_scores(tiny, "   ")
    for layer in range(2):
        for head in range(4):
            a = iw.attention_pattern(tiny, "   ", layer, head)
            expected = (a[2, 2] + a[3, 2] + a[3, 3]) / 2
            assert scores[layer, head].item() == pytest.approx(expected.item(), abs=1e-5)
    view = iw.TokenView(tiny, "   ", 1, 0)
    assert view.tokens == [view.tokens[0], " ", " ", " "] and view.bos and view.message == ""
    attr = iw.logit_attribution(tiny, " \n ", 1, 0)
    assert (
        attr.shape == (4, 4)
        and torch.isnan(attr[-1]).all()
        and torch.isfinite(attr[:-1].tril()).all()
    )


def test_truncate_true_keeps_n_ctx_tokens(ctx):
    tiny = ctx.tiny
    first = iw.compute.to_tokens(tiny, LONG, truncate=True)
    assert first.shape == (1, N_CTX)
    assert iw.attention_pattern(tiny, LONG, 0, 0, truncate=True).shape == (N_CTX, N_CTX)
    assert iw.logit_attribution(tiny, LONG, 1, 0, truncate=True).shape == (N_CTX, N_CTX)
    assert iw.TextActivations(tiny, LONG, truncate=True, layers=[0]).n_tokens == N_CTX
    assert len(iw.TokenView(tiny, LONG, 1, 0, truncate=True).tokens) == N_CTX
    assert len(iw.AttentionMatrix(tiny, LONG, 1, 0, truncate=True).tokens) == N_CTX
    ex = iw.InductionExplorer(tiny, LONG, scores=ctx.scores, truncate=True, matrix=False)
    assert len(ex.token_view.tokens) == N_CTX
    # the score functions (they had no truncate argument although their error named it)
    assert torch.equal(
        iw.prefix_matching_scores(tiny, LONG, truncate=True), iw.prefix_matching_scores(tiny, first)
    )
    assert torch.equal(
        iw.previous_token_scores(tiny, LONG, truncate=True), iw.previous_token_scores(tiny, first)
    )
    long_ids = torch.cat(  # 2 x 302 positions > n_ctx
        [iw.repeated_random_tokens(tiny, 2, 50, 3, seed=s) for s in (1, 2)], dim=1
    )
    truncated = iw.head_scores(tiny, tokens=long_ids, truncate=True, progress=False)
    assert truncated.meta["n_tokens"] == N_CTX
    assert torch.equal(
        truncated.prefix_matching,
        iw.head_scores(tiny, tokens=long_ids[:, :N_CTX], progress=False).prefix_matching,
    )


@pytest.mark.parametrize(
    "index",
    [np.int64(1), np.int32(1), np.uint8(1), torch.tensor(1), torch.tensor(1, dtype=torch.int32)],
    ids=["np.int64", "np.int32", "np.uint8", "torch-0d-int64", "torch-0d-int32"],
)
def test_integer_like_layer_and_head_are_accepted(ctx, index):
    expected = iw.attention_pattern(ctx.tiny, TEXT, 1, 1)
    assert torch.equal(iw.attention_pattern(ctx.tiny, TEXT, index, index), expected)
    view = iw.TokenView(ctx.tiny, TEXT, index, index, activations=ctx.view.activations)
    assert (view.layer, view.head) == (1, 1) and type(view.layer) is int
    hm = iw.HeadMap(ctx.scores, selected_head=(index, index))
    assert hm.selected_head == [1, 1]


def test_numpy_counts_are_accepted(ctx):
    a = iw.repeated_random_tokens(ctx.tiny, np.int64(2), np.int32(5), np.int64(2), seed=np.int64(3))
    assert torch.equal(a, iw.repeated_random_tokens(ctx.tiny, 2, 5, 2, seed=3))
    # any int seed works, negative included, and is deterministic
    assert torch.equal(
        iw.repeated_random_tokens(ctx.tiny, 2, 5, 2, seed=-4),
        iw.repeated_random_tokens(ctx.tiny, 2, 5, 2, seed=-4),
    )


# --- same seed, same scores, bit for bit, across interpreters ---------------------------------------

_DETERMINISM = r"""
import hashlib, json, os, sys, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(1)
import induction_widgets as iw
model = iw.load_model("tiny")
out = {}
for seed in map(int, sys.argv[1:]):
    scores = iw.head_scores(model, n_examples=4, seed=seed, progress=False)
    arrays = dict(scores.as_dict())
    arrays["pattern_matching"] = iw.pattern_matching_scores(model, n_problems=2, n_lines=10, seed=seed)
    out[seed] = {
        name: hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
        for name, t in sorted(arrays.items())
    }
print(json.dumps(out))
"""


def test_same_seed_same_scores_across_interpreters():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _DETERMINISM, *seeds],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seeds in (["7", "8"], ["7"])
    ]
    results = []
    for proc in runs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-2000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    first, second = results
    names = {
        "prefix_matching", "copying", "copying_accuracy", "copying_rank", "copying_source",
        "previous_token", "ov_copying", "pattern_matching",
    }  # fmt: skip
    assert set(first["7"]) == names
    assert first["7"] == second["7"]  # two fresh interpreters agree bit for bit
    for name in names - {"ov_copying"}:  # ov_copying reads only the weights: seed-free
        assert first["8"][name] != first["7"][name], name
    assert first["8"]["ov_copying"] == first["7"]["ov_copying"]


# --- W_U @ W_E is cached per model for ov_copying_scores -------------------------------------------


def test_ov_copying_reuses_the_gram_until_the_weights_change():
    from handmade import build

    model = build(sign=1.0)
    first = iw.ov_copying_scores(model)
    assert first.item() == pytest.approx(1.0, abs=1e-5)
    gram = _GRAM[model][1]
    assert unembed_embed_gram(model) is gram  # the second call reuses the product
    assert torch.equal(iw.ov_copying_scores(model), first)
    assert _GRAM[model][1] is gram
    with torch.no_grad():
        model.W_E.mul_(-1.0)  # in place: the OV circuit is now -I
    assert unembed_embed_gram(model) is not gram
    assert torch.equal(unembed_embed_gram(model), -gram)
    assert iw.ov_copying_scores(model).item() == pytest.approx(-1.0, abs=1e-5)
    with torch.no_grad():
        model.W_E[0, 0] = float("nan")  # a cached product never hides broken weights
    with pytest.raises(iw.ModelWeightsError, match="holds NaN or infinity"):
        iw.ov_copying_scores(model)


def test_ov_copying_cached_equals_uncached(tiny):
    cached = iw.ov_copying_scores(tiny)
    _GRAM.pop(tiny, None)
    fresh = iw.ov_copying_scores(tiny)
    assert torch.equal(cached, fresh)
    assert tiny in _GRAM
