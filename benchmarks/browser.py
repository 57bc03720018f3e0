"""Case 3 — the saved views in Chromium: first paint and hover → repaint latency.

Pages: SmolLM2 on ``iw.copying_text()`` repeated and cut to 256, 1,024 and 2,048 tokens, one head
(the strongest prefix-matching head of case 1, else L3H0... see ``_head``), written with
``save_html(heads=[(layer, head)])`` — real model activations, not synthetic data. Baselines: the
same attention pattern through CircuitsVis, as the self-contained page it shows offline
(``local_src``: JSON data + its inline bundle): ``attention_patterns`` (tokens coloured by the
hovered token's attention — the token view's counterpart) and ``attention_heads`` (a chart.js
heatmap with a hover tooltip — the matrix's counterpart).

Measured in the page with ``performance.now()`` (an init script, see ``PROBE_JS``):

* **first paint** — from navigation start (``performance.now()`` origin) to the end of the first
  frame in which the view's content exists: ``body[data-iw-ready=true]`` and all ``n`` token spans
  (token view) or ``canvas.iw-plot[data-n=n]`` (matrix); for CircuitsVis ``n`` token buttons, or
  its heatmap canvas. "End of the frame": a ``requestAnimationFrame`` callback that finds the
  content posts a ``MessageChannel`` message, which runs once that frame was rendered.
* **hover → repaint** — Playwright moves the real mouse (CDP input events) over successive tokens
  (the last ones of the text, where a hover reshades up to every span) or successive matrix cells
  (the diagonal). Latency = from the first pointer event of the move (capture listener on
  ``window``) to the end of the next rendered frame after the last event's handlers and after the
  last DOM mutation they caused (a ``MutationObserver`` re-arms the frame wait, so React's
  deferred commits in CircuitsVis are counted); a canvas-only update (chart.js) is counted by the
  frame that follows its ``requestAnimationFrame`` redraw. Not counted: the wait of the input
  event in the browser's queue before dispatch (reported separately from ``event.timeStamp``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .common import (
    CaseResult,
    Row,
    Stats,
    chromium_process,
    ensure_circuitsvis,
    fmt_bytes,
    fmt_ms,
    fmt_ratio,
    offline_context,
    text_ids,
)
from .payload import CV_SHELL

TITLE = "Browser: first paint and hover → repaint of the saved views (Chromium)"
SIZES = (256, 1024, 2048)
HOVERS = 250
PAINT_REPS = 3
CV_PAINT_TIMEOUT_S = 45.0
CV_HOVER_BUDGET_S = 15.0

PROBE_JS = r"""
(() => {
  const now = () => performance.now();
  // ---- first paint ------------------------------------------------------------------------
  const fp = (window.__fp = { ready: null, paint: null, error: null });
  const ready = __READY__;
  const poll = () => {
    let ok = false;
    try { ok = Boolean(ready()); } catch (e) { fp.error = String(e); }
    if (ok) {
      fp.ready = now();
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { fp.paint = now(); };
      ch.port2.postMessage(0);
      return;
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);

  // ---- hover --------------------------------------------------------------------------------
  const hv = (window.__hv = { armed: false, done: [], active: null, waiters: [] });
  const afterFrame = (cb) => requestAnimationFrame(() => {
    const start = now();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => cb(start, now());
    ch.port2.postMessage(0);
  });
  function begin(e) {
    if (!hv.armed || hv.active) return;
    hv.active = { t0: now(), ts: e.timeStamp, lastMut: -1, waiting: false, quiet: 0, last: null };
  }
  function settle() {
    const a = hv.active;
    if (!a || a.waiting) return;
    a.waiting = true;
    afterFrame((frameStart, end) => {
      a.waiting = false;
      if (hv.active !== a) return;
      if (a.lastMut >= frameStart) { settle(); return; }      // changed after that frame began
      if (a.lastMut < 0 && a.quiet < 1) { a.quiet++; a.last = a.last ?? end; settle(); return; }
      const t1 = a.lastMut < 0 ? a.last ?? end : end;
      finish({ ms: t1 - a.t0, queued_ms: a.t0 - a.ts, mutated: a.lastMut >= 0 });
    });
  }
  function finish(r) {
    hv.active = null;
    hv.done.push(r);
    const ws = hv.waiters; hv.waiters = [];
    ws.forEach((w) => w());
  }
  addEventListener("pointerover", begin, true);
  addEventListener("pointermove", begin, true);
  addEventListener("mousemove", () => { if (hv.active) settle(); }, false);
  new MutationObserver(() => { if (hv.active) { hv.active.lastMut = now(); settle(); } })
    .observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  hv.wait = (k, timeout) => new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), timeout);
    const check = () => {
      if (hv.done.length >= k) { clearTimeout(t); resolve(hv.done[k - 1]); }
      else hv.waiters.push(check);
    };
    check();
  });
})();
"""

READY = {
    "ours_tokens": "() => document.body && document.body.dataset.iwReady === 'true' && "
    "document.querySelectorAll('.iw-token').length === __N__",
    "ours_matrix": "() => document.body && document.body.dataset.iwReady === 'true' && "
    "document.querySelector('canvas.iw-plot')?.dataset.n === '__N__'",
    "cv_tokens": "() => document.querySelectorAll('button').length >= __N__",
    "cv_matrix": "() => document.querySelectorAll('canvas').length >= 2 && "
    "[...document.querySelectorAll('canvas')].some(c => c.width > 200)",
}

#: In-page: scroll the last token into view, return centre points of the visible tokens, last
#: tokens of the text last. ``sel``: token selector.
TOKEN_POINTS = r"""([sel, k]) => {
  const els = [...document.querySelectorAll(sel)];
  els[els.length - 1].scrollIntoView({ block: "end" });
  const H = innerHeight, W = innerWidth, pts = [];
  for (const el of els) {
    const r = el.getClientRects()[0];
    if (!r || r.width < 2 || r.top < 0 || r.bottom > H || r.left < 0 || r.right > W) continue;
    pts.push([r.left + r.width / 2, r.top + r.height / 2]);
  }
  return pts.slice(-k);
}"""

#: In-page: points along the diagonal of a heatmap canvas, one per cell (or per CSS pixel when
#: cells are smaller). ``plot``: [left, top, size] inside the canvas, or null for the whole canvas.
MATRIX_POINTS = r"""([sel, n, k]) => {
  const cs = [...document.querySelectorAll(sel)];
  const c = cs.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  c.scrollIntoView({ block: "start" });
  const r = c.getBoundingClientRect();
  let left, top, size;
  if (c.dataset.plotSize) {
    left = r.left + Number(c.dataset.plotLeft); top = r.top + Number(c.dataset.plotTop);
    size = Number(c.dataset.plotSize);
  } else {  // chart.js: assume the plot fills the canvas minus ~12% for the axes
    left = r.left + 0.12 * r.width; top = r.top + 0.02 * r.height;
    size = 0.85 * Math.min(r.width, r.height);
  }
  size = Math.min(size, innerHeight - top - 2);
  const step = Math.max(size / n, 1);
  const pts = [];
  for (let i = 0; pts.length < k && (i + 0.5) * step < size; i++) {
    pts.push([left + (i + 0.5) * step, top + (i + 0.5) * step]);
  }
  return pts;
}"""


def _head(ctx: Any, model_name: str) -> tuple[int, int]:
    best = ctx.shared.get(f"best_head_{model_name}")
    if best is not None:
        return best
    import induction_widgets as iw

    scores = iw.head_scores(ctx.model(model_name), n_examples=4, progress=False)
    best = scores.top(1)[0]
    ctx.shared[f"best_head_{model_name}"] = (best.layer, best.head)
    return best.layer, best.head


def build_pages(ctx: Any, model_name: str, sizes: tuple[int, ...], cv: bool) -> dict[str, Any]:
    """Write ours and CircuitsVis's pages for each size; return {(kind, n): path} and notes."""
    import induction_widgets as iw

    model = ctx.model(model_name)
    layer, head = _head(ctx, model_name)
    pages: dict[tuple[str, int], Path] = {}
    build: dict[str, float] = {}
    for n in sizes:
        ids = text_ids(model, n)
        t = time.perf_counter()
        acts = iw.TextActivations(model, ids, layers=[layer], progress=False)
        t_acts = time.perf_counter() - t
        t = time.perf_counter()
        tv = iw.TokenView(model, ids, layer, head, activations=acts)
        p = ctx.tmp / f"tv_{n}.html"
        tv.save_html(p, heads=[(layer, head)])
        am = iw.AttentionMatrix(model, ids, layer, head, activations=acts)
        q = ctx.tmp / f"am_{n}.html"
        am.save_html(q, heads=[(layer, head)])
        build[f"ours_{n}"] = time.perf_counter() - t
        pages[("ours_tokens", n)] = p
        pages[("ours_matrix", n)] = q
        if cv:
            from circuitsvis.attention import attention_heads, attention_patterns

            t = time.perf_counter()
            a = acts.attention(layer, head)[None]
            toks = acts.str_tokens
            p = ctx.tmp / f"cv_tokens_{n}.html"
            p.write_text(CV_SHELL.format(body=attention_patterns(toks, a).local_src), "utf-8")
            q = ctx.tmp / f"cv_matrix_{n}.html"
            q.write_text(CV_SHELL.format(body=attention_heads(a, toks).local_src), "utf-8")
            build[f"cv_{n}"] = time.perf_counter() - t
            pages[("cv_tokens", n)] = p
            pages[("cv_matrix", n)] = q
        ctx.log(f"  pages for {n} tokens built (activations {t_acts:.1f} s)")
    return {"pages": pages, "head": (layer, head), "build": build}


