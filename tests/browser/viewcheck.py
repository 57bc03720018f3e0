"""Shared pieces of the browser tests: colour formulas (a Python copy of js/src/shared/colour.js),
reading the token view's DOM, and comparing it with tensors computed in the test process."""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

import numpy as np

TEXT = "the cat sat on the mat. the cat sat on the mat."

ATTENTION_RGB = (214, 39, 40)
POSITIVE_RGB = (31, 119, 180)
NEGATIVE_RGB = (255, 127, 14)

#: Hostile token strings (no "\n": the view draws a faint ↵ before a newline on purpose).
HOSTILE = [
    "</script><img src=x onerror=alert(1)>",
    "<!--",
    "]]>",
    "\"'\\",
    "\u202e",
    "abc\u202edef",
    "\u200b",
    "\U0001f600\U0001f469\u200d\U0001f4bb",
    "x" * 10_000,
    "\x00",
    "",
    "<svg onload=alert(2)>",
    "<iframe srcdoc='<script>alert(3)</script>'>",
    "${alert(4)}",
    "&lt;&amp;&#0;",
    "\t\r",
    "-->",
    "<script>alert(5)</script>",
    "javascript:alert(6)",
    "\ufeff\u2028\u2029",
]


#: Notebook cells shared by the JupyterLab tests: set-up (tiny model, TEXT, scores), then a token
#: view ``tv``, an attention matrix ``am`` and a head map ``hm`` — all on L1H0.
VIEW_CELLS = [
    "import gc\n"
    "import json\n"
    "import induction_widgets as iw\n"
    "model = iw.load_model('tiny')\n"
    f"text = {TEXT!r}\n"
    "scores = iw.head_scores(model, progress=False)",
    "tv = iw.TokenView(model, text, 1, 0, title='token view')\ntv",
    "am = iw.AttentionMatrix(model, text, 1, 0, title='attention matrix')\nam",
    "hm = iw.HeadMap(scores, title='head map')\nhm",
]


def hostile_tokens(n: int) -> list[str]:
    """``n`` tokens: the hostile strings first, then filler that is still a little hostile."""
    return [HOSTILE[i] if i < len(HOSTILE) else f"<b>{i}</b>" for i in range(n)]


# ---- colour.js in Python ------------------------------------------------------------------


def _js_round(x: float) -> float:
    return math.floor(x + 0.5)


def _alpha(a: float) -> float:
    return _js_round(a * 1000) / 1000


def attention_colour(v: float) -> tuple[int, int, int, float] | None:
    """``attentionColour``: red with alpha = clamp(v, 0, 1) (None = transparent)."""
    if v is None or math.isnan(v):
        return None
    return (*ATTENTION_RGB, _alpha(min(max(v, 0.0), 1.0)))


def attribution_colour(v: float, vmax: float) -> tuple[int, int, int, float] | None:
    """``attributionColour``: blue (> 0) / orange (< 0), alpha = |v| / vmax clamped."""
    if v is None or math.isnan(v):
        return None
    if not (vmax > 0) or not math.isfinite(vmax):
        t = 1.0 if v > 0 else -1.0 if v < 0 else 0.0
    else:
        t = max(-1.0, min(1.0, v / vmax))
    rgb = NEGATIVE_RGB if t < 0 else POSITIVE_RGB
    return (*rgb, _alpha(abs(t)))


_RGBA = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\s*\)")


def _byte(alpha: float) -> int:
    return int(_js_round(alpha * 255))


def parse_css_colour(text: str) -> tuple[int, int, int, float] | None:
    """Parse "rgb(...)" / "rgba(...)" → (r, g, b, a); "transparent" / "" → None (alpha 0)."""
    text = (text or "").strip()
    if text in ("", "transparent"):
        return None
    m = _RGBA.fullmatch(text)
    assert m, f"unexpected CSS colour {text!r}"
    r, g, b = (int(float(m.group(k))) for k in (1, 2, 3))
    a = float(m.group(4)) if m.group(4) is not None else 1.0
    return (r, g, b, a) if a > 0 else None


# ---- the token view's DOM ------------------------------------------------------------------

