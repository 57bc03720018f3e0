#!/usr/bin/env python
"""The docs' hero image: the workbench explorer on SmolLM2, an induction head locked on a repeated token.

    .venv/bin/python scripts/hero.py                     # SmolLM2 → docs/screenshot.png
    .venv/bin/python scripts/hero.py --model tiny --out /tmp/hero.png

Builds ``iw.InductionExplorer`` on the literal-copying text (``iw.copying_text()``: a paragraph,
then its first sentences again), on the strongest induction head of ``iw.head_scores`` (the
explorer's default head: the highest prefix-matching score among the heads whose verdict is
"induction head"), and locks the token of the repeat on which that head puts the most attention
on the token after the same token's earlier occurrence (the induction target,
``compute.choose.copy_destinations``). The view is saved as an offline page (``save_html``) and
Chromium (Debian's ``/usr/bin/chromium`` through Playwright; never ``playwright install``) takes
the screenshot, quantised to a 256-colour PNG when the full-colour one is larger than ``--max-kb``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("IW_CHROMIUM", "/usr/bin/chromium")


def lock_target(explorer: Any, model: Any, text: str) -> tuple[int, int, float]:
    """``(d, target, weight)``: the repeated destination ``d`` whose attention on its induction
    target (the token after the earlier occurrence of ``d``'s token, where that occurrence was
    followed by the same token as ``d``) is largest, for the explorer's head."""
    from induction_widgets.compute.choose import copy_destinations, repeat_start

    acts = explorer.activations
    pattern = acts.attention(explorer.layer, explorer.head)
    n = pattern.shape[0]
    start = min(repeat_start(model, text), n - 1) if isinstance(text, str) else 1
    best = (-1, -1, -1.0)
    for d, targets in copy_destinations(acts.tokens.tolist(), start).items():
        for t in targets:
            w = float(pattern[d, t])
            if w > best[2] and len(acts.str_tokens[d].strip()) > 1:  # a word, not punctuation
                best = (d, t, w)
    if best[0] < 0:  # no repeated word: any repeated token
        for d, targets in copy_destinations(acts.tokens.tolist(), 1).items():
            w = float(max(pattern[d, t] for t in targets))
            if w > best[2]:
                best = (d, targets[0], w)
    return best


def screenshot(page_path: Path, out: Path, *, width: int, max_kb: int) -> dict[str, Any]:
    """Open ``page_path`` offline in Chromium, screenshot its explorer into ``out`` (PNG)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            ctx = browser.new_context(viewport={"width": width, "height": 900})
            blocked: list[str] = []

            def route(r: Any) -> None:
                if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            ctx.route("**/*", route)
            page = ctx.new_page()
            page.goto(page_path.resolve().as_uri())
            page.wait_for_selector("body[data-iw-ready='true']", timeout=60_000)
            page.wait_for_selector(".iw-explorer .iw-token.iw-locked", timeout=60_000)
            page.wait_for_timeout(300)  # the canvases' last frame
            png = page.locator(".iw-explorer").first.screenshot()
            locked = page.locator(".iw-token.iw-locked").first.text_content()
        finally:
            browser.close()
    if blocked:
        raise RuntimeError(f"the page asked the network for {blocked}")
    data = _small_png(png, max_kb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    from PIL import Image

    size = Image.open(io.BytesIO(data)).size
    return {"bytes": len(data), "size": size, "locked_text": locked}


def _small_png(png: bytes, max_kb: int) -> bytes:
    """``png`` itself, or quantised to 256 colours (Pillow) when larger than ``max_kb``."""
    if len(png) <= max_kb * 1024:
        return png
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    buf = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def hero(
    model: Any,
    out: Path,
    *,
    text: str | None = None,
    scores: Any = None,
    width: int = 1480,
    max_kb: int = 250,
    page: Path | None = None,
) -> dict[str, Any]:
    """Build the explorer, lock the head on a repeated token, save the page and the screenshot.
    Returns what was shown: ``layer``, ``head``, ``token`` (index), ``target``, ``weight``
    (attention on the target), ``page``, ``png`` and the PNG's ``bytes`` / ``size``."""
    import induction_widgets as iw

    text = iw.copying_text() if text is None else text
    if scores is None:
        scores = iw.head_scores(model, progress=False)
    ex = iw.InductionExplorer(
        model, text, scores=scores, truncate=True, progress=False, title="Induction explorer"
    )
    d, target, weight = lock_target(ex, model, text)
    ex.selected = d
    with tempfile.TemporaryDirectory() as tmp:
        page_path = page or Path(tmp) / "hero.html"
        ex.save_html(page_path, heads=[(ex.layer, ex.head)])
        shot = screenshot(page_path, Path(out), width=width, max_kb=max_kb)
    info = {
        "layer": ex.layer,
        "head": ex.head,
        "verdict": scores.verdicts()[ex.layer * scores.n_heads + ex.head],
        "token": d,
        "token_text": ex.tokens[d],
        "target": target,
        "weight": weight,
        "page": str(page) if page else None,
        "png": str(out),
        **shot,
    }
    ex.close()
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2", help="'smollm2' (default), 'tiny', a path")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--page", default=None, help="also keep the saved page here")
    parser.add_argument("--width", type=int, default=1480, help="viewport width (CSS px)")
    parser.add_argument("--max-kb", type=int, default=250, help="quantise above this size")
    args = parser.parse_args(argv)
    import induction_widgets as iw

    model = iw.load_model(args.model)
    info = hero(
        model,
        Path(args.out),
        width=args.width,
        max_kb=args.max_kb,
        page=Path(args.page) if args.page else None,
    )
    print(
        f"{info['png']}: {info['size'][0]}×{info['size'][1]} px, {info['bytes'] / 1024:.0f} KB; "
        f"L{info['layer']}H{info['head']} ({info['verdict']}) locked on token {info['token']} "
        f"{info['token_text']!r}, attention {info['weight']:.3f} on its induction target "
        f"{info['target']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
