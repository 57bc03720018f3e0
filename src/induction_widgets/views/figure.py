r"""Static figures of the views: ``iw.figure(view)`` → a matplotlib ``Figure``, ``view.save_figure(path)``.

A figure is drawn from the same :class:`~induction_widgets.views.ViewSpec` as the widget and the
saved page (``view.view_spec()``: the view's kind and its state, buffers decoded with
:func:`~induction_widgets.payload.decode`), so it shows what the view shows now: the head, the
mode, the attention scale (``sink_scale``), the locked token or selected head, the palette. The
colours are the page's (``js/src/shared/colour.js``), computed here from the same numbers:

* token shading: attention ``rgba(palette.attention, α = clamp(v, 0, 1))``; logit attribution
  ``rgba(palette.positive | palette.negative, α = min(|v| / vmax, 1))`` with ``vmax`` the head's
  largest finite ``|attr[d, s]|`` (α rounded to 3 decimals, as the page does);
* matrices: viridis (the page's 9 control points, interpolated to 256 entries) for attention on
  ``[0, 1]``, the diverging palette pair for logit attribution; a matrix larger than ``max_cells``
  is shown as a max-pooled overview (each pixel the largest value, or the largest magnitude for
  attribution, of the ``b × b`` block it covers), so sparse peaks survive;
* the head map: viridis over the score's ``[min, max]``; ΔICL on the diverging pair over
  ``±max|ΔICL|``, heads not measured hatched.

One drawing function per view kind, registered by kind (:func:`register_figure`), so a new view
adds its own; :data:`FIGURES` names the kinds. matplotlib is imported when a figure is drawn
(``pip install 'induction_widgets[figures]'``); no pyplot, no browser, no network.

This module sits beside :mod:`.static` (the pages) so that a widget's ``save_figure`` reaches it
the way its ``save_html`` reaches the page writer, without importing the export room; the public
names are :mod:`induction_widgets.export.figure`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..payload import decode
from .common import PALETTES, ViewSpec
from .static import output_path, spec_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The file formats :func:`save_figure` writes, by suffix.
FORMATS = (".pdf", ".svg", ".png")

#: Viridis at t = 0, 1/8, …, 1: the page's control points (``colour.js`` ``VIRIDIS``).
VIRIDIS = (
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
)
#: Series colours of the line plots (``loss_curve.js``, ``partners.js``, ``phase_change.js``).
BLUE, ORANGE, GREEN, RED = (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)
#: Faint text (masked tokens, BOS) and the foreground, as the page's light theme.
FAINT, FG = "#999999", "#222222"

FigureFn = Callable[[ViewSpec, "Figure"], None]
#: The drawing function of each view kind: ``fn(spec, fig)`` draws ``spec`` into the empty ``fig``.
FIGURES: dict[str, FigureFn] = {}


def register_figure(kind: str) -> Callable[[FigureFn], FigureFn]:
    """Decorator: ``fn(spec, fig)`` draws the views of ``kind`` (a view's ``ViewSpec.kind``)."""

    def add(fn: FigureFn) -> FigureFn:
        FIGURES[kind] = fn
        return fn

    return add


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "figures need matplotlib: pip install 'induction_widgets[figures]' "
            "(or pip install matplotlib)"
        ) from None
    return matplotlib


def _drawer(spec: ViewSpec) -> FigureFn:
    fn = FIGURES.get(spec.kind)
    if fn is None:
        kinds = ", ".join(sorted(FIGURES))
        raise InputError(
            f"no figure for a {spec.kind!r} view: figures exist for {kinds}; a new view kind "
            "adds one with induction_widgets.export.register_figure(kind)"
        )
    return fn


def figure(view: Any) -> Figure:
    """A matplotlib ``Figure`` of ``view`` as it shows now (or of a ``ViewSpec``): restyle it,
    add to it, ``fig.savefig(...)`` it. See :data:`FIGURES` for the kinds drawn."""
    spec = spec_of(view)
    draw = _drawer(spec)
    _matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(layout="constrained")
    draw(spec, fig)
    return fig


def save_figure(view: Any, path: Any, *, dpi: int = 200) -> Path:
    """Write :func:`figure` of ``view`` to ``path``: ``.pdf`` / ``.svg`` (vector; text stays text,
    SVG without embedded dates) or ``.png`` (``dpi`` dots per inch). Returns the path."""
    spec = spec_of(view)
    _drawer(spec)
    suffix = Path(str(path)).suffix.lower() if isinstance(path, (str, Path)) else ""
    if isinstance(path, (str, Path)) and suffix not in FORMATS:
        raise InputError(
            f"path must end in .pdf, .svg or .png (the figure's format), got {str(path)!r}"
        )
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 10:
        raise InputError(f"dpi must be an int >= 10 (dots per inch of a .png), got {dpi!r}")
    out = output_path(path, ".pdf")
    matplotlib = _matplotlib()
    fig = figure(spec)
    metadata = {"Date": None} if suffix in (".svg", ".pdf") else None
    if suffix == ".pdf":
        metadata = {"CreationDate": None}
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "iw"}):
        fig.savefig(out, dpi=dpi, metadata=metadata)
    return out


# --- colours: the page's scales ------------------------------------------------------------------


