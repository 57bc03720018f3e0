"""Case — the static ``text/html`` copy in each display's mime bundle (issue 14, item 2).

Every live view's ``_repr_mimebundle_`` adds a self-contained ``text/html`` copy (an ``<iframe
srcdoc>`` with the standalone runtime and the current head's data) that exported notebooks show
without a widget manager. This case times it per display on SmolLM2 at 1,024 and 2,048 tokens of
``iw.copying_text()`` repeated, for ``TokenView``, ``AttentionMatrix`` and ``InductionExplorer``
(scores passed in), all on one ``TextActivations``:

* ours: ``view._repr_mimebundle_()`` as a live notebook runs it (``INDUCTION_WIDGETS_STATIC_COPY``
  unset, "auto": the whole copy up to ``STATIC_COPY_MAX_TOKENS`` tokens, a short note above),
* the whole copy: the same with the variable set to ``"always"`` — what every display cost before
  the copy was made lazily, and what a display costs in a notebook run by ``export --execute``,
* baseline: ``anywidget.AnyWidget._repr_mimebundle_(view)`` — the same display without any copy,

interleaved, after one warm-up of each (the head's live buffers are made once per head and shared
with the live view, so no side pays for them). The copy's size is reported too: it is stored in the
notebook file and sent to the front end with the display.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator
from typing import Any

from induction_widgets.views import STATIC_COPY_ENV, STATIC_COPY_MAX_TOKENS

from .common import CaseResult, Row, Stats, fmt_bytes, fmt_ms, ratio_text, text_ids

TITLE = "Static text/html copy per display (SmolLM2, 256, 1,024 and 2,048 tokens)"
SIZES = (256, 1024, 2048)
#: "a few ms per display" (issue 14): the goal on the copy's own cost (ours − baseline), median
GOAL_S = 0.005


@contextlib.contextmanager
def _policy(value: str | None) -> Iterator[None]:
    """``INDUCTION_WIDGETS_STATIC_COPY`` set to ``value`` ("auto": unset) for the block."""
    saved = os.environ.pop(STATIC_COPY_ENV, None)
    if value not in (None, "auto"):
        os.environ[STATIC_COPY_ENV] = value
    try:
        yield
    finally:
        os.environ.pop(STATIC_COPY_ENV, None)
        if saved is not None:
            os.environ[STATIC_COPY_ENV] = saved


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
            bare = lambda v=view: anywidget.AnyWidget._repr_mimebundle_(v)  # noqa: E731
            variants = {
                "auto": ("auto", view._repr_mimebundle_),
                "whole": ("always", view._repr_mimebundle_),
                "bare": (None, bare),
            }
            times: dict[str, list[float]] = {k: [] for k in variants}
            size: dict[str, int] = {}
            for r in range(reps + 1):  # the first round is the warm-up
                for key, (policy, fn) in variants.items():
                    with _policy(policy):
                        gc.collect()
                        t = time.perf_counter()
                        out = fn()
                        dt = time.perf_counter() - t
                    if r:
                        times[key].append(dt)
                    data = out[0] if isinstance(out, tuple) else out
                    size[key] = len(data.get("text/html", "").encode("utf-8"))
            st = {k: Stats(v) for k, v in times.items()}
            for key, what in (
                ("auto", "as displayed now"),
                ("whole", "the whole copy (before; `export --execute`)"),
            ):
                cost = st[key].median - st["bare"].median
                _, rtext = ratio_text(st[key], st["bare"])
                rows.append(
                    Row(
                        f"Display, {label}, {len(ids):,} tokens, {what}: `_repr_mimebundle_()` vs "
                        "the same bundle without a copy",
                        f"{st[key].fmt()}; the copy {fmt_ms(cost * 1e3)} per display, "
                        f"{fmt_bytes(size[key])} of text/html",
                        st["bare"].fmt(),
                        rtext,
                        f"copy ≤ {GOAL_S * 1e3:.0f} ms per display (median, absolute)"
                        if key == "auto"
                        else "— (context)",
                        None if ctx.quick or key != "auto" else cost <= GOAL_S,
                        {
                            "ours": st[key].as_dict(),
                            "baseline": st["bare"].as_dict(),
                            "bytes": size[key],
                        },
                    )
                )
            ctx.log(f"    {label} {n}: " + ", ".join(f"{k} {st[k].fmt()} {size[k]} B" for k in st))
        for view in views.values():
            view.close()
        notes.append(
            f"{len(ids):,} tokens: `TextActivations` {t_acts:.1f} s (not timed); head "
            f"L{layer}H{head}; {reps} interleaved repetitions per view after a warm-up round; "
            f"STATIC_COPY_MAX_TOKENS = {STATIC_COPY_MAX_TOKENS}."
        )
        del acts, views, ex
        gc.collect()
    return CaseResult("static_copy", TITLE, rows, notes)
