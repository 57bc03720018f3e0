"""Case 4 — live head switch in a real JupyterLab.

A JupyterLab server (private temporary root/config/data dirs, as ``tests/browser/conftest.py``
does) runs a notebook that loads SmolLM2, builds a 1,024-token text (``iw.copying_text()``
repeated), times a bare forward pass of it in the kernel (the baseline: what re-running the model
on every switch would cost), then shows ``iw.TokenView`` (with the last token locked, so every
span carries a value) and ``iw.AttentionMatrix`` sharing one ``TextActivations``. Kernel RSS
(``psutil``) is read before and after creating the views.

Debian Chromium (Playwright) then changes the view's Head ``<select>`` ≥ 20 times per view. Each
switch is timed in the page: from just before the ``change`` event is dispatched to the end of the
first rendered frame after the view applied the new head's buffers sent back by the kernel — the
first ``data-value``/``style`` mutation of the token spans, or the first redraw of the matrix
canvas (its ``data-*`` attributes are rewritten by each draw), then ``requestAnimationFrame`` →
``MessageChannel``. The final state is checked against the kernel's tensors.
"""

from __future__ import annotations

import json
import time
from typing import Any

from labkit import Lab, LabNotebook

from .common import (
    REPO,
    CaseResult,
    Row,
    Stats,
    chromium,
    fmt_bytes,
    fmt_ms,
    fmt_ratio,
    offline_context,
)

TITLE = "Live head switch in JupyterLab (SmolLM2, 1,024 and 2,048 tokens)"
#: text length → the p95 goal (s) of issue 14 (head data on request)
SIZES = {1024: 0.150, 2048: 0.300}
SWITCHES = 24
#: the previous figures of record (bb36553, 2026-11-27, load ~0.3–3): before the views read
#: rows on demand, the float16 lower triangles and the delayed rest-of-head prefetch
PREVIOUS = {
    (1024, "tokens"): "median 28 ms, p95 95 ms",
    (1024, "matrix"): "median 22 ms, p95 49 ms",
    (2048, "tokens"): "median 145 ms, p95 856 ms",
    (2048, "matrix"): "median 153 ms, p95 332 ms",
}


# ---- the notebook -------------------------------------------------------------------------------

SETUP = """\
import ctypes, gc, json, os, sys, time, warnings
sys.path.insert(0, __REPO__)  # for benchmarks.common
warnings.filterwarnings("ignore")
import psutil, torch
import induction_widgets as iw
from benchmarks.common import text_ids
from induction_widgets.payload import head_payloads
model = iw.load_model(__MODEL__, progress=False)
ids = text_ids(model, __N__)
N = len(ids)
LAYER, HEAD = __LAYER__, __HEAD__
def rss():  # live memory: freed heap handed back to the OS first
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss
with torch.no_grad():
    model(ids[None])  # warm-up
fwd = []
for _ in range(__REPS__):
    gc.collect()
    t = time.perf_counter()
    with torch.no_grad():
        model(ids[None])
    fwd.append(time.perf_counter() - t)
rss0 = rss()
print("setup done")
"""

VIEWS = """\
t = time.perf_counter()
acts = iw.TextActivations(model, ids, progress=False)
tv = iw.TokenView(model, ids, LAYER, HEAD, activations=acts, selected=N - 1)
t_view = time.perf_counter() - t
rss1 = rss()
tv
"""

MATRIX = """\
am = iw.AttentionMatrix(model, ids, LAYER, HEAD, activations=acts)
rss2 = rss()
am
"""

REPORT = """\
pay = []
for h in range(model.cfg.n_heads):
    t = time.perf_counter()
    head_payloads(acts, LAYER, h)
    pay.append(time.perf_counter() - t)
print("@@" + json.dumps({"fwd": fwd, "rss0": rss0, "rss1": rss1, "rss2": rss2, "t_view": t_view,
    "acts_nbytes": acts.nbytes, "payload_s": pay, "n": N, "n_heads": model.cfg.n_heads}) + "@@")
"""

#: In-page: switch the view's head select to ``head`` and resolve with the latency (ms) once the
#: new head's buffers were applied and rendered.
SWITCH_JS = r"""([root, kind, head, timeout]) => new Promise((resolve) => {
  const select = root.querySelector(".iw-head-select");
  const target = kind === "tokens" ? root.querySelector(".iw-tokens") : root.querySelector("canvas.iw-plot");
  const opts = kind === "tokens"
    ? { subtree: true, attributes: true, attributeFilter: ["data-value", "style"] }
    : { attributes: true };
  let done = false;
  const timer = setTimeout(() => { if (!done) { done = true; mo.disconnect(); resolve(null); } }, timeout);
  const mo = new MutationObserver(() => {
    if (done) return;
    done = true;
    mo.disconnect();
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { clearTimeout(timer); resolve(performance.now() - t0); };
      ch.port2.postMessage(0);
    });
  });
  mo.observe(target, opts);
  const t0 = performance.now();
  select.value = String(head);
  select.dispatchEvent(new Event("change", { bubbles: true }));
})"""