def palette(state: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """The view's palette (``state["palette"]``, ``"paper"`` when absent)."""
    return PALETTES.get(str(state.get("palette", "paper")), PALETTES["paper"])


def _alpha(a: float) -> float:
    """Alpha rounded to 3 decimals, as ``colour.js`` writes it."""
    return round(min(max(a, 0.0), 1.0) * 1000) / 1000


def attention_rgba(v: float, pal: dict[str, tuple[int, int, int]]) -> tuple[float, ...] | None:
    """``attentionColour``: the attention colour with α = clamp(v, 0, 1); ``None`` for NaN."""
    if math.isnan(v):
        return None
    r, g, b = pal["attention"]
    return (r / 255, g / 255, b / 255, _alpha(v))


def attribution_level(v: float, vmax: float) -> float:
    """``attributionLevel``: clamp(v / vmax, −1, 1); ±1 / 0 without a positive finite vmax."""
    if math.isnan(v):
        return math.nan
    if not (vmax > 0) or not math.isfinite(vmax):
        return 1.0 if v > 0 else -1.0 if v < 0 else 0.0
    return min(max(v / vmax, -1.0), 1.0)


def attribution_rgba(
    v: float, vmax: float, pal: dict[str, tuple[int, int, int]]
) -> tuple[float, ...] | None:
    """``attributionColour``: positive / negative colour with α = |v| / vmax; ``None`` for NaN."""
    t = attribution_level(v, vmax)
    if math.isnan(t):
        return None
    r, g, b = pal["negative"] if t < 0 else pal["positive"]
    return (r / 255, g / 255, b / 255, _alpha(abs(t)))


def viridis_lut() -> np.ndarray:
    """``sequentialLUT``: 256 RGB entries (uint8) interpolated linearly from :data:`VIRIDIS`."""
    c = np.asarray(VIRIDIS, dtype=np.float64)
    x = np.arange(256) / 255 * (len(c) - 1)
    i = np.minimum(np.floor(x).astype(int), len(c) - 2)
    f = (x - i)[:, None]
    # Math.round: halves up
    return np.floor(c[i] + (c[i + 1] - c[i]) * f + 0.5).astype(np.uint8)


def _cmap_viridis() -> Any:
    from matplotlib.colors import ListedColormap

    return ListedColormap(viridis_lut() / 255, name="iw_viridis")


def _cmap_diverging(pal: dict[str, tuple[int, int, int]]) -> Any:
    """The diverging scale over white: negative (α 1) → white → positive (α 1)."""
    from matplotlib.colors import LinearSegmentedColormap

    neg = tuple(c / 255 for c in pal["negative"])
    pos = tuple(c / 255 for c in pal["positive"])
    return LinearSegmentedColormap.from_list("iw_diverging", [neg, (1, 1, 1), pos], N=256)


def _cmap_alpha(rgb: tuple[int, int, int]) -> Any:
    """A single-hue scale over white: α 0 → 1 of ``rgb``."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "iw_alpha", [(1, 1, 1), tuple(c / 255 for c in rgb)], N=256
    )


# --- decoded buffers -----------------------------------------------------------------------------


def _buffer(state: dict[str, Any], name: str) -> np.ndarray | None:
    raw = state.get(name)
    if not isinstance(raw, dict) or not raw or ("view" not in raw and "b64" not in raw):
        return None
    return decode(raw)


def _mask(state: dict[str, Any], name: str) -> np.ndarray | None:
    m = _buffer(state, name)
    return None if m is None else m.astype(bool)


def label_token(token: str, most: int = 16) -> str:
    """``text.js`` ``labelToken``: newline → ↵, tab → ⇥, cut to ``most`` characters with …."""
    s = str(token).replace("\r\n", "↵").replace("\n", "↵").replace("\t", "⇥")
    return s if len(s) <= most else s[: most - 1] + "…"


def attention_on_scale(state: dict[str, Any]) -> tuple[np.ndarray | None, str, int]:
    """The attention ``[dst, src]`` on the scale on screen (``sink_scale``; "auto" = the head's
    ``sink_summary`` default), that scale's name, and the sink width ``first``."""
    import torch

    from ..compute.sink import sink_summary

    a = _buffer(state, "attention")
    if a is None or a.ndim != 2 or a.shape[0] == 0:
        return a, "all sources", 0
    summary = sink_summary(torch.from_numpy(np.nan_to_num(a, nan=0.0)))
    choice = str(state.get("sink_scale", "auto"))
    scale = choice if choice in ("without sink", "all sources") else summary["default_scale"]
    if scale == "without sink":
        a = summary["pattern_without_sink"].numpy()
    return a, scale, int(summary["first"])


def _max_abs(m: np.ndarray | None) -> float:
    if m is None:
        return 0.0
    f = np.abs(m[np.isfinite(m)])
    return float(f.max()) if f.size else 0.0


# --- token view ----------------------------------------------------------------------------------


def token_values(state: dict[str, Any]) -> tuple[np.ndarray, float, str]:
    """What the token view shades with token ``state["selected"]`` locked (``shading.js``
    ``shadeValues``): one value per token (NaN = not shaded), the attribution scale ``vmax``
    (largest finite ``|attr|`` of the head) and the attention scale on screen."""
    tokens = list(state.get("tokens") or [])
    n = len(tokens)
    out = np.full(n, np.nan)
    mode = "logit_attr" if state.get("mode") == "logit_attr" else "attention"
    role = "source" if state.get("selected_is") == "source" else "destination"
    i = int(state.get("selected", -1))
    dst, src, outm = (_mask(state, k) for k in ("dst_mask", "src_mask", "output_mask"))
    attention, scale, _ = attention_on_scale(state)
    attribution = _buffer(state, "attribution")
    vmax = _max_abs(attribution) if mode == "logit_attr" else 1.0

    def ok(mask: np.ndarray | None, j: int) -> bool:
        return mask is None or j >= len(mask) or bool(mask[j])

    if not 0 <= i < n:
        return out, vmax, scale
    if role == "source":
        selectable = ok(src, i)
    elif mode == "logit_attr":
        selectable = i >= 1 and ok(outm, i)
    else:
        selectable = ok(dst, i)
    if not selectable:
        return out, vmax, scale
    if mode == "logit_attr":
        if attribution is None or attribution.shape != (n, n):
            return out, vmax, scale
        if role == "destination":
            for s in range(i):
                if ok(src, s):
                    out[s] = attribution[i - 1, s]
        else:
            for p in range(i + 1, n):
                if ok(outm, p):
                    out[p] = attribution[p - 1, i]
        return out, vmax, scale
    if attention is None or attention.shape != (n, n):
        return out, vmax, scale
    a = attention.astype(np.float64)
    norms = _buffer(state, "value_norm")
    if state.get("value_weighted") and norms is not None and len(norms) == n:
        terms = a * norms[None, :]
        den = np.where(np.isfinite(terms), terms, 0.0).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(den[:, None] == 0, 0.0, terms / den[:, None])
        a = np.where(np.isnan(terms), np.nan, a)
    if role == "destination":
        for s in range(i + 1):
            if ok(src, s):
                out[s] = a[i, s]
    else:
        for d in range(i, n):
            if ok(dst, d):
                out[d] = a[d, i]
    return out, vmax, scale


def token_colours(state: dict[str, Any]) -> list[tuple[float, ...] | None]:
    """Each token's background colour (RGBA in 0..1, ``None`` = transparent), as the page
    paints it with ``state["selected"]`` locked."""
    values, vmax, _ = token_values(state)
    pal = palette(state)
    if state.get("mode") == "logit_attr":
        return [attribution_rgba(float(v), vmax, pal) for v in values]
    return [attention_rgba(float(v), pal) for v in values]


def _mode_words(state: dict[str, Any], mode_key: str = "mode") -> str:
    return "logit attribution" if state.get(mode_key) == "logit_attr" else "attention"


def _head_words(state: dict[str, Any]) -> str:
    return f"L{int(state.get('layer', 0))}H{int(state.get('head', 0))}"


def _selectable(state: dict[str, Any], i: int) -> bool:
    role = "source" if state.get("selected_is") == "source" else "destination"
    mask = _mask(state, "src_mask" if role == "source" else "output_mask")
    if role == "destination" and state.get("mode") != "logit_attr":
        mask = _mask(state, "dst_mask")
    if role == "destination" and state.get("mode") == "logit_attr" and i < 1:
        return False
    return mask is None or i >= len(mask) or bool(mask[i])


#: The token text: DejaVu Sans Mono (ships with matplotlib) at this size; its advance is 0.602 em.
TOKEN_FONT, TOKEN_PT, ADVANCE, LINE_EM = "DejaVu Sans Mono", 8.0, 0.602, 2.0


def wrap_tokens(tokens: list[str], chars: int) -> list[tuple[int, int, int, str]]:
    """Where each piece of each token goes when the text wraps at ``chars`` characters:
    ``(token, column, line, text)``; a newline ends a line and shows as ↵, an empty token as ∅;
    a token that does not fit on the rest of a line starts the next one."""
    placed: list[tuple[int, int, int, str]] = []
    col = line = 0
    for i, tok in enumerate(tokens):
        parts = tok.split("\n") if tok else ["∅"]
        for k, part in enumerate(parts):
            shown = part + ("↵" if k < len(parts) - 1 else "")
            if col > 0 and col + len(shown) > chars:
                col, line = 0, line + 1
            if shown:
                placed.append((i, col, line, shown))
            col += len(shown)
            if k < len(parts) - 1:
                col, line = 0, line + 1
    return placed


def token_lines(state: dict[str, Any], width_in: float) -> int:
    """How many lines the text takes at ``width_in`` inches."""
    placed = wrap_tokens([str(t) for t in state.get("tokens") or []], _chars(width_in))
    return placed[-1][2] + 1 if placed else 1


def _chars(width_in: float) -> int:
    return max(8, int(width_in * 72 / (TOKEN_PT * ADVANCE)))


def draw_tokens(
    ax: Axes, state: dict[str, Any], *, width_in: float = 7.0, max_lines: int | None = None
) -> int:
    """The token view's text in ``ax``, laid out in physical units from the axes' top-left corner
    (so text and backgrounds line up at any figure size): tokens wrapped at ``width_in`` inches,
    each on a background patch (gid ``iw-token-<i>``, its colour :func:`token_colours`); the locked
    token outlined in the mode's colour; masked tokens and BOS faint; ``max_lines``: lines drawn
    (the rest left out, said below the text). Returns the number of lines drawn."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import ScaledTranslation

    fig = ax.get_figure()
    assert fig is not None
    trans = fig.dpi_scale_trans + ScaledTranslation(0, 1, ax.transAxes)  # type: ignore[arg-type]
    tokens = [str(t) for t in state.get("tokens") or []]
    colours = token_colours(state)
    pal = palette(state)
    locked = int(state.get("selected", -1))
    mode_rgb = pal["positive"] if state.get("mode") == "logit_attr" else pal["attention"]
    char_in = TOKEN_PT * ADVANCE / 72
    line_in = TOKEN_PT * LINE_EM / 72
    placed = wrap_tokens(tokens, _chars(width_in))
    lines = placed[-1][2] + 1 if placed else 0
    shown_lines = lines if max_lines is None else min(lines, max_lines)
    seen: set[int] = set()
    for i, col, line, text in placed:
        if line >= shown_lines:
            break
        x0, y0 = col * char_in, -(line + 0.5) * line_in - 0.04
        colour = colours[i] if i < len(colours) else None
        rect = Rectangle(
            (x0, y0 - 0.42 * line_in),
            len(text) * char_in,
            0.84 * line_in,
            transform=trans,
            facecolor=colour if colour is not None else (1, 1, 1, 0),
            edgecolor="none",
            gid=f"iw-token-{i}" if i not in seen else f"iw-token-{i}-more",
            clip_on=False,
        )
        if i == locked and i not in seen:
            rect.set_edgecolor(_rgb(mode_rgb))
            rect.set_linewidth(1.2)
        seen.add(i)
        ax.add_patch(rect)
        faint = (state.get("bos") and i == 0) or not _selectable(state, i)
        ax.text(
            x0,
            y0,
            text.replace(" ", "\u00a0"),
            transform=trans,
            family=TOKEN_FONT,
            fontsize=TOKEN_PT,
            va="center_baseline",
            ha="left",
            color=FAINT if faint else FG,
            gid=f"iw-token-text-{i}",
        )
    if shown_lines < lines:
        ax.text(0, -(shown_lines + 0.6) * line_in - 0.04, f"… {lines - shown_lines} more lines "
                "(the first shown)", transform=trans, fontsize=7, color=FAINT, va="top")  # fmt: skip
    ax.set_axis_off()
    return shown_lines


def token_caption(state: dict[str, Any]) -> str:
    """Head, mode, role, scale and the locked token, in words."""
    _, vmax, scale = token_values(state)
    tokens = state.get("tokens") or []
    i = int(state.get("selected", -1))
    role = "source" if state.get("selected_is") == "source" else "destination"
    parts = [_head_words(state), _mode_words(state), f"selected is {role}"]
    if state.get("mode") != "logit_attr":
        parts.append(f"scale: {scale}")
        if state.get("value_weighted"):
            parts.append("value-weighted")
    else:
        parts.append(f"±{vmax:.3g}")
    if 0 <= i < len(tokens):
        parts.append(f"locked: token {i} {label_token(tokens[i])!r}")
    else:
        parts.append("no token locked (set view.selected = i to shade)")
    return " · ".join(parts)


def _token_legend(fig: Figure, cax: Axes, state: dict[str, Any]) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    pal = palette(state)
    if state.get("mode") == "logit_attr":
        _, vmax, _ = token_values(state)
        m = vmax if vmax > 0 else 1.0
        sm = ScalarMappable(Normalize(-m, m), _cmap_diverging(pal))
        label = "direct logit attribution"
    else:
        sm = ScalarMappable(Normalize(0, 1), _cmap_alpha(pal["attention"]))
        label = "attention weight"
    bar = fig.colorbar(sm, cax=cax, orientation="horizontal")
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)


@register_figure("token_view")
def token_view_figure(spec: ViewSpec, fig: Figure) -> None:
    """The text, shaded as the page shades it for the locked token, with the colour scale."""
    state = spec.state
    width_in = 7.0
    lines = min(token_lines(state, width_in), 60)
    text_in = lines * TOKEN_PT * LINE_EM / 72 + 0.15
    fig.set_size_inches(width_in + 0.5, text_in + 1.3)
    grid = fig.add_gridspec(2, 1, height_ratios=[text_in, 0.12])
    ax = fig.add_subplot(grid[0])
    draw_tokens(ax, state, width_in=width_in, max_lines=60)
    ax.set_title(_title(state, "Token view") + "\n" + token_caption(state), fontsize=9, loc="left")
    cax = fig.add_subplot(grid[1])
    _token_legend(fig, cax, state)


def _title(state: dict[str, Any], default: str) -> str:
    return str(state.get("title") or default)


# --- attention matrix ----------------------------------------------------------------------------


def pool_max(m: np.ndarray, most: int, *, signed: bool = False) -> tuple[np.ndarray, int]:
    """``m [n, n]`` → ``[ceil(n / b), ceil(n / b)]`` with ``b = ceil(n / most)``: each cell the
    largest value of its ``b × b`` block (``signed``: the value of largest magnitude, sign kept);
    NaN cells are ignored, an all-NaN block stays NaN. ``b = 1`` returns ``m``."""
    n = m.shape[0]
    b = max(1, math.ceil(n / max(most, 1)))
    if b == 1:
        return m, 1
    k = math.ceil(n / b)
    padded = np.full((k * b, k * b), np.nan, dtype=np.float64)
    padded[:n, :n] = m
    blocks = padded.reshape(k, b, k, b).transpose(0, 2, 1, 3).reshape(k, k, b * b)
    with np.errstate(invalid="ignore"):
        if not signed:
            allnan: np.ndarray = np.asarray(np.isnan(blocks).all(-1))
            out = np.where(allnan, np.nan, np.nanmax(np.where(allnan[..., None], 0, blocks), -1))
            return out, b
        mags = np.where(np.isnan(blocks), -1.0, np.abs(blocks))
        idx = mags.argmax(-1)
        picked = np.take_along_axis(blocks, idx[..., None], -1)[..., 0]
        return picked, b


def matrix_rgba(m: np.ndarray, mode: str, vmax: float, pal: dict[str, Any]) -> np.ndarray:
    """``matrixPixels``: RGBA (0..1) per cell. Attention: viridis(clamp(v, 0, 1)), transparent for
    NaN and for exact zeros above the diagonal (the causal mask); logit attribution: the sign's
    colour with α = min(|v| / vmax, 1) (``round(α · 255) / 255``), transparent for NaN and 0."""
    n0, n1 = m.shape
    out = np.zeros((n0, n1, 4))
    if mode == "logit_attr":
        with np.errstate(invalid="ignore", divide="ignore"):
            t = m / vmax if vmax > 0 and math.isfinite(vmax) else np.sign(m)
        t = np.clip(t, -1, 1)
        ok = np.isfinite(m) & (m != 0)
        pos = np.asarray(pal["positive"]) / 255
        neg = np.asarray(pal["negative"]) / 255
        out[..., :3] = np.where((t < 0)[..., None], neg, pos)
        out[..., 3] = np.where(ok, np.round(np.abs(np.nan_to_num(t)) * 255) / 255, 0)
        return out
    lut = viridis_lut() / 255
    idx = np.round(np.clip(np.nan_to_num(m), 0, 1) * 255).astype(int)
    out[..., :3] = lut[idx]
    above = np.triu(np.ones((n0, n1), dtype=bool), 1) if n0 == n1 else np.zeros((n0, n1), bool)
    out[..., 3] = np.where(np.isnan(m) | (above & (m == 0)), 0.0, 1.0)
    return out


def draw_matrix(
    fig: Figure,
    ax: Axes,
    state: dict[str, Any],
    *,
    mode_key: str = "mode",
    max_cells: int = 512,
    colorbar: bool = True,
) -> dict[str, Any]:
    """The ``[dst, src]`` heatmap in ``ax`` (an ``AxesImage`` of RGBA pixels, gid ``iw-matrix``):
    the attention on the scale on screen, or the logit attribution, max-pooled to at most
    ``max_cells`` per side. Returns ``{"block", "scale", "vmax"}``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mode = "logit_attr" if state.get(mode_key) == "logit_attr" else "attention"
    pal = palette(state)
    tokens = [str(t) for t in state.get("tokens") or []]
    if mode == "logit_attr":
        m, scale = _buffer(state, "attribution"), ""
        vmax = _max_abs(m)
    else:
        m, scale, _ = attention_on_scale(state)
        vmax = 1.0
    if m is None or m.ndim != 2 or m.shape[0] == 0:
        ax.text(0.5, 0.5, f"no {_mode_words(state, mode_key)} data", ha="center", va="center")
        ax.set_axis_off()
        return {"block": 1, "scale": scale, "vmax": vmax}
    n = m.shape[0]
    pooled, b = pool_max(m.astype(np.float64), max_cells, signed=mode == "logit_attr")
    if b > 1 and mode == "attention":
        # a block that straddles the diagonal keeps the causal mask only where it is all masked
        d = np.arange(pooled.shape[0])
        pooled = np.where(d[None, :] > d[:, None], np.where(pooled == 0, 0.0, pooled), pooled)
    rgba = matrix_rgba(pooled, mode, vmax, pal)
    k = pooled.shape[0]
    ax.imshow(
        rgba,
        extent=(-0.5, k * b - 0.5, k * b - 0.5, -0.5),
        interpolation="nearest",
        gid="iw-matrix",
    )
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("source token (attended to)", fontsize=8)
    ax.set_ylabel("destination token (attending)", fontsize=8)
    ax.tick_params(labelsize=6)
    if n <= 40 and tokens:
        ax.set_xticks(range(n), [label_token(t, 10) for t in tokens[:n]], rotation=90)
        ax.set_yticks(range(n), [label_token(t, 12) for t in tokens[:n]])
    if colorbar:
        if mode == "logit_attr":
            m_ = vmax if vmax > 0 else 1.0
            sm = ScalarMappable(Normalize(-m_, m_), _cmap_diverging(pal))
            label = "direct logit attribution"
        else:
            sm = ScalarMappable(Normalize(0, 1), _cmap_viridis())
            label = "attention" + (
                " (without sink, rows renormalised)" if scale == "without sink" else ""
            )
        bar = fig.colorbar(sm, ax=ax, shrink=0.8)
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return {"block": b, "scale": scale, "vmax": vmax}


def matrix_caption(state: dict[str, Any], info: dict[str, Any], mode_key: str = "mode") -> str:
    parts = [_head_words(state), _mode_words(state, mode_key)]
    if info["scale"]:
        parts.append(f"scale: {info['scale']}")
    n = len(state.get("tokens") or [])
    if info["block"] > 1:
        what = "max" if state.get(mode_key) != "logit_attr" else "largest |value|"
        parts.append(f"{n} tokens, each pixel the {what} of {info['block']}×{info['block']} cells")
    return " · ".join(parts)


@register_figure("attention_matrix")
def attention_matrix_figure(spec: ViewSpec, fig: Figure) -> None:
    """The ``[dst, src]`` heatmap with labelled axes and its colour bar."""
    state = spec.state
    fig.set_size_inches(5.6, 5.0)
    ax = fig.add_subplot()
    info = draw_matrix(fig, ax, state)
    ax.set_title(_title(state, "Attention matrix") + "\n" + matrix_caption(state, info), fontsize=9)


# --- head map ------------------------------------------------------------------------------------


def _grid(state: dict[str, Any], name: str) -> np.ndarray | None:
    if name == "icl_ablation":
        return _buffer(state, "ablation")
    raw = (state.get("scores") or {}).get(name)
    return decode(raw) if isinstance(raw, dict) and raw else None


def _pretty(name: str, method: Any = "") -> str:
    """A score's label; ΔICL says how it was made (``ablation_method``)."""
    if name == "icl_ablation":
        return "ΔICL (attribution patching)" if method == "attribution" else "ΔICL (ablation)"
    return str(name).replace("_", " ")


def draw_head_map(fig: Figure, ax: Axes, state: dict[str, Any], selected: Any) -> None:
    """The ``[layer, head]`` grid of the score shown (viridis over its range; ΔICL on the
    diverging pair over ±max|ΔICL| with unmeasured heads hatched), a colour bar, and the selected
    head outlined (patch gid ``iw-selected-head``)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    name = str(state.get("score", "prefix_matching"))
    grid = _grid(state, name)
    n_layers, n_heads = int(state.get("n_layers", 1)), int(state.get("n_heads", 1))
    if grid is None:
        grid = np.full((n_layers, n_heads), np.nan)
    finite = grid[np.isfinite(grid)]
    pal = palette(state)
    if name == "icl_ablation":
        m = float(np.abs(finite).max()) if finite.size else 0.0
        rgba = np.zeros((*grid.shape, 4))
        for (l_, h_), v in np.ndenumerate(grid):
            c = attribution_rgba(float(v), m, pal)
            rgba[l_, h_] = c if c is not None else (0, 0, 0, 0)
        sm = ScalarMappable(Normalize(-(m or 1), m or 1), _cmap_diverging(pal))
        for (l_, h_), v in np.ndenumerate(grid):
            if math.isnan(v):
                ax.add_patch(
                    Rectangle(
                        (h_ - 0.5, l_ - 0.5),
                        1,
                        1,
                        facecolor="none",
                        edgecolor=FAINT,
                        hatch="///",
                        linewidth=0,
                        gid=f"iw-unmeasured-L{l_}H{h_}",
                    )
                )
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        t = (grid - lo) / (hi - lo) if hi > lo else np.full(grid.shape, 0.5)
        lut = viridis_lut() / 255
        rgba = np.zeros((*grid.shape, 4))
        ok = np.isfinite(t)
        idx = np.round(np.clip(np.nan_to_num(t), 0, 1) * 255).astype(int)
        rgba[..., :3] = lut[idx]
        rgba[..., 3] = ok
        sm = ScalarMappable(Normalize(lo, hi), _cmap_viridis())
    ax.imshow(rgba, interpolation="nearest", aspect="auto", gid="iw-head-map")
    ax.set_xlabel("head", fontsize=8)
    ax.set_ylabel("layer", fontsize=8)
    ax.tick_params(labelsize=7)
    step_h = max(1, math.ceil(n_heads / 16))
    step_l = max(1, math.ceil(n_layers / 16))
    ax.set_xticks(range(0, n_heads, step_h), [f"H{h}" for h in range(0, n_heads, step_h)])
    ax.set_yticks(range(0, n_layers, step_l), [f"L{l_}" for l_ in range(0, n_layers, step_l)])
    bar = fig.colorbar(sm, ax=ax, shrink=0.85)
    bar.set_label(_pretty(name, state.get("ablation_method")), fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if selected is not None and len(selected) == 2:
        layer, head = int(selected[0]), int(selected[1])
        for lw, colour, inset in ((2.2, FG, 0.0), (1.0, "white", 0.12)):
            ax.add_patch(
                Rectangle(
                    (head - 0.5 + inset, layer - 0.5 + inset),
                    1 - 2 * inset,
                    1 - 2 * inset,
                    fill=False,
                    edgecolor=colour,
                    linewidth=lw,
                    gid="iw-selected-head" if inset == 0 else "iw-selected-head-inner",
                )
            )


def _head_map_caption(state: dict[str, Any], selected: Any) -> str:
    name = str(state.get("score", "prefix_matching"))
    parts = [f"coloured by {_pretty(name, state.get('ablation_method'))}"]
    if selected is not None and len(selected) == 2:
        l_, h_ = int(selected[0]), int(selected[1])
        grid = _grid(state, name)
        verdicts = state.get("verdicts") or []
        index = l_ * int(state.get("n_heads", 1)) + h_
        words = f"selected L{l_}H{h_}"
        if grid is not None and grid.shape == (
            int(state.get("n_layers", 0)),
            int(state.get("n_heads", 0)),
        ):
            words += f" = {float(grid[l_, h_]):.3g}"
        if index < len(verdicts) and verdicts[index]:
            words += f" ({verdicts[index]})"
        parts.append(words)
    if name == "icl_ablation":
        parts.append("hatched: not measured")
    return " · ".join(parts)


@register_figure("head_map")
def head_map_figure(spec: ViewSpec, fig: Figure) -> None:
    """The layer × head grid with its colour bar and the selected head outlined."""
    import textwrap

    state = spec.state
    n_layers, n_heads = int(state.get("n_layers", 1)), int(state.get("n_heads", 1))
    width = min(9.0, max(4.8, 2.2 + 0.35 * n_heads))
    fig.set_size_inches(width, min(9.0, max(3.0, 1.8 + 0.3 * n_layers)))
    ax = fig.add_subplot()
    selected = state.get("selected_head") or None
    draw_head_map(fig, ax, state, selected)
    chars = int(width * 13)
    caption = textwrap.fill(_head_map_caption(state, selected), chars)
    ax.set_title(_title(state, "Head map") + "\n" + caption, fontsize=9)
    note = state.get("ablation_note")
    if note and state.get("score") == "icl_ablation":
        fig.supxlabel(textwrap.fill(str(note), int(chars * 1.4)), fontsize=6, color=FAINT)


# --- verdict scatter -----------------------------------------------------------------------------


def draw_scatter(fig: Figure, ax: Axes, state: dict[str, Any], prefix: str = "") -> None:
    """Every head as a point (``x`` prefix matching, ``y`` the copying measure), coloured by
    layer depth (viridis), the two threshold lines, the selected head ringed (gid
    ``iw-selected-point``)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    x = _buffer(state, prefix + "x")
    y = _buffer(state, prefix + "y")
    depth = _buffer(state, prefix + "depth")
    n_heads = int(state.get("n_heads", 1))
    if x is None or y is None:
        ax.text(0.5, 0.5, "no scatter data", ha="center")
        return
    lut = viridis_lut() / 255
    d = np.zeros_like(x) if depth is None else depth
    colours = lut[np.round(np.clip(np.nan_to_num(d), 0, 1) * 255).astype(int)]
    ax.scatter(x, y, c=colours, s=14, edgecolors="none", gid="iw-points")
    xt, yt = state.get("x_threshold"), state.get("y_threshold")
    if xt is not None:
        ax.axvline(float(xt), color=FAINT, linestyle="--", linewidth=0.8, label="thresholds")
    if yt is not None:
        ax.axhline(float(yt), color=FAINT, linestyle="--", linewidth=0.8)
    sel = state.get("selected_head") or []
    if len(sel) == 2:
        i = int(sel[0]) * n_heads + int(sel[1])
        if i < len(x):
            ax.scatter(
                [x[i]],
                [y[i]],
                s=80,
                facecolors="none",
                edgecolors=FG,
                linewidths=1.5,
                gid="iw-selected-point",
                label=f"L{int(sel[0])}H{int(sel[1])}",
            )
    xr, yr = state.get("x_range"), state.get("y_range")
    if xr:
        ax.set_xlim(float(xr[0]) - 0.02, float(xr[1]) + 0.02)
    if yr:
        pad = 0.02 * (float(yr[1]) - float(yr[0]) or 1)
        ax.set_ylim(float(yr[0]) - pad, float(yr[1]) + pad)
    ax.set_xlabel(str(state.get("x_name", "prefix matching")).replace("_", " "), fontsize=8)
    ax.set_ylabel(str(state.get("y_name", "copying")).replace("_", " "), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), _cmap_viridis()), ax=ax, shrink=0.85)
    bar.set_label("layer depth (layer / (n_layers − 1))", fontsize=8)
    bar.ax.tick_params(labelsize=7)


