"""Beyond Argument 4: ICL score, head ablation, previous-token partners, checkpoint scores.

Expectations are independent of the code under test: the training script's own batch generator,
TransformerLens's own per-token loss and composition scores, hand-built heads whose outputs are
known exactly, and plain loops over single ablations.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import handmade
import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute import icl as icl_mod

ROOT = Path(__file__).resolve().parents[2]

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3


def _train_script():
    spec = importlib.util.spec_from_file_location(
        "train_tiny_model", ROOT / "scripts/train_tiny_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _centred(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True)


# --- 1. ICL score ---------------------------------------------------------------------------


def test_copy_task_tokens_are_the_training_scripts_batches(tiny):
    script = _train_script()
    for n, seed in ((64, 0), (256, 3)):
        expected, _ = script.make_batch(16, n, torch.Generator().manual_seed(seed))
        assert torch.equal(iw.copy_task_tokens(tiny, 16, seed=seed, length=n), expected)


def test_per_token_loss_is_transformer_lens_loss(tiny):
    tokens = iw.copy_task_tokens(tiny, 4, n_tokens=80)
    ours = iw.per_token_loss(tiny, tokens, batch_size=3)
    with torch.no_grad():
        theirs = tiny(tokens, return_type="loss", loss_per_token=True)
    assert ours[:, 0].isnan().all()
    torch.testing.assert_close(ours[:, 1:], theirs.float(), atol=1e-5, rtol=1e-5)
    # losses_at reads the same numbers from the final normalised residual at two indices only
    pair = icl_mod.losses_at(tiny, tokens, [7, 79])
    torch.testing.assert_close(pair, ours[:, [7, 79]], atol=1e-5, rtol=1e-5)


def test_losses_at_without_a_final_norm_reads_the_full_logits():
    model = handmade.build()  # no normalisation at all
    tokens = torch.randint(
        0, handmade.V, (2, handmade.P), generator=torch.Generator().manual_seed(3)
    )
    with torch.no_grad():
        theirs = model(tokens, return_type="loss", loss_per_token=True)
    torch.testing.assert_close(
        icl_mod.losses_at(model, tokens, [3, 15]), theirs[:, [2, 14]].float()
    )


def test_icl_indices_follow_the_paper_or_say_why_not(tiny):
    assert icl_mod.icl_indices(512) == (50, 500, "")
    early, late, note = icl_mod.icl_indices(256)
    assert (early, late) == (26, 255) and "500 and 50 do not fit" in note
    score = iw.icl_score(tiny, iw.copy_task_tokens(tiny, 8), curve=False)
    assert (score.early, score.late) == (26, 255) and score.note and score.curve is None
    with pytest.raises(iw.InputError, match="early < late"):
        iw.icl_score(tiny, iw.copy_task_tokens(tiny, 2), early=100, late=50)


def test_icl_score_of_trained_tiny_model_is_clearly_negative(tiny):
    # Its training distribution (256-token sequences), cut to their first 201 tokens: index 200
    # is inside a copied span a third of the time, index 20 almost never, and the model copies.
    tokens = iw.copy_task_tokens(tiny, 256, n_tokens=201, seed=1)
    score = iw.icl_score(tiny, tokens)
    assert (score.early, score.late) == (20, 200)
    assert score.score < -0.4 and score.score + 4 * score.sem < 0
    # the curve is the mean of per-context losses at each index
    assert score.curve is not None and score.curve[0].isnan()
    assert score.curve[200] == pytest.approx(score.loss_late, abs=1e-5)
    # window=w: each context's loss averaged over index ± w (plain loop over the curve's rows)
    wide = iw.icl_score(tiny, tokens[:32], window=3)
    losses = iw.per_token_loss(tiny, tokens[:32])
    assert (wide.early, wide.late, wide.window) == (20, 197, 3)  # late + 3 must fit
    by_hand = [
        sum(losses[b, i] for i in range(194, 201)) / 7
        - sum(losses[b, i] for i in range(17, 24)) / 7
        for b in range(32)
    ]
    assert wide.score == pytest.approx(float(sum(by_hand) / 32), abs=1e-4)
    assert iw.icl_score(tiny, tokens[:32], window=3, curve=False).score == pytest.approx(
        wide.score, abs=1e-4
    )
    with pytest.raises(iw.InputError, match="window=60"):
        iw.icl_score(tiny, tokens[:4], window=60)
    assert iw.repeated_tokens_loss(tiny) < 0.5


# --- 2. Ablation ----------------------------------------------------------------------------


def test_zero_ablation_removes_a_hand_built_copying_head_exactly():
    model = handmade.build()
    tokens = torch.randint(
        0, handmade.V, (3, handmade.P), generator=torch.Generator().manual_seed(0)
    )
    direct = _centred(torch.nn.functional.one_hot(tokens, handmade.V).float())  # W_E W_U = I
    with torch.no_grad():
        clean = _centred(model(tokens))
        with iw.ablate(model, (0, 0), kind="zero") as heads:
            ablated = _centred(model(tokens))
            # a TransformerLens run_with_hooks (which resets TL's hooks) keeps the ablation on
            again = _centred(model.run_with_hooks(tokens, fwd_hooks=[]))
        after = _centred(model(tokens))
    assert heads == [(0, 0)]
    assert (clean - direct).abs().max() > 0.5  # the head copies the previous token
    torch.testing.assert_close(ablated, direct, atol=1e-6, rtol=0)
    torch.testing.assert_close(again, direct, atol=1e-6, rtol=0)
    torch.testing.assert_close(after, clean, atol=0, rtol=0)  # hooks gone on exit


def test_mean_ablation_writes_the_heads_mean_output():
    model = handmade.build()
    gen = torch.Generator().manual_seed(1)
    reference = torch.randint(0, handmade.V, (5, handmade.P), generator=gen)
    tokens = torch.randint(0, handmade.V, (2, handmade.P), generator=gen)
    with torch.no_grad():
        _, cache = model.run_with_cache(reference)
        mean_z = cache["blocks.0.attn.hook_z"].float().mean((0, 1))[0]  # [d_head]
        expected = torch.nn.functional.one_hot(tokens, handmade.V).float() + (
            mean_z @ model.W_O[0, 0] @ model.W_U
        )
        with iw.ablate(model, [(0, 0)], kind="mean", reference=reference):
            got = model(tokens)
    torch.testing.assert_close(iw.head_means(model, reference)[0, 0], mean_z, atol=1e-6, rtol=0)
    torch.testing.assert_close(_centred(got), _centred(expected), atol=1e-5, rtol=0)


def _tl_patched_logits(model, tokens, layer, head):
    """Zero-ablation through TransformerLens's own hook machinery (a TL hook returning new z)."""

    def zero(z, hook):
        z = z.clone()
        z[:, :, head] = 0
        return z

    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", zero)])