def first_paint(browser: Any, path: Path, kind: str, n: int, timeout_s: float) -> dict[str, Any]:
    """One cold load in a fresh context: in-page first-paint time (ms) or the reason it failed."""
    ctx = offline_context(browser)
    ready = READY[kind].replace("__N__", str(n))
    ctx.add_init_script(PROBE_JS.replace("__READY__", ready))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    t = time.perf_counter()
    try:
        page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(
            "() => window.__fp && window.__fp.paint !== null", timeout=timeout_s * 1000
        )
        fp = page.evaluate("() => window.__fp")
        out = {"paint_ms": fp["paint"], "ready_ms": fp["ready"], "wall_s": time.perf_counter() - t}
    except Exception as exc:
        out = {"error": f"no first paint within {timeout_s:.0f} s ({type(exc).__name__})"}
    out["page_errors"] = errors[:3]
    out["blocked"] = list(ctx.request_log)[:3]
    out["_ctx"] = ctx
    out["_page"] = page
    return out


def hovers(page: Any, kind: str, n: int, k: int, budget_s: float) -> dict[str, Any]:
    """Move the mouse over ``k`` successive targets; per-hover latencies (ms)."""
    if kind.endswith("tokens"):
        sel = ".iw-token" if kind.startswith("ours") else "button"
        pts = page.evaluate(TOKEN_POINTS, [sel, k])
    else:
        sel = "canvas.iw-plot" if kind.startswith("ours") else "canvas"
        pts = page.evaluate(MATRIX_POINTS, [sel, n, k])
    if not pts:
        return {"error": "no hover targets found"}
    targets = [pts[i % len(pts)] for i in range(k)]
    page.mouse.move(2, 2)  # start outside the view
    page.wait_for_timeout(50)
    page.evaluate("() => { window.__hv.armed = true; }")
    t_end = time.monotonic() + budget_s
    got: list[dict[str, Any]] = []
    timeouts = 0
    for i, (x, y) in enumerate(targets):
        page.mouse.move(x, y)
        r = page.evaluate("([k]) => window.__hv.wait(k, 5000)", [i + 1 - timeouts])
        if r is None:
            timeouts += 1
            page.evaluate("() => { window.__hv.active = null; }")
        else:
            got.append(r)
        if time.monotonic() > t_end:
            break
    ms = [r["ms"] for r in got]
    return {
        "ms": ms,
        "queued_ms": [r["queued_ms"] for r in got],
        "attempted": i + 1,
        "timeouts": timeouts,
        "distinct_targets": len(pts),
        "mutated": sum(1 for r in got if r["mutated"]),
    }