@register_figure("verdict_scatter")
def verdict_scatter_figure(spec: ViewSpec, fig: Figure) -> None:
    """Prefix matching against copying, one point per head, with the verdict thresholds."""
    state = spec.state
    fig.set_size_inches(5.2, 4.2)
    ax = fig.add_subplot()
    draw_scatter(fig, ax, state)
    verdicts = state.get("verdicts") or []
    n_ind = sum(1 for v in verdicts if v == "induction head")
    ax.set_title(
        _title(state, "Verdict scatter")
        + f"\n{len(verdicts)} heads · {n_ind} above both thresholds (induction heads)",
        fontsize=9,
    )


# --- loss curve, partners, phase change ----------------------------------------------------------


def _rgb(c: tuple[int, int, int]) -> tuple[float, float, float]:
    return (c[0] / 255, c[1] / 255, c[2] / 255)


@register_figure("loss_curve")
def loss_curve_figure(spec: ViewSpec, fig: Figure) -> None:
    """The mean per-token loss against token index (log x), the early / late indices marked, the
    ICL score ``L[late] − L[early]`` ± its standard error in the title."""
    state = spec.state
    fig.set_size_inches(6.0, 3.6)
    ax = fig.add_subplot()
    loss = _buffer(state, "loss")
    early, late = int(state.get("early", 0)), int(state.get("late", 0))
    if loss is not None and len(loss) > 1:
        i = np.arange(1, len(loss))
        ax.plot(i, loss[1:], color=_rgb(BLUE), linewidth=1.2, label="mean loss", gid="iw-loss")
        ax.set_xscale("log")
    for idx, word in ((early, "early"), (late, "late")):
        ax.axvline(idx, color=FAINT, linestyle="--", linewidth=0.8)
        if loss is not None and 0 < idx < len(loss):
            ax.plot([idx], [loss[idx]], "o", color=_rgb(BLUE), markersize=4)
            ax.annotate(f"{word} ({idx})", (idx, loss[idx]), fontsize=7, xytext=(3, 6),
                        textcoords="offset points")  # fmt: skip
    ax.set_xlabel("token index (log scale)", fontsize=8)
    ax.set_ylabel("mean per-token loss (nats)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    score, sem = state.get("score"), state.get("sem")
    if score is None:
        words = "ICL score: not measured (no finite value)"
    else:
        words = f"ICL score {score:.3g}" + (
            f" ± {sem:.2g}" if sem is not None else " (no standard error)"
        )
        words += f" nats (loss[{late}] − loss[{early}]), {int(state.get('n_contexts', 0))} contexts"
    ax.set_title(_title(state, "Loss curve") + "\n" + words, fontsize=9)


@register_figure("partners")
def partners_figure(spec: ViewSpec, fig: Figure) -> None:
    """The earlier heads ranked by K-composition into the induction head, each with its
    previous-token score (bars side by side, the ``top`` of them)."""
    state = spec.state
    kc = _buffer(state, "k_composition")
    prev = _buffer(state, "previous_token")
    top = int(state.get("top", 12))
    layer, head = int(state.get("layer", 0)), int(state.get("head", 0))
    rows: list[tuple[float, float, str]] = []
    if kc is not None and prev is not None:
        for (l_, h_), v in np.ndenumerate(kc):
            if np.isfinite(v):
                rows.append((float(v), float(prev[l_, h_]), f"L{l_}H{h_}"))
    rows.sort(key=lambda r: -r[0])
    rows = rows[:top]
    fig.set_size_inches(5.6, 1.4 + 0.28 * max(len(rows), 1))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r[0] for r in rows], height=0.38, color=_rgb(BLUE), label="K-composition")
    ax.barh(y + 0.2, [r[1] for r in rows], height=0.38, color=_rgb(ORANGE),
            label="previous-token score")  # fmt: skip
    ax.set_yticks(y, [r[2] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (0 … 1)", fontsize=8)
    ax.set_ylabel("earlier head", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(
        _title(state, "Previous-token partners")
        + f"\nK-composition into L{layer}H{head}, top {len(rows)} earlier heads",
        fontsize=9,
    )


@register_figure("phase_change")
def phase_change_figure(spec: ViewSpec, fig: Figure) -> None:
    """Per checkpoint, the best head's prefix matching, copying and previous-token scores (left
    axis) and the ICL score ± its standard error (right axis), the largest jump shaded."""
    state = spec.state
    fig.set_size_inches(6.4, 3.8)
    ax = fig.add_subplot()
    steps = _buffer(state, "steps")
    labels = list(state.get("series_labels") or ["prefix matching", "copying", "previous token"])
    if steps is None:
        steps = np.zeros(0)
    for name, label, colour in zip(
        ("prefix_matching", "copying", "previous_token"),
        labels,
        (BLUE, GREEN, ORANGE),
        strict=False,
    ):
        values = _buffer(state, name)
        if values is not None:
            ax.plot(steps, values, "o-", color=_rgb(colour), markersize=3, linewidth=1.2,
                    label=f"best {label}", gid=f"iw-series-{name}")  # fmt: skip
    jump = state.get("jump") or []
    if len(jump) == 2:
        ax.axvspan(float(jump[0]), float(jump[1]), color=FAINT, alpha=0.25, label="largest jump")
    ax.set_xlabel("training step", fontsize=8)
    ax.set_ylabel("best head's score", fontsize=8)
    ax.tick_params(labelsize=7)
    icl, sem = _buffer(state, "icl"), _buffer(state, "icl_sem")
    if icl is not None and len(icl) == len(steps):
        ax2 = ax.twinx()
        ax2.errorbar(steps, icl, yerr=None if sem is None else np.nan_to_num(sem), fmt="s--",
                     color=_rgb(RED), markersize=3, linewidth=1, label="ICL score", gid="iw-icl")  # fmt: skip
        ax2.set_ylabel(
            f"ICL score (nats, loss[{state.get('late')}] − loss[{state.get('early')}])",
            fontsize=8,
            color=_rgb(RED),
        )
        ax2.tick_params(labelsize=7)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  ncol=3, frameon=False)  # fmt: skip
    else:
        ax.legend(fontsize=7)
    words = ""
    if len(jump) == 2:
        words = f"\nlargest change of {str(state.get('jump_measure', '')).replace('_', ' ')} between steps {jump[0]} and {jump[1]}"
    ax.set_title(_title(state, "Phase change") + words, fontsize=9)


# --- explorer ------------------------------------------------------------------------------------


@register_figure("sweep_heatmap")
def sweep_heatmap_figure(spec: ViewSpec, fig: Figure) -> None:
    """Heads × checkpoints for the view's ``measure`` (rows: heads layer-major, columns: checkpoints
    in step order; viridis over the grid's finite range, like the page), each head's jump outlined,
    the ICL score per checkpoint above when it was measured."""
    from matplotlib.patches import Rectangle

    state = spec.state
    measure = str(state.get("measure", ""))
    raw = (state.get("values") or {}).get(measure)
    values = decode(raw) if isinstance(raw, dict) and raw else None
    jraw = (state.get("jumps") or {}).get(measure)
    jumps = decode(jraw) if isinstance(jraw, dict) and jraw else None
    icl = _buffer(state, "icl")
    steps = _buffer(state, "steps")
    fig.set_size_inches(6.4, 5.0)
    grid = fig.add_gridspec(2, 1, height_ratios=(1, 4) if icl is not None else (0.01, 4))
    ax = fig.add_subplot(grid[1])
    if values is not None and values.size:
        img = values.T  # [head, checkpoint]
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        im = ax.imshow(img, aspect="auto", cmap=_cmap_viridis(), vmin=lo, vmax=hi if hi > lo else lo + 1,
                       interpolation="nearest", gid="iw-sweep-grid")  # fmt: skip
        fig.colorbar(im, ax=ax, label=measure.replace("_", " "), fraction=0.05)
        if jumps is not None:
            for row, col in enumerate(np.asarray(jumps).astype(int).tolist()):
                if col >= 0:
                    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False,
                                            edgecolor="white", linewidth=0.8))  # fmt: skip
    labels = [str(int(x)) if x >= 0 else r for x, r in zip(
        steps if steps is not None else [], state.get("revisions", []), strict=False)]  # fmt: skip
    if labels:
        ticks = np.linspace(0, len(labels) - 1, min(len(labels), 8)).round().astype(int)
        ax.set_xticks(ticks, [labels[i] for i in ticks], fontsize=7)
    ax.set_xlabel("checkpoint (training step)", fontsize=8)
    ax.set_ylabel("head (layer-major: L0H0 at the top)", fontsize=8)
    ax.tick_params(labelsize=7)
    if icl is not None:
        top = fig.add_subplot(grid[0], sharex=ax)
        top.plot(np.arange(len(icl)), icl, color=_rgb(BLUE), linewidth=1.2, gid="iw-sweep-icl")
        top.set_ylabel("ICL (nats)", fontsize=7)
        top.tick_params(labelsize=7, labelbottom=False)
    fig.suptitle(
        _title(state, "Sweep") + f"\n{measure.replace('_', ' ')}, jumps outlined", fontsize=9
    )


