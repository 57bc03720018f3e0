"""Case ``longcontext`` — the model's whole context (issue 22): 2,048 / 4,096 / 8,192 tokens on SmolLM2.

Input: ``(iw.copying_text() + "\\n") * k`` tokenised by the model (BOS first), cut to ``n`` tokens.
Each size runs in a fresh interpreter (``python -m benchmarks.longcontext probe N MODEL``) that
loads the model twice: the TransformerLens model and, as the baseline, the same checkpoint as a
bare Hugging Face ``*ForCausalLM`` with ``attn_implementation="sdpa"``. After a warm-up on 64
tokens, interleaved ``reps`` times:

* **baseline**: ``hf(tokens)`` under ``torch.no_grad()`` (SDPA attention, logits of every position);
* **open (read)**: ``iw.TextActivations(model, tokens)`` — the pass the explorer makes to open:
  queries, keys, values and norm scales of every layer, memory-efficient attention where
  TransformerLens allows (``compute._model.sdpa_capture``), each layer's recomputation verified.

Before each operation: ``gc`` + ``malloc_trim``, peak RSS reset (``/proc/self/clear_refs``);
after: ``VmHWM`` − RSS before = the peak it added. The goal compares the read's peak with what
it keeps (``TextActivations.nbytes``) + 1 GB.

**Kernel switch**: for six heads in other layers, what a head switch computes in the kernel for
the long format (``pattern_block_max`` at ``block = ⌈n / 1024⌉`` — a 1,024² overview —, then one
row and one column of the pattern for the token in focus), timed one by one; and the same for the
logit attribution (``attribution_block_max`` + a row), reported separately. Live p95 and the
saved page's size and paint are the browser half's (branch ``longb``): their columns say so.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .common import (
    CaseResult,
    Row,
    Stats,
    fmt_bytes,
    fmt_ratio,
    fmt_time,
    fresh_interpreter,
    loadavg,
    proc_status,
    reset_peak_rss,
    trim_heap,
)

TITLE = "The model's whole context: read, memory and head switch at 2,048-8,192 tokens (SmolLM2)"
SIZES = (2048, 4096, 8192)
QUICK_SIZES = (256, 512)
WARM = 64
#: the issue's goals
OPEN_GOAL = 1.0  # × the bare SDPA forward
PEAK_SLACK = 10**9  # peak over the model ≤ stored activations + 1 GB
SWITCH_GOAL_S = 0.100


def long_tokens(model: Any, n: int) -> Any:
    import induction_widgets as iw

    line = iw.copying_text() + "\n"
    k = 1 + n // max(1, len(model.to_tokens(line)[0]) - 1)
    tokens = model.to_tokens(line * (k + 1))[:, :n].cpu()
    if tokens.shape[1] != n:
        raise RuntimeError(f"the text has only {tokens.shape[1]} tokens, {n} wanted")
    return tokens


def sdpa_baseline(name: str) -> Any:
    """The checkpoint behind ``iw.load_model(name)`` as a bare HF model with SDPA attention."""
    import torch
    from transformers import AutoModelForCausalLM

    from induction_widgets.models.gguf import cache_dir

    if name != "smollm2":
        raise ValueError("the SDPA baseline is set up for smollm2 only")
    dirs = sorted((cache_dir() / "smollm2").glob("*/config.json"))
    if not dirs:
        raise RuntimeError("no converted SmolLM2 directory: iw.load_model('smollm2') first")
    return AutoModelForCausalLM.from_pretrained(
        str(dirs[-1].parent), attn_implementation="sdpa", dtype=torch.float32
    ).eval()


def measured(fn: Any) -> tuple[Any, dict[str, float]]:
    """``fn()`` with its seconds and the peak RSS it added (``peak_delta``)."""
    gc.collect()
    trim_heap()
    reset_peak_rss()
    before = proc_status()["VmRSS"]
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = proc_status()["VmHWM"] - before
    return out, {"seconds": seconds, "peak_delta": peak, "rss_before": before}


def switch_heads(n_layers: int, n_heads: int) -> list[tuple[int, int]]:
    layers = sorted({round(i * (n_layers - 1) / 5) for i in range(6)})
    return [(layer, (3 * i + 1) % n_heads) for i, layer in enumerate(layers)]


def probe(n: int, name: str, reps: int) -> dict[str, Any]:
    import torch

    import induction_widgets as iw
    from induction_widgets.compute._model import sdpa_available

    model = iw.load_model(name, progress=False)
    hf = sdpa_baseline(name)
    tokens = long_tokens(model, n)
    short = tokens[:, :WARM]

    def forward(t: Any) -> None:
        with torch.no_grad():
            hf(t)

    def read(t: Any) -> Any:
        return iw.TextActivations(model, t, progress=False)

    forward(short)
    read(short).pattern_block_max(0, 0, 4)
    out: dict[str, Any] = {"n": n, "model": name, "forward": [], "read": [], "load": [loadavg()]}
    acts = None
    for _ in range(reps):
        _, f = measured(lambda: forward(tokens))
        out["forward"].append(f)
        acts = None
        gc.collect()
        acts, r = measured(lambda: read(tokens))
        out["read"].append(r)
    assert acts is not None
    out["acts_nbytes"] = acts.nbytes
    out["exact_layers"] = sum(acts.exact.values())
    out["n_layers"] = len(acts.exact)
    out["sdpa"] = sdpa_available(model)
    block = max(1, math.ceil(n / 1024))
    out["block"] = block
    sw: list[float] = []
    sw_attr: list[float] = []
    heads = switch_heads(model.cfg.n_layers, model.cfg.n_heads)
    for layer, head in heads:
        gc.collect()
        t0 = time.perf_counter()
        acts.pattern_block_max(layer, head, block)
        acts.pattern_rows(layer, head, [n // 2])
        acts.pattern_cols(layer, head, [n // 2])
        sw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        acts.attribution_block_max(layer, head, block)
        acts.attribution_rows(layer, head, [n // 2])
        sw_attr.append(time.perf_counter() - t0)
    out["heads"] = heads
    out["switch_s"] = sw
    out["switch_attr_s"] = sw_attr
    # what a view's request costs (payload.head_payloads: the long format's compact rows of every
    # row + the overview, one pass), cold, and for a neighbour made in the background meanwhile
    from induction_widgets.payload import head_payloads, prefetch_heads, prefetch_idle

    att = ["attention", "attention_overview"]
    attr = ["attribution", "attribution_overview"]
    cold, cold_attr, warm, background = [], [], [], []
    for layer, head in heads:
        gc.collect()
        t0 = time.perf_counter()
        head_payloads(acts, layer, head, names=att)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        head_payloads(acts, layer, head, names=attr)
        cold_attr.append(time.perf_counter() - t0)
        nxt = (layer, (head + 1) % model.cfg.n_heads)
        t0 = time.perf_counter()
        prefetch_heads(acts, [nxt], att)
        prefetch_idle()
        background.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        head_payloads(acts, *nxt, names=att)
        warm.append(time.perf_counter() - t0)
    out.update(request_cold_s=cold, request_cold_attr_s=cold_attr, request_warm_s=warm)
    out["background_s"] = background
    # a saved page of one real head (both modes), built from the read activations
    import tempfile

    page_head = (heads[2][0], (heads[2][1] + 4) % model.cfg.n_heads)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        view = iw.AttentionMatrix(model, None, *page_head, activations=acts)
        path = view.save_html(Path(tmp) / "matrix.html", heads=[page_head])
        out["page_build_s"] = time.perf_counter() - t0
        out["page_bytes"] = path.stat().st_size
        view.close()
    # the explorer opened from nothing (its own read, the map's scores, the first head)
    del acts
    from induction_widgets.compute.cache import CACHE

    CACHE.clear()
    gc.collect()
    out["rss_model"] = proc_status()["VmRSS"]
    explorer, e = measured(lambda: iw.InductionExplorer(model, tokens))
    out["explorer"] = e
    out["explorer_acts_nbytes"] = explorer.activations.nbytes
    out["load"].append(loadavg())
    return out


def probe_long_range(name: str, reps: int) -> dict[str, Any]:
    """``iw.long_range_induction_scores(model)`` (2 × L tokens, L as long as the context allows)
    vs one bare SDPA forward of the same tokens, interleaved, with the peak each adds."""
    import torch

    import induction_widgets as iw

    model = iw.load_model(name, progress=False)
    hf = sdpa_baseline(name)
    length = iw.compute.max_long_range_length(model)
    tokens = iw.repeated_random_tokens(model, 1, length, 2, seed=0).cpu()

    def forward(t: Any) -> None:
        with torch.no_grad():
            hf(t)

    forward(tokens[:, :WARM])
    iw.long_range_induction_scores(model, 8)
    out: dict[str, Any] = {"n": int(tokens.shape[1]), "length": length, "load": [loadavg()]}
    out["forward"], out["score"] = [], []
    for _ in range(reps):
        _, f = measured(lambda: forward(tokens))
        out["forward"].append(f)
        scores, r = measured(lambda: iw.long_range_induction_scores(model))
        out["score"].append(r)
    flat = scores.flatten()
    top = flat.argsort(descending=True)[:3].tolist()
    out["top"] = [[i // scores.shape[1], i % scores.shape[1], float(flat[i])] for i in top]
    out["load"].append(loadavg())
    return out


def run_probe(n: int, name: str, reps: int, timeout: float = 5400) -> dict[str, Any]:
    """The probe of ``n`` tokens in a fresh interpreter; with ``IW_LONGCONTEXT_PROBES=DIR`` a
    probe already written there as ``{n}.json`` (``python -m benchmarks.longcontext probe N
    MODEL REPS > …``, run earlier) is read instead."""
    import os
    from pathlib import Path

    saved = os.environ.get("IW_LONGCONTEXT_PROBES")
    if saved and (Path(saved) / f"{n}.json").is_file():
        text = (Path(saved) / f"{n}.json").read_text()
        line = [x for x in text.splitlines() if x.startswith("@@")][-1]
        cached: dict[str, Any] = json.loads(line[2:])
        return cached

    result = fresh_interpreter(
        "benchmarks.longcontext", ["probe", str(n), name, str(reps)], timeout
    )
    return {"n": n, **result} if "error" in result else result


def _saved(stem: str) -> dict[str, Any] | None:
    saved = os.environ.get("IW_LONGCONTEXT_PROBES")
    path = Path(saved) / f"{stem}.json" if saved else None
    if path is None or not path.is_file():
        return None
    lines = [x for x in path.read_text().splitlines() if x.startswith("@@")]
    return json.loads(lines[-1][2:]) if lines else {"error": "the probe wrote no result"}


def run_probe_long_range(name: str, timeout: float = 5400) -> dict[str, Any]:
    """:func:`probe_long_range` in a fresh interpreter."""
    return fresh_interpreter("benchmarks.longcontext", ["longrange", name, "1"], timeout)


def rows_for(m: dict[str, Any], label: str) -> list[Row]:
    n = m["n"]
    if "error" in m:
        return [Row(f"{label}, {n:,} tokens", m["error"][:300], "", "n/a", "", None, m)]
    fwd = Stats([f["seconds"] for f in m["forward"]])
    read = Stats([r["seconds"] for r in m["read"]])
    ratio = read.median / fwd.median
    peak = max(r["peak_delta"] for r in m["read"])
    fwd_peak = max(f["peak_delta"] for f in m["forward"])
    allowed = m["acts_nbytes"] + PEAK_SLACK
    sw, swa = Stats(m["switch_s"]), Stats(m["switch_attr_s"])
    path = "SDPA" if m["sdpa"] else "eager (no SDPA path for this model)"
    return [
        Row(
            f"Open (read the text: `TextActivations`, {path}), {label}, {n:,} tokens, vs a bare "
            "HF forward with SDPA attention",
            f"{read.fmt()}; peak +{fmt_bytes(peak)} (keeps {fmt_bytes(m['acts_nbytes'])}; "
            f"{m['exact_layers']}/{m['n_layers']} layers exact)",
            f"{fwd.fmt()}; peak +{fmt_bytes(fwd_peak)}",
            fmt_ratio(ratio),
            f"≤ {OPEN_GOAL}× time; peak ≤ kept + 1 GB ({fmt_bytes(allowed)})",
            bool(ratio <= OPEN_GOAL and peak <= allowed),
            m,
        ),
        *_request_rows(m, label),
        Row(
            f"Kernel, first paint of a switch (long format: block max at block {m['block']} + one "
            f"row + one column), {label}, {n:,} tokens; attribution (block max + a row) in brackets",
            f"median {fmt_time(sw.median)}, max {fmt_time(sw.hi)} (n={sw.n}) "
            f"[attribution median {fmt_time(swa.median)}, max {fmt_time(swa.hi)}]",
            "— (absolute)",
            "—",
            f"≤ {SWITCH_GOAL_S * 1e3:.0f} ms (kernel side)",
            bool(sw.hi <= SWITCH_GOAL_S),
            {},
        ),
    ]


def _request_rows(m: dict[str, Any], label: str) -> list[Row]:
    """The rows of a view's head request and of the explorer's open, where the probe has them."""
    n = m["n"]
    if "request_cold_s" not in m or "page_build_s" not in m:
        return []
    cold, attr = Stats(m["request_cold_s"]), Stats(m["request_cold_attr_s"])
    warm, bg = Stats(m["request_warm_s"]), Stats(m["background_s"])
    e = m["explorer"]
    allowed = m["explorer_acts_nbytes"] + PEAK_SLACK
    return [
        Row(
            f"Kernel, a view's head request (`head_payloads`: compact rows of all {n:,} rows + the "
            f"overview, one pass), {label}; cold (a head not made yet) vs a neighbour made in the "
            "background meanwhile (`prefetch_heads`)",
            f"neighbour: median {fmt_time(warm.median)}, max {fmt_time(warm.hi)} (n={warm.n})",
            f"cold: median {fmt_time(cold.median)}, max {fmt_time(cold.hi)}; attribution "
            f"{fmt_time(attr.median)}; background making {fmt_time(bg.median)}",
            "—",
            f"≤ {SWITCH_GOAL_S * 1e3:.0f} ms (kernel side), judged on the neighbour; the cold "
            "figure is stated beside it",
            bool(warm.hi <= SWITCH_GOAL_S),
            {},
        ),
        Row(
            f"Saved page of one real head (`AttentionMatrix.save_html`, both modes: compact rows "
            f"+ overviews, float16 / uint8 / int8, deflated), {label}, {n:,} tokens",
            f"build {fmt_time(m['page_build_s'])}; {fmt_bytes(m['page_bytes'])}",
            "— (absolute)",
            "—",
            "build ≤ 5 s, ≤ 3 MB per head",
            bool(m["page_build_s"] <= 5 and m["page_bytes"] <= 3e6),
            {},
        ),
        Row(
            f"The explorer opened from nothing (`iw.InductionExplorer(model, tokens)`: read, map, "
            f"first head), {label}, {n:,} tokens: time, and peak over the loaded model",
            f"{fmt_time(e['seconds'])}; peak +{fmt_bytes(e['peak_delta'])} (keeps "
            f"{fmt_bytes(m['explorer_acts_nbytes'])})",
            f"loaded model: RSS {fmt_bytes(m['rss_model'])}",
            "—",
            f"peak ≤ kept + 1 GB ({fmt_bytes(allowed)})",
            bool(e["peak_delta"] <= allowed),
            {},
        ),
    ]


def run(ctx: Any) -> CaseResult:
    name = "smollm2"
    sizes = QUICK_SIZES if ctx.quick else SIZES
    reps = 1 if ctx.quick else min(ctx.reps, 2)
    rows: list[Row] = []
    probes: list[dict[str, Any]] = []
    saved = os.environ.get("IW_LONGCONTEXT_PROBES")
    for n in sizes:
        if saved and not (Path(saved) / f"{n}.json").is_file():
            m = {"n": n, "error": "not measured in this run (no saved probe)"}
            rows += rows_for(m, "SmolLM2-135M")
            continue
        ctx.log(f"  {name}: {n} tokens (fresh interpreter, {reps} reps)")
        m = run_probe(n, name, reps if n < 8192 else 1)
        ctx.log(f"    {m}")
        probes.append(m)
        rows += rows_for(m, "SmolLM2-135M")
    lr = _saved("longrange") if saved else None
    if lr is None and not saved and not ctx.quick:
        lr = run_probe_long_range(name)
    if lr is not None and "error" not in lr:
        fwd = Stats([f["seconds"] for f in lr["forward"]])
        score = Stats([r["seconds"] for r in lr["score"]])
        ratio = score.median / fwd.median
        top = ", ".join(f"L{a}H{b} {v:.2f}" for a, b, v in lr["top"])
        rows.append(
            Row(
                f"Long-range induction score, SmolLM2-135M, 2 × {lr['length']:,} random tokens "
                f"({lr['n']:,} with BOS), every head, vs one bare SDPA forward of the same tokens",
                f"{score.fmt()}; peak +{fmt_bytes(max(r['peak_delta'] for r in lr['score']))} "
                f"(top: {top})",
                f"{fwd.fmt()}; peak +{fmt_bytes(max(f['peak_delta'] for f in lr['forward']))}",
                fmt_ratio(ratio),
                "≤ 1.2× one forward",
                bool(ratio <= 1.2),
                lr,
            )
        )
        probes.append(lr)
    elif lr is not None or saved:
        rows.append(
            Row(
                "Long-range induction score, SmolLM2-135M, 2 × 4,095 tokens, vs one SDPA forward",
                str((lr or {}).get("error", "not measured in this run"))[:300],
                "",
                "n/a",
                "≤ 1.2× one forward",
                None,
                lr or {},
            )
        )
    loads = "; ".join(f"{m.get('n')}: {' → '.join(map(str, m.get('load', [])))}" for m in probes)
    notes = [
        'Input: `(iw.copying_text() + "\\n") * k` tokenised by SmolLM2 (BOS first), cut to n. '
        "Each size in a fresh interpreter: the TransformerLens model and, as the baseline, the "
        'same checkpoint loaded as a bare HF `LlamaForCausalLM(attn_implementation="sdpa")`; '
        "read and forward interleaved after a 64-token warm-up (one repetition at 8,192).",
        "Peak: `VmHWM` − RSS before the operation, after `gc` + `malloc_trim` and a peak reset "
        "(`/proc/self/clear_refs`). The goal is the issue's: peak ≤ the stored activations "
        "(`TextActivations.nbytes`: q, k, v of every layer in float32, W_O, the next tokens' "
        "unembedding columns) + 1 GB. The bare forward's peak includes its `[n, 49,152]` logits, "
        "which the read never makes (it stops at the final norm).",
        "Before (issue 22, same machine type, 8,192 tokens, eager attention): the explorer opened "
        "in 338 s (0.84× the HF model's eager forward, 403 s) and peaked at 14.8 GB (2.6 GB "
        "after loading); a head switch cost 2.7 s in the kernel. The old eager path was not run "
        "at 8,192 here (it would need ~12 GB on a shared machine).",
        "Kernel: (1) a view's head request as the browser sends it (`head_payloads(acts, l, h, "
        "names=[mode, mode_overview])`: compact rows of every row and the overview, one pass over "
        "the causal half of q·Kᵀ), for six heads in different layers cold, and for each one's "
        "neighbour (head + 1) after `prefetch_heads` made it in the background (what a step "
        "through a layer's heads costs); (2) the first paint's data alone (block max at block "
        "⌈n/1024⌉ + the focus token's row and column, `TextActivations.pattern_block_max` / "
        "`pattern_rows` / `pattern_cols`). Live p95 and the saved page's paint: "
        "`python -m benchmarks.longcontext_browser` (section below).",
        "Not in the probes, recorded for the record (2026-12-02, load average 16–19 on 2 cores, "
        "ad-hoc scripts in one process, SmolLM2, 2,048 tokens, pairs interleaved): the bare SDPA "
        "forward took 52 s and 68 s; reading through the SDPA capture (first version, before the "
        "flash kernel's log-sum-exp was kept) 70 s and 76 s (1.1–1.35×); reading through "
        "TransformerLens's own KV cache in 512-token chunks (eager attention per chunk, bounded "
        "memory, no SDPA) 237 s and 214 s against 83 s and 94 s (2.3–2.9×) — why the SDPA capture "
        "replaced it. On a quiet machine a 2,048-token SDPA forward takes a few seconds: these "
        "absolute times are 10–20× slowed by other work.",
        f"Load average (1/5/15 min) at the start → end of each probe: {loads}. No GPU was lent "
        "to this session: the 32,768-token random-init Llama row is not measured.",
    ]
    notes += _browser_notes()
    return CaseResult("longcontext", TITLE, rows, notes)


def _browser_notes() -> list[str]:
    """The browser columns, from the JSON that ``python -m benchmarks.longcontext_browser``
    (saved pages and the live switch on hand-built heads) and its ``--live-smollm2`` (the live
    switch on SmolLM2's own heads) wrote, with when they were measured."""
    from . import longcontext_browser as lb

    here = Path(__file__).resolve().parent
    notes = []
    planted = here / "longcontext_browser.json"
    if planted.is_file():
        rows = json.loads(planted.read_text())
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(planted.stat().st_mtime))
        notes.append(
            f"Browser columns (`python -m benchmarks.longcontext_browser`, written {when}; "
            "hand-built heads of `tests/planted.py` on the tiny model's activations re-shaped to "
            "n tokens, so page sizes there are lower bounds — the real head's page is the row "
            "above; live: 8 switches of the Head select, 200 ms apart, heads 3, 0, 1, 2, 3, 0, 1, "
            "2 from head 2):\n\n"
            + "\n".join(x for x in lb.table(rows, "").splitlines() if not x.startswith("load"))
        )
    live = here / "longcontext_live_smollm2.json"
    if live.is_file():
        for r in json.loads(live.read_text()):
            tokens, matrix = r["live"].get("tokens", []), r["live"].get("matrix", [])
            fmt = ", ".join
            notes.append(
                f"Live in JupyterLab on SmolLM2's own heads (`python -m benchmarks."
                f"longcontext_browser --live-smollm2 --sizes {r['n']}`; layer 18, heads 3, 0, 1, "
                f"2, 3, 0, 1, 2 from head 2, 200 ms apart; load {r.get('load', '?')}), {r['n']:,} "
                f"tokens, each switch from the change event to the frame after the new head is "
                f"drawn (ms): token view {fmt(f'{v:.0f}' for v in tokens)}; matrix "
                f"{fmt(f'{v:.0f}' for v in matrix)}. The second switch (head 0) is the one head "
                "neither made before nor a neighbour made in the background; the first (head 3) "
                "and third (head 1) were neighbours, the rest revisits."
            )
    return notes


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    if len(sys.argv) >= 4 and sys.argv[1] == "longrange":
        import torch

        torch.set_num_threads(min(2, torch.get_num_threads()))
        print("@@" + json.dumps(probe_long_range(sys.argv[2], int(sys.argv[3]))), flush=True)
    elif len(sys.argv) >= 4 and sys.argv[1] == "probe":
        import torch

        torch.set_num_threads(min(2, torch.get_num_threads()))
        result = probe(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
        print("@@" + json.dumps(result), flush=True)