def _p(values: list[float], q: float) -> float:
    return Stats(values, "x").q(q)


def measure(ctx: Any, pw: Any, path: Path, kind: str, n: int) -> dict[str, Any]:
    """First paint (fresh context per load) and hovers (on the last load) of one page, in a
    Chromium of its own that is killed afterwards (a hung baseline page cannot slow the next)."""
    with chromium_process(pw, ctx.tmp) as browser:
        return _measure(ctx, browser, path, kind, n)


def _measure(ctx: Any, browser: Any, path: Path, kind: str, n: int) -> dict[str, Any]:
    is_cv = kind.startswith("cv")
    reps = 1 if ctx.quick else (2 if is_cv else PAINT_REPS)
    timeout = 20.0 if ctx.quick else (CV_PAINT_TIMEOUT_S if is_cv else 60.0)
    paints: list[float] = []
    res: dict[str, Any] = {"bytes": path.stat().st_size}
    last = None
    for r in range(reps):
        if last is not None:
            last["_ctx"].close()
        fp = first_paint(browser, path, kind, n, timeout)
        last = fp
        if "error" in fp:
            res["error"] = fp["error"]
            res["timeout_s"] = timeout
            break
        paints.append(fp["paint_ms"])
        ctx.log(f"    {kind} n={n} load {r + 1}/{reps}: first paint {fp['paint_ms']:.0f} ms")
        if fp["page_errors"]:
            res["page_errors"] = fp["page_errors"]
        if fp["blocked"]:
            res["blocked"] = fp["blocked"]
    res["paint_ms"] = paints
    if "error" not in res and last is not None:
        budget = 5.0 if ctx.quick else (CV_HOVER_BUDGET_S if is_cv else 120.0)
        k = 60 if ctx.quick else HOVERS
        h = hovers(last["_page"], kind, n, k, budget)
        res["hover"] = h
        if h.get("ms"):
            ctx.log(
                f"    {kind} n={n}: {len(h['ms'])} hovers, p50 {_p(h['ms'], 0.5):.1f} ms, "
                f"p95 {_p(h['ms'], 0.95):.1f} ms"
            )
    if last is not None and "error" not in res:
        last["_ctx"].close()
    return res