READ_TOKENS = """(root) => [...root.querySelectorAll('.iw-token')].map(s => ({
  index: Number(s.dataset.index),
  value: s.dataset.value === undefined ? null : Number(s.dataset.value),
  inline: s.style.backgroundColor,
  computed: getComputedStyle(s).backgroundColor,
  classes: [...s.classList],
  text: s.textContent,
}))"""


@dataclass
class Tok:
    index: int
    value: float | None
    inline: str
    computed: str
    classes: list[str]
    text: str

    @property
    def masked(self) -> bool:
        return "iw-masked" in self.classes


def read_tokens(root) -> list[Tok]:
    """Every ``.iw-token`` of a view (``root``: a Playwright locator of the view's ``.iw-root``)."""
    return [Tok(**t) for t in root.evaluate(READ_TOKENS)]


def shaded(toks: list[Tok]) -> dict[int, float]:
    return {t.index: t.value for t in toks if t.value is not None}


def assert_shading(
    toks: list[Tok],
    expected: dict[int, float],
    *,
    kind: str,
    vmax: float = 0.0,
    rel: float = 1e-3,
    abs_tol: float = 1e-6,
    alpha_steps: int = 1,
) -> None:
    """The shaded tokens are exactly ``expected``'s keys, each ``data-value`` within tolerance, and
    each background (inline and computed) is colour.js's colour of the expected value; every other
    token is transparent.

    Chromium keeps a colour's alpha as a byte (k / 255) and prints the shortest decimal that maps
    back to it, so alphas are compared in 1/255 steps: ``alpha_steps`` of slack for the float16
    (live) or uint8/int8 (exported) rounding of the value itself."""
    got = shaded(toks)
    assert sorted(got) == sorted(expected), (
        f"shaded tokens differ: extra {sorted(set(got) - set(expected))}, "
        f"missing {sorted(set(expected) - set(got))}"
    )
    colour = attention_colour if kind == "attention" else (lambda v: attribution_colour(v, vmax))
    for t in toks:
        if t.index not in expected:
            assert parse_css_colour(t.inline) is None, f"token {t.index} is shaded: {t.inline}"
            assert parse_css_colour(t.computed) is None, f"token {t.index} is shaded: {t.computed}"
            continue
        e = float(expected[t.index])
        assert abs(t.value - e) <= rel * abs(e) + abs_tol, (
            f"token {t.index}: data-value {t.value} but the tensor says {e}"
        )
        want = colour(e)
        for name, css in (("inline", t.inline), ("computed", t.computed)):
            have = parse_css_colour(css)
            want_byte = _byte(want[3]) if want else 0
            if have is None or want_byte == 0:
                have_byte = _byte(have[3]) if have else 0
                assert abs(have_byte - want_byte) <= alpha_steps, (
                    f"token {t.index} {name}: {css!r}, want {want} (value {e})"
                )
                continue
            assert have[:3] == want[:3], f"token {t.index} {name}: {css}, want rgb{want[:3]}"
            assert abs(_byte(have[3]) - want_byte) <= alpha_steps, (
                f"token {t.index} {name}: alpha {have[3]}, want {want[3]} (value {e})"
            )


# The same comparison in the page, to wait for the view to catch up (new buffers from a kernel or
# a decoded head) without sleeping; the detailed Python assertion runs afterwards.
WAIT_SHADING = """([root, exp, rel, abs]) => {
  const spans = root.querySelectorAll('.iw-token');
  let n = 0;
  for (const s of spans) {
    const want = exp[s.dataset.index];
    const has = s.dataset.value !== undefined;
    if (want === undefined) { if (has) return false; continue; }
    if (!has) return false;
    const v = Number(s.dataset.value);
    if (!(Math.abs(v - want) <= rel * Math.abs(want) + abs)) return false;
    n++;
  }
  return n === Object.keys(exp).length;
}"""


def wait_shading(page, root, expected: dict[int, float], *, rel=1e-3, abs_tol=1e-6, timeout=15_000):
    handle = root.element_handle()
    exp = {str(k): float(v) for k, v in expected.items()}
    # on a timeout the detailed assertion that follows says what differs
    with contextlib.suppress(Exception):
        page.wait_for_function(WAIT_SHADING, arg=[handle, exp, rel, abs_tol], timeout=timeout)


