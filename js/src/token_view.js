// @ts-check
/**
 * Token view: the figure of Olsson et al. (2022), Argument 4. Text is shown token by token;
 * hovering (or locking with a click) one token shades the others
 *   - "Attention" (red): where the head attends from a destination to predict the next token,
 *   - "Logit attr" (blue +/orange −): which earlier tokens directly raised/lowered the logit of
 *     the current token,
 * with the hovered token playing the destination or source role (toggle).
 *
 * Traits: tokens, bos, layer, head, n_layers, n_heads, heads_available, mode, selected_is,
 * value_weighted, attention [n, n], attribution [n, n], value_norm [n], dst_mask, src_mask,
 * output_mask (uint8 [n] or {}), selected, message, title, sink_scale ("auto" | "without sink" |
 * "all sources": the attention scale; "without sink" leaves the head's sink — BOS, or the first k
 * positions — out and renormalises each row over the other sources, computed here from the
 * attention buffer, see shared/sink.js), palette ("paper" | "colorblind": the shading's colours,
 * shared/colour.js PALETTES).
 * @module token_view
 */
import { attentionColour, attributionColour, formatNumber } from "./shared/colour.js";
import { h, listen } from "./shared/dom.js";
import { headDataView, tokenViewNeeds } from "./shared/headdata.js";
import {
  HEAD_MODES,
  bufferCache,
  headSelects,
  headViewKernelLostBanner,
  legendSlot,
  maskOf,
  messageBanner,
  modeButtons,
  sinkScaleControl,
  viewShell,
} from "./shared/controls.js";
import { Focus, bindKeys, bindPointer } from "./shared/focus.js";
import { canSelect, shadeValues, valueWeightDenominators } from "./shared/shading.js";
import { storedMatrix } from "./shared/matrix.js";
import { quoteToken } from "./shared/text.js";
import { scaleOnScreen, sinkName, sinkSummary } from "./shared/sink.js";

/** @typedef {import("./shared/matrix.js").Matrix} Matrix */

/**
 * @typedef {{ tokens: string[], bos: boolean, layer: number, head: number, n_layers: number, n_heads: number,
 *   heads_available: number[][], mode: string, selected_is: string, value_weighted: boolean,
 *   attention: any, attribution: any, value_norm: any, dst_mask: any, src_mask: any, output_mask: any,
 *   selected: number, message: string, title: string, sink_scale: string, palette: string }} TokenViewTraits
 */

/** Fill a token span with the token text: "\n" shows a faint ↵ followed by a real line break.
 * @param {HTMLElement} span @param {unknown} token */
function fillToken(span, token) {
  const text = String(token ?? "");
  if (text === "") {
    span.classList.add("iw-empty");
    return;
  }
  const parts = text.split("\n");
  parts.forEach((part, i) => {
    if (part) span.append(document.createTextNode(part));
    if (i < parts.length - 1) {
      const nl = document.createElement("span");
      nl.className = "iw-nl";
      nl.textContent = "↵";
      span.append(nl, document.createTextNode("\n"));
    }
  });
}

/** @param {number} a @param {number} b */
const sameValue = (a, b) => a === b || (a !== a && b !== b); // NaN equals NaN here