@register_figure("sweep_depth")
def sweep_depth_figure(spec: ViewSpec, fig: Figure) -> None:
    """The models side by side, each its head map of ``measure`` at its chosen checkpoint, the
    layers placed at relative depth ``layer / (n_layers − 1)`` on a shared y axis."""
    state = spec.state
    models = list(state.get("models", []))
    grids = state.get("grids") or {}
    measure = str(state.get("measure", ""))
    fig.set_size_inches(max(4.0, 2.2 * max(1, len(models))), 4.4)
    arrays = [decode(grids[str(i)]) for i in range(len(models)) if str(i) in grids]
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays]) if arrays else np.zeros(0)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    axes = fig.subplots(1, max(1, len(arrays)), squeeze=False)[0]
    im = None
    for i, (ax, grid) in enumerate(zip(axes, arrays, strict=False)):
        n_layers = grid.shape[0]
        im = ax.imshow(grid, aspect="auto", cmap=_cmap_viridis(), vmin=lo, vmax=hi if hi > lo else lo + 1,
                       extent=(-0.5, grid.shape[1] - 0.5, 1 + 0.5 / max(1, n_layers - 1),
                               -0.5 / max(1, n_layers - 1)), interpolation="nearest")  # fmt: skip
        rev = (state.get("revisions") or [""] * len(models))[i]
        ax.set_title(f"{models[i]}" + (f"\n{rev}" if rev else ""), fontsize=8)
        ax.set_xlabel("head", fontsize=8)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.set_ylabel("relative depth (layer / (n_layers − 1))", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=list(axes), label=measure.replace("_", " "), fraction=0.05)
    fig.suptitle(_title(state, "Sweep by depth"), fontsize=9)


