"""Case 5 — a long text in the explorer: peak memory and time at 2,048 tokens on SmolLM2.

Input: ``(iw.copying_text() + "\\n") * 12`` tokenised by the model (BOS first) and cut to exactly
2,048 tokens (``[1, 2048]``), as ``tests/compute/test_attribution.py::test_long_text_keeps_no_layer_patterns``
does. The scores are computed beforehand (``iw.head_scores(model, n_examples=4)``) and passed in.

* ours: ``iw.InductionExplorer(model, tokens, scores=scores)`` — one hooked forward pass keeping
  per-layer queries, keys and values (``TextActivations``), the token view and the matrix built for
  the strongest induction head — then the token view switched through heads in other layers
  (``ex.token_view.layer/head``; the explorer relays each switch to the map and the matrix).
* baseline: what a tool that caches attention does — ``model.run_with_cache(tokens,
  names_filter=lambda n: n.endswith("hook_pattern"))`` under ``torch.no_grad()``, holding every
  layer's pattern (30 × 9 × 2,048² float32 ≈ 4.5 GB) — the cheapest form of it (no gradients, no
  other hooks).
* context: one bare forward pass ``model(tokens)`` under ``torch.no_grad()``.
* Peak memory: each operation once in a fresh interpreter (``benchmarks._memprobe``, ops
  ``longtext_explorer``, ``longtext_cache``, ``longtext_forward``): model loaded, scores computed,
  the operation warmed up on the first 64 tokens, then ``gc`` + ``malloc_trim``, peak RSS reset
  through ``/proc/self/clear_refs``, the operation run once, ``VmHWM`` read. For ours the measured
  operation includes the head switches, so the peak covers them.
* Time: in this process, opening the explorer and the bare forward pass interleaved, ``reps``
  each after a warm-up; then every head switch of the last explorer, timed, twice round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .common import (
    CaseResult,
    Row,
    Stats,
    fmt_bytes,
    fmt_ratio,
    fmt_time,
    interleaved,
    memprobe,
    ratio_text,
)

TITLE = "Long text in the explorer: peak memory and time at 2,048 tokens (SmolLM2)"
N_TOKENS = 2048
WARM_TOKENS = 64
#: Peak RSS of ours (open + switches) over the all-patterns cache's. Anything that runs the model
#: once on the text peaks at a bare forward pass (≈ 0.13× here, mostly the [2048, 49152] float32
#: logits), and the explorer keeps every layer's q/k/v (0.28 GB) to answer any head without another
#: pass: forward + kept activations + 2 layers' patterns (TextActivations' fallback cache) ≈ 0.25×.
#: A peak under it shows that most layers' patterns were never alive together. (0.1× would be
#: below a bare forward pass of the text.)
GOAL_RATIO = 0.25


def long_tokens(model: Any, n: int = N_TOKENS) -> Any:
    """``(iw.copying_text() + "\\n") * 12`` as tokens ``[1, n]`` (``n`` capped by ``n_ctx``)."""
    import induction_widgets as iw

    n = min(n, int(model.cfg.n_ctx))
    tokens = model.to_tokens((iw.copying_text() + "\n") * 12)[:, :n].cpu()
    if tokens.shape[1] != n:
        raise RuntimeError(f"the text has only {tokens.shape[1]} tokens, {n} wanted")
    return tokens


def switch_heads(n_layers: int, n_heads: int, start: tuple[int, int]) -> list[tuple[int, int]]:
    """Six heads spread over the layers (first, last and between), none equal to ``start``."""
    k = 6
    layers = sorted({round(i * (n_layers - 1) / (k - 1)) for i in range(k)})
    heads = [(layer, (3 * i + 1) % n_heads) for i, layer in enumerate(layers)]
    return [h for h in heads if h != start]


def switch(ex: Any, layer: int, head: int) -> None:
    """Point the explorer's token view at ``(layer, head)``, as the Layer/Head selects do (one
    change of both traits; the explorer relays it to the head map and the matrix)."""
    tv = ex.token_view
    with tv.hold_trait_notifications():
        tv.layer, tv.head = layer, head


def open_and_switch(model: Any, tokens: Any, scores: Any, timings: dict[str, Any]) -> Any:
    """Open the explorer on ``tokens``, then switch through :func:`switch_heads`; the seconds of
    each step go into ``timings`` (``open_s``, ``switch_s``)."""
    import induction_widgets as iw

    t0 = time.perf_counter()
    ex = iw.InductionExplorer(model, tokens, scores=scores)
    timings["open_s"] = time.perf_counter() - t0
    start = (ex.token_view.layer, ex.token_view.head)
    timings["start"] = list(start)
    timings["switch_s"] = []
    for layer, head in switch_heads(model.cfg.n_layers, model.cfg.n_heads, start):
        t = time.perf_counter()
        switch(ex, layer, head)
        timings["switch_s"].append(time.perf_counter() - t)
    return ex


def explorer_facts(ex: Any) -> dict[str, Any]:
    acts = ex.token_view.activations
    return {
        "cached_layers": acts.cached_layers,
        "acts_nbytes": acts.nbytes,
        "exact_layers": sum(acts.exact.values()),
        "n_layers": len(acts.exact),
        "n_tokens": acts.n_tokens,
        "matrix_head": [ex.matrix.layer, ex.matrix.head] if ex.matrix is not None else None,
        "token_view_head": [ex.token_view.layer, ex.token_view.head],
    }


# ---- fresh-interpreter probes (benchmarks._memprobe) -----------------------------------------

Probe = tuple[Callable[[], Any], Callable[[], Any], Callable[[Any], dict[str, Any]]]


def probe_op(model: Any, op: str) -> Probe:
    """``(warm, run, report)`` of ``op`` for ``benchmarks._memprobe``: ``warm`` runs the operation
    on the first 64 tokens, ``run`` once on the long text, ``report(result)`` adds what to print.
    The explorer's scores are computed here, before the probe resets the peak."""
    import torch

    import induction_widgets as iw

    tokens = long_tokens(model)
    short = tokens[:, :WARM_TOKENS]
    timings: dict[str, Any] = {}
    scores: list[Any] = []

    def explorer_warm() -> None:
        scores.append(iw.head_scores(model, n_examples=4, progress=False))
        open_and_switch(model, short, scores[0], {})

    def explorer_run() -> Any:
        return open_and_switch(model, tokens, scores[0], timings)

    def explorer_report(ex: Any) -> dict[str, Any]:
        return {**timings, **explorer_facts(ex)}

    def cache(t: Any) -> Any:
        with torch.no_grad():
            _, c = model.run_with_cache(t, names_filter=lambda n: n.endswith("hook_pattern"))
        return c

    def cache_report(c: Any) -> dict[str, Any]:
        tensors = list(c.values())
        return {
            "n_patterns": len(tensors),
            "cache_nbytes": sum(t.numel() * t.element_size() for t in tensors),
            "n_tokens": int(tokens.shape[1]),
        }

    def forward(t: Any) -> Any:
        with torch.no_grad():
            return model(t)

    ops: dict[str, Probe] = {
        "longtext_explorer": (explorer_warm, explorer_run, explorer_report),
        "longtext_cache": (lambda: cache(short), lambda: cache(tokens), cache_report),
        "longtext_forward": (
            lambda: forward(short),
            lambda: forward(tokens),
            lambda _: {"n_tokens": int(tokens.shape[1])},
        ),
    }
    return ops[op]


