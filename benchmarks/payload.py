"""Case 2 — payload: every head's attention on a 256-token text, embedded in one offline page.

SmolLM2 (270 heads) on ``iw.copying_text()`` repeated and cut to 256 tokens; one
``TextActivations`` serves both sides.

* ours: ``iw.AttentionMatrix(model, ids, 0, 0, activations=acts).save_html(path, heads="all",
  attribution=False)`` — attention as uint8 lower triangles, zlib + base64, plus the inline runtime.
* baseline: CircuitsVis ``circuitsvis.attention.attention_heads(attention=[270, 256, 256],
  tokens=str_tokens)`` for the same tensors (gathered from the same ``acts``), written as the
  self-contained page CircuitsVis shows offline (its ``local_src``: the data as JSON plus its
  inline 1.3 MB bundle) inside a minimal ``<html>`` shell. Its CDN variant (``str(html)``: the
  same JSON, the bundle from unpkg) is reported too.

Build time = making the view/tensors and writing the file; interleaved repetitions. The error of
ours is measured by decoding every embedded buffer with ``induction_widgets.payload.decode``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .common import CaseResult, Row, Stats, ensure_circuitsvis, fmt_bytes, ratio_text, text_ids

TITLE = "Payload: every head's attention at 256 tokens in one offline HTML file"
N_TOKENS = 256
CV_SHELL = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>CircuitsVis</title>'
    "</head><body>\n{body}\n</body></html>\n"
)


def embedded_store(path: Path) -> dict[str, Any]:
    """The first view's ``store`` ("L.H" → buffers) from a page written by ``save_html``."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="iw-data-0">(.*?)</script>', text, re.S)
    if not m:
        raise ValueError(f"no iw-data-0 block in {path}")
    return json.loads(m.group(1))["store"]


def max_abs_error(path: Path, acts: Any) -> tuple[float, int]:
    """Largest |decoded − true| over every embedded head's attention, and the number of heads."""
    import numpy as np

    from induction_widgets.payload import decode

    store = embedded_store(path)
    worst = 0.0
    for key, bufs in store.items():
        l, h = (int(x) for x in key.split("."))
        got = decode(bufs["attention"])
        want = acts.attention(l, h).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
    return worst, len(store)


def run(ctx: Any) -> CaseResult:
    import time

    import torch

    import induction_widgets as iw

    name = "tiny" if ctx.quick else "smollm2"
    model = ctx.model(name)
    ids = text_ids(model, N_TOKENS)
    n = len(ids)
    t = time.perf_counter()
    acts = iw.TextActivations(model, ids, progress=False)
    t_acts = time.perf_counter() - t
    info = acts.info
    n_heads = info.n_layers * info.n_heads
    notes = [
        f"{'tiny' if ctx.quick else 'SmolLM2-135M'}, {n} tokens of `iw.copying_text()` repeated, "
        f"{info.n_layers}×{info.n_heads} = {n_heads} heads; one `TextActivations` for both sides "
        f"({t_acts:.1f} s, not in the build times)."
    ]
    cv_version = ensure_circuitsvis(ctx.log)
    if cv_version is None:
        notes.append("CircuitsVis could not be installed/imported: no baseline.")
    else:
        notes.append(f"CircuitsVis {cv_version} (installed with `pip install --no-deps`).")

    ours_path = ctx.tmp / "payload_ours.html"
    cv_path = ctx.tmp / "payload_circuitsvis.html"
    cdn_bytes: list[int] = []

    def build_ours() -> None:
        view = iw.AttentionMatrix(model, ids, 0, 0, activations=acts)
        view.save_html(ours_path, heads="all", attribution=False)

    def build_cv() -> None:
        from circuitsvis.attention import attention_heads

        att = torch.stack(
            [acts.attention(l, h) for l in range(info.n_layers) for h in range(info.n_heads)]
        )
        html = attention_heads(attention=att, tokens=acts.str_tokens)
        cv_path.write_text(CV_SHELL.format(body=html.local_src), encoding="utf-8")
        cdn_bytes.append(len(str(html).encode("utf-8")))

    import gc

    times: dict[str, list[float]] = {"ours": [], "cv": []}
    fns = {"ours": build_ours} | ({"cv": build_cv} if cv_version else {})
    for r in range(ctx.reps):
        for key, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            times[key].append(dt)
            ctx.log(f"    rep {r + 1}/{ctx.reps} {key}: {dt:.2f} s")
    ours_t = Stats(times["ours"])
    ours_size = ours_path.stat().st_size
    err, n_embedded = max_abs_error(ours_path, acts)
    rows: list[Row] = []
    label = f"{n_heads} heads × {n} tokens"
    if cv_version:
        cv_t = Stats(times["cv"])
        cv_size = cv_path.stat().st_size
        size_ratio = cv_size / ours_size
        rows.append(
            Row(
                f"Payload size, {label}: `save_html(heads='all', attribution=False)` vs CircuitsVis "
                "`attention_heads` (offline page)",
                f"{fmt_bytes(ours_size)} (max abs error {err:.3g} {'≤' if err <= 1 / 510 + 1e-6 else '>'} "
                f"1/510, {n_embedded} heads decoded)",
                f"{fmt_bytes(cv_size)} (CDN variant without the bundle: {fmt_bytes(cdn_bytes[-1])})",
                f"{size_ratio:.0f}× smaller",
                "≤ 5 MB and ≥ 50× smaller",
                ours_size <= 5e6 and size_ratio >= 50,
                {"ours_bytes": ours_size, "cv_bytes": cv_size, "cv_cdn_bytes": cdn_bytes[-1]},
            )
        )
        r, rtext = ratio_text(ours_t, cv_t)
        rows.append(
            Row(
                f"Payload build time, {label}: view + `save_html` vs stack + `attention_heads` + write",
                ours_t.fmt(),
                cv_t.fmt(),
                rtext,
                "— (context; < 1× = ours faster)",
                None,
                {"ours": ours_t.as_dict(), "baseline": cv_t.as_dict(), "ratio": r},
            )
        )
    else:
        rows.append(
            Row(
                f"Payload size, {label}",
                f"{fmt_bytes(ours_size)} (max abs error {err:.3g})",
                "CircuitsVis unavailable",
                "n/a",
                "≤ 5 MB and ≥ 50× smaller",
                None,
            )
        )
    notes.append(
        f"Ours embeds attention as uint8 (scale 1/255) lower triangles, zlib-compressed and base64: "
        f"the decoded error bound is 1/510 ≈ {1 / 510:.2g}; measured {err:.3g} over all "
        f"{n_embedded} heads. CircuitsVis writes float32 values as JSON decimals (exact)."
    )
    notes.append(
        "CircuitsVis `attention_heads` builds both variants on every call (the local page with its "
        "inline bundle, and the CDN page); its build time includes that and the `torch.stack` of "
        "the 270 patterns from the same `TextActivations` (ours computes the same patterns inside "
        "`save_html`)."
    )
    return CaseResult("payload", TITLE, rows, notes)