READ_ROW = r"""(root) => [...root.querySelectorAll(".iw-token")].map(
  (s) => (s.dataset.value === undefined ? null : Number(s.dataset.value)))"""


def _json_between(text: str) -> Any:
    start, end = text.index("@@") + 2, text.rindex("@@")
    return json.loads(text[start:end])


def run(ctx: Any) -> CaseResult:
    rows: list[Row] = []
    notes: list[str] = []
    for n, goal in ({200: 0.150} if ctx.quick else SIZES).items():
        r, m = _run_size(ctx, n, goal)
        rows += r
        notes += m
    return CaseResult("live", TITLE, rows, notes)


def _run_size(ctx: Any, n: int, goal: float) -> tuple[list[Row], list[str]]:
    model_name = "tiny" if ctx.quick else "smollm2"
    switches = 8 if ctx.quick else SWITCHES
    from .browser import _head

    layer, head = _head(ctx, model_name)
    cells = [
        SETUP.replace("__REPO__", repr(str(REPO)))
        .replace("__MODEL__", repr(model_name))
        .replace("__N__", str(n))
        .replace("__LAYER__", str(layer))
        .replace("__HEAD__", str(head))
        .replace("__REPS__", str(ctx.reps)),
        VIEWS,
        MATRIX,
        REPORT,
    ]
    lab = Lab(ctx.tmp / f"lab{n}")
    t = time.monotonic()
    lab.start()
    ctx.log(f"  JupyterLab up in {time.monotonic() - t:.1f} s")
    rows: list[Row] = []
    notes: list[str] = []
    try:
        with chromium() as browser:
            bctx = offline_context(browser, (lab.url, "data:", "blob:"))
            bctx.set_default_timeout(60_000)
            off_box: list[str] = bctx.request_log
            nb = LabNotebook(lab, bctx, "live_switch", cells)
            t = time.monotonic()
            nb.open(timeout=600_000)
            ctx.log(f"  notebook ran in {time.monotonic() - t:.1f} s")
            errs = nb.errors()
            if errs:
                raise RuntimeError(f"notebook cell failed: {errs[0][-2000:]}")
            k = _json_between("\n".join(nb.output(3).all_text_contents()))
            page = nb.page
            tv_root = page.locator(".iw-token-view").first
            am_root = page.locator(".iw-attention-matrix").first
            tv_root.locator(".iw-token").first.wait_for()
            am_root.locator("canvas.iw-plot").wait_for()
            n_heads = int(k["n_heads"])
            order = [(head + 1 + i) % n_heads for i in range(switches)]
            lat: dict[str, list[float]] = {"tokens": [], "matrix": []}
            timeouts = {"tokens": 0, "matrix": 0}
            for kind, root in (("tokens", tv_root), ("matrix", am_root)):
                root.scroll_into_view_if_needed()
                handle = root.element_handle()
                for i, h in enumerate(order):
                    ms = page.evaluate(SWITCH_JS, [handle, kind, h, 15_000])
                    if ms is None:
                        timeouts[kind] += 1
                    else:
                        lat[kind].append(ms)
                    ctx.log(
                        f"    {kind} switch {i + 1}/{len(order)} → head {h}: {ms or float('nan'):.1f} ms"
                    )
                    page.wait_for_timeout(150)  # let the kernel go idle
            # check: the token view shows the kernel's attention row of the last head
            last = order[-1]
            page.wait_for_timeout(500)
            shown = tv_root.evaluate(READ_ROW)
            scale = tv_root.evaluate("(r) => r.dataset.scale")
            check = nb_eval_row(ctx, model_name, n, layer, last, shown, scale)
            notes.append(check)
            if nb.problems.page_errors:
                notes.append(f"page errors: {nb.problems.page_errors[:3]}")
            if off_box:
                notes.append(f"requests that left the lab server (blocked): {off_box[:3]}")
            bctx.close()
    finally:
        lab.stop()

    fwd = Stats(k["fwd"])
    pay = Stats(k["payload_s"])
    for kind, label in (("tokens", "token view"), ("matrix", "matrix")):
        ms = lat[kind]
        if not ms:
            rows.append(
                Row(
                    f"Live head switch, {label}",
                    "no switch completed",
                    fwd.fmt(),
                    "n/a",
                    f"≤ {goal * 1e3:.0f} ms",
                )
            )
            continue
        st = Stats([m / 1e3 for m in ms])
        p95 = st.q(0.95)
        rows.append(
            Row(
                f"Live head switch, {label}, {k['n']:,} tokens (JupyterLab, kernel round trip) vs "
                "a bare forward pass of the text in the kernel",
                f"median {fmt_ms(st.median * 1e3)}, p95 {fmt_ms(p95 * 1e3)}, max {fmt_ms(st.hi * 1e3)} "
                f"(n={st.n}{f', {timeouts[kind]} timed out' if timeouts[kind] else ''})"
                + (
                    f"; previously (bb36553) {PREVIOUS[(k['n'], kind)]}"
                    if (k["n"], kind) in PREVIOUS and not ctx.quick
                    else ""
                ),
                fwd.fmt(),
                fmt_ratio(st.median / fwd.median),
                f"≤ {goal * 1e3:.0f} ms, judged on p95 (absolute, this machine)",
                None if ctx.quick else p95 <= goal,
                {"ours_ms": ms, "forward_s": k["fwd"]},
            )
        )
    for kind, label in (("tokens", "token view"), ("matrix", "matrix")):
        cold = lat[kind][: int(k["n_heads"])]  # the first visit of each head of the layer
        if cold:
            cs = Stats([m / 1e3 for m in cold])
            rows.append(
                Row(
                    f"Live head switch, {label}, {k['n']:,} tokens: first visit of each head only "
                    "(no browser cache; the neighbour prefetch may have answered)",
                    f"median {fmt_ms(cs.median * 1e3)}, p95 {fmt_ms(cs.q(0.95) * 1e3)}, "
                    f"max {fmt_ms(cs.hi * 1e3)} (n={cs.n})",
                    fwd.fmt(),
                    fmt_ratio(cs.median / fwd.median),
                    "— (context)",
                    None,
                    {"ours_ms": cold},
                )
            )
    added_tv = k["rss1"] - k["rss0"]
    added_all = k["rss2"] - k["rss0"]
    rows.append(
        Row(
            f"Kernel memory added by the views, {k['n']:,} tokens (RSS after − before)",
            f"{fmt_bytes(added_tv)} token view (incl. its TextActivations); "
            f"{fmt_bytes(added_all)} with the matrix too",
            f"TextActivations holds {fmt_bytes(k['acts_nbytes'])}",
            "n/a",
            "— (context)",
            None,
            {"rss0": k["rss0"], "rss1": k["rss1"], "rss2": k["rss2"], "acts": k["acts_nbytes"]},
        )
    )
    notes[:0] = [
        f"{'tiny' if ctx.quick else 'SmolLM2-135M'}, head L{layer}H{{0…{n_heads - 1}}} (layer of "
        f"the strongest induction head), {k['n']:,} tokens; {len(order)} switches per view to "
        "the next head of the same layer, 150 ms apart. Head data on request: the view asks the "
        "kernel for the buffers of the mode on screen and prefetches the rest of the head and its "
        "neighbours (head ± 1), so a step to the next head is often answered from the browser's "
        "cache; the per-switch figures are in results.json.",
        f"In the kernel: a new head's buffers (`head_payloads`: attention recomputed from the cached "
        f"queries/keys, logit attribution, value norms) take {pay.fmt()}; creating "
        f"`TextActivations` + the token view took {k['t_view']:.2f} s once. Baseline: "
        f"`model(tokens)` on the same {k['n']:,} tokens under `torch.no_grad()`, {fwd.n} runs after "
        "a warm-up — what re-running the model on every switch would cost at least.",
        f"Kernel RSS before the views: {fmt_bytes(k['rss0'])} (model loaded). RSS is read after "
        "`gc.collect()` and glibc `malloc_trim(0)` (freed heap handed back to the OS), so it "
        "counts live memory; without the trim the views reuse pages freed by the forward passes "
        "above and look almost free.",
    ]
    return rows, notes