def _paint_cell(m: dict[str, Any]) -> str:
    if m.get("error"):
        return m["error"]
    return Stats([v / 1e3 for v in m["paint_ms"]]).fmt() + f"; page {fmt_bytes(m['bytes'])}"


def _hover_cell(m: dict[str, Any]) -> str:
    h = m.get("hover")
    if m.get("error"):
        return f"not measured ({m['error']})"
    if not h or not h.get("ms"):
        return f"not measured ({(h or {}).get('error', 'no hover registered')})"
    ms = h["ms"]
    text = f"p50 {fmt_ms(_p(ms, 0.5))}, p95 {fmt_ms(_p(ms, 0.95))}, max {fmt_ms(max(ms))} (n={len(ms)})"
    if h["timeouts"]:
        text += f", {h['timeouts']} moves without a repaint in 5 s"
    return text


def run(ctx: Any) -> CaseResult:
    model_name = "tiny" if ctx.quick else "smollm2"
    sizes = (128, 256) if ctx.quick else SIZES
    cv_version = ensure_circuitsvis(ctx.log)
    built = build_pages(ctx, model_name, sizes, cv_version is not None)
    layer, head = built["head"]
    pages = built["pages"]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    cv_gave_up: dict[str, tuple[int, str]] = {}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        for n in sizes:
            for kind in ("ours_tokens", "cv_tokens", "ours_matrix", "cv_matrix"):
                if (kind, n) not in pages:
                    continue
                if kind in cv_gave_up:
                    at, why = cv_gave_up[kind]
                    results[(kind, n)] = {
                        "error": f"not attempted: at {at} tokens already {why}",
                        "bytes": pages[(kind, n)].stat().st_size,
                    }
                    continue
                ctx.log(f"  {kind}, {n} tokens")
                results[(kind, n)] = m = measure(ctx, pw, pages[(kind, n)], kind, n)
                if m.get("error") and kind.startswith("cv"):
                    cv_gave_up[kind] = (n, m["error"])
    rows: list[Row] = []
    big = max(sizes)
    for view, label, cv_label in (
        ("tokens", "token view", "`attention_patterns`"),
        ("matrix", "matrix", "`attention_heads`"),
    ):
        for n in sizes:
            o = results[(f"ours_{view}", n)]
            c = results.get((f"cv_{view}", n), {"error": "CircuitsVis unavailable"})
            o_ok = not o.get("error")
            ratio = "n/a"
            if o_ok and not c.get("error"):
                ratio = fmt_ratio(Stats(o["paint_ms"]).median / Stats(c["paint_ms"]).median)
            elif o_ok and c.get("timeout_s"):  # the baseline took longer than the timeout
                bound = Stats(o["paint_ms"]).median / (c["timeout_s"] * 1e3)
                ratio = f"< {fmt_ratio(bound)} (baseline > {c['timeout_s']:.0f} s)"
            met = None
            goal = "—"
            if n == big and not ctx.quick:
                goal = "≤ 500 ms at 2,048 tokens (absolute, this machine)"
                met = o_ok and Stats(o["paint_ms"]).median <= 500
            rows.append(
                Row(
                    f"First paint, {label}, {n:,} tokens: saved page vs CircuitsVis {cv_label}",
                    _paint_cell(o),
                    _paint_cell(c),
                    ratio,
                    goal,
                    met,
                    {"ours": _clean(o), "baseline": _clean(c)},
                )
            )
        for n in sizes:
            o = results[(f"ours_{view}", n)]
            c = results.get((f"cv_{view}", n), {"error": "CircuitsVis unavailable"})
            oh, ch = o.get("hover") or {}, c.get("hover") or {}
            ratio = "n/a"
            if oh.get("ms") and ch.get("ms"):
                ratio = "p95 " + fmt_ratio(_p(oh["ms"], 0.95) / _p(ch["ms"], 0.95))
            met = None
            goal = "—"
            if n == big and not ctx.quick:
                goal = "p95 ≤ 16 ms at 2,048 tokens (absolute, this machine)"
                met = bool(oh.get("ms")) and _p(oh["ms"], 0.95) <= 16
            rows.append(
                Row(
                    f"Hover → repaint, {label}, {n:,} tokens: saved page vs CircuitsVis {cv_label}",
                    _hover_cell(o),
                    _hover_cell(c),
                    ratio,
                    goal,
                    met,
                )
            )
    notes = [
        f"{'tiny' if ctx.quick else 'SmolLM2-135M'}, head L{layer}H{head} (the strongest "
        "prefix-matching head on the paper's protocol), on `iw.copying_text()` repeated and cut to "
        f"{', '.join(f'{n:,}' for n in sizes)} tokens: real activations, one head per page "
        "(`save_html(heads=[(layer, head)])`, attention + logit attribution embedded). Debian "
        f"Chromium headless, 1280×1000 viewport, every request outside `file:`/`data:`/`blob:` "
        "blocked (none was attempted unless noted).",
        "First paint: a fresh browser context per load; in-page time from navigation start to "
        "the end of the first rendered frame that contains the whole view (all token spans / the "
        "matrix canvas with its data). "
        f"Ours {PAINT_REPS} loads per page, CircuitsVis 2 (up to {CV_PAINT_TIMEOUT_S:.0f} s each; "
        "a larger size is not attempted once a smaller one did not paint in time).",
        f"Hover: {HOVERS} real mouse moves per page over successive targets — the last tokens of the "
        "text (each hover reshades up to every span) or successive diagonal cells of the matrix — "
        "from the first pointer event's handler start to the end of the frame that shows the change "
        f"(CircuitsVis: as many as fit in {CV_HOVER_BUDGET_S:.0f} s). CircuitsVis "
        "`attention_patterns` colours tokens by the hovered token's attention (the token view's "
        "counterpart); `attention_heads` shows a chart.js heatmap whose hover draws a tooltip.",
    ]
    qs = []
    for (kind, n), m in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        h = m.get("hover") or {}
        if h.get("queued_ms"):
            qs.append(f"{kind} {n}: p50 {_p(h['queued_ms'], 0.5):.1f} ms")
        if m.get("page_errors"):
            notes.append(f"{kind} {n}: page errors {m['page_errors']}")
        if m.get("blocked"):
            notes.append(f"{kind} {n}: blocked requests {m['blocked']}")
    if qs:
        notes.append(
            "Time an input event waited in the browser's queue before its handlers ran "
            "(`performance.now()` − `event.timeStamp`; not in the latencies above): "
            + "; ".join(qs)
        )
    notes.append(
        "Page sizes (bytes): "
        + ", ".join(f"{kind} {n}: {fmt_bytes(p.stat().st_size)}" for (kind, n), p in pages.items())
    )
    notes.append(
        "Build time of the pages (view + save_html / CircuitsVis call + write; not a goal): "
        + ", ".join(f"{k}: {v:.2f} s" for k, v in built["build"].items())
    )
    return CaseResult("browser", TITLE, rows, notes)


def _clean(m: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: v for k, v in m.items() if not k.startswith("_")}))