def test_zero_ablation_equals_transformer_lens_patching(tiny):
    tokens = iw.copy_task_tokens(tiny, 2, n_tokens=40)
    for layer, head in [(0, 3), (1, 2)]:
        with torch.no_grad(), iw.ablate(tiny, (layer, head), kind="zero"):
            ours = tiny(tokens)
        torch.testing.assert_close(
            ours, _tl_patched_logits(tiny, tokens, layer, head), atol=1e-5, rtol=0
        )


def test_ablate_removes_its_hooks_after_an_error(tiny):
    tokens = torch.tensor([[0, 40, 41, 42, 40, 41]])
    with torch.no_grad():
        clean = tiny(tokens)
    with pytest.raises(RuntimeError, match="boom"), iw.ablate(tiny, (1, 0), kind="zero"):
        raise RuntimeError("boom")
    with torch.no_grad():
        torch.testing.assert_close(tiny(tokens), clean, atol=0, rtol=0)


def test_ablation_bad_arguments(tiny):
    with (
        pytest.raises(iw.InputError, match="'mean' or 'zero'"),
        iw.ablate(tiny, (0, 0), kind="half"),
    ):
        pass
    with pytest.raises(iw.HeadIndexError, match="out of range"), iw.ablate(tiny, (5, 0)):
        pass
    with pytest.raises(iw.HeadIndexError, match="pair"), iw.ablate(tiny, "L1H0"):
        pass


