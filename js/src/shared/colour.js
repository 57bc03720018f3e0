// @ts-check
/**
 * Colour scales and the shared stylesheet of all views.
 *
 * - attention:   single hue (the palette's attention colour), alpha = value in [0, 1] (sequential)
 * - attribution: the palette's positive / negative colours, alpha = |v| / vmax (diverging,
 *                symmetric around 0).
 * - sequential:  viridis, interpolated from 9 control points (perceptually uniform, CB safe).
 *
 * Palettes (the `palette` trait; the same numbers as `views.PALETTES` in Python, which the
 * figures use): "paper" = the paper's red attention and blue logit attribution (matplotlib
 * tab:red / tab:blue, tab:orange for negative values); "colorblind" = Okabe & Ito's vermillion,
 * blue and orange, whose positive and negative ends stay further apart under simulated protan-
 * and deuteranopia (docs/figures.md). Unknown names fall back to "paper".
 *
 * All functions map NaN to "transparent" (or null / alpha 0 for the RGB(A) variants).
 * @module colour
 */

/** @typedef {{ attention: readonly number[], positive: readonly number[], negative: readonly number[] }} Palette */

/** The palettes by name: RGB of the attention shading and of the diverging scale's two signs. */
export const PALETTES = Object.freeze({
  paper: Object.freeze({ attention: Object.freeze([214, 39, 40]), positive: Object.freeze([31, 119, 180]), negative: Object.freeze([255, 127, 14]) }),
  colorblind: Object.freeze({ attention: Object.freeze([213, 94, 0]), positive: Object.freeze([0, 114, 178]), negative: Object.freeze([230, 159, 0]) }),
});

/**
 * The palette called `name` ("paper" for anything else).
 * @param {unknown} [name]
 * @returns {Palette}
 */
export function paletteOf(name) {
  return name === "colorblind" ? PALETTES.colorblind : PALETTES.paper;
}

/** Red of the attention scale (matplotlib tab:red), the "paper" palette's. */
export const ATTENTION_RGB = PALETTES.paper.attention;
/** Blue for positive logit attribution (tab:blue), the "paper" palette's. */
export const POSITIVE_RGB = PALETTES.paper.positive;
/** Orange for negative logit attribution (tab:orange), the "paper" palette's. */
export const NEGATIVE_RGB = PALETTES.paper.negative;

/** Viridis at t = 0, 1/8, ..., 1. */
export const VIRIDIS = Object.freeze([
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
]);

const clamp01 = (/** @type {number} */ x) => (x < 0 ? 0 : x > 1 ? 1 : x);
/** Alpha rounded to 3 decimals so equal inputs give equal strings. */
const alphaStr = (/** @type {number} */ a) => String(Math.round(a * 1000) / 1000);

/**
 * Attention colour: the palette's attention colour (red) with alpha = clamp(v, 0, 1).
 * @param {number} v attention weight
 * @param {unknown} [palette] palette name ("paper" by default)
 * @returns {string} "rgba(r,g,b,a)" or "transparent" for NaN
 */
export function attentionColour(v, palette) {
  if (Number.isNaN(v) || v == null) return "transparent";
  const [r, g, b] = paletteOf(palette).attention;
  return `rgba(${r},${g},${b},${alphaStr(clamp01(v))})`;
}

/**
 * Signed intensity t = clamp(v / vmax, -1, 1) of the diverging scale (0 if vmax is not a
 * positive finite number or v is ±0).
 * @param {number} v
 * @param {number} vmax
 */
export function attributionLevel(v, vmax) {
  if (Number.isNaN(v)) return NaN;
  if (!(vmax > 0) || !Number.isFinite(vmax)) return v > 0 ? 1 : v < 0 ? -1 : 0;
  const t = v / vmax;
  return t < -1 ? -1 : t > 1 ? 1 : t;
}

