"""Head scores against hand-computed cases and the real models (TL4 and TL3.9 alike)."""

from __future__ import annotations

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute.scores import (
    copying_ratio,
    induction_targets,
    previous_token_targets,
    target_attention,
)

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

# --- hand-computed reductions ------------------------------------------------------------------


def test_induction_targets_by_hand():
    #            0  1  2  3  4  5  6
    tokens = torch.tensor([[0, 5, 6, 5, 6, 7, 5]])
    targets, valid = induction_targets(tokens)
    assert valid[0].tolist() == [False, False, False, True, True, False, True]
    # token 5 at d=3 occurred at j=1 -> target s=2; token 6 at d=4 occurred at j=2 -> s=3
    assert torch.nonzero(targets[0, 3]).flatten().tolist() == [2]
    assert torch.nonzero(targets[0, 4]).flatten().tolist() == [3]
    # token 5 at d=6 occurred at j=1 and j=3 -> targets s=2 and s=4
    assert torch.nonzero(targets[0, 6]).flatten().tolist() == [2, 4]


def test_target_attention_exact_and_partial():
    tokens = torch.tensor([[0, 5, 6, 5, 6]])
    targets, valid = induction_targets(tokens)
    pos = tokens.shape[1]
    pattern = torch.zeros(1, 2, pos, pos)
    pattern[0, :, 0, 0] = 1
    for d in range(1, pos):
        pattern[0, 1, d, d - 1] = 1  # head 1: previous token
    pattern[0, 0, 1, 0] = pattern[0, 0, 2, 0] = 1
    pattern[0, 0, 3, 2] = 1  # head 0: exactly the induction targets ...
    pattern[0, 0, 4, 3] = 0.25  # ... and a quarter of it at d=4
    pattern[0, 0, 4, 0] = 0.75
    score = target_attention(pattern, targets, valid)
    assert score[0].item() == pytest.approx((1 + 0.25) / 2)
    # previous-token head: at d=3 the target is s=2 = d-1 (hit), at d=4 target s=3 = d-1 (hit)
    assert score[1].item() == pytest.approx(1.0)
    prev_t, prev_v = previous_token_targets(tokens)
    prev = target_attention(pattern, prev_t, prev_v)
    assert prev[1].item() == pytest.approx(1.0)
    # head 0 at d=1 attends s=0 = d-1 (hit), d=2 misses, d=3 hits, d=4 puts 0.25 on s=3
    assert prev[0].item() == pytest.approx((1 + 0 + 1 + 0.25) / 4)


def test_copying_ratio_copy_suppress_and_flat():
    attended = torch.tensor([2, 2, 0])
    logits = torch.tensor(
        [
            [0.0, 0.0, 5.0, 0.0],  # raises only the attended token: +1
            [1.0, 1.0, -3.0, 1.0],  # suppresses the attended token: -1
            [2.0, 2.0, 2.0, 2.0],  # flat: undefined
        ]
    )
    out = copying_ratio(logits, attended)
    assert out[0].item() == pytest.approx(1.0)
    assert out[1].item() == pytest.approx(-1.0)
    assert torch.isnan(out[2])
    # half of the raise on the attended token: r = 3 / (3 + 6) -> 4/3 - 1
    half = copying_ratio(torch.tensor([[0.0, 3.0, 3.0, 0.0]]), torch.tensor([1]))
    assert half.item() == pytest.approx(1 / 3)
    # scale invariance: the final norm scale does not change the score
    scaled = copying_ratio(logits[:2] / 7.3, attended[:2])
    assert torch.allclose(scaled, out[:2])


# --- the bundled tiny model -------------------------------------------------------------------


def test_tiny_has_induction_and_previous_token_heads(tiny):
    scores = iw.head_scores(tiny, n_examples=10, seq_len=25, repeats=4, seed=0)
    assert scores.prefix_matching.shape == (2, 4)
    assert (scores.prefix_matching[1] > 0.8).all(), scores.prefix_matching
    assert scores.previous_token[0].max() > 0.9, scores.previous_token
    best = int(scores.prefix_matching[1].argmax())
    # Literal copying is harsh in a 64-dimensional model (docs/scores.md): the induction heads sit far
    # above the random-OV baseline (about -0.85 for 25 sample tokens), and far above the layer-0 heads.
    assert (scores.copying[1] > -0.3).all(), scores.copying
    assert scores.copying[1].min() > scores.copying[0].max() + 0.2, scores.copying
    assert scores.ov_copying[1, best] > 0.5, scores.ov_copying
    assert (1, best) in scores.induction_heads()
    for name, value in scores.as_dict().items():
        assert value.dtype == torch.float32, name
        assert value.min() >= -1 - 1e-6 and value.max() <= 1 + 1e-6


def test_one_pass_scores_equal_standalone_scores(tiny):
    tokens = iw.repeated_random_tokens(tiny, 4, 20, 3, seed=5)
    scores = iw.head_scores(tiny, tokens=tokens)
    assert torch.allclose(
        scores.prefix_matching, iw.prefix_matching_scores(tiny, tokens), atol=1e-6
    )
    assert torch.allclose(scores.previous_token, iw.previous_token_scores(tiny, tokens), atol=1e-6)


