"""Case 6 — memory in a kernel that stays up (issue #16), in real IPython kernels (nbclient).

* **Re-run cell.** The cell ``v = iw.TokenView(model, ids, 18, 6); v`` on a 1,024-token SmolLM2
  text is run 10 times in one kernel; after each run the kernel's live RSS (``gc`` +
  ``malloc_trim``, fixed ``MALLOC_MMAP_THRESHOLD_``) minus its RSS before the first run. *Before*:
  the same cells in a kernel importing the package as it was before the activations cache
  (``git archive`` of :data:`BEFORE_REF`'s ``src``: every view read and kept its own activations);
  *after*: this checkout.
* **Evicted view.** With a budget of one view's worth, two views on two texts evict each other:
  each head switch on the view not used last reads its text again (one forward pass). Timed in
  the kernel: the first switch after eviction vs a warm switch of the same view.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from .common import REPO, CaseResult, Row, fmt_bytes, fmt_ratio, fmt_time

sys.path.insert(0, str(REPO / "tests"))
from kernelkit import MEMORY_SETUP, run_cells

TITLE = "Memory in a kernel that stays up (SmolLM2, 1,024 tokens, 10 re-runs of a view cell)"
#: main just before the activations cache (#16): the "before" of this case
BEFORE_REF = "787b85e"
N_TOKENS = 1024
RUNS = 10
GOAL = 1.3

VIEW_CELL = "v = iw.TokenView(model, ids, 18, 6); v"
#: the tiny model (--quick) has 2 layers × 4 heads
TINY = {"(5, 1), (23, 0), (10, 2), (18, 6)": "(0, 1), (1, 2), (0, 3), (1, 0)", "18, 6": "1, 0"}
MEASURE = "growth.append(rss() - rss0)"
REPORT = 'print("@@" + json.dumps({"growth": growth}))'

EVICTED = """\
size = v.activations.nbytes
iw.set_memory_budget(size)  # one view's worth: the other text evicts this one
other = iw.TokenView(model, text_ids(__N__, salt="Chapter 2. "), 18, 6)
heads = [(5, 1), (23, 0), (10, 2), (18, 6)]
cold, warm, reads = [], [], []
for r in range(__ROUNDS__):
    for view in (v, other):
        assert not view._handle.resident
        before = view._handle.reads
        for i, kind in enumerate((cold, warm)):
            layer, head = heads[(2 * r + i) % len(heads)]
            t = time.perf_counter()
            with view.hold_trait_notifications():
                view.layer, view.head = layer, head
            kind.append(time.perf_counter() - t)
        reads.append(view._handle.reads - before)
print("@@" + json.dumps({"cold": cold, "warm": warm, "reads": reads, "size": size,
                         "info": iw.memory_info()}))