/** @type {import("./shared/types.js").View<TokenViewTraits>} */
function renderView({ model, el }) {
  // one AbortController per view (viewShell): every listener goes with its signal on teardown
  const view = viewShell(el, "iw-token-view");
  const { root, signal } = view;

  // ---- DOM -------------------------------------------------------------------------------
  const title = h("span", { class: "iw-title" });
  const selects = headSelects(model, signal);
  const modes = modeButtons(HEAD_MODES, { get: () => mode(), set: (m) => setTrait("mode", m), signal });
  const toggle = h("button", { class: "iw-toggle-selected", attrs: { type: "button" } });
  const vwBox = h("input", { class: "iw-value-weighted", attrs: { type: "checkbox" } });
  const vwLabel = h("label", { title: "weight attention by the norm of each source's value vector" }, [vwBox, "value-weighted"]);
  const legendEl = legendSlot();
  const scaleControl = sinkScaleControl(model, legendEl, signal);
  const header = h("div", { class: "iw-header" }, [
    title,
    selects.el,
    modes.el,
    toggle,
    vwLabel,
    scaleControl.el,
    legendEl.el,
    scaleControl.note,
  ]);
  const banner = messageBanner(model);
  const lost = headViewKernelLostBanner(model, selects);
  const tokensEl = h("div", { class: "iw-tokens" });
  const status = h("div", { class: "iw-status", attrs: { "aria-live": "polite" } });
  root.append(header, banner.el, lost.el, tokensEl, status);
  el.append(root);

  // ---- state -----------------------------------------------------------------------------
  const buffer = bufferCache(model);
  /** @type {HTMLSpanElement[]} */
  let spans = [];
  /** @type {string[]} */
  let tokens = [];
  /** @type {Float32Array} */
  let painted = new Float32Array(0); // value currently shown per span
  let forceRepaint = true;
  // Hovered / locked token (-1: none). The lock is the `selected` trait.
  /** @type {Focus<number>} */
  const focus = new Focus({ selectable: (i) => selectable(i) });
  const hovered = () => focus.hover ?? -1;
  const locked = () => focus.locked ?? -1;
  /** @type {number[] | null} [focus, epoch] of the last shading */
  let shownFocus = null;
  let epoch = 0; // bumped whenever the inputs of the shading change
  /** @type {Float32Array} */
  let values = new Float32Array(0);
  /**
   * Inputs of the current head (matrices only when their shape matches the tokens). The matrices
   * are read on demand (shared/matrix.js): a paint reads one row or column, so a head switch
   * decodes no 2,048² buffer and makes no renormalised copy of it.
   * @type {{ n: number, attention: Matrix | null, attentionAll: Matrix | null, sink: any,
   *   scale: string, attribution: Matrix | null,
   *   valueNorm: Float32Array | null, dstMask: Uint8Array | null, srcMask: Uint8Array | null,
   *   outputMask: Uint8Array | null, den: Float64Array | null }}
   */
  let D = { n: 0, attention: null, attentionAll: null, sink: null, scale: "all sources", attribution: null, valueNorm: null, dstMask: null, srcMask: null, outputMask: null, den: null };
  /** max |logit attribution| of the head (the colour scale of logit_attr; read only in that mode) */
  const vmax = () => (D.attribution ? D.attribution.maxAbs() : 0);

  const mode = () => (model.get("mode") === "logit_attr" ? "logit_attr" : "attention");
  const selectedIs = () => (model.get("selected_is") === "source" ? "source" : "destination");
  const focusIndex = () => focus.focused ?? -1;

  /** @param {"attention" | "attribution"} name @param {number} n */
  function matrix(name, n) {
    const m = storedMatrix(model.get(name));
    return m && m.n === n ? m : null;
  }
  /** @param {string} name @param {number} n */
  function vector(name, n) {
    const v = buffer(name);
    return v && v.data.length === n ? v.data : null;
  }

  function recomputeData() {
    const n = tokens.length;
    const attribution = matrix("attribution", n);
    const attentionAll = matrix("attention", n);
    D = {
      n,
      attention: attentionAll,
      attentionAll,
      sink: attentionAll ? sinkSummary(attentionAll, n) : null,
      scale: "all sources",
      attribution,
      valueNorm: vector("value_norm", n),
      dstMask: maskOf(buffer("dst_mask")),
      srcMask: maskOf(buffer("src_mask")),
      outputMask: maskOf(buffer("output_mask")),
      den: null,
    };
    applyScale();
    epoch++;
    forceRepaint = true;
  }

  /** The attention on screen: the raw pattern, or the pattern without the sink (rows renormalised). */
  function applyScale() {
    D.scale = scaleOnScreen(model.get("sink_scale"), D.sink);
    D.attention = D.scale === "without sink" && D.sink ? D.sink.withoutMatrix() : D.attentionAll;
    D.den = null;
  }

  function denominators() {
    if (D.den === null && D.attention && D.valueNorm) D.den = valueWeightDenominators(D.attention, D.valueNorm, D.n);
    return D.den;
  }

  /** @param {number} i */
  function selectable(i) {
    return canSelect({ mode: mode(), selectedIs: selectedIs(), index: i, n: D.n, dstMask: D.dstMask, srcMask: D.srcMask, outputMask: D.outputMask });
  }

  // ---- tokens ----------------------------------------------------------------------------
  function buildTokens() {
    tokens = Array.isArray(model.get("tokens")) ? model.get("tokens") : [];
    const frag = document.createDocumentFragment();
    spans = tokens.map((t, i) => {
      const span = document.createElement("span");
      span.className = "iw-token";
      span.dataset.index = String(i);
      span.style.backgroundColor = "transparent"; // keep an inline declaration: cheaper repaints
      fillToken(span, t);
      frag.append(span);
      return span;
    });
    tokensEl.replaceChildren(frag);
    painted = new Float32Array(tokens.length).fill(NaN);
    // new spans: forget the hover and a lock past the end (painted by the caller)
    focus.hover = null;
    if (locked() >= tokens.length) focus.locked = null;
    updateBos();
  }

  function updateBos() {
    const bos = Boolean(model.get("bos"));
    spans.forEach((s, i) => s.classList.toggle("iw-bos", bos && i === 0));
  }

  function updateMasked() {
    for (let i = 0; i < spans.length; i++) spans[i].classList.toggle("iw-masked", !selectable(i));
  }

  // ---- controls --------------------------------------------------------------------------
  function updateControls() {
    const m = mode();
    title.textContent = model.get("title") || "";
    modes.update();
    root.classList.toggle("iw-mode-is-attention", m === "attention");
    root.classList.toggle("iw-mode-is-logit", m === "logit_attr");
    toggle.textContent = `Selected is ${selectedIs()}`;
    toggle.dataset.selectedIs = selectedIs();
    vwBox.checked = Boolean(model.get("value_weighted"));
    vwBox.disabled = m !== "attention" || D.valueNorm === null;
    const palette = model.get("palette");
    root.classList.toggle("iw-palette-colorblind", palette === "colorblind");
    if (m === "attention") legendEl.show("attention", 1, 0, palette);
    else legendEl.show("attribution", vmax(), 0, palette);
    // D.sink is null exactly when there is no attention buffer (D.attentionAll null)
    scaleControl.update(D.scale, D.sink, m === "attention");
    root.dataset.scale = D.scale;
    selects.update();
  }

  // ---- painting --------------------------------------------------------------------------
  /** @param {number} v */
  function colourOf(v) {
    const palette = model.get("palette");
    return mode() === "attention" ? attentionColour(v, palette) : attributionColour(v, vmax(), palette);
  }

  /** Recompute the shaded values when the focus or the inputs changed, then touch only the
   *  spans whose value changed. */
  function paint() {
    const f = focusIndex();
    const n = spans.length;
    if (!shownFocus || shownFocus[0] !== f || shownFocus[1] !== epoch || values.length !== n) {
      const vw = mode() === "attention" && Boolean(model.get("value_weighted")) && D.valueNorm !== null;
      values = shadeValues({
        mode: mode(),
        selectedIs: selectedIs(),
        index: f,
        n,
        attention: D.attention,
        attribution: D.attribution,
        valueNorm: D.valueNorm,
        valueWeighted: vw,
        dstMask: D.dstMask,
        srcMask: D.srcMask,
        outputMask: D.outputMask,
        denominators: vw && selectedIs() === "source" ? denominators() : null,
      });
      shownFocus = [f, epoch];
    }
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!forceRepaint && sameValue(v, painted[i])) continue;
      painted[i] = v;
      const span = spans[i];
      if (v !== v) {
        span.style.backgroundColor = "transparent";
        delete span.dataset.value;
      } else {
        span.style.backgroundColor = colourOf(v);
        span.dataset.value = String(v);
      }
    }
    forceRepaint = false;
    updateStatus();
  }

  /** @type {HTMLElement | null} */
  let focusSpan = null;
  /** @type {HTMLElement | null} */
  let lockedSpan = null;
  function updateHighlights() {
    const hover = hovered();
    const f = hover >= 0 ? spans[hover] : null;
    if (focusSpan !== f) {
      focusSpan?.classList.remove("iw-focus");
      f?.classList.add("iw-focus");
      focusSpan = f;
    }
    const l = locked() >= 0 ? spans[locked()] : null;
    if (lockedSpan !== l) {
      lockedSpan?.classList.remove("iw-locked");
      l?.classList.add("iw-locked");
      lockedSpan = l;
    }
    root.dataset.selected = String(locked());
  }

  /** @param {number} i */
  const tok = (i) => `${quoteToken(tokens[i])} [${i}]`;

  /** The scale on screen and, for row d, its sink share — said on every attention status line.
   * @param {number} d */
  function scaleText(d) {
    if (!D.sink) return "";
    const sink = sinkName(D.sink.first, Boolean(model.get("bos")));
    const scale = D.scale === "without sink" ? `scale: without sink (${sink} left out, row renormalised)` : "scale: all sources";
    const share = d >= 0 && d < D.n ? ` · ${sink} share of this row ${formatNumber(D.sink.share[d], 3)}` : "";
    return ` · ${scale}${share}`;
  }

  /** @param {number} f @param {number} other @param {number} v */
  function pairText(f, other, v) {
    const valueText = v !== v ? "not shaded" : null;
    if (mode() === "attention") {
      const [d, s] = selectedIs() === "destination" ? [f, other] : [other, f];
      const what = model.get("value_weighted") && D.valueNorm ? "value-weighted attention" : "attention";
      return `dst ${tok(d)} → src ${tok(s)}: ${what} ${valueText ?? formatNumber(v)}${scaleText(d)}`;
    }
    const [p, s] = selectedIs() === "destination" ? [f, other] : [other, f];
    const sign = v > 0 ? "+" : "";
    return `src ${tok(s)} → logit of ${tok(p)} (predicted at [${p - 1}]): logit attr ${valueText ?? sign + formatNumber(v)}`;
  }

  function updateStatus() {
    updateHighlights();
    const f = focusIndex();
    const m = mode();
    status.removeAttribute("data-value");
    status.removeAttribute("data-sink-share");
    status.dataset.scale = m === "attention" ? D.scale : "";
    if (m === "attention" && D.sink && f >= 0 && f < D.n) {
      // the row of the status line: the focus as destination, or the other token's row
      const [hov, lck] = [hovered(), locked()];
      const other = lck >= 0 && hov >= 0 && hov !== lck ? hov : -1;
      const d = selectedIs() === "destination" ? f : other;
      if (d >= 0) status.dataset.sinkShare = String(D.sink.share[d]);
    }
    if (spans.length === 0) {
      status.textContent = "no tokens";
      return;
    }
    if (m === "attention" && !D.attention) {
      status.textContent = "no attention pattern for this head";
      return;
    }
    if (m === "logit_attr" && !D.attribution) {
      status.textContent = "no logit attribution for this head";
      return;
    }
    if (f < 0) {
      status.textContent =
        m === "attention"
          ? `Hover a token to see where this head attends (${selectedIs()}); click to lock, ←/→ to move, Esc to unlock.${scaleText(-1)}`
          : `Hover a token to see which tokens raised (blue) or lowered (orange) its logit (${selectedIs()}); click to lock.`;
      return;
    }
    if (!selectable(f)) {
      const role = selectedIs() === "source" ? "source" : m === "attention" ? "destination" : "output";
      status.textContent =
        m === "logit_attr" && role === "output" && f === 0 ? `${tok(f)}: the first token is not predicted` : `${tok(f)} is masked out as ${role}`;
      return;
    }
    const [hover, lock] = [hovered(), locked()];
    const other = lock >= 0 && hover >= 0 && hover !== lock ? hover : -1;
    if (other >= 0) {
      status.textContent = pairText(f, other, values[other]);
      if (values[other] === values[other]) status.dataset.value = String(values[other]);
      return;
    }
    // Summary: the strongest shaded token.
    let best = -1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v) continue;
      if (best < 0 || (m === "attention" ? v > values[best] : Math.abs(v) > Math.abs(values[best]))) best = i;
    }
    const head = lock >= 0 ? "locked " : "";
    status.textContent = best < 0 ? `${head}${tok(f)}: nothing to shade` : `${head}${pairText(f, best, values[best])} (strongest)`;
  }

  // ---- interaction -----------------------------------------------------------------------
  /** The token index under an event's target, or null. @param {Event} e */
  function tokenAt(e) {
    const span = e.target instanceof Element ? e.target.closest(".iw-token") : null;
    if (!(span instanceof HTMLElement) || !tokensEl.contains(span)) return null;
    return Number(span.dataset.index);
  }

  // A lock from the page (click, arrows, Escape) is saved as `selected`; one from the kernel is not.
  focus.subscribe((state, cause) => {
    if (cause === "lock" || cause === "unlock" || cause === "step") setTrait("selected", state.locked ?? -1);
    paint();
  }, signal);
  bindPointer(tokensEl, focus, {
    signal,
    itemAt: tokenAt,
    move: "mouseover",
    leave: "mouseleave",
    onClick: (i) => {
      if (i === null) return;
      root.focus({ preventScroll: true });
      focus.click(i);
    },
  });
  bindKeys(root, focus, {
    signal,
    size: () => spans.length,
    onStep: (i) => spans[i].scrollIntoView?.({ block: "nearest", inline: "nearest" }),
  });

  /** @param {keyof TokenViewTraits} name @param {any} value */
  const setTrait = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  toggle.addEventListener("click", () => setTrait("selected_is", selectedIs() === "source" ? "destination" : "source"), { signal });
  vwBox.addEventListener("change", () => setTrait("value_weighted", vwBox.checked), { signal });

  // ---- model events ----------------------------------------------------------------------
  function onSettings() {
    epoch++;
    forceRepaint = true;
    updateControls();
    updateMasked();
    paint();
  }
  function onData() {
    recomputeData();
    onSettings();
  }
  function onScale() {
    applyScale();
    onSettings();
  }
  function onTokens() {
    buildTokens();
    onData();
  }
  /** The `selected` trait as a lock (null: none or out of range). */
  function lockedFromModel() {
    const s = model.get("selected");
    return Number.isInteger(s) && s >= 0 && s < spans.length ? s : null;
  }
  function onSelected() {
    focus.set({ locked: lockedFromModel() }); // the subscriber paints when it changed
  }

  listen(model, ["tokens"], onTokens, signal);
  listen(model, ["bos"], updateBos, signal);
  listen(model, ["attention", "attribution", "value_norm", "dst_mask", "src_mask", "output_mask"], onData, signal);
  listen(model, ["mode", "selected_is", "value_weighted", "palette"], onSettings, signal);
  listen(model, ["layer", "head", "n_layers", "n_heads", "heads_available", "title"], updateControls, signal);
  listen(model, ["message"], banner.update, signal);
  listen(model, ["selected"], onSelected, signal);
  listen(model, ["sink_scale"], onScale, signal);
  signal.addEventListener("abort", lost.dispose, { once: true });

  buildTokens();
  recomputeData();
  focus.locked = lockedFromModel();
  onSettings();

  return view.dispose;
}

/** The view over a model whose head buffers come on request (see shared/headdata.js). */
/** @type {import("./shared/types.js").View<TokenViewTraits>} */
const render = headDataView(renderView, tokenViewNeeds);

/** @satisfies {import("@anywidget/types").AnyWidget<TokenViewTraits>} */
const widget = { render };
export default widget;
export { render };