/**
 * Logit attribution colour: the palette's positive (v > 0, blue) / negative (v < 0, orange)
 * colour with alpha = |v| / vmax, clamped. Symmetric: attributionColour(-v) has the same alpha as
 * attributionColour(v).
 * @param {number} v attribution
 * @param {number} vmax positive scale (the largest |attribution| of the head)
 * @param {unknown} [palette] palette name ("paper" by default)
 * @returns {string} "rgba(r,g,b,a)" or "transparent" for NaN
 */
export function attributionColour(v, vmax, palette) {
  const t = attributionLevel(v, vmax);
  if (Number.isNaN(t)) return "transparent";
  const p = paletteOf(palette);
  const [r, g, b] = t < 0 ? p.negative : p.positive;
  return `rgba(${r},${g},${b},${alphaStr(Math.abs(t))})`;
}

/**
 * Sequential (viridis) colour for t in [0, 1] (clamped); linear interpolation between the
 * control points.
 * @param {number} t
 * @returns {number[] | null} [r, g, b] integers 0..255, null for NaN
 */
export function sequentialColour(t) {
  if (Number.isNaN(t) || t == null) return null;
  const x = clamp01(t) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f));
}

/** 256-entry RGB lookup of the sequential map: Uint8Array of 256 * 3. */
export function sequentialLUT() {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(sequentialColour(i / 255), 3 * i);
  return lut;
}

/**
 * Diverging colour as [r, g, b, a] with a in 0..255 (for ImageData); NaN → [0, 0, 0, 0].
 * @param {number} v
 * @param {number} vmax
 * @param {unknown} [palette] palette name ("paper" by default)
 */
export function attributionRGBA(v, vmax, palette) {
  const t = attributionLevel(v, vmax);
  if (Number.isNaN(t)) return [0, 0, 0, 0];
  const p = paletteOf(palette);
  const [r, g, b] = t < 0 ? p.negative : p.positive;
  return [r, g, b, Math.round(Math.abs(t) * 255)];
}

/** CSS colour string of an [r, g, b] triple. */
export const rgbString = (/** @type {ArrayLike<number> | null | undefined} */ rgb) => (rgb ? `rgb(${rgb[0]},${rgb[1]},${rgb[2]})` : "transparent");

/** Short human number: 4 significant digits, no exponent for ordinary magnitudes. @param {number} v @param {number} [digits] */
export function formatNumber(v, digits = 4) {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+inf" : "-inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(digits)));
  return v.toExponential(digits - 1);
}

/**
 * A score with its spread over examples: "0.912 ± 0.021" (the sd to 2 significant digits). Without
 * a usable sd (none sent — scores made by hand —, NaN with fewer than two examples, or a NaN value)
 * just the value: no ± is ever shown for a spread that does not exist.
 * @param {number} value
 * @param {number | undefined} sd
 * @param {number} [digits] significant digits of the value
 */
export function formatSpread(value, sd, digits = 4) {
  const v = formatNumber(value, digits);
  if (sd == null || !Number.isFinite(sd) || Number.isNaN(value)) return v;
  return `${v} ± ${formatNumber(sd, 2)}`;
}

/**
 * What the ± means, for a readout: "sd over 10 examples"; "1 example, no sd" below two; "" when
 * no per-example values came (n undefined or NaN).
 * @param {number | undefined} n examples that count for this head
 */
export function spreadNote(n) {
  if (n == null || !Number.isFinite(n)) return "";
  if (n < 2) return `${n} example${n === 1 ? "" : "s"}, no sd`;
  return `sd over ${n} examples`;
}

/**
 * Draw a small colour bar with labels into `el` (replacing its children).
 * @param {HTMLElement} el container (gets class iw-legend)
 * @param {"attention" | "attribution" | "sequential"} kind
 * @param {number} [vmax] attribution: symmetric range ±vmax; sequential: upper end
 * @param {number} [vmin] sequential only: lower end (default 0)
 * @param {unknown} [palette] palette name of the attention / attribution bars ("paper" by default)
 */
