"""Heads chosen by what they do on a text, and the verdict scatter's data, against plain loops over
TL's own patterns and logit attribution."""

from __future__ import annotations

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute.choose import (
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    translation_targets,
)
from induction_widgets.views import scatter_data as verdict_scatter

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

TEXT = "the cat sat on the mat; a dog ran. the cat sat on the mat; a dog ran."


def _patterns(model, tokens):
    _, cache = model.run_with_cache(tokens[None])
    return {
        (l, h): cache[f"blocks.{l}.attn.hook_pattern"][0, h].float()
        for l in range(model.cfg.n_layers)
        for h in range(model.cfg.n_heads)
    }


def test_copying_choice_equals_a_plain_loop(tiny):
    acts = iw.TextActivations(tiny, TEXT, progress=False)
    toks = acts.tokens.tolist()
    dsts = {}
    for d in range(1, len(toks) - 1):
        t = [j + 1 for j in range(d) if toks[j] == toks[d] and toks[j + 1] == toks[d + 1]]
        if t:
            dsts[d] = t
    patterns = _patterns(tiny, acts.tokens)
    expected = {}
    for hd, pattern in patterns.items():
        attr = iw.logit_attribution(tiny, TEXT, *hd)
        a = sum(float(pattern[d, t].sum()) for d, t in dsts.items()) / len(dsts)
        g = sum(float(attr[d, t].sum()) for d, t in dsts.items()) / len(dsts)
        expected[hd] = a * g
    choice = choose_copying_head(acts)
    best = max(expected, key=expected.get)
    assert choice.head == best and best[0] == 1  # an induction head of the tiny model
    assert choice.value == pytest.approx(expected[best], rel=1e-4, abs=1e-6)
    ranking = sorted(expected.values(), reverse=True)
    assert [v for _, v in choice.ranking()] == pytest.approx(ranking[:4], rel=1e-4, abs=1e-6)
    assert choice.reason.startswith(f"L{best[0]}H{best[1]}: ") and "of the 8 heads" in choice.reason
    assert "\n" not in choice.reason
    with pytest.raises(iw.InputError, match="no token of this text repeats"):
        choose_copying_head(iw.TextActivations(tiny, "abcdefg", progress=False))


def test_translation_choice_uses_the_alignment(tiny):
    text = iw.translation_text(1)
    acts = iw.TextActivations(tiny, text, progress=False)
    tokens, targets, _ = translation_targets(tiny, 1)
    assert tokens.tolist() == acts.tokens.tolist() and targets
    patterns = _patterns(tiny, acts.tokens)
    expected = {
        hd: sum(float(p[d, s].sum()) for d, s in targets.items()) / len(targets)
        for hd, p in patterns.items()
    }
    choice = choose_translation_head(acts)
    assert choice.measure == "aligned-word attention"
    assert choice.head == max(expected, key=expected.get)
    assert choice.value == pytest.approx(max(expected.values()), abs=1e-5)
    other = choose_translation_head(
        iw.TextActivations(tiny, "one two\nun deux\neins zwei", progress=False)
    )
    assert other.measure.startswith("attention to earlier lines")
    assert "no word alignment" in other.reason


def test_pattern_matching_choice_equals_a_plain_loop(tiny):
    problem = iw.pattern_matching_problem(tiny, 10, seed=2)
    text = iw.pattern_matching_text(10, 2)[0]
    acts = iw.TextActivations(tiny, text, progress=False)
    patterns = _patterns(tiny, acts.tokens)
    dsts = torch.nonzero(problem.valid).flatten().tolist()
    expected = {
        hd: sum(float(p[d][problem.targets[d]].sum()) for d in dsts) / len(dsts)
        for hd, p in patterns.items()
    }
    choice = choose_pattern_matching_head(acts, problem.targets, problem.valid)
    assert choice.head == max(expected, key=expected.get)
    assert choice.value == pytest.approx(max(expected.values()), abs=1e-5)
    with pytest.raises(iw.InputError, match="targets must be"):
        choose_pattern_matching_head(acts, problem.targets[:-1, :-1], problem.valid[:-1])


def test_verdict_scatter(tiny):
    scores = iw.head_scores(tiny, n_examples=4, progress=False)
    data = verdict_scatter(scores)
    assert data["y_name"] == "copying_rank" and data["y_threshold"] == 0.65
    assert torch.equal(data["x"], scores.prefix_matching.flatten())
    assert torch.equal(data["y"], scores.copying_rank.flatten())
    assert data["labels"][5] == "L1H1" and float(data["depth"][5]) == 1.0
    quadrant = {
        (int(l), int(h))
        for x, y, l, h in zip(data["x"], data["y"], data["layer"], data["head"], strict=True)
        if x >= data["x_threshold"] and y >= data["y_threshold"]
    }
    assert quadrant == set(scores.induction_heads()) == {(1, h) for h in range(4)}
    assert [v == "induction head" for v in data["verdicts"]] == [
        (l, h) in quadrant for l in range(2) for h in range(4)
    ]
    old = verdict_scatter(scores, measure="copying", copying_threshold=-0.4)
    assert old["y_threshold"] == -0.4 and old["y_range"] == (-1.0, 1.0)
    with pytest.raises(iw.InputError, match="unknown verdict measure"):
        verdict_scatter(scores, measure="nope")