def test_prefix_matching_matches_run_with_cache(tiny):
    tokens = iw.repeated_random_tokens(tiny, 3, 15, 3, seed=2)
    _, cache = tiny.run_with_cache(tokens)
    targets, valid = induction_targets(tokens)
    for layer in range(2):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]  # [batch, head, dst, src]
        expected = torch.stack(
            [
                torch.stack(
                    [
                        pattern[b, h, d][targets[b, d]].sum()
                        for b in range(3)
                        for d in range(tokens.shape[1])
                        if valid[b, d]
                    ]
                ).mean()
                for h in range(4)
            ]
        )
        assert torch.allclose(iw.prefix_matching_scores(tiny, tokens)[layer], expected, atol=1e-5)


def test_ov_copying_matches_factored_matrix(tiny):
    from transformer_lens import FactoredMatrix

    ours = iw.ov_copying_scores(tiny)
    for layer in range(2):
        for head in range(4):
            full = FactoredMatrix(
                tiny.W_E @ tiny.W_V[layer, head], tiny.W_O[layer, head] @ tiny.W_U
            )
            eig = full.eigenvalues
            expected = (eig.sum().real / eig.abs().sum()).item()
            assert ours[layer, head].item() == pytest.approx(expected, abs=1e-4)


def test_same_seed_same_scores_bit_for_bit(tiny):
    a = iw.head_scores(tiny, n_examples=3, seed=7)
    b = iw.head_scores(tiny, n_examples=3, seed=7)
    c = iw.head_scores(tiny, n_examples=3, seed=8)
    for name in ("prefix_matching", "copying", "previous_token"):
        assert torch.equal(a.get(name), b.get(name)), name
        assert not torch.equal(a.get(name), c.get(name)), name
    assert torch.equal(
        iw.repeated_random_tokens(tiny, seed=3), iw.repeated_random_tokens(tiny, seed=3)
    )


def test_repeated_random_tokens_shape_and_structure(tiny):
    tokens = iw.repeated_random_tokens(tiny, n_examples=10, seq_len=25, repeats=4, seed=0)
    assert tokens.shape == (10, 101)
    bos = tiny.tokenizer.bos_token_id
    assert (tokens[:, 0] == bos).all()
    body = tokens[:, 1:].reshape(10, 4, 25)
    assert (body == body[:, :1]).all()
    assert all(len(set(row.tolist())) == 25 for row in body[:, 0])
    assert not (body == bos).any()


def test_head_scores_table(tiny):
    scores = iw.head_scores(tiny, n_examples=3)
    frame = scores.to_pandas()
    assert len(frame) == 8
    assert list(frame.columns[:3]) == ["layer", "head", "layer depth"]
    assert frame.loc[(frame["layer"] == 1) & (frame["head"] == 0), "layer depth"].item() == "2 / 2"
    top = scores.top(3, by="prefix_matching")
    assert [r.prefix_matching for r in top] == sorted(
        (r.prefix_matching for r in top), reverse=True
    )
    assert top[0].prefix_matching == pytest.approx(scores.prefix_matching.max().item())
    with pytest.raises(iw.InputError, match="unknown score 'nope'"):
        scores.top(3, by="nope")


# --- pattern matching --------------------------------------------------------------------------


def test_pattern_matching_text_follows_the_templates():
    text, labels = iw.pattern_matching_text(n_lines=40, seed=3)
    lines = text.split("\n")
    assert len(lines) == len(labels) == 40
    from induction_widgets.compute.tasks import ANIMALS, COLORS, FRUITS, MONTHS

    for line, label in zip(lines, labels, strict=True):
        words, value = line.split(": ")
        first, second = words.split(" ")
        assert int(value) == label
        assert (first in COLORS) == (label >= 2) and (first in MONTHS) == (label < 2)
        assert (second in FRUITS) == (label % 2 == 1) and (second in ANIMALS) == (label % 2 == 0)
    assert iw.pattern_matching_text(40, 3) == (text, labels)
    assert iw.pattern_matching_text(40, 4) != (text, labels)


def test_pattern_matching_problem_targets(tiny):
    problem = iw.pattern_matching_problem(tiny, n_lines=12, seed=1)
    lines = iw.pattern_matching_text(12, 1)[0].split("\n")
    labels = [int(line[-1]) for line in lines]
    chars = iw.compute.str_tokens(tiny, problem.tokens)
    for i, (dst, lab) in enumerate(zip(problem.destinations, problem.label_positions, strict=True)):
        assert chars[lab] == str(labels[i])
        assert dst == lab - 1
        expected = {problem.label_positions[j] for j in range(i) if labels[j] == labels[i]}
        assert set(torch.nonzero(problem.targets[dst]).flatten().tolist()) == expected
        assert bool(problem.valid[dst]) == bool(expected)