export function legend(el, kind, vmax = 1, vmin = 0, palette = "paper") {
  const doc = el.ownerDocument || document;
  el.classList.add("iw-legend");
  el.replaceChildren();
  el.dataset.kind = kind;
  const bar = doc.createElement("span");
  bar.className = "iw-legend-bar";
  let labels;
  const pal = paletteOf(palette);
  el.dataset.palette = pal === PALETTES.colorblind ? "colorblind" : "paper";
  if (kind === "attention") {
    const [r, g, b] = pal.attention;
    bar.style.background = `linear-gradient(to right, rgba(${r},${g},${b},0), rgba(${r},${g},${b},1))`;
    labels = ["0", "1"];
    el.title = "attention weight";
  } else if (kind === "attribution") {
    const [pr, pg, pb] = pal.positive;
    const [nr, ng, nb] = pal.negative;
    bar.style.background =
      `linear-gradient(to right, rgba(${nr},${ng},${nb},1), rgba(${nr},${ng},${nb},0) 50%, ` +
      `rgba(${pr},${pg},${pb},0) 50%, rgba(${pr},${pg},${pb},1))`;
    const m = Number.isFinite(vmax) && vmax > 0 ? formatNumber(vmax, 3) : "0";
    labels = [`−${m}`, "0", `+${m}`];
    el.title = "direct logit attribution (orange: negative, blue: positive)"; // both palettes
  } else {
    const stops = VIRIDIS.map((c, i) => `rgb(${c}) ${(100 * i) / (VIRIDIS.length - 1)}%`);
    bar.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
    labels = [formatNumber(vmin, 3), formatNumber(vmax, 3)];
    el.title = "";
  }
  const lo = doc.createElement("span");
  lo.className = "iw-legend-min";
  lo.textContent = labels[0];
  const hi = doc.createElement("span");
  hi.className = "iw-legend-max";
  hi.textContent = labels[labels.length - 1];
  el.append(lo, bar);
  if (labels.length === 3) {
    const mid = doc.createElement("span");
    mid.className = "iw-legend-mid";
    mid.textContent = labels[1];
    bar.append(mid);
  }
  el.append(hi);
  el.dataset.min = labels[0];
  el.dataset.max = labels[labels.length - 1];
}

export const STYLE_ID = "induction-widgets-style";
const STYLE_VERSION = "3";

