"""A view's state as an offline page: the standalone runtime (``static/standalone.js``, the same view
modules the live widgets run, plus a model stand-in that answers head requests from the embedded
data) inline in a ``<script type="module">``, and each view's state as JSON inside
``<script type="application/json">``.

Numbers are embedded compactly: attention as uint8 (scale 1/255, lower triangle only), logit
attribution as int8 with a per-head scale, value norms float16, each zlib-compressed and
base64-encoded, decoded in the browser with the native ``DecompressionStream``. A
Content-Security-Policy forbids every network request. Token strings are data: JSON is escaped so
``</script>``, ``<!--`` and friends cannot end the script element; the views set ``textContent`` only.
"""

from __future__ import annotations

import functools
import html
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..checks import check_head
from ..compute import ModelInfo, TextActivations
from ..errors import InputError
from ..payload import (
    LONG_TOKENS,
    attention_payload,
    decode,
    embed,
    encode,
    head_payloads,
    quantised_csr,
)
from .common import ViewSpec
from .declare import HEAD_BUFFERS

STATIC = Path(__file__).resolve().parent.parent / "static"

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; connect-src data: blob:; font-src data:"
)


def json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and the line
    separators are escaped as ``\\uXXXX``, so no ``</script>`` or ``<!--`` can appear."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, esc)
    return text


@functools.lru_cache(maxsize=4)
def _runtime(path: Path, mtime: float) -> str:
    del mtime  # part of the cache key: a rebuilt bundle is read again
    return (
        path.read_text(encoding="utf-8").replace("</script", "<\\/script").replace("<!--", "<\\!--")
    )


def runtime_js() -> str:
    """The standalone runtime bundle, made safe to inline in a ``<script>`` element."""
    path = STATIC / "standalone.js"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the front-end with `make js`")
    return _runtime(path, path.stat().st_mtime)


def embedded_head(
    acts: TextActivations,
    layer: int,
    head: int,
    buffers: Sequence[str] = HEAD_BUFFERS["token_view"],
    *,
    level: int = 9,
    from_live: bool = False,
) -> dict[str, Any]:
    """One head's buffers for a page: attention uint8/tril, attribution int8 (NaN last row kept
    as ``pad_rows``), value norms float16 — each zlib-compressed at ``level``.

    ``from_live``: quantise the live view's float16 buffers (:func:`head_payloads`, already made
    for the head on screen) instead of recomputing the head — for the per-display static copy; adds
    float16's rounding (≤ 2⁻¹² for attention) to the uint8 step."""
    out: dict[str, Any] = {}
    attention: Any
    attr: Any
    if acts.n_tokens > LONG_TOKENS:
        return _embedded_long_head(acts, layer, head, buffers, level)
    if from_live:
        live = head_payloads(acts, layer, head)
        attention, attr = decode(live["attention"]), decode(live["attribution"])
        norms: Any = decode(live["value_norm"])
    else:
        attention, attr = acts.attention(layer, head), acts.logit_attribution(layer, head)
        norms = acts.value_norm(layer, head) if "value_norm" in buffers else None
    if "attention" in buffers:
        out["attention"] = embed(attention_payload(attention, live=False), level=level)
    if "attribution" in buffers:
        finite = attr[:-1]
        payload = encode(finite, "int8") if finite.shape[0] else encode(finite, "float32")
        payload["shape"] = [attr.shape[0], attr.shape[1]]
        payload["pad_rows"] = 1  # the last row (no next token) is NaN and is not stored
        out["attribution"] = embed(payload, level=level)
    if "value_norm" in buffers:
        out["value_norm"] = embed(encode(norms, "float16"), level=level)
    return out


def _embedded_long_head(
    acts: TextActivations, layer: int, head: int, buffers: Sequence[str], level: int
) -> dict[str, Any]:
    """A long text's head for a page: the live long format at the short format's page precision
    (compact rows: the 64 largest entries per row, attention uint8 / attribution int8 on ± its
    largest magnitude, entries that round to 0 left out, with a bound on the rest; overviews:
    uint8 / int8 block maxima), value norms float16, each zlib-compressed at ``level`` (at most 6: level 9 costs seconds per head on
    these buffers for a few per cent)."""
    live = head_payloads(acts, layer, head, names=list(buffers))
    out = {}
    for name, payload in live.items():
        if name == "value_norm":
            payload = encode(decode(payload), "float16")
        elif name in ("attention", "attribution"):  # the short format's page precision
            payload = quantised_csr(payload, "uint8" if name == "attention" else "int8")
        out[name] = embed(payload, level=min(level, 6))
    return out


