"""Attribution patching (``ablation_scores(method="attribution")``) against independent references.

1. It is the derivative it claims to be: for each of the tiny model's 8 heads, the estimate equals
   ``d icl / d ε`` of the partial ablation ``z ← z + ε (μ − z)`` at ``ε = 0``, measured by a central
   finite difference through TransformerLens's own ``run_with_hooks`` and a loss written out here
   (no package code on that path but ``head_means``). This pins the hook point, the sign, the
   target ``μ``, the per-context metric and the gradient flow through every later layer, under
   TransformerLens 4 (TransformerBridge) and 3.9 (HookedTransformer) alike.
2. Against exact ablation of each head (the 8 heads, same contexts): the known failure (Kramár et
   al. 2024, "AtP*": a change that moves a *saturated* attention pattern downstream is invisible to
   the gradient) shows where the paper's circuit predicts it — the previous-token heads feed the
   induction heads' keys, and their estimates are a small fraction of their exact effects (the
   measured cause is the curvature from those patterns to the loss rather than a saturated
   softmax: test_attribution_qk_fix.py) — while the last layer's heads (no attention downstream)
   agree. docs/beyond.md gives the figures.
"""

from __future__ import annotations

import pytest
import torch

import induction_widgets as iw

pytestmark = pytest.mark.tl3
EPS = 1e-2


@pytest.fixture(scope="module")
def contexts(tiny):
    return iw.copy_task_tokens(tiny, 16, n_tokens=201, seed=3)


def icl_by_hand(model, tokens, early, late, hooks):
    """Mean over contexts of L[late] − L[early], from the full logits of TL's run_with_hooks."""
    logits = model.run_with_hooks(tokens, fwd_hooks=hooks, return_type="logits").double()
    logp = logits[:, :-1].log_softmax(-1)
    loss = -logp.gather(-1, tokens[:, 1:, None])[..., 0]  # loss[:, i - 1] = L[i]
    return float((loss[:, late - 1] - loss[:, early - 1]).mean())


def partial_ablation(model, layer, head, target, eps):
    n_heads = model.cfg.n_heads

    def fn(z, hook):
        shape = z.shape
        zz = z.reshape(*shape[:2], n_heads, -1).clone()
        zz[:, :, head] = zz[:, :, head] + eps * (target.to(z.dtype) - zz[:, :, head])
        return zz.reshape(shape)

    return [(f"blocks.{layer}.attn.hook_z", fn)]


def test_attribution_is_the_derivative_of_partial_ablation(tiny, contexts):
    means = iw.head_means(tiny)
    est = iw.ablation_scores(
        tiny, contexts, compare=False, method="attribution", window=0, means=means, progress=False
    )
    assert est.method == "attribution" and est.meta["method"] == "attribution"
    early, late = est.base.early, est.base.late
    assert (early, late) == (20, 200)
    for layer in range(2):
        for head in range(4):
            up = icl_by_hand(
                tiny,
                contexts,
                early,
                late,
                partial_ablation(tiny, layer, head, means[layer, head], EPS),
            )
            down = icl_by_hand(
                tiny,
                contexts,
                early,
                late,
                partial_ablation(tiny, layer, head, means[layer, head], -EPS),
            )
            slope = (up - down) / (2 * EPS)
            got = float(est.icl_change[layer, head])
            assert got == pytest.approx(slope, abs=2e-3, rel=0.03), (layer, head, got, slope)
    # zero ablation: the target is 0
    zero = iw.ablation_scores(
        tiny,
        contexts[:4],
        compare=False,
        method="attribution",
        kind="zero",
        window=0,
        progress=False,
    )
    zeros = torch.zeros(tiny.cfg.d_head)
    up = icl_by_hand(tiny, contexts[:4], early, late, partial_ablation(tiny, 1, 1, zeros, EPS))
    down = icl_by_hand(tiny, contexts[:4], early, late, partial_ablation(tiny, 1, 1, zeros, -EPS))
    assert float(zero.icl_change[1, 1]) == pytest.approx(
        (up - down) / (2 * EPS), abs=2e-3, rel=0.03
    )


def test_attribution_against_exact_ablation_on_the_tiny_model(tiny, contexts):
    """The AtP failure, measured: the tiny model's two largest exact effects are its layer-0
    previous-token heads L0H2 and L0H3 (removing either kills induction: +1.07 and +1.63 on these
    16 contexts, both > 2 standard errors), and attribution sees neither (|estimate| < 0.2, a tenth
    of the exact effect or less). Why: they act through the layer-1 heads' keys; the finite change
    moves those patterns far, and the loss is flat in the pattern near the clean one, steep further
    on (measured in test_attribution_qk_fix.py and docs/beyond.md). Last-layer heads have no
    attention downstream: there the estimate and the exact change agree within 0.35 nats
    (log-softmax curvature only)."""
    means = iw.head_means(tiny)
    kw = dict(compare=False, window=0, means=means, progress=False)
    exact = iw.ablation_scores(tiny, contexts, **kw)
    est = iw.ablation_scores(tiny, contexts, method="attribution", **kw).icl_change
    change, sem = exact.icl_change, exact.icl_change_sem
    for head in (2, 3):
        assert change[0, head] > 2 * sem[0, head] and change[0, head] > 0.5
        assert abs(est[0, head]) < 0.2 * change[0, head]
    assert (est[1] - change[1]).abs().max() < 0.35


def test_attribution_restores_requires_grad_and_honours_layers(tiny, contexts):
    flags = [p.requires_grad for p in tiny.parameters()]
    part = iw.ablation_scores(
        tiny, contexts[:2], compare=False, method="attribution", layers=[1], progress=False
    )
    assert [p.requires_grad for p in tiny.parameters()] == flags
    assert torch.isnan(part.icl_change[0]).all() and torch.isfinite(part.icl_change[1]).all()
    assert "attribution patching" in part.method_label