/** Stylesheet of all views; theme-aware through JupyterLab variables with light fallbacks. */
export const CSS = `
.iw-root {
  --iw-fg: var(--jp-ui-font-color1, var(--vscode-editor-foreground, #222));
  --iw-fg-dim: var(--jp-ui-font-color2, #666);
  /* faint text still meets WCAG AA's 4.5:1 on the light background (#767676 on #fff: 4.54) */
  --iw-fg-faint: var(--jp-ui-font-color2, #767676);
  --iw-bg: var(--jp-layout-color0, var(--vscode-editor-background, #fff));
  --iw-bg2: var(--jp-layout-color2, #eee);
  --iw-border: var(--jp-border-color2, #ddd);
  --iw-accent: var(--jp-brand-color1, #1976d2);
  --iw-warn-bg: var(--jp-warn-color3, #fff3cd);
  --iw-warn-fg: var(--jp-warn-color0, #7a4d00);
  color: var(--iw-fg);
  background: var(--iw-bg);
  font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  line-height: 1.4;
  box-sizing: border-box;
  max-width: 100%;
  padding: 6px 4px;
  outline: none;
}
.iw-root:focus-visible { box-shadow: 0 0 0 2px var(--iw-accent); }
.iw-root *, .iw-root *::before, .iw-root *::after { box-sizing: border-box; }
.iw-header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin-bottom: 6px; }
.iw-title { font-weight: 600; margin-right: 4px; overflow-wrap: anywhere; }
.iw-title:empty { display: none; }
.iw-root label { display: inline-flex; align-items: center; gap: 4px; color: var(--iw-fg-dim); }
.iw-root select, .iw-root button {
  font: inherit; color: var(--iw-fg); background: var(--iw-bg);
  border: 1px solid var(--iw-border); border-radius: 3px; padding: 1px 6px; cursor: pointer;
}
.iw-root button:disabled, .iw-root select:disabled, .iw-root input:disabled { cursor: default; opacity: 0.5; }
.iw-buttons { display: inline-flex; }
.iw-buttons button { border-radius: 0; }
.iw-buttons button:first-child { border-radius: 3px 0 0 3px; }
.iw-buttons button:last-child { border-radius: 0 3px 3px 0; margin-left: -1px; }
.iw-mode-attention.iw-active { background: rgb(214,39,40); border-color: rgb(214,39,40); color: #fff; }
.iw-mode-logit.iw-active { background: rgb(31,119,180); border-color: rgb(31,119,180); color: #fff; }
.iw-palette-colorblind .iw-mode-attention.iw-active { background: rgb(213,94,0); border-color: rgb(213,94,0); }
.iw-palette-colorblind .iw-mode-logit.iw-active { background: rgb(0,114,178); border-color: rgb(0,114,178); }
.iw-message {
  margin: 4px 0; padding: 4px 8px; border-radius: 3px;
  background: var(--iw-warn-bg); color: var(--iw-warn-fg); border: 1px solid var(--iw-border);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.iw-message[hidden] { display: none; }
.iw-kernel-lost {
  margin: 4px 0; padding: 4px 8px; border-radius: 3px; font-weight: 600;
  background: var(--iw-warn-bg); color: var(--iw-warn-fg); border: 1px solid var(--iw-border);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.iw-kernel-lost[hidden] { display: none; }
.iw-disconnected select:disabled { opacity: 0.5; cursor: not-allowed; }
.iw-legend { display: inline-flex; align-items: center; gap: 4px; font-size: 11px; color: var(--iw-fg-dim); }
.iw-legend-bar {
  position: relative; display: inline-block; width: 96px; height: 10px;
  border: 1px solid var(--iw-border); border-radius: 2px;
}
.iw-legend-mid { position: absolute; left: 50%; top: 10px; transform: translateX(-50%); font-size: 9px; }
.iw-legend[data-kind="attribution"] { padding-bottom: 8px; }
.iw-status, .iw-readout {
  min-height: 1.4em; margin-top: 6px; color: var(--iw-fg-dim);
  font-family: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, monospace);
  font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere;
}
/* token view: room for three status lines, so a hover never changes the view's height (in a
   notebook scrolled to its end that would move the tokens under the pointer) */
.iw-token-view .iw-status { min-height: 4.2em; }
.iw-tokens {
  font-family: var(--jp-content-font-family, system-ui, sans-serif);
  font-size: var(--jp-content-font-size1, 14px);
  line-height: 1.7; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word;
  max-height: 70vh; overflow-y: auto; padding: 4px 2px; contain: content;
  border-top: 1px solid var(--iw-border); border-bottom: 1px solid var(--iw-border);
}
.iw-token {
  unicode-bidi: isolate; white-space: pre-wrap; border-radius: 2px; cursor: pointer;
  box-decoration-break: clone; -webkit-box-decoration-break: clone;
  /* A (transparent) background image keeps every token's inline box "unculled", so that
     changing background-color on hover is a repaint, not a re-layout of all tokens. */
  background-image: linear-gradient(transparent, transparent);
}
.iw-token.iw-empty::after { content: "\\2205"; color: var(--iw-fg-faint); }
.iw-token.iw-bos { color: var(--iw-fg-faint); font-size: 0.85em; }
.iw-token .iw-nl { color: var(--iw-fg-faint); font-size: 0.8em; }
.iw-token.iw-masked { color: var(--iw-fg-faint); cursor: default; }
.iw-token.iw-focus { outline: 1px solid var(--iw-fg-dim); }
.iw-token.iw-locked { outline: 2px solid var(--iw-fg); }
.iw-token-view.iw-mode-is-logit .iw-token.iw-focus, .iw-token-view.iw-mode-is-logit .iw-token.iw-locked { outline-color: rgb(31,119,180); }
.iw-token-view.iw-mode-is-attention .iw-token.iw-focus, .iw-token-view.iw-mode-is-attention .iw-token.iw-locked { outline-color: rgb(214,39,40); }
.iw-palette-colorblind.iw-token-view.iw-mode-is-logit .iw-token.iw-focus, .iw-palette-colorblind.iw-token-view.iw-mode-is-logit .iw-token.iw-locked { outline-color: rgb(0,114,178); }
.iw-palette-colorblind.iw-token-view.iw-mode-is-attention .iw-token.iw-focus, .iw-palette-colorblind.iw-token-view.iw-mode-is-attention .iw-token.iw-locked { outline-color: rgb(213,94,0); }
/* canvases */
.iw-canvas-wrap { position: relative; display: inline-block; max-width: 100%; }
.iw-canvas-wrap canvas { display: block; }
.iw-canvas-wrap canvas.iw-overlay { position: absolute; left: 0; top: 0; pointer-events: none; }
.iw-attention-matrix .iw-plot { cursor: crosshair; touch-action: none; }
.iw-attention-matrix .iw-plot.iw-dragging { cursor: grabbing; }
.iw-hint { font-size: 11px; color: var(--iw-fg-dim); }
/* keyboard: a focusable canvas shows where the focus is; its text alternative is read, not seen */
.iw-root canvas:focus-visible { outline: 2px solid var(--iw-accent); outline-offset: 2px; }
.iw-sr-only {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
/* head map */
.iw-head-map .iw-grid { cursor: pointer; }
.iw-head-table { border-collapse: collapse; margin-top: 8px; font-size: 12px; }
.iw-head-table th, .iw-head-table td { padding: 2px 8px; border-bottom: 1px solid var(--iw-border); text-align: right; }
.iw-head-table th:first-child, .iw-head-table td:first-child,
.iw-head-table th:last-child, .iw-head-table td:last-child { text-align: left; }
.iw-head-table th { cursor: pointer; user-select: none; color: var(--iw-fg-dim); font-weight: 600; white-space: nowrap; }
.iw-head-table th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 0.8em; }
.iw-head-table th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 0.8em; }
.iw-head-table tbody tr { cursor: pointer; }
.iw-head-table tbody tr:hover { background: var(--iw-bg2); }
.iw-head-table tbody tr.iw-selected { background: var(--jp-brand-color3, rgba(25,118,210,0.18)); }
.iw-show-all { margin-top: 4px; }
`;