def resolve_heads(
    info: ModelInfo, current: tuple[int, int], scores: Any, heads: Any
) -> list[tuple[int, int]]:
    """The heads to embed: ``"all"``, an iterable of ``(layer, head)``, or ``None`` for the current
    head plus the top prefix-matching heads of ``scores`` (up to 8 in all). The current head comes
    first when it is among them."""
    if isinstance(heads, str):
        if heads != "all":
            raise InputError(f"heads must be 'all', None or a list of (layer, head), got {heads!r}")
        return [(l, h) for l in range(info.n_layers) for h in range(info.n_heads)]
    if heads is None:
        chosen = [current]
        if scores is not None:
            chosen += [(r.layer, r.head) for r in scores.top(8, by="prefix_matching")]
        return list(dict.fromkeys(chosen))[:8]
    pairs = [check_head(info, *pair) for pair in _pairs(heads)]
    if not pairs:
        raise InputError("heads is empty: give at least one (layer, head)")
    return list(dict.fromkeys([current, *pairs] if current in pairs else pairs))


def _pairs(heads: Iterable[Any]) -> list[tuple[Any, Any]]:
    try:
        pairs = [tuple(p) for p in heads]
    except TypeError as exc:
        raise InputError("heads must be 'all', None or a list of (layer, head) pairs") from exc
    for pair in pairs:
        if len(pair) != 2:
            raise InputError(
                f"heads must be 'all', None or a list of (layer, head) pairs, got the entry {pair!r}"
            )
    return pairs  # type: ignore[return-value]


def _embed_value(value: Any, level: int) -> Any:
    if isinstance(value, dict) and "view" in value:
        return embed(value, level=level)
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(v, dict) and "view" in v for v in value.values())
    ):
        return {k: embed(v, level=level) for k, v in value.items()}
    return value


def static_spec(
    spec: ViewSpec,
    heads: Any = None,
    *,
    attribution: bool = True,
    level: int = 9,
    from_live: bool = False,
) -> dict[str, Any]:
    """``{"kind", "state", "store"}`` of one view for :func:`page`: buffers embedded as base64,
    the heads chosen by ``heads`` (see :func:`resolve_heads`) in ``store`` ("L.H" → buffers), the
    current one also in ``state``. Never changes ``spec``."""
    buffers = HEAD_BUFFERS[spec.kind]
    state = {k: _embed_value(v, level) for k, v in spec.state.items() if k not in buffers}
    if not buffers:
        return {"kind": spec.kind, "state": state, "store": {}}
    acts = spec.activations
    if acts is None:
        raise InputError(f"cannot export a {spec.kind} without its activations")
    current = (int(spec.state["layer"]), int(spec.state["head"]))
    pairs = resolve_heads(acts.info, current, spec.scores, heads)
    if current not in pairs:
        current = pairs[0]
    wanted = buffers if attribution else tuple(b for b in buffers if b != "attribution")
    store = {
        f"{l}.{h}": embedded_head(acts, l, h, wanted, level=level, from_live=from_live)
        for l, h in pairs
    }
    state["layer"], state["head"] = current
    state.update(store[f"{current[0]}.{current[1]}"])
    if not attribution:
        state["attribution"] = {}
    state["heads_available"] = [list(p) for p in pairs]
    return {"kind": spec.kind, "state": state, "store": store}


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;padding:0 1rem;"
    "color:#222;background:#fff}@media (prefers-color-scheme: dark){body{color:#ddd;background:#111}}"
    ".iw-mount{margin:1rem 0}table.iw-report{border-collapse:collapse}"
    "table.iw-report td,table.iw-report th{padding:2px 8px;border-bottom:1px solid #8884;text-align:right}"
)
_FRAME_STYLE = "body{margin:0;padding:2px 4px;max-width:none}.iw-mount{margin:0}"
# A page's title as its level-one heading, for screen readers (the views carry their own titles)
_SR_ONLY = (
    ".iw-page-title{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;"
    "clip:rect(0 0 0 0);white-space:nowrap;border:0}"
)

