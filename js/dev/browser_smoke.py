"""Browser smoke test of the built views through the standalone runtime (js/dev/demo.html).

    cd js && npm run build && ../.venv/bin/python dev/browser_smoke.py [--chromium /usr/bin/chromium] [--n 2048]

Serves the repository root on a free local port, drives Chromium with Playwright and asserts
the behaviour the Python tests rely on (classes, data-* attributes, traits). Not run by npm test.
"""

import argparse
import functools
import http.server
import pathlib
import threading

from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[2]

HOVER_TIMES = """async (start) => {
  const spans = document.querySelectorAll('.iw-token'); const times = [];
  for (let j = 0; j < 40; j++) {
    const i = start + (j * 37) % Math.max(1, spans.length - start);
    const t0 = performance.now();
    spans[i].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    document.body.offsetHeight;  // force style + layout
    times.push(performance.now() - t0);
    await new Promise(r => requestAnimationFrame(r));
  }
  return times.sort((a, b) => a - b)[20];
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--n", type=int, default=2048)
    args = ap.parse_args()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a, **k):
            pass

    handler = functools.partial(Quiet, directory=str(REPO))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/js/dev/demo.html?n={args.n}"
    passed = 0

    def check(cond, what):
        nonlocal passed
        assert cond, what
        passed += 1

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        problems = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
        page.goto(url)
        page.wait_for_function("window.demo && window.demo.ready", timeout=120_000)
        tv = ".iw-token-view "

        check(page.locator(".iw-token").count() == args.n, "one span per token")
        check(page.locator("img").count() == 0, "hostile tokens are text")
        page.locator('.iw-token[data-index="40"]').hover()
        shaded = page.evaluate("[...document.querySelectorAll('.iw-token[data-value]')].map(s => +s.dataset.index)")
        check(shaded == list(range(41)), "destination 40 shades sources 0..40")
        check(page.locator(tv + ".iw-status").text_content().startswith('dst " thank" [40] → src'), "status line")

        page.locator('.iw-token[data-index="40"]').click()
        check(page.evaluate("demo.tv.get('selected')") == 40, "click locks")
        check(page.locator(".iw-locked").get_attribute("data-index") == "40", "locked class")
        page.keyboard.press("ArrowRight")
        check(page.evaluate("demo.tv.get('selected')") == 41, "ArrowRight moves the lock")
        page.keyboard.press("Escape")
        check(page.evaluate("demo.tv.get('selected')") == -1, "Escape unlocks")

        page.locator(tv + ".iw-mode-logit").click()
        check(page.evaluate("demo.tv.get('mode')") == "logit_attr", "mode button")
        page.locator(tv + ".iw-toggle-selected").click()
        check(page.evaluate("demo.tv.get('selected_is')") == "source", "role toggle")
        page.locator(tv + ".iw-mode-attention").click()

        steady = [page.evaluate(HOVER_TIMES, 1000) for _ in range(2)][-1]
        print(f"median hover (style + layout) at n={args.n}: {steady:.1f} ms")
        check(steady < 16, "hover under 16 ms")

        page.locator('.iw-head-table tbody tr[data-layer="2"][data-head="0"]').click()
        page.evaluate("demo.tv.whenIdle()")
        check(page.evaluate("[demo.tv.get('layer'), demo.tv.get('head')]") == [2, 0], "head map drives the token view")
        check(page.locator(tv + ".iw-layer-select").input_value() == "2", "layer select follows")
        page.locator('.iw-head-table tbody tr[data-layer="0"][data-head="0"]').click()
        page.evaluate("demo.tv.whenIdle()")
        check(page.locator(tv + ".iw-message").is_visible(), "banner for a head that is not embedded")

        page.locator('.iw-head-table tbody tr[data-layer="1"][data-head="2"]').click()
        page.evaluate("demo.am.whenIdle()")
        page.evaluate("document.querySelector('.iw-attention-matrix').scrollIntoView()")
        ds = page.evaluate("Object.assign({}, document.querySelector('.iw-attention-matrix canvas.iw-plot').dataset)")
        box = page.locator(".iw-attention-matrix canvas.iw-plot").bounding_box()
        cell = float(ds["plotSize"]) / int(ds["n"])
        page.mouse.move(box["x"] + float(ds["plotLeft"]) + 5.5 * cell, box["y"] + float(ds["plotTop"]) + 9.5 * cell)
        readout = page.locator(".iw-attention-matrix .iw-readout")
        check((readout.get_attribute("data-dst"), readout.get_attribute("data-src")) == ("9", "5"), "matrix readout cell")
        page.mouse.wheel(0, -500)
        check(float(page.evaluate("document.querySelector('.iw-attention-matrix canvas.iw-plot').dataset.zoom")) > cell, "wheel zooms")

        page.evaluate("window.scrollTo(0, 0)")
        page.locator(".iw-score-select").select_option("copying")
        check(page.evaluate("demo.hm.get('score')") == "copying", "score select")
        first = page.locator(".iw-head-table tbody tr").first.get_attribute("data-layer")
        check(first is not None, "table rows")
        check(problems == [], f"no page errors: {problems}")
        browser.close()
    server.shutdown()
    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main()