# ---- expected rows from tensors -------------------------------------------------------------


def attention_dst(A: np.ndarray, d: int) -> dict[int, float]:
    """Destination ``d`` selected: sources ``s <= d`` get ``A[d, s]``."""
    return {s: float(A[d, s]) for s in range(d + 1)}


def attention_src(A: np.ndarray, s: int) -> dict[int, float]:
    """Source ``s`` selected: destinations ``d >= s`` get ``A[d, s]``."""
    return {d: float(A[d, s]) for d in range(s, A.shape[0])}


def logit_dst(L: np.ndarray, p: int) -> dict[int, float]:
    """Output token ``p`` selected: sources ``s <= p - 1`` get ``L[p - 1, s]``."""
    return {s: float(L[p - 1, s]) for s in range(p)}


def max_abs_finite(L: np.ndarray) -> float:
    finite = L[np.isfinite(L)]
    return float(np.abs(finite).max()) if finite.size else 0.0


def head_arrays(acts, layer: int, head: int) -> tuple[np.ndarray, np.ndarray]:
    """``(attention, logit attribution)`` of one head as float64 numpy ``[dst, src]``."""
    A = acts.attention(layer, head).double().numpy()
    L = acts.logit_attribution(layer, head).double().numpy()
    return A, L


def f16(x: np.ndarray) -> np.ndarray:
    """What a float16 buffer decodes to (the live views' dtype)."""
    return x.astype(np.float16).astype(np.float64)


# ---- driving the views ----------------------------------------------------------------------


def grid_point(hm_root, layer: int, head: int) -> tuple[float, float]:
    """The page coordinates of the centre of cell (layer, head) of a head map's canvas grid."""
    grid = hm_root.locator("canvas.iw-grid")
    grid.scroll_into_view_if_needed()
    ds = grid.evaluate("c => Object.assign({}, c.dataset)")
    box = grid.bounding_box()
    cell = float(ds["cell"])
    return (
        box["x"] + float(ds["plotLeft"]) + (head + 0.5) * cell,
        box["y"] + float(ds["plotTop"]) + (layer + 0.5) * cell,
    )


def grid_click(page, hm_root, layer: int, head: int) -> None:
    """Click cell (layer, head) of a head map's canvas grid."""
    page.mouse.click(*grid_point(hm_root, layer, head))


def point_at_cell(page, plot, d: int, s: int) -> None:
    """Move the mouse over cell (dst ``d``, src ``s``) of an attention matrix's canvas, at its
    current zoom and pan (read from the canvas' data attributes)."""
    ds = plot.evaluate("c => Object.assign({}, c.dataset)")
    box = plot.bounding_box()
    zoom, ox, oy = float(ds["zoom"]), float(ds["ox"]), float(ds["oy"])
    page.mouse.move(
        box["x"] + float(ds["plotLeft"]) + (s - ox + 0.5) * zoom,
        box["y"] + float(ds["plotTop"]) + (d - oy + 0.5) * zoom,
    )


# ---- the sequential (viridis) map of colour.js, for canvas pixels ----------------------------

VIRIDIS_PY = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
]


def viridis(t: float) -> tuple[int, int, int]:
    """colour.js ``sequentialColour(t)``: viridis at ``t`` clamped to [0, 1], interpolated linearly
    between the 9 stops, each channel rounded (the verdict scatter's points)."""
    x = min(max(t, 0.0), 1.0) * (len(VIRIDIS_PY) - 1)
    i = min(math.floor(x), len(VIRIDIS_PY) - 2)
    f = x - i
    a, b = VIRIDIS_PY[i], VIRIDIS_PY[i + 1]
    return tuple(int(_js_round(a[k] + (b[k] - a[k]) * f)) for k in range(3))  # type: ignore[return-value]


def viridis_rgb(v: float) -> tuple[int, int, int]:
    """The attention matrix's pixel for value ``v``: ``sequentialLUT()[round(clamp(v) * 255)]``."""
    return viridis(_js_round(min(max(v, 0.0), 1.0) * 255) / 255)
