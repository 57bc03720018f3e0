"""Export room: self-contained HTML that renders the views with no kernel and no network.

A page holds the standalone runtime (``static/standalone.js``, the same view modules the live
widgets run, plus a small model stand-in) inline in a ``<script type="module">``, and each view's
state as JSON inside ``<script type="application/json">``. Numbers are embedded compactly:
attention as uint8 (scale 1/255, lower triangle only), logit attribution as int8 with a per-head
scale, both zlib-compressed and base64-encoded, decoded in the browser with the native
``DecompressionStream``. A Content-Security-Policy forbids every network request.

Token strings are data: JSON is escaped so ``</script>``, ``<!--`` and friends cannot end the script
element, and the views set text with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..compute import InputError, TextActivations
from ..compute._model import check_head
from ..payload import attention_payload, embed, encode
from ..widgets._base import STATIC

#: Trait names that belong to ipywidgets' plumbing, not to a view's state.
_PLUMBING = {"layout", "tabbable", "tooltip", "keys", "comm", "log"}
_HEAD_BUFFERS = ("attention", "attribution", "value_norm")

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


def runtime_js() -> str:
    """The standalone runtime bundle, made safe to inline in a ``<script>`` element."""
    path = STATIC / "standalone.js"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the front-end with `make js`")
    return (
        path.read_text(encoding="utf-8").replace("</script", "<\\/script").replace("<!--", "<\\!--")
    )


def embedded_head(
    acts: TextActivations, layer: int, head: int, *, attribution: bool = True
) -> dict[str, Any]:
    """One head's buffers for a page: attention uint8/tril, attribution int8 (NaN last row kept
    as ``nan_rows``), value norms float16 — each compressed."""
    out: dict[str, Any] = {
        "attention": embed(attention_payload(acts.attention(layer, head), live=False))
    }
    if attribution:
        attr = acts.logit_attribution(layer, head)
        finite = attr[:-1]
        payload = encode(finite, "int8") if finite.numel() else encode(finite, "float32")
        payload["shape"] = [attr.shape[0], attr.shape[1]]
        payload["pad_rows"] = 1  # the last row (no next token) is NaN and is not stored
        out["attribution"] = embed(payload)
    out["value_norm"] = embed(encode(acts.value_norm(layer, head), "float16"))
    return out


def _plain_state(widget: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    state = {}
    for name in widget.trait_names(sync=True):
        if name.startswith("_") or name in _PLUMBING or name in skip:
            continue
        value = getattr(widget, name)
        if isinstance(value, dict) and "view" in value:
            value = embed(value)
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, dict) and "view" in v for v in value.values())
        ):
            value = {k: embed(v) for k, v in value.items()}
        state[name] = value
    return state


def resolve_heads(widget: Any, heads: Any) -> list[tuple[int, int]]:
    """The heads to embed: ``"all"``, an iterable of ``(layer, head)``, or ``None`` for the current
    head plus the top induction heads the widget knows of (up to 8 in all)."""
    info = widget._info
    if isinstance(heads, str):
        if heads != "all":
            raise InputError(f"heads must be 'all', None or a list of (layer, head), got {heads!r}")
        return [(l, h) for l in range(info.n_layers) for h in range(info.n_heads)]
    if heads is None:
        chosen = [(widget.layer, widget.head)]
        scores = getattr(widget, "_scores", None)
        if scores is not None:
            chosen += [(r.layer, r.head) for r in scores.top(8, by="prefix_matching")]
        return list(dict.fromkeys(chosen))[:8]
    pairs = [check_head(info, *pair) for pair in _pairs(heads)]
    if not pairs:
        raise InputError("heads is empty: give at least one (layer, head)")
    current = (widget.layer, widget.head)
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


def view_spec(widget: Any, heads: Any = None, *, attribution: bool = True) -> dict[str, Any]:
    """``{"kind", "state", "store"}`` of one view, ready for :func:`page`."""
    from ..widgets import AttentionMatrix, HeadMap, TokenView

    if isinstance(widget, HeadMap):
        return {"kind": "head_map", "state": _plain_state(widget), "store": {}}
    if not isinstance(widget, (TokenView, AttentionMatrix)):
        raise InputError(f"cannot export {type(widget).__name__}: not an induction_widgets view")
    kind = "token_view" if isinstance(widget, TokenView) else "attention_matrix"
    pairs = resolve_heads(widget, heads)
    current = (widget.layer, widget.head) if (widget.layer, widget.head) in pairs else pairs[0]
    acts = widget.activations
    store = {f"{l}.{h}": embedded_head(acts, l, h, attribution=attribution) for l, h in pairs}
    state = _plain_state(widget, skip=_HEAD_BUFFERS)
    state["layer"], state["head"] = current
    state.update(store[f"{current[0]}.{current[1]}"])
    if not attribution:
        state["attribution"] = {}
    state["heads_available"] = [list(p) for p in pairs]
    for mask in ("dst_mask", "src_mask", "output_mask"):
        if mask in state and not state[mask]:
            state[mask] = {}
    return {"kind": kind, "state": state, "store": store}


def page(
    blocks: Sequence[dict[str, Any] | str],
    *,
    title: str = "induction_widgets",
    links: Sequence[tuple[int, int]] = (),
) -> str:
    """A complete offline HTML page: ``blocks`` are view specs (:func:`view_spec`) or trusted HTML
    strings (headings, prose, tables the caller escaped), in order.

    ``links``: pairs ``(i, j)`` of view indices (counting views only) — view ``i``'s
    ``selected_head`` drives view ``j``'s layer/head.
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
        "document.body.dataset.iwReady = 'true';\n"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;padding:0 1rem;"
        "color:#222;background:#fff}@media (prefers-color-scheme: dark){body{color:#ddd;background:#111}}"
        ".iw-mount{margin:1rem 0}table.iw-report{border-collapse:collapse}"
        "table.iw-report td,table.iw-report th{padding:2px 8px;border-bottom:1px solid #8884;text-align:right}"
        "</style>\n</head><body>\n"
        + "\n".join(parts)
        + '\n<script type="module">\n'
        + runtime_js()
        + "\n"
        + boot
        + "</script>\n</body></html>\n"
    )


