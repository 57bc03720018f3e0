"""The copying measures, the verdict built on them, and per-example spread, against plain loops
over TransformerLens's own cached activations and against heads whose answer is known."""

from __future__ import annotations

import copy
import statistics

import pytest
import torch

import induction_widgets as iw
from induction_widgets.compute.scores import COPYING_RANK_THRESHOLD, induction_targets

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3


def _ratio(x: torch.Tensor, i: int) -> float | None:
    """The paper's ratio ``4 r − 1`` for one row of logits, written out."""
    raise_ = [max(0.0, float(v) - float(x.mean())) for v in x]
    total = sum(raise_)
    if total == 0:
        return None
    return 4 * raise_[i] / (raise_[i] + total) - 1


def _loop_reference(model, tokens):
    """Per example, per ``(layer, head)``: lists of the per-destination copying values, written as
    plain loops over ``run_with_cache``'s ``hook_z``, ``hook_v`` and ``hook_pattern``."""
    _, cache = model.run_with_cache(tokens)
    _, valid = induction_targets(tokens)
    cfg = model.cfg
    bos = model.tokenizer.bos_token_id
    out = {}
    for b in range(tokens.shape[0]):
        sample = sorted(set(tokens[b].tolist()) - {bos})
        w_u = model.W_U.detach().float()[:, sample]
        for l in range(cfg.n_layers):
            pattern = cache[f"blocks.{l}.attn.hook_pattern"][b].float()
            z = cache[f"blocks.{l}.attn.hook_z"][b].float()
            v = cache[f"blocks.{l}.attn.hook_v"][b].float()
            for h in range(cfg.n_heads):
                w_o = model.W_O[l, h].detach().float()
                acc, rank, src, paper, prefix = [], [], [], [], []
                for d in range(1, tokens.shape[1]):
                    s = int(pattern[h, d].argmax())
                    if s == 0:
                        continue
                    a = sample.index(int(tokens[b, s]))
                    logits = z[d, h] @ w_o @ w_u
                    if valid[b, d]:
                        acc.append(float(int(logits.argmax()) == a))
                        others = [float(x) for i, x in enumerate(logits) if i != a]
                        rank.append(sum(x < float(logits[a]) for x in others) / len(others))
                    for values, x in ((paper, logits), (src, v[s, h] @ w_o @ w_u)):
                        r = _ratio(x, a)
                        if r is not None:
                            values.append(r)
                for d in range(tokens.shape[1]):
                    if valid[b, d]:
                        t = tokens[b, d]
                        prefix.append(
                            sum(float(pattern[h, d, j + 1]) for j in range(d) if tokens[b, j] == t)
                        )
                out[b, l, h] = {
                    "copying_accuracy": acc,
                    "copying_rank": rank,
                    "copying_source": src,
                    "copying": paper,
                    "prefix_matching": prefix,
                }
    return out


def test_copying_measures_and_spread_equal_plain_loops(tiny):
    tokens = iw.repeated_random_tokens(tiny, 3, 12, 3, seed=4)
    scores = iw.head_scores(tiny, tokens=tokens)
    ref = _loop_reference(tiny, tokens)
    for name in (
        "copying_accuracy",
        "copying_rank",
        "copying_source",
        "copying",
        "prefix_matching",
    ):
        per_example = scores.per_example[name]
        assert per_example.shape == (3, 2, 4)
        for l in range(2):
            for h in range(4):
                lists = [ref[b, l, h][name] for b in range(3)]
                pooled = sum(sum(x) for x in lists) / sum(len(x) for x in lists)
                assert scores.get(name)[l, h].item() == pytest.approx(pooled, abs=1e-4), name
                means = [sum(x) / len(x) for x in lists]
                for b in range(3):
                    assert per_example[b, l, h].item() == pytest.approx(means[b], abs=1e-4)
                assert scores.mean(name)[l, h].item() == pytest.approx(
                    statistics.fmean(means), abs=1e-4
                )
                assert scores.std(name)[l, h].item() == pytest.approx(
                    statistics.stdev(means), abs=1e-4
                )
    frame = scores.to_pandas()
    for name in ("prefix_matching", "copying", "copying_accuracy", "copying_source"):
        assert torch.allclose(
            torch.tensor(frame[f"{name}_std"].to_numpy()), scores.std(name).flatten(), atol=1e-6
        )
    with pytest.raises(iw.InputError, match="no per-example values for 'ov_copying'"):
        scores.std("ov_copying")


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_handmade_copy_and_anticopy_on_every_measure(sign):
    from handmade import build

    scores = iw.head_scores(build(sign), n_examples=4, seq_len=5, repeats=2, seed=0)
    assert scores.copying_accuracy.item() == pytest.approx((1 + sign) / 2)
    assert scores.copying_rank.item() == pytest.approx((1 + sign) / 2)
    assert scores.copying_source.item() == pytest.approx(sign, abs=1e-4)
    assert scores.copying.item() == pytest.approx(sign, abs=1e-4)
    assert torch.all(scores.std("copying_accuracy") == 0)


def _random_ov(model, seed):
    """The tiny model with its layer-1 ``W_O`` replaced by Gaussian noise: the attention (and the
    prefix matching) of the induction heads is untouched, their OV circuit is random."""
    out = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if hasattr(out, "original_model"):
            t = out.original_model.state_dict(keep_vars=True)[
                "layers.1.attn.o._original_component.weight"
            ]
        else:
            t = out.blocks[1].attn.W_O
        t.copy_(torch.randn(t.shape, generator=gen) * t.std())
    return out