def nb_eval_row(
    ctx: Any, model_name: str, n: int, layer: int, head: int, shown: list[Any], scale: str = ""
) -> str:
    """Compare the token view's shown values (locked last token) with the attention row computed
    here, in the benchmark process, from the same model and text — on the scale the view shows
    (``data-scale``: "without sink" leaves the sink's columns out and renormalises the row, as
    ``compute/sink.py``'s ``without_sink`` with the head's ``sink_width``)."""
    import numpy as np

    import induction_widgets as iw
    from induction_widgets.compute.sink import sink_width, without_sink

    from .common import text_ids

    model = ctx.model(model_name)
    ids = text_ids(model, n)
    pattern = iw.attention_pattern(model, ids, layer, head)
    if scale == "without sink":
        pattern = without_sink(pattern, max(1, sink_width(pattern)))
    want = pattern[-1].numpy()
    got = np.array([np.nan if v is None else v for v in shown], dtype=np.float64)
    if got.shape != want.shape:
        return f"check FAILED: {got.shape} values shown, expected {want.shape}"
    err = float(np.nanmax(np.abs(got - want)))
    ok = err < 2e-3 and not np.isnan(got).any()
    return (
        f"Check after the last switch (head {head}, scale on screen: {scale or 'all sources'}): the "
        f"token view's {len(got)} shaded values match the attention row of the locked last token "
        f"computed in the benchmark process (max abs difference {err:.2g}, float16 transport)"
        f"{'' if ok else ' — MISMATCH'}."
    )