def save_html(
    widget: Any,
    path: str | Path,
    heads: Any = None,
    *,
    title: str | None = None,
    attribution: bool = True,
) -> Path:
    """Write ``widget`` as one self-contained, offline, interactive HTML file and return its path.

    The file's folder is created when missing.
    """
    from ..widgets import InductionExplorer

    out = output_path(path)

    if isinstance(widget, InductionExplorer):
        specs = [view_spec(widget.head_map)]
        pairs = resolve_heads(widget.token_view, heads)
        specs.append(view_spec(widget.token_view, pairs, attribution=attribution))
        if widget.matrix is not None:
            specs.append(view_spec(widget.matrix, pairs, attribution=attribution))
        text = page(
            specs, title=title or "Induction explorer", links=[(0, i) for i in range(1, len(specs))]
        )
    else:
        text = page(
            [view_spec(widget, heads, attribution=attribution)],
            title=title or type(widget).__name__,
        )
    out.write_text(text, encoding="utf-8")
    return out


def html_snippet(widget: Any, heads: Any = None) -> str:
    """The view as an ``<iframe srcdoc>`` for a notebook's ``text/html`` output (works in exported
    notebooks without any widget manager, and isolates the page's CSP and styles)."""
    doc = page([view_spec(widget, heads)], title=type(widget).__name__)
    return (
        f'<iframe class="iw-static" srcdoc="{html.escape(doc, quote=True)}" '
        'style="width:100%;height:520px;border:0" sandbox="allow-scripts"></iframe>'
    )
