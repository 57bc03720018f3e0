"""Case — every head's ΔICL on SmolLM2 by attribution patching vs one forward+backward pass.

Input: ``N_CONTEXTS`` windows of the shipped Austen corpus (``iw.corpus_contexts(model, N, seed=0)``,
512 tokens, BOS first), the ICL score read with windows ±10 around indices 50 and 500 (the
defaults), head means from ``iw.head_means(model)`` computed beforehand and passed in.

* ours: ``iw.ablation_scores(model, tokens, compare=False, method="attribution", means=means)``
  — the first-order estimate of mean-ablating each of the 270 heads, from one forward and one
  backward pass per context (gradients at ``hook_z`` only, weights frozen), plus the per-head
  products ``(μ − z) · ∂icl/∂z``.
* baseline: one ordinary forward+backward over the same contexts, chunked the same way (one
  context per pass): ``model(tokens[:, :511], return_type="loss").backward()`` with the weights'
  gradients (what "a backward pass" costs a user), gradients zeroed after each.
* Peak memory: RSS high-water mark (``VmHWM`` after resetting it through ``/proc/self/clear_refs``)
  over each measured call, minus the RSS before it, in this process.
* ours, AtP* QK fix (a second row, one rep): ``ablation_scores(..., qk_fix=True,
  layers=QK_LAYERS)`` — the same estimate plus, for the heads of ``QK_LAYERS`` (SmolLM2's layers
  16 and 17, which hold the previous-token partners of the induction heads; every head on the
  tiny model), every later attention pattern recomputed with the head ablated: one truncated
  forward pass per such head and context, so its cost grows with the heads asked for.
* Context (not timed): exact ablation of all 270 heads costs one pass per head and context, i.e.
  270 forward passes per context (``method="exact"``: 30 passes of 9 replicas each).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from .common import CaseResult, Row, fmt_bytes, fmt_ratio, interleaved, ratio_text, trim_heap

TITLE = "All-head ΔICL by attribution patching vs one forward+backward (SmolLM2)"
N_CONTEXTS = 4
GOAL_RATIO = 4.0
QK_LAYERS = [16, 17]


def _rss() -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out["VmRSS"], out["VmHWM"]


def _peak(fn: Any) -> int:
    """Peak RSS added by ``fn()`` over the RSS before it (bytes; 0 where /proc is missing)."""
    gc.collect()
    trim_heap()  # freed heap back to the system, so that what fn() allocates shows in RSS
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before, _ = _rss()
    except OSError:
        fn()
        return 0
    fn()
    _, hwm = _rss()
    return max(0, hwm - before)


def run(ctx: Any) -> CaseResult:
    import torch

    import induction_widgets as iw

    name = "tiny" if ctx.quick else "smollm2"
    label = {"smollm2": "SmolLM2-135M (30×9 heads)", "tiny": "tiny (2×4 heads)"}[name]
    model = ctx.model(name)
    n = 2 if ctx.quick else N_CONTEXTS
    tokens = (
        iw.copy_task_tokens(model, n, n_tokens=201)
        if name == "tiny"
        else iw.corpus_contexts(model, n, seed=0)
    )
    means = iw.head_means(model)
    last = 511 if name != "tiny" else 201

    def ours() -> Any:
        return iw.ablation_scores(
            model, tokens, compare=False, method="attribution", means=means, progress=False
        )

    def baseline() -> None:
        for i in range(tokens.shape[0]):
            loss = model(tokens[i : i + 1, :last], return_type="loss")
            loss.backward()
            model.zero_grad(set_to_none=True)

    reps = 1 if ctx.quick else (ctx.reps or 2)
    ctx.log(f"  {label}: attribution vs forward+backward, {n} contexts, {reps} reps")
    with torch.enable_grad():
        outputs: dict[str, Any] = {}
        stats = interleaved({"ours": ours, "baseline": baseline}, reps, ctx.log, outputs)
        peak_ours = _peak(ours)
        peak_base = _peak(baseline)
        qk_layers = None if name == "tiny" else QK_LAYERS

        def ours_qk() -> Any:
            return iw.ablation_scores(
                model,
                tokens,
                compare=False,
                method="attribution",
                means=means,
                progress=False,
                qk_fix=True,
                layers=qk_layers,
            )

        qk_stats = interleaved({"qk": ours_qk, "baseline": baseline}, 1, ctx.log, outputs)
        peak_qk = _peak(ours_qk)
    ratio, rtext = ratio_text(stats["ours"], stats["baseline"])
    _, qk_rtext = ratio_text(qk_stats["qk"], qk_stats["baseline"])
    n_qk = int(torch.isfinite(outputs["qk"].icl_change).sum())
    est = outputs["ours"].icl_change
    rows = [
        Row(
            f"All-head ΔICL, {label}: `ablation_scores(method='attribution')` "
            f"(every head, {n} contexts) vs one forward+backward over the same contexts",
            f"{stats['ours'].fmt()}; peak RSS +{fmt_bytes(peak_ours)}",
            f"{stats['baseline'].fmt()}; peak RSS +{fmt_bytes(peak_base)}",
            rtext,
            f"≤ {GOAL_RATIO:g}×",
            None if ctx.quick else ratio <= GOAL_RATIO,
            {"heads": int(est.numel()), "peak_ours": peak_ours, "peak_base": peak_base},
        ),
        Row(
            f"ΔICL with the AtP* QK fix, {label}: `ablation_scores(method='attribution', "
            f"qk_fix=True, layers={qk_layers or 'all'})` ({n_qk} heads, {n} contexts) vs one "
            "forward+backward over the same contexts",
            f"{qk_stats['qk'].fmt()}; peak RSS +{fmt_bytes(peak_qk)}",
            qk_stats["baseline"].fmt(),
            qk_rtext,
            "stated, no goal",
            None,
            {"heads": n_qk, "peak_qk": peak_qk},
        ),
    ]
    notes = [
        f"{int(est.numel())} heads estimated per run. Peak memory ratio ours / baseline: "
        f"{fmt_ratio(peak_ours / peak_base) if peak_base else 'n/a'} (the baseline forms the full "
        "[511, 49152] logits and the weights' gradients; ours reads 42 rows of logits and keeps "
        "each layer's z and its gradient). Exact ablation of every head would be "
        f"{int(est.numel())} forward passes per context.",
    ]
    return CaseResult("attribution", TITLE, rows, notes)