/**
 * Insert the shared stylesheet once per document (idempotent; replaces an older version).
 * With an element inside a shadow root (e.g. hosts that isolate widgets), the style goes into
 * that shadow root instead, since document styles do not reach it.
 * @param {Document | Element} [target] document (default) or the view's host element
 * @returns {HTMLStyleElement | null}
 */
export function injectStyles(target = typeof document !== "undefined" ? document : null) {
  if (!target) return null;
  const doc = /** @type {Document} */ (target.nodeType === 9 ? target : target.ownerDocument);
  const rootNode = target.nodeType === 9 ? target : target.getRootNode();
  const inShadow = typeof ShadowRoot !== "undefined" && rootNode instanceof ShadowRoot;
  const scope = inShadow ? rootNode : doc;
  /** @type {HTMLStyleElement | null} */
  let style = /** @type {any} */ (scope.getElementById ? scope.getElementById(STYLE_ID) : scope.querySelector(`#${STYLE_ID}`));
  if (style && style.dataset.version === STYLE_VERSION) return style;
  if (!style) {
    style = doc.createElement("style");
    style.id = STYLE_ID;
    if (inShadow) rootNode.prepend(style);
    else (doc.head || doc.documentElement).appendChild(style);
  }
  style.dataset.version = STYLE_VERSION;
  style.textContent = CSS;
  return style;
}