# ---- the case -------------------------------------------------------------------------------------


def run(ctx: Any) -> CaseResult:
    import torch

    import induction_widgets as iw

    name = "tiny" if ctx.quick else "smollm2"
    label = {"smollm2": "SmolLM2-135M", "tiny": "tiny"}[name]
    rows: list[Row] = []

    mem: dict[str, dict[str, Any]] = {}
    for op in ("longtext_explorer", "longtext_cache", "longtext_forward"):
        ctx.log(f"  {label}: peak memory of {op} (fresh interpreter)")
        mem[op] = memprobe(op, name)
        ctx.log(f"    {mem[op]}")

    model = ctx.model(name)
    tokens = long_tokens(model)
    n = int(tokens.shape[1])
    info = f"{model.cfg.n_layers}×{model.cfg.n_heads} heads"
    scores = iw.head_scores(model, n_examples=4, progress=False)
    short = tokens[:, :WARM_TOKENS]
    ctx.log(f"  {label}: {n} tokens; warm-up")
    open_and_switch(model, short, scores, {})
    with torch.no_grad():
        model(short)
    timings: dict[str, Any] = {}

    def forward() -> Any:
        with torch.no_grad():
            model(tokens)

    def explorer() -> Any:
        return iw.InductionExplorer(model, tokens, scores=scores)

    ctx.log(f"  {label}: timing {ctx.reps} interleaved repetitions (forward, explorer)")
    last: dict[str, Any] = {}
    stats = interleaved({"forward": forward, "explorer": explorer}, ctx.reps, ctx.log, last)
    ex = last.pop("explorer")
    start = (ex.token_view.layer, ex.token_view.head)
    heads = switch_heads(model.cfg.n_layers, model.cfg.n_heads, start)
    sw: list[float] = []
    for _ in range(2):
        for layer, head in [*heads, start]:
            t = time.perf_counter()
            switch(ex, layer, head)
            sw.append(time.perf_counter() - t)
    ctx.log(f"    switches: {[round(s, 3) for s in sw]}")
    facts = explorer_facts(ex)
    del ex, last
    timings["switch_s"] = sw

    m_ours, m_base, m_fwd = (
        mem["longtext_explorer"],
        mem["longtext_cache"],
        mem["longtext_forward"],
    )
    ok = all("error" not in m for m in (m_ours, m_base))
    if ok:
        ratio = m_ours["peak_delta"] / max(m_base["peak_delta"], 1)
        held = m_ours.get("held_delta", float("nan"))
        rows.append(
            Row(
                f"Peak RSS added over the loaded model, {label} ({info}), {n:,} tokens: "
                f"`InductionExplorer` (open + {len(m_ours['switch_s'])} head switches in other "
                "layers) vs `run_with_cache` of every layer's `hook_pattern`",
                f"{fmt_bytes(m_ours['peak_delta'])} peak; {fmt_bytes(held)} held after "
                f"(`TextActivations` {fmt_bytes(m_ours['acts_nbytes'])}, "
                f"`cached_layers` = {m_ours['cached_layers']})",
                f"{fmt_bytes(m_base['peak_delta'])} peak (its {m_base['n_patterns']} patterns: "
                f"{fmt_bytes(m_base['cache_nbytes'])})",
                fmt_ratio(ratio),
                f"≤ {GOAL_RATIO}× the all-patterns cache's peak, and no layer's patterns kept",
                None if ctx.quick else (ratio <= GOAL_RATIO and m_ours["cached_layers"] == 0),
                {"ours": m_ours, "baseline": m_base, "forward": m_fwd, "ratio": ratio},
            )
        )
    else:
        rows.append(
            Row(
                f"Peak RSS added, {label}, {n:,} tokens: explorer vs all-patterns cache",
                str(m_ours.get("error", ""))[:300],
                str(m_base.get("error", ""))[:300],
                "n/a",
                f"≤ {GOAL_RATIO}×",
                None,
                {"ours": m_ours, "baseline": m_base, "forward": m_fwd},
            )
        )

    ours, fwd = stats["explorer"], stats["forward"]
    r, rtext = ratio_text(ours, fwd)
    sws = Stats(sw)
    rows.append(
        Row(
            f"Open time, {label}, {n:,} tokens: `InductionExplorer(model, tokens, scores=…)` "
            "(activations + token view + matrix) vs one bare forward pass",
            ours.fmt(),
            fwd.fmt(),
            rtext,
            "— (context)",
            None,
            {"ours": ours.as_dict(), "baseline": fwd.as_dict(), "ratio": r},
        )
    )
    rows.append(
        Row(
            f"Head switch in the explorer, {label}, {n:,} tokens (kernel side: token view + "
            "matrix buffers for the new head) vs one bare forward pass",
            f"median {fmt_time(sws.median)}, p95 {fmt_time(sws.q(0.95))}, max "
            f"{fmt_time(sws.hi)} (n={sws.n})",
            fwd.fmt(),
            fmt_ratio(sws.median / fwd.median),
            "— (context)",
            None,
            {"switch": sws.as_dict(), "forward": fwd.as_dict()},
        )
    )

    base_peak = m_base.get("peak_delta", float("nan"))
    layer_pattern = model.cfg.n_heads * n * n * 4
    bound = (
        m_fwd.get("peak_delta", float("nan"))
        + m_ours.get("acts_nbytes", float("nan"))
        + 2 * layer_pattern
    )
    fwd_ratio = fmt_ratio(m_fwd.get("peak_delta", float("nan")) / base_peak)
    bound_ratio = fmt_ratio(bound / base_peak)
    notes = [
        f'Input: `(iw.copying_text() + "\\n") * 12` tokenised by {label} (BOS first) and cut to '
        f"{n:,} tokens; scores precomputed with `iw.head_scores(model, n_examples=4)` and passed "
        f"in. The explorer opens on the strongest induction head (L{start[0]}H{start[1]}), then "
        f"switches to {', '.join(f'L{a}H{b}' for a, b in heads)} (`ex.token_view.layer/head`, "
        "one change of both; the explorer relays it to the map and the matrix).",
        "Peak memory: each operation once in a fresh interpreter (`benchmarks._memprobe`): model "
        f"loaded and scores computed, the operation warmed up on the first {WARM_TOKENS} tokens, "
        "then `gc` + `malloc_trim`, peak RSS (`VmHWM`) reset through `/proc/self/clear_refs`, the "
        "operation run once; peak − RSS before. Ours includes the head switches. 'Held after' is "
        "RSS after `gc` + `malloc_trim` with the explorer (or cache) still alive − RSS before. "
        f"RSS with the model loaded: {fmt_bytes(m_ours.get('rss_before', float('nan')))}.",
        "Baseline: `model.run_with_cache(tokens, names_filter=lambda n: n.endswith('hook_pattern'))`"
        " under `torch.no_grad()` — every layer's pattern held at once, as a tool that caches "
        "attention for its views does (the cheapest form: no gradients, nothing else cached). "
        f"It held {fmt_bytes(m_base.get('held_delta', float('nan')))} after the call. A bare "
        f"forward pass of the same tokens peaks at "
        f"{fmt_bytes(m_fwd.get('peak_delta', float('nan')))} over the model (most of it the "
        f"[{n}, vocab] float32 logits) — the floor of anything that runs the model once.",
        f"Goal ≤ {GOAL_RATIO}× of the all-patterns cache's peak, and `cached_layers` = 0 after "
        "the switches. The issue asks that the text opens without all layers' patterns in memory "
        "at once. Anything that runs the model once on the text peaks at a bare forward pass "
        f"({fwd_ratio} of the cache's peak here), and the explorer keeps every layer's queries, "
        "keys and values to answer any head without another pass; that plus the 2 layers' "
        "patterns `TextActivations` may cache (only where recomputing them from q/k does not "
        f"match the model) is {fmt_bytes(bound)} here, {bound_ratio} of the cache's peak. A peak "
        "under the goal shows that most layers' patterns were never alive together; 0.1× would "
        "be below a bare forward pass.",
        f"Time: in the benchmark process, explorer and bare forward pass interleaved, {ctx.reps} "
        "repetitions each after a warm-up on the first tokens; head switches timed on the last "
        f"explorer, {len(heads) + 1} heads twice round (n={sws.n}). The fresh-interpreter probe "
        f"took {fmt_time(m_ours.get('open_s', float('nan')))} to open and "
        f"{', '.join(fmt_time(s) for s in m_ours.get('switch_s', []))} per switch; the cache "
        f"{fmt_time(m_base.get('seconds', float('nan')))}, the forward pass "
        f"{fmt_time(m_fwd.get('seconds', float('nan')))}.",
        f"After the switches: `ex.token_view.activations.cached_layers` = "
        f"{facts['cached_layers']}, `.nbytes` = {fmt_bytes(facts['acts_nbytes'])} (queries, keys "
        f"and values of every layer, W_O, the next tokens' unembedding columns), patterns "
        f"recomputed exactly from q/k in {facts['exact_layers']}/{facts['n_layers']} layers.",
    ]
    return CaseResult("longtext", TITLE, rows, notes)