def test_verdict_tiny_induction_heads_and_random_ov(tiny):
    scores = iw.head_scores(tiny, progress=False)
    assert sorted(scores.induction_heads()) == [(1, h) for h in range(4)]
    assert (scores.copying_accuracy[1] > 0.9).all(), scores.copying_accuracy
    assert (scores.copying_rank[1] > 0.99).all(), scores.copying_rank
    random = iw.head_scores(_random_ov(tiny, 0), progress=False)
    # same attention, so the same prefix matching; a random OV circuit ranks the attended token
    # first about 1 time in 25
    assert torch.allclose(random.prefix_matching, scores.prefix_matching, atol=1e-6)
    assert (random.copying_accuracy[1] < 0.15).all(), random.copying_accuracy
    # ... and above about half of the other sample tokens: chance
    assert ((random.copying_rank[1] - 0.5).abs() < 0.12).all(), random.copying_rank
    assert random.induction_heads() == []
    assert [random.verdict(1, h) for h in range(4)] == ["prefix matching, not copying"] * 4
    # the earlier paper-literal verdict stays reachable
    old = scores.induction_heads(measure="copying", copying_threshold=-0.4)
    assert sorted(old) == [(1, h) for h in range(4)]
    assert random.induction_heads(measure="copying", copying_threshold=-0.4) == []
    with pytest.raises(iw.InputError, match="unknown verdict measure 'nope'"):
        scores.verdict(1, 0, measure="nope")


def test_verdicts_of_the_grid_equal_each_heads_verdict(tiny):
    """``verdicts()`` decides on whole grids; each head's :meth:`verdict` one at a time in Python
    floats: equal on random grids with NaN and float32 values at the thresholds themselves."""
    import dataclasses

    scores = iw.head_scores(tiny, progress=False)
    g = torch.Generator().manual_seed(0)
    names = ("prefix_matching", "previous_token", "copying", "copying_rank")
    for _ in range(50):
        grids = {}
        for name in names:
            r = torch.rand(scores.prefix_matching.shape, generator=g)
            for value, share in ((float("nan"), 0.1), (0.65, 0.2), (0.3, 0.2), (0.5, 0.1)):
                r[torch.rand(r.shape, generator=g) < share] = value
            grids[name] = r
        t = dataclasses.replace(scores, **grids)
        for kw in (
            {},
            {"measure": "copying", "copying_threshold": -0.4},
            {"prefix_threshold": 0.5},
        ):
            each = [t.verdict(l, h, **kw) for l in range(t.n_layers) for h in range(t.n_heads)]
            assert t.verdicts(**kw) == each, kw
    with pytest.raises(iw.InputError, match="unknown verdict measure 'nope'"):
        scores.verdicts(measure="nope")


def test_random_init_model_has_no_induction_heads(tiny):
    """Every weight of the tiny model's architecture drawn at random: no head is an induction head."""
    model = copy.deepcopy(tiny)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        params = (
            model.original_model.parameters()
            if hasattr(model, "original_model")
            else model.parameters()
        )
        for p in params:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    scores = iw.head_scores(model, progress=False)
    assert scores.induction_heads() == []
    assert (scores.copying_rank < COPYING_RANK_THRESHOLD).all()


@pytest.mark.smollm2
def test_smollm2_direct_copiers_are_induction_heads(smollm2, smollm2_scores):
    """SmolLM2's prefix matchers whose direct path raises the attended token (L23H2/H7/H1 strongly,
    L18H6 and L20H6 less) are induction heads; those at chance (L17H4, L17H5) and a
    copy-suppression head (L24H4: attended token ranked last) are not."""
    scores = smollm2_scores
    heads = scores.induction_heads()
    assert {(23, 2), (23, 7), (23, 1), (18, 6), (20, 6)} <= set(heads), heads
    for hd in ((17, 4), (17, 5), (24, 4)):
        assert scores.verdict(*hd) == "prefix matching, not copying", hd
    assert scores.copying_rank[24, 4] < 0.1
    # independent check on a natural text: every head of the verdict raises the right next token
    # on the repeat of a paragraph, through its own direct path (TL's hook_z, W_O, ln_final scale,
    # W_U centred over the vocabulary); the chance-level prefix matchers raise it far less
    text = iw.copying_text()
    tokens = smollm2.to_tokens(text)
    layers = {l for l, _ in heads} | {17}
    _, cache = smollm2.run_with_cache(
        tokens,
        names_filter=lambda n: (
            n == "ln_final.hook_scale" or any(n == f"blocks.{l}.attn.hook_z" for l in layers)
        ),
    )
    repeat = text.index("\n\n")
    half = len(smollm2.to_tokens(text[:repeat])[0])
    w_u = smollm2.W_U.float()
    w_u = w_u - w_u.mean(-1, keepdim=True)
    scale = cache["ln_final.hook_scale"][0].float()  # [pos, 1]

    def raised(l: int, h: int) -> float:
        z = cache[f"blocks.{l}.attn.hook_z"][0, :, h].float()  # [pos, d_head]
        logits = (z @ smollm2.W_O[l, h].float() / scale) @ w_u
        nxt = tokens[0, 1:]
        return float(logits[:-1].gather(-1, nxt[:, None])[half:, 0].mean().detach())

    copiers = {hd: raised(*hd) for hd in heads}
    assert all(v > 0 for v in copiers.values()), copiers
    assert max(raised(17, 4), raised(17, 5)) < min(copiers[(18, 6)], copiers[(20, 6)]), copiers