@register_figure("explorer")
def explorer_figure(spec: ViewSpec, fig: Figure) -> None:
    """The workbench's panels: the head map (selected head outlined) and the verdict scatter on
    the left, the shaded text and (``show_matrix``) the matrix in ``matrix_mode`` on the right."""
    state = spec.state
    show_matrix = bool(state.get("show_matrix", True))
    fig.set_size_inches(13.0, 8.0)
    grid = fig.add_gridspec(3, 2, width_ratios=[1, 1.6], height_ratios=[1, 0.06, 1])
    selected = [int(state.get("layer", 0)), int(state.get("head", 0))]
    ax_map = fig.add_subplot(grid[0, 0])
    draw_head_map(fig, ax_map, state, selected)
    ax_map.set_title("Head map · " + _head_map_caption(state, selected), fontsize=8)
    ax_scatter = fig.add_subplot(grid[2, 0])
    scatter_state = {**state, "selected_head": selected}
    draw_scatter(fig, ax_scatter, scatter_state, prefix="scatter_")
    ax_scatter.set_title("Verdict scatter", fontsize=8)
    ax_text = fig.add_subplot(grid[0, 1])
    draw_tokens(ax_text, state, width_in=7.2, max_lines=16)
    ax_text.set_title("Text · " + token_caption(state), fontsize=8, loc="left")
    cax = fig.add_subplot(grid[1, 1])
    _token_legend(fig, cax, state)
    if show_matrix:
        ax_m = fig.add_subplot(grid[2, 1])
        info = draw_matrix(fig, ax_m, state, mode_key="matrix_mode", max_cells=384)
        ax_m.set_title("Matrix · " + matrix_caption(state, info, "matrix_mode"), fontsize=8)
    fig.suptitle(
        _title(state, "Induction explorer")
        + f" — {_head_words(state)} · text: {_mode_words(state)} · palette: {state.get('palette', 'paper')}",
        fontsize=10,
    )


__all__ = [
    "FIGURES",
    "FORMATS",
    "attention_on_scale",
    "attention_rgba",
    "attribution_rgba",
    "figure",
    "matrix_rgba",
    "pool_max",
    "register_figure",
    "save_figure",
    "token_colours",
    "token_values",
    "viridis_lut",
]