# In an iframe: tell the parent the page's height whenever it changes (or when asked).
_AUTOSIZE = (
    "const iwPost = () => parent.postMessage({ iwHeight: Math.ceil(document.body.getBoundingClientRect().height) + 4 }, '*');\n"
    "new ResizeObserver(iwPost).observe(document.body);\n"
    "addEventListener('message', (e) => { if (e.data === 'iw-size?') iwPost(); });\n"
    "iwPost();\n"
)


def page(
    blocks: Sequence[dict[str, Any] | str],
    *,
    title: str = "induction_widgets",
    links: Sequence[tuple[int, int]] = (),
    framed: bool = False,
) -> str:
    """A complete offline HTML page: ``blocks`` are static specs (:func:`static_spec`) or trusted
    HTML strings (headings, prose, tables the caller escaped), in order.

    ``links``: pairs ``(i, j)`` of view indices (counting views only) — view ``i``'s
    ``selected_head`` drives view ``j``'s layer/head. ``framed``: the page is an iframe's document
    that reports its height to the parent (see :func:`static_html`).
    """
    parts = []
    n = 0
    for block in blocks:
        if isinstance(block, str):
            parts.append(block)
            continue
        parts.append(f'<div class="iw-mount" id="iw-view-{n}"></div>')
        parts.append(
            f'<script type="application/json" id="iw-data-{n}">{json_for_script(block)}</script>'
        )
        n += 1
    boot = (
        # the bundle is minified (its exports renamed): take them from the global it sets, under
        # names that cannot clash with the bundle's own top-level names
        "const { mount: iwMount, link: iwLink } = globalThis.inductionWidgets;\n"
        "const models = [];\n"
        f"for (let i = 0; i < {n}; i++) {{\n"
        "  const spec = JSON.parse(document.getElementById('iw-data-' + i).textContent);\n"
        "  models.push(await iwMount(document.getElementById('iw-view-' + i), spec.kind, spec.state, spec.store));\n"
        "}\n"
        f"for (const [a, b] of {json.dumps([list(p) for p in links])}) iwLink(models[a], 'selected_head', models[b]);\n"
        "globalThis.iwModels = models;\n"
        "document.body.dataset.iwReady = 'true';\n" + (_AUTOSIZE if framed else "")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{_STYLE}{_SR_ONLY}{_FRAME_STYLE if framed else ''}</style>\n</head><body>\n<main>\n"
        + (
            ""
            if any("<h1" in p for p in parts)
            else f'<h1 class="iw-page-title">{html.escape(title)}</h1>\n'
        )
        + "\n".join(parts)
        + "\n</main>"
        + '\n<script type="module">\n'
        + runtime_js()
        + "\n"
        + boot
        + "</script>\n</body></html>\n"
    )


# The iframe grows to the height its page reports (the page asks nothing of the parent but this).
_ONLOAD = (
    "var f=this;window.addEventListener('message',function(e){if(e.source===f.contentWindow&&e.data&&"
    "e.data.iwHeight>0)f.style.height=Math.ceil(e.data.iwHeight)+'px'});"
    "f.contentWindow.postMessage('iw-size?','*')"
)


def static_html(spec: ViewSpec, *, title: str | None = None) -> str:
    """The view (current head only) as an ``<iframe srcdoc>`` for a notebook's ``text/html`` output:
    shown by exported notebooks without any widget manager, isolated from the notebook's CSP and
    styles, and as tall as its content (the page posts its height; ``onload`` applies it)."""
    doc = page(
        [
            static_spec(
                spec, heads=[_current(spec)] if _current(spec) else None, level=1, from_live=True
            )
        ],
        title=title or spec.kind,
        framed=True,
    )
    # the title names the frame for screen readers (axe: frame-title)
    label = f"{title or spec.kind.replace('_', ' ')} (static copy)"
    return (
        f'<iframe class="iw-static" title="{html.escape(label, quote=True)}" '
        f'srcdoc="{html.escape(doc, quote=True)}" '
        f'style="width:100%;height:480px;border:0" sandbox="allow-scripts" '
        f'onload="{html.escape(_ONLOAD, quote=True)}"></iframe>'
    )