def test_per_head_ablation_scores_match_single_ablations_and_induction_heads_matter(tiny):
    tokens = iw.copy_task_tokens(tiny, 16, n_tokens=56, seed=2, length=64)
    result = iw.ablation_scores(tiny, tokens, kind="zero", n_draws=3, window=2, progress=False)
    base = iw.icl_score(tiny, tokens, curve=False, window=2)
    assert result.base.score == pytest.approx(base.score, abs=1e-5)
    for layer, head in [(0, 3), (1, 1), (1, 2)]:
        with iw.ablate(tiny, (layer, head), kind="zero"):
            alone = iw.icl_score(tiny, tokens, curve=False, window=2).score
        assert float(result.icl_change[layer, head]) == pytest.approx(alone - base.score, abs=1e-4)
    comparison = result.comparison
    assert comparison.heads == iw.head_scores(tiny).induction_heads()
    assert len(comparison.heads) == 4
    # all four layer-1 induction heads off: the copying is gone
    assert comparison.icl_change > 1.0
    assert comparison.repeated_loss_change > 2.0
    assert len(comparison.draws) == 1  # only one other set of 4 heads exists: layer 0
    assert comparison.random_icl == (comparison.random_icl_changes[0], 0.0)


def test_ablation_scores_use_the_given_head_means(tiny):
    """``means=`` reaches the ablations: the comparison's Δ ICL equals a plain ``ablate`` with the
    same means, and other means (the default's) give another number."""
    tokens = iw.copy_task_tokens(tiny, 8, n_tokens=56, seed=2, length=64)
    means = iw.head_means(tiny, iw.copy_task_tokens(tiny, 4, seed=7))
    heads = [(1, 0), (1, 1)]
    result = iw.ablation_scores(
        tiny, tokens, per_head=False, induction_heads=heads, n_draws=1, means=means
    )
    base = iw.icl_score(tiny, tokens, curve=False).score
    with iw.ablate(tiny, heads, kind="mean", means=means):
        by_hand = iw.icl_score(tiny, tokens, curve=False).score - base
    assert result.comparison.icl_change == pytest.approx(by_hand, abs=1e-5)
    default = iw.ablation_scores(tiny, tokens, per_head=False, induction_heads=heads, n_draws=1)
    assert abs(default.comparison.icl_change - result.comparison.icl_change) > 1e-4


# --- 3. Previous-token partner ------------------------------------------------------------------


def test_k_composition_is_transformer_lens_and_ranks_the_previous_token_head_first(tiny):
    scores = iw.head_scores(tiny)
    theirs = tiny.all_composition_scores("K")
    theirs = getattr(theirs, "scores", theirs).detach()  # [l1, h1, l2, h2]
    induction = scores.induction_heads()
    assert sorted(induction) == [(1, 0), (1, 1), (1, 2), (1, 3)]
    for layer, head in induction:
        partners = iw.previous_token_partners(
            tiny, layer, head, previous_token=scores.previous_token
        )
        torch.testing.assert_close(
            partners.k_composition[0], theirs[0, :, layer, head].float(), atol=1e-5, rtol=1e-4
        )
        assert partners.k_composition[1].isnan().all()  # no earlier head in its own layer
        best = partners.ranked[0]
        assert (best.layer, best.head) == (0, 3)
        assert best.previous_token > 0.9  # and it is a previous-token head by attention
    measured = iw.previous_token_partners(tiny, 1, 0)  # attention check measured afresh
    torch.testing.assert_close(measured.previous_token, scores.previous_token, atol=1e-5, rtol=0)
    assert iw.k_composition_scores(tiny, 0, 2).isnan().all()


