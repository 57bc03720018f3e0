"""``longcontext``, the browser columns (issue 22): saved page size, build time and first paint,
token-view hover, and the live head switch in JupyterLab, at 2,048 / 4,096 / 8,192 tokens.

The heads are hand-built (``tests/planted.py``: every head attends 0.8 to the previous token and
0.2 to BOS; head L1H2 also puts 0.6 on one far cell) on real ``TextActivations`` of the bundled
tiny model re-shaped to ``n`` tokens — so the page side is measured without SmolLM2's forward pass
(its memory-efficient capture is the compute half's). What depends on the head's numbers (compact
rows: 2–3 entries per row here, up to 64 on a real head) is said beside the figures.

* **build** — ``AttentionMatrix.save_html(heads=[(1, 2)])`` (both modes: compact rows and
  overviews of attention and attribution), fresh activations per size, wall time.
* **page** — bytes of that file (one head, plus the ~150 kB runtime) and of the token view's.
* **first paint** — ``benchmarks.browser.first_paint`` (navigation start → the frame after the
  view is ready), 3 cold loads each, median.
* **hover** — ``benchmarks.browser.hovers`` over 100 visible tokens of the token view, p95.
* **live switch** — ``benchmarks.live.SWITCH_JS``: the Head ``<select>`` of a live TokenView and
  AttentionMatrix changed 8 times each; from the ``change`` event to the frame after the new
  head's buffers are applied (the kernel computes them from the head's rows on request), p95.

Baseline in the same run: 2,048 tokens (the short format: whole float16 / uint8 matrices).
Usage: ``python -m benchmarks.longcontext_browser [--sizes 2048,4096,8192] [--no-live]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import REPO, Stats, chromium, fmt_bytes, loadavg

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "browser"))

SIZES = (2048, 4096, 8192)
CELL_AT = 0.73  # the far cell's destination, as a fraction of n; its source is n // 8
SWITCHES = 8
READY_TOKENS = (
    "() => document.body && document.body.dataset.iwReady === 'true' && "
    "document.querySelector('.iw-token[data-index]') !== null"
)


def _acts(model: Any, n: int) -> Any:
    from planted import planted_activations

    return planted_activations(model, n, (int(CELL_AT * n), n // 8))


def saved(model: Any, n: int, tmp: Path, browser: Any) -> dict[str, Any]:
    """Build, size, first paint and hover of the saved matrix and token view at ``n`` tokens."""
    from planted import PLANTED

    import induction_widgets as iw

    from . import browser as bb

    acts = _acts(model, n)
    t = time.perf_counter()
    am = iw.AttentionMatrix(model, None, *PLANTED, activations=acts)
    mpath = am.save_html(tmp / f"matrix{n}.html", heads=[PLANTED])
    build = time.perf_counter() - t
    tv = iw.TokenView(model, None, *PLANTED, activations=acts, sink_scale="all sources")
    tpath = tv.save_html(tmp / f"tokens{n}.html", heads=[PLANTED])
    out: dict[str, Any] = {
        "n": n,
        "build_s": build,
        "matrix_bytes": mpath.stat().st_size,
        "tokens_bytes": tpath.stat().st_size,
    }
    bb.READY.setdefault("long_tokens", READY_TOKENS)
    for kind, path, name in (("ours_matrix", mpath, "matrix"), ("long_tokens", tpath, "tokens")):
        paints = []
        for rep in range(3):
            last = bb.first_paint(browser, path, kind, n, 60)
            if "paint_ms" in last:
                paints.append(last["paint_ms"])
            if rep < 2:
                last["_ctx"].close()
        out[f"{name}_paint_ms"] = paints
        if name == "tokens" and "paint_ms" in last:
            hv = bb.hovers(last["_page"], "ours_tokens", n, 100, 30)
            out["hover_ms"] = hv.get("ms", [])
            out["dom_tokens"] = last["_page"].evaluate(
                "() => document.querySelectorAll('.iw-token').length"
            )
        last["_ctx"].close()
    return out


LIVE_CELLS = [
    "import sys\n"
    "sys.path.insert(0, __TESTS__)\n"
    "import induction_widgets as iw\n"
    "from planted import PLANTED, planted_activations\n"
    "model = iw.load_model('tiny')\n"
    "acts = planted_activations(model, __N__, (int(__AT__ * __N__), __N__ // 8))",
    "tv = iw.TokenView(model, None, *PLANTED, activations=acts, sink_scale='all sources', "
    "selected=__N__ - 1)\ntv",
    "am = iw.AttentionMatrix(model, None, *PLANTED, activations=acts)\nam",
]


#: The same on SmolLM2's own heads: the copying text repeated to n tokens (one read, shared by
#: both views), layer 18 (it holds induction heads); the kernel computes every switch from q/k.
SMOLLM2_CELLS = [
    "import sys\n"
    "sys.path.insert(0, __REPO__)\n"
    "import induction_widgets as iw\n"
    "from benchmarks.longcontext import long_tokens\n"
    "model = iw.load_model('smollm2', progress=False)\n"
    "tokens = long_tokens(model, __N__)",
    "tv = iw.TokenView(model, tokens, 18, 2, selected=__N__ - 1, progress=False)\ntv",
    "am = iw.AttentionMatrix(model, tokens, 18, 2, progress=False)\nam",
]


def live(n: int, tmp: Path, model_name: str = "tiny") -> dict[str, list[float]]:
    """p95 material: the live switch latencies (ms) of the token view and the matrix (the
    planted heads on the tiny model's activations, or SmolLM2's own with ``model_name``)."""
    from labkit import Lab, LabNotebook

    from .common import offline_context
    from .live import SWITCH_JS

    cells = [
        c.replace("__TESTS__", repr(str(REPO / "tests")))
        .replace("__REPO__", repr(str(REPO)))
        .replace("__N__", str(n))
        .replace("__AT__", str(CELL_AT))
        for c in (SMOLLM2_CELLS if model_name == "smollm2" else LIVE_CELLS)
    ]
    lab = Lab(tmp / f"lab{n}")
    lab.start()
    lat: dict[str, list[float]] = {"tokens": [], "matrix": []}
    try:
        with chromium() as browser:
            bctx = offline_context(browser, (lab.url, "data:", "blob:"))
            bctx.set_default_timeout(120_000)
            nb = LabNotebook(lab, bctx, "long_switch", cells)
            nb.open(timeout=600_000)
            if nb.errors():
                raise RuntimeError(nb.errors()[0][-1500:])
            page = nb.page
            for kind, sel in (("tokens", ".iw-token-view"), ("matrix", ".iw-attention-matrix")):
                root = page.locator(sel).first
                root.scroll_into_view_if_needed()
                page.wait_for_timeout(2000)
                handle = root.element_handle()
                for i in range(SWITCHES):
                    head = (3 + i) % 4  # 3, 0, 1, 2, …: each head once before any repeats
                    ms = page.evaluate(SWITCH_JS, [handle, kind, head, 60_000])
                    if ms is not None:
                        lat[kind].append(ms)
                    page.wait_for_timeout(200)
            bctx.close()
    finally:
        lab.stop()
    return lat


def table(rows: list[dict[str, Any]], load: str) -> str:
    """The markdown rows of the browser columns."""
    base = next((r for r in rows if r["n"] == 2048), None)

    def med(v: list[float]) -> str:
        return f"{Stats(v).median / 1e3:.2f} s" if v else "n/a"

    def p95(v: list[float]) -> str:
        return f"{Stats(v).q(0.95):.0f} ms (n={len(v)})" if v else "n/a"

    out = [
        "| tokens | build / head (ratio vs 2,048) | matrix page | token page | first paint "
        "matrix / tokens | hover p95 | tokens in DOM | live switch p95 tokens / matrix |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f" ({r['build_s'] / base['build_s']:.2f}×)" if base and r is not base else ""
        live_t = p95(r.get("live", {}).get("tokens", []))
        live_m = p95(r.get("live", {}).get("matrix", []))
        out.append(
            f"| {r['n']:,} | {r['build_s']:.2f} s{ratio} | {fmt_bytes(r['matrix_bytes'])} | "
            f"{fmt_bytes(r['tokens_bytes'])} | {med(r['matrix_paint_ms'])} / "
            f"{med(r['tokens_paint_ms'])} | {p95(r.get('hover_ms', []))} | "
            f"{r.get('dom_tokens', 'n/a')} | {live_t} / {live_m} |"
        )
    out.append(f"\nload average at the end: {load}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument(
        "--live-smollm2",
        action="store_true",
        help="only the live switch, on SmolLM2's own heads (layer 18) at each size",
    )
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "longcontext_browser.json"))
    args = ap.parse_args(argv)
    import induction_widgets as iw

    if args.live_smollm2:
        out = []
        with tempfile.TemporaryDirectory() as d:
            for n in map(int, args.sizes.split(",")):
                lat = live(n, Path(d), "smollm2")
                print(f"live smollm2 {n}: {lat}, load {loadavg()}", flush=True)
                out.append({"n": n, "model": "smollm2", "live": lat, "load": loadavg()})
        path = Path(args.json).with_name("longcontext_live_smollm2.json")
        path.write_text(json.dumps(out, indent=1))
        return 0
    model = iw.load_model("tiny")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with chromium() as browser:
            for n in map(int, args.sizes.split(",")):
                r = saved(model, n, tmp, browser)
                print(f"saved {n}: build {r['build_s']:.2f} s, load {loadavg()}", flush=True)
                rows.append(r)
        if not args.no_live:
            for r in rows:
                r["live"] = live(r["n"], tmp)
                print(f"live {r['n']}: {r['live']}, load {loadavg()}", flush=True)
    Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows, loadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