#: Environment variable choosing the static copy of each display (:func:`display_copy`):
#: ``"auto"`` (default) — the whole view up to :data:`STATIC_COPY_MAX_TOKENS` tokens, a short note
#: above; ``"always"`` — the whole view at any length (``export_notebook(execute=True)`` and the
#: CLI's ``export --execute`` set it for the kernel they start).
STATIC_COPY_ENV = "INDUCTION_WIDGETS_STATIC_COPY"
#: Up to this many tokens a display carries its whole static copy: it then costs a few ms (SmolLM2:
#: 2.4–7.6 ms at 256 tokens, 20–27 ms at 1,024, 93–127 ms at 2,048 — the data grows as tokens²;
#: benchmarks/static_copy.py); longer texts get it on export.
STATIC_COPY_MAX_TOKENS = 256


def display_copy(
    make_spec: Callable[[], ViewSpec],
    *,
    kind: str,
    n_tokens: int = 0,
    head: tuple[int, int] | None = None,
    title: str | None = None,
) -> str:
    """The ``text/html`` copy of a live view's display: :func:`static_html` of ``make_spec()`` (the
    whole view, current head) when it is cheap — a view without head buffers, or a text of at most
    :data:`STATIC_COPY_MAX_TOKENS` tokens — or when :data:`STATIC_COPY_ENV` is ``"always"`` (an
    executing export); otherwise a short note saying how to get the offline copy, made without
    building the spec. The copy of a 2,048-token head is built from megabytes of buffers on every
    display and is only ever shown by an exported notebook, so above that size it is made lazily:
    by the export that runs the notebook."""
    policy = os.environ.get(STATIC_COPY_ENV, "auto").strip().lower()
    if policy == "always" or not HEAD_BUFFERS[kind] or n_tokens <= STATIC_COPY_MAX_TOKENS:
        return static_html(make_spec(), title=title)
    name = html.escape(title or kind)
    where = f" L{head[0]}H{head[1]}" if head else ""
    return (
        f'<div class="iw-static-note" style="font:13px system-ui,sans-serif;opacity:.75">'
        f"{name}{where} on {n_tokens:,} tokens: a live view. Its offline copy is made when the "
        "notebook is exported by running it (<code>induction-widgets export NOTEBOOK "
        "--execute</code> or <code>iw.export_notebook(path, execute=True)</code>), or with "
        "<code>view.save_html(path)</code>.</div>"
    )


def _current(spec: ViewSpec) -> tuple[int, int] | None:
    if "layer" in spec.state and "head" in spec.state and HEAD_BUFFERS[spec.kind]:
        return (int(spec.state["layer"]), int(spec.state["head"]))
    return None


def spec_of(view: Any) -> ViewSpec:
    """The :class:`ViewSpec` of a view (anything with ``view_spec()``), or an :class:`InputError`."""
    if isinstance(view, ViewSpec):
        return view
    method = getattr(view, "view_spec", None)
    if not callable(method):
        raise InputError(f"cannot export {type(view).__name__}: not an induction_widgets view")
    return method()


def output_path(path: Any, suffix: str = ".html") -> Path:
    """``path`` as a :class:`Path` to write, its folder created; a clear error for a non-path or a
    folder."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes) or str(path) == "":
        raise InputError(
            f"path must be a file name (str or pathlib.Path), e.g. 'view{suffix}', got "
            f"{type(path).__name__} {path!r}"
        )
    out = Path(path).expanduser()
    if out.is_dir():
        raise InputError(
            f"{str(out)!r} is a folder: give a file name inside it, e.g. {str(out / ('view' + suffix))!r}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_html(
    spec: ViewSpec,
    path: Any,
    heads: Any = None,
    *,
    title: str | None = None,
    attribution: bool = True,
) -> Path:
    """Write one view as a self-contained, offline, interactive HTML file; return its path."""
    out = output_path(path)
    text = page(
        [static_spec(spec, heads, attribution=attribution)],
        title=title or spec.extra.get("title") or spec.kind,
    )
    out.write_text(text, encoding="utf-8")
    return out