"""


def rerun_cells(model: str, n: int) -> list[str]:
    setup = MEMORY_SETUP.replace("__MODEL__", repr(model))
    cells = [setup + f"\nids = text_ids({n})\ngrowth = []\nrss0 = rss()\n"]
    for _ in range(RUNS):
        cells += [VIEW_CELL, MEASURE]
    return [*cells, REPORT]


def for_model(code: str, model: str) -> str:
    if model == "tiny":
        for big, small in TINY.items():
            code = code.replace(big, small)
    return code


def before_src(tmp: Path) -> Path:
    """``src`` of :data:`BEFORE_REF`, extracted under ``tmp``."""
    archive = tmp / "before.tar"
    with archive.open("wb") as f:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", BEFORE_REF, "src/induction_widgets"],
            stdout=f,
            check=True,
        )
    with tarfile.open(archive) as t:
        t.extractall(tmp / "before", filter="data")
    return tmp / "before" / "src"


def run(ctx: Any) -> CaseResult:
    name = "tiny" if ctx.quick else "smollm2"
    label = {"smollm2": "SmolLM2-135M", "tiny": "tiny"}[name]
    n = 64 if ctx.quick else N_TOKENS
    rounds = 2 if ctx.quick else 3

    ctx.log(f"  {label}: {RUNS} re-runs of the view cell, before ({BEFORE_REF}, fresh kernel)")
    cells = [for_model(c, name) for c in rerun_cells(name, n)]
    (before,) = run_cells(cells, src=before_src(ctx.tmp))
    ctx.log(f"    growth MB: {[round(g / 1e6) for g in before['growth']]}")
    ctx.log(f"  {label}: {RUNS} re-runs, after (this checkout), then the evicted-view switches")
    evicted = EVICTED.replace("__N__", str(n)).replace("__ROUNDS__", str(rounds))
    after, ev = run_cells([*cells, for_model(evicted, name)])
    ctx.log(f"    growth MB: {[round(g / 1e6) for g in after['growth']]}")
    ctx.log(f"    evicted: {ev}")

    b, a = before["growth"], after["growth"]
    r_after, r_before = a[-1] / a[0], b[-1] / b[0]
    cold, warm = ev["cold"], ev["warm"]
    rows = [
        Row(
            f"Kernel RSS growth after re-running `{for_model(VIEW_CELL, name)}` {RUNS}× "
            f"({label}, {n:,} tokens): "
            f"this checkout vs before the activations cache ({BEFORE_REF})",
            f"{fmt_bytes(a[-1])} after {RUNS} runs; 1 run: {fmt_bytes(a[0])} "
            f"({RUNS}/1 = {r_after:.2f}×)",
            f"{fmt_bytes(b[-1])} after {RUNS} runs; 1 run: {fmt_bytes(b[0])} "
            f"({RUNS}/1 = {r_before:.2f}×)",
            fmt_ratio(a[-1] / b[-1]),
            f"growth after {RUNS} runs ≤ {GOAL}× that of one run",
            None if ctx.quick else r_after <= GOAL,
            {"after": a, "before": b},
        ),
        Row(
            f"Head switch of an evicted view ({label}, {n:,} tokens, budget = one view's "
            "activations, two texts): first switch after eviction (reads the text again) vs a "
            "warm switch of the same view, kernel side",
            f"median {fmt_time(statistics.median(cold))} (n={len(cold)}; forward passes per "
            f"eviction: {sorted(set(ev['reads']))})",
            f"median {fmt_time(statistics.median(warm))} (n={len(warm)})",
            fmt_ratio(statistics.median(cold) / statistics.median(warm)),
            "— (context: eviction costs one forward pass, never wrong numbers)",
            None,
            {"cold": cold, "warm": warm, "reads": ev["reads"], "activations_nbytes": ev["size"]},
        ),
    ]
    notes = [
        f"Growth per run, this checkout (MB): {', '.join(f'{g / 1e6:.0f}' for g in a)}; before "
        f"({BEFORE_REF}): {', '.join(f'{g / 1e6:.0f}' for g in b)}. One kernel per side "
        "(nbclient, no front end: the views' comms are opened in the kernel as in a notebook, "
        "and the displayed views stay in ipywidgets' registry and IPython's `Out`). RSS is read "
        "in the kernel after `gc.collect()` and glibc `malloc_trim(0)`, with "
        "`MALLOC_MMAP_THRESHOLD_=131072`, minus the RSS before the first run (model loaded, "
        "text tokenised). Before, each run kept its own `TextActivations` "
        f"({fmt_bytes(ev['size'])} at {n:,} tokens); now every run shares one.",
        f"Evicted view: `iw.set_memory_budget({fmt_bytes(ev['size'])})`, views on two "
        f"{n:,}-token texts; {rounds} rounds, each switching the view not used last twice "
        "(first: cold, second: warm; `layer` and `head` set together under "
        "`hold_trait_notifications`). A cold switch is one forward pass of the text "
        "(`TextActivations`) plus the head's buffers; the view's `message` says so meanwhile.",
    ]
    return CaseResult("memory", TITLE, rows, notes)
