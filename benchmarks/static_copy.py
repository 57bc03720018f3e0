"""Case — the static ``text/html`` copy in each display's mime bundle (issue 14, item 2).

Every live view's ``_repr_mimebundle_`` adds a self-contained ``text/html`` copy (an ``<iframe
srcdoc>`` with the standalone runtime and the current head's data) that exported notebooks show
without a widget manager. This case times it per display on SmolLM2 at 1,024 and 2,048 tokens of
``iw.copying_text()`` repeated, for ``TokenView``, ``AttentionMatrix`` and ``InductionExplorer``
(scores passed in), all on one ``TextActivations``:

* ours: ``view._repr_mimebundle_()`` (the widget's bundle plus the static copy),
* baseline: ``anywidget.AnyWidget._repr_mimebundle_(view)`` — the same display without the copy,

interleaved, after one warm-up of each (the head's live buffers are made once per head and shared
with the live view, so neither side pays for them). The copy's size is reported too: it is stored
in the notebook file and sent to the front end with the display.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from .common import CaseResult, Row, Stats, fmt_bytes, fmt_ms, ratio_text, text_ids

TITLE = "Static text/html copy per display (SmolLM2, 1,024 and 2,048 tokens)"
SIZES = (1024, 2048)
#: "a few ms per display" (issue 14): the goal on the copy's own cost (ours − baseline), median
GOAL_S = 0.005


def run(ctx: Any) -> CaseResult:
    import anywidget

    import induction_widgets as iw
    from induction_widgets.widgets._base import strongest_induction_head

    name = "tiny" if ctx.quick else "smollm2"
    model = ctx.model(name)
    scores = iw.head_scores(model, n_examples=4, progress=False)
    rows: list[Row] = []
    notes: list[str] = []
    reps = max(3, ctx.reps)
    for n in (256,) if ctx.quick else SIZES:
        ids = text_ids(model, n)
        t = time.perf_counter()
        acts = iw.TextActivations(model, ids, progress=False)
        t_acts = time.perf_counter() - t
        (layer, head), _ = strongest_induction_head(model, scores)
        views = {
            "TokenView": iw.TokenView(model, ids, layer, head, activations=acts),
            "AttentionMatrix": iw.AttentionMatrix(model, ids, layer, head, activations=acts),
        }
        ex = iw.InductionExplorer(model, ids, scores=scores, layer=layer, head=head, progress=False)
        views["InductionExplorer"] = ex
        for label, view in views.items():
            full = view._repr_mimebundle_
            bare = lambda v=view: anywidget.AnyWidget._repr_mimebundle_(v)  # noqa: E731
            full()
            bare()
            times: dict[str, list[float]] = {"ours": [], "bare": []}
            size = 0
            for _ in range(reps):
                for key, fn in (("ours", full), ("bare", bare)):
                    gc.collect()
                    t = time.perf_counter()
                    out = fn()
                    times[key].append(time.perf_counter() - t)
                    if key == "ours":
                        data = out[0] if isinstance(out, tuple) else out
                        size = len(data.get("text/html", "").encode("utf-8"))
            ours, bare_t = Stats(times["ours"]), Stats(times["bare"])
            cost = ours.median - bare_t.median
            _, rtext = ratio_text(ours, bare_t)
            rows.append(
                Row(
                    f"Display with the static copy, {label}, {len(ids):,} tokens: "
                    "`_repr_mimebundle_()` vs the same bundle without the copy",
                    f"{ours.fmt()}; the copy {fmt_ms(cost * 1e3)} per display, {fmt_bytes(size)} "
                    "of text/html",
                    bare_t.fmt(),
                    rtext,
                    f"copy ≤ {GOAL_S * 1e3:.0f} ms per display (median, absolute)",
                    None if ctx.quick else cost <= GOAL_S,
                    {"ours": ours.as_dict(), "baseline": bare_t.as_dict(), "bytes": size},
                )
            )
            ctx.log(f"    {label} {n}: {ours.fmt()} vs {bare_t.fmt()}, {size} B")
        for view in views.values():
            view.close()
        notes.append(
            f"{len(ids):,} tokens: `TextActivations` {t_acts:.1f} s (not timed); head "
            f"L{layer}H{head}; {reps} interleaved repetitions per view."
        )
        del acts, views, ex
        gc.collect()
    return CaseResult("static_copy", TITLE, rows, notes)