# --- 4. Phase change ----------------------------------------------------------------------------


def test_shipped_checkpoints_and_their_loader():
    from safetensors.torch import load_file

    from induction_widgets.compute.checkpoints import (
        TINY_CHECKPOINTS,
        load_tiny_checkpoints,
        tiny_model_from_weights,
    )
    from induction_widgets.models import TINY_DIR

    assert TINY_CHECKPOINTS.stat().st_size < 3_000_000  # 23 float16 checkpoints in one file
    checkpoints = load_tiny_checkpoints()
    steps = [s for s, _ in checkpoints]
    assert steps[0] == 0 and steps[-1] == 1900 and len(steps) == 23 and steps == sorted(steps)
    # the loader builds exactly what load_model("tiny") builds from the shipped weights
    shipped = tiny_model_from_weights(load_file(str(TINY_DIR / "model.safetensors")))
    reference = iw.load_model("tiny")
    tokens = torch.tensor([[0, *range(5, 70)]])
    with torch.no_grad():
        torch.testing.assert_close(shipped(tokens), reference(tokens), atol=1e-5, rtol=0)
    # ICL on the training distribution (first 201 tokens of 256): ~0 at init, clearly < 0 at the end
    first, last = (tiny_model_from_weights(checkpoints[i][1]) for i in (0, -1))
    tokens = iw.copy_task_tokens(reference, 256, n_tokens=201, seed=1)
    init = iw.icl_score(first, tokens, curve=False)
    trained = iw.icl_score(last, tokens, curve=False)
    assert abs(init.score) < 0.2 and abs(init.score) < 3 * init.sem
    assert trained.score < -1.0 and trained.score + 4 * trained.sem < 0


def test_checkpoint_scores_show_the_phase_change():
    result = iw.checkpoint_scores("tiny", steps=range(0, 801, 100), progress=False)
    assert result.steps == list(range(0, 801, 100))
    assert result.prefix_matching.shape == (9, 2, 4) and result.icl.shape == (9,)
    prefix = result.top("prefix_matching")
    assert prefix[0] < 0.1 and prefix[-1] > 0.8  # no induction head at init, four at the end
    before, after = result.jump()
    assert before > 0 and after < 800  # the jump happens inside the saved range
    i = result.steps.index(before)
    # the ICL score has barely moved before the jump and is far below zero soon after it
    assert result.icl[: i + 1].min() > -0.5
    assert result.icl[i + 2 :].max() < -1.0
    # the previous-token head forms alongside (layer 0), the induction heads in layer 1
    assert result.previous_token[-1, 0].max() > 0.75
    assert result.prefix_matching[-1, 1].min() > 0.7


@pytest.mark.smollm2
def test_icl_score_on_smollm2_uses_the_papers_indices(smollm2):
    tokens = iw.corpus_contexts(smollm2, 2)
    assert tokens.shape == (2, 512) and int(tokens[0, 0]) == smollm2.tokenizer.bos_token_id
    score = iw.icl_score(smollm2, tokens, curve=False)
    assert (score.early, score.late, score.note) == (50, 500, "")
    with torch.no_grad():
        theirs = smollm2(tokens[:1], return_type="loss", loss_per_token=True)[0]
    pair = icl_mod.losses_at(smollm2, tokens[:1], [50, 500])[0]
    torch.testing.assert_close(pair, theirs[[49, 499]].float(), atol=2e-3, rtol=1e-3)
    # ablation under grouped-query attention (9 query heads, 3 key/value heads) on a short input
    short = tokens[:1, :48]
    with torch.no_grad():
        clean = smollm2(short)
        with iw.ablate(smollm2, (23, 2), kind="zero"):
            ours = smollm2(short)
    torch.testing.assert_close(ours, _tl_patched_logits(smollm2, short, 23, 2), atol=2e-3, rtol=0)
    assert (ours - clean).abs().max() > 1e-3