def test_pattern_matching_score_range(tiny):
    score = iw.pattern_matching_scores(tiny, n_problems=3, n_lines=10, seed=0)
    assert score.shape == (2, 4)
    assert (score >= 0).all() and (score <= 1).all()


# --- bad input: one clear error ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_examples": 0}, "n_examples must be >= 1"),
        ({"seq_len": 1}, "seq_len must be >= 2"),
        ({"repeats": 1}, "repeats must be >= 2"),
        ({"n_examples": 2.5}, "n_examples must be an int"),
        ({"seq_len": 200, "repeats": 4}, "exceeds the model's context n_ctx=256"),
    ],
)
def test_bad_protocol_arguments(tiny, kwargs, message):
    with pytest.raises(iw.InputError, match=message):
        iw.head_scores(tiny, **kwargs)


def test_not_a_model():
    with pytest.raises(iw.NotAModelError, match="expected a TransformerLens model"):
        iw.head_scores(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError):
        iw.prefix_matching_scores("gpt2", [1, 2, 1, 2])


def test_no_repeats_is_a_clear_error(tiny):
    with pytest.raises(iw.InputError, match="no token occurs twice"):
        iw.prefix_matching_scores(tiny, "abcdefg")


# --- SmolLM2: a real pretrained model -----------------------------------------------------------


@pytest.mark.smollm2
def test_smollm2_has_induction_heads(smollm2_scores):
    scores = smollm2_scores
    assert scores.prefix_matching.shape == (30, 9)
    best = scores.top(5, by="prefix_matching")
    # Loose bounds: strong prefix matching in the middle-to-late layers, as in the paper's models.
    assert best[0].prefix_matching > 0.6
    assert all(5 <= r.layer < 30 for r in best)
    # Most heads are not induction heads.
    assert (scores.prefix_matching < 0.1).float().mean() > 0.7
    assert scores.previous_token.max() > 0.4
    assert len(scores.induction_heads()) >= 1


# --- hand-built models with known answers ------------------------------------------------------


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_handmade_copying_and_anticopying_head(sign):
    """A sharp previous-token head whose OV circuit is +I (copies) or -I (suppresses)."""
    from handmade import build

    model = build(sign)
    scores = iw.head_scores(model, n_examples=4, seq_len=5, repeats=2, seed=0)
    assert scores.previous_token.item() == pytest.approx(1.0, abs=1e-4)
    assert scores.copying.item() == pytest.approx(sign, abs=1e-4)
    assert scores.ov_copying.item() == pytest.approx(sign, abs=1e-4)
    # It attends to the previous token, never to an induction target (5 distinct tokens, repeated).
    assert scores.prefix_matching.item() == pytest.approx(0.0, abs=1e-4)
    assert scores.verdict(0, 0) == "previous token"


@pytest.mark.parametrize("poison", [float("nan"), float("inf")])
def test_broken_weights_raise_one_clear_error(poison):
    from handmade import build

    model = build(1.0, poison=poison)
    with pytest.raises(iw.ModelWeightsError, match="holds NaN or infinity"):
        iw.head_scores(model, n_examples=2, seq_len=5, repeats=2)
    with pytest.raises(iw.ModelWeightsError, match="holds NaN or infinity"):
        iw.attention_pattern(model, [0, 1, 2, 3, 4, 5], 0, 0)
    with pytest.raises(iw.ModelWeightsError, match="holds NaN or infinity"):
        iw.TextActivations(model, [0, 1, 2, 3, 4, 5])


# --- pattern matching without a repeated template ------------------------------------------------


def test_pattern_matching_skips_problems_without_a_repeated_template(tiny):
    """With 2 lines most problems repeat no template: they contribute nothing (no 0/0), and the
    score is the plain mean over the lines of the others (a loop over TL's own patterns)."""
    seed, n = 0, 12
    problems = [iw.pattern_matching_problem(tiny, 2, seed * 1_000_003 + i) for i in range(n)]
    with_repeat = [p for p in problems if p.valid.any()]
    assert 0 < len(with_repeat) < n
    total = torch.zeros(2, 4)
    count = 0
    for p in with_repeat:
        _, cache = tiny.run_with_cache(p.tokens[None])
        for d in torch.nonzero(p.valid).flatten().tolist():
            for l in range(2):
                pattern = cache[f"blocks.{l}.attn.hook_pattern"][0]  # [head, dst, src]
                total[l] += pattern[:, d, p.targets[d]].sum(-1)
            count += 1
    score = iw.pattern_matching_scores(tiny, n_problems=n, n_lines=2, seed=seed, batch_size=3)
    assert torch.isfinite(score).all()
    torch.testing.assert_close(score, total / count, atol=1e-5, rtol=1e-4)


def test_pattern_matching_without_any_repeat_is_an_input_error(tiny):
    seed = next(
        s
        for s in range(100)
        if not any(
            iw.pattern_matching_problem(tiny, 2, s * 1_000_003 + i).valid.any() for i in range(2)
        )
    )
    with pytest.raises(iw.InputError, match="repeats a template, so pattern matching is undefined"):
        iw.pattern_matching_scores(tiny, n_problems=2, n_lines=2, seed=seed)
