// @ts-check
/**
 * Attention matrix view: the [dst, src] pattern of one head as a heatmap on a canvas.
 * Rows = destinations (top → bottom), columns = sources (left → right). Attention uses the
 * sequential (viridis) map on [0, 1]; mode "logit_attr" shows the attribution matrix with the
 * diverging blue (+) / orange (−) map on ±max|attribution|.
 *
 * Wheel zooms around the cursor, drag pans, double-click resets; a crosshair and the readout
 * (.iw-readout with data-dst / data-src / data-value) follow the cursor.
 *
 * Traits: tokens, layer, head, n_layers, n_heads, heads_available, mode, attention [n, n],
 * attribution [n, n], message, title, sink_scale ("auto" | "without sink" | "all sources": with
 * "without sink" the sink's columns are 0 and each row is renormalised over the other sources, so
 * 1.0 means all of the row's attention outside the sink; computed here, see shared/sink.js),
 * palette ("paper" | "colorblind": the diverging map's colours, shared/colour.js PALETTES).
 * @module attention_matrix
 */
import { attributionRGBA, formatNumber, sequentialLUT } from "./shared/colour.js";
import { h, listen } from "./shared/dom.js";
import { headDataView, matrixNeeds } from "./shared/headdata.js";
import {
  HEAD_MODES,
  headSelects,
  headViewKernelLostBanner,
  legendSlot,
  messageBanner,
  modeButtons,
  sinkScaleControl,
  viewShell,
} from "./shared/controls.js";
import { canvasAlt, cellAt, clearedContext, localPoint, onWidthChange, sizeCanvas } from "./shared/canvas.js";
import { Focus, bindGridKeys, sameCell } from "./shared/focus.js";
import { asMatrix, storedMatrix } from "./shared/matrix.js";
import { labelToken, quoteToken } from "./shared/text.js";

/** @typedef {import("./shared/matrix.js").Matrix} Matrix */
import { scaleOnScreen, sinkName, sinkSummary } from "./shared/sink.js";

const MARGIN = { left: 96, top: 84, right: 8, bottom: 8 };
const LABEL_MIN_CELL = 11; // px per cell from which token labels are drawn
const MAX_CELL = 64; // px per cell at maximum zoom

/**
 * @typedef {{ tokens: string[], layer: number, head: number, n_layers: number, n_heads: number,
 *   heads_available: number[][], mode: string, attention: any, attribution: any, message: string,
 *   title: string, max_size: number, sink_scale: string, bos: boolean, palette: string }} MatrixTraits
 */

/** 1, 2, 5 × 10^k ≥ x. @param {number} x */
function niceStep(x) {
  const p = 10 ** Math.floor(Math.log10(Math.max(x, 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * RGBA pixels (one per cell) of an n×n [dst, src] matrix, read row by row.
 * attention: viridis(clamp(v, 0, 1)); cells above the diagonal that are exactly 0 (causal mask)
 * and NaN cells are transparent. logit_attr: diverging map with ±vmax.
 * @param {ArrayLike<number> | Matrix} data dense row-major, or a matrix read on demand
 * @param {number} n
 * @param {string} mode
 * @param {number} vmax
 * @param {Uint8ClampedArray<ArrayBuffer>} [into] n*n*4 pixels to overwrite (reused across heads)
 * @param {unknown} [palette] palette name of the diverging map ("paper" by default)
 * @returns {Uint8ClampedArray<ArrayBuffer>} n*n*4
 */
export function matrixPixels(data, n, mode, vmax, into, palette) {
  const px = into && into.length === n * n * 4 ? into.fill(0) : new Uint8ClampedArray(n * n * 4);
  const M = /** @type {Matrix} */ (asMatrix(data, n));
  // one 32-bit write per cell from a table of packed RGBA colours (the table is filled through a
  // byte view, so the packing follows the host's byte order)
  const px32 = new Uint32Array(px.buffer, px.byteOffset, n * n);
  /** @type {Float32Array<ArrayBufferLike>} */
  let row = new Float32Array(n);
  if (mode === "logit_attr") {
    // Same mapping as attributionRGBA: the sign's colour, alpha = round(min(|v| / vmax, 1) · 255).
    const table = new Uint32Array(512); // [0, 256): positive, [256, 512): negative, by alpha
    const bytes = new Uint8Array(table.buffer);
    [attributionRGBA(1, 1, palette), attributionRGBA(-1, 1, palette)].forEach((c, sign) => {
      for (let a = 0; a < 256; a++) bytes.set([c[0], c[1], c[2], a], 4 * (256 * sign + a));
    });
    const inv = vmax > 0 && Number.isFinite(vmax) ? 1 / vmax : Infinity;
    for (let d = 0; d < n; d++) {
      row = M.row(d, row);
      const base = d * n;
      for (let s = 0; s < n; s++) {
        const v = row[s];
        if (v !== v || v === 0) continue; // NaN and 0: transparent
        let t = v * inv;
        if (t !== t) t = v > 0 ? 1 : -1; // inv = Infinity and ±Infinity * 0 cases
        const a = t < 0 ? -t : t;
        px32[base + s] = table[(t < 0 ? 256 : 0) + Math.round((a > 1 ? 1 : a) * 255)];
      }
    }
    return px;
  }
  const lut = sequentialLUT();
  const table = new Uint32Array(256);
  const bytes = new Uint8Array(table.buffer);
  for (let k = 0; k < 256; k++) bytes.set([lut[3 * k], lut[3 * k + 1], lut[3 * k + 2], 255], 4 * k);
  for (let d = 0; d < n; d++) {
    row = M.row(d, row);
    const base = d * n;
    for (let s = 0; s < n; s++) {
      const v = row[s];
      if (v !== v || (s > d && v === 0)) continue; // transparent
      px32[base + s] = table[Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255)];
    }
  }
  return px;
}

/** @type {import("./shared/types.js").View<MatrixTraits>} */
function renderView({ model, el }) {
  // one AbortController per view (viewShell): every listener goes with its signal on teardown
  const view = viewShell(el, "iw-attention-matrix");
  const { root, signal } = view;

  const title = h("span", { class: "iw-title" });
  const selects = headSelects(model, signal);
  /** @param {string} m */
  const setMode = (m) => {
    model.set("mode", m);
    model.save_changes();
  };
  const modes = modeButtons(HEAD_MODES, { get: () => mode(), set: setMode, signal });
  const legendEl = legendSlot();
  const scaleControl = sinkScaleControl(model, legendEl, signal);
  const header = h("div", { class: "iw-header" }, [title, selects.el, modes.el, scaleControl.el, legendEl.el, scaleControl.note]);
  const banner = messageBanner(model);
  const lost = headViewKernelLostBanner(model, selects);
  const canvas = h("canvas", { class: "iw-plot" });
  const overlay = h("canvas", { class: "iw-overlay" });
  const wrap = h("div", { class: "iw-canvas-wrap" }, [canvas, overlay]);
  const readout = h("div", { class: "iw-readout" });
  const hint = h("div", { class: "iw-hint", text: "wheel: zoom · drag: pan · double-click: reset · keys: arrows move, Enter locks, Esc unlocks" });
  root.append(header, banner.el, lost.el, wrap, readout, hint);
  el.append(root);
  const alt = canvasAlt(canvas, { readout });

  const offscreen = document.createElement("canvas");
  let n = 0;
  /** @type {Matrix | null} [n, n] of the shown matrix (read on demand, see shared/matrix.js) */
  let data = null;
  /** @type {ImageData | null} the offscreen image's pixels, reused while n stays the same */
  let image = null;
  let vmax = 0;
  let size = 480; // plot size in CSS px
  let zoom = 1; // CSS px per cell
  let ox = 0; // cell coordinates at the plot's top-left corner
  let oy = 0;
  /** @type {{ x: number, y: number, ox: number, oy: number, id: number } | null} */
  let drag = null;
  /** @type {{ data: Matrix | null | undefined, mode: string, palette: unknown }} inputs of the offscreen image */
  let pixelsOf = { data: undefined, mode: "", palette: "" };
  // The hovered cell [d, s], or the cell locked from the keyboard (Enter; Escape unlocks)
  /** @type {Focus<number[]>} */
  const focus = new Focus({ equal: sameCell });
  /** @type {{ raw: Matrix | null | undefined, summary: any }} the sink summary of the attention buffer */
  let sinkOf = { raw: undefined, summary: null };
  let scale = "all sources";

  const mode = () => (model.get("mode") === "logit_attr" ? "logit_attr" : "attention");
  const tokens = () => (Array.isArray(model.get("tokens")) ? model.get("tokens") : []);
  const fitZoom = () => size / Math.max(n, 1);

  function clampView() {
    zoom = Math.min(Math.max(zoom, fitZoom()), Math.max(fitZoom(), MAX_CELL));
    const span = size / zoom;
    ox = Math.min(Math.max(ox, 0), Math.max(0, n - span));
    oy = Math.min(Math.max(oy, 0), Math.max(0, n - span));
  }
  function resetView() {
    zoom = fitZoom();
    ox = 0;
    oy = 0;
  }

  function layout() {
    const avail = root.clientWidth || el.clientWidth || 600;
    const newSize = Math.round(Math.min(model.get("max_size") || 720, Math.max(160, avail - MARGIN.left - MARGIN.right - 12)));
    if (newSize !== size) {
      zoom *= newSize / size;
      size = newSize;
    }
    for (const c of [canvas, overlay]) sizeCanvas(c, MARGIN.left + size + MARGIN.right, MARGIN.top + size + MARGIN.bottom);
    Object.assign(canvas.dataset, { plotLeft: String(MARGIN.left), plotTop: String(MARGIN.top), plotSize: String(size) });
    clampView();
  }

  function loadData() {
    const name = mode() === "logit_attr" ? "attribution" : "attention";
    const m = storedMatrix(model.get(name));
    const newN = m ? m.n : 0;
    data = m;
    if (mode() === "attention") {
      if (sinkOf.raw !== data) sinkOf = { raw: data, summary: data ? sinkSummary(data, newN) : null };
      scale = scaleOnScreen(model.get("sink_scale"), sinkOf.summary);
      if (scale === "without sink" && sinkOf.summary) data = sinkOf.summary.withoutMatrix();
    }
    if (newN !== n) {
      n = newN;
      resetView();
    }
    const palette = model.get("palette");
    root.classList.toggle("iw-palette-colorblind", palette === "colorblind");
    if (pixelsOf.data === data && pixelsOf.mode === mode() && pixelsOf.palette === palette) {
      updateScaleControls();
      return; // nothing new to draw
    }
    pixelsOf = { data, mode: mode(), palette };
    vmax = mode() === "logit_attr" && data ? data.maxAbs() : 1;
    offscreen.width = Math.max(n, 1);
    offscreen.height = Math.max(n, 1);
    if (n > 0 && data) {
      if (!image || image.width !== n) image = new ImageData(n, n);
      matrixPixels(data, n, mode(), vmax, image.data, palette);
      offscreen.getContext("2d")?.putImageData(image, 0, 0);
    }
    canvas.dataset.n = String(n);
    if (mode() === "logit_attr") legendEl.show("attribution", vmax, 0, palette);
    else legendEl.show("sequential", 1, 0);
    updateScaleControls();
  }

  function updateScaleControls() {
    const att = mode() === "attention";
    scaleControl.update(scale, sinkOf.summary, att);
    root.dataset.scale = att ? scale : "";
  }

  function draw() {
    const ctx = clearedContext(canvas);
    const fg = getComputedStyle(root).color || "#222";
    Object.assign(canvas.dataset, { zoom: String(zoom), ox: String(ox), oy: String(oy) });
    ctx.fillStyle = fg;
    ctx.strokeStyle = fg;
    ctx.font = "10px system-ui, sans-serif";
    if (n === 0) {
      ctx.textAlign = "center";
      ctx.fillText(`no ${mode() === "logit_attr" ? "logit attribution" : "attention"} data`, MARGIN.left + size / 2, MARGIN.top + size / 2);
      return;
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top, size, size);
    ctx.clip();
    ctx.imageSmoothingEnabled = false;
    ctx.translate(MARGIN.left - ox * zoom, MARGIN.top - oy * zoom);
    ctx.scale(zoom, zoom);
    ctx.drawImage(offscreen, 0, 0);
    ctx.restore();
    ctx.globalAlpha = 0.4;
    ctx.lineWidth = 1;
    ctx.strokeRect(MARGIN.left - 0.5, MARGIN.top - 0.5, size + 1, size + 1);
    ctx.globalAlpha = 1;
    drawAxes(ctx);
  }

  /** @param {CanvasRenderingContext2D} ctx */
  function drawAxes(ctx) {
    const c0 = Math.floor(ox);
    const c1 = Math.min(n, Math.ceil(ox + size / zoom));
    const r0 = Math.floor(oy);
    const r1 = Math.min(n, Math.ceil(oy + size / zoom));
    const toks = tokens();
    const labels = zoom >= LABEL_MIN_CELL;
    const step = labels ? 1 : niceStep(40 / zoom);
    ctx.textBaseline = "middle";
    // rows (destinations)
    ctx.textAlign = "right";
    for (let d = Math.ceil(r0 / step) * step; d < r1; d += step) {
      const y = MARGIN.top + (d - oy + 0.5) * zoom;
      if (y < MARGIN.top || y > MARGIN.top + size) continue;
      const text = labels && d < toks.length ? labelToken(toks[d], 14) : String(d);
      ctx.fillText(text, MARGIN.left - 4, y, MARGIN.left - 8);
    }
    // columns (sources), rotated
    ctx.textAlign = "left";
    for (let s = Math.ceil(c0 / step) * step; s < c1; s += step) {
      const x = MARGIN.left + (s - ox + 0.5) * zoom;
      if (x < MARGIN.left || x > MARGIN.left + size) continue;
      const text = labels && s < toks.length ? labelToken(toks[s], 12) : String(s);
      ctx.save();
      ctx.translate(x, MARGIN.top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(text, 0, 0, MARGIN.top - 22);
      ctx.restore();
    }
    ctx.globalAlpha = 0.7;
    ctx.textAlign = "left";
    ctx.fillText("src →", 4, 10);
    ctx.fillText("dst ↓", 4, 24);
    ctx.globalAlpha = 1;
  }

  function drawOverlay() {
    const ctx = clearedContext(overlay);
    const hoverCell = focus.focused;
    if (!hoverCell) return;
    const [d, s] = hoverCell;
    const x = MARGIN.left + (s - ox) * zoom;
    const y = MARGIN.top + (d - oy) * zoom;
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top, size, size);
    ctx.clip();
    // Light line over a dark halo: visible on every colour of both maps and both themes.
    const cy = y + zoom / 2;
    const cx = x + zoom / 2;
    const lines = () => {
      ctx.beginPath();
      ctx.moveTo(MARGIN.left, cy);
      ctx.lineTo(MARGIN.left + size, cy);
      ctx.moveTo(cx, MARGIN.top);
      ctx.lineTo(cx, MARGIN.top + size);
      ctx.stroke();
    };
    const box = Math.max(zoom, 3);
    ctx.globalAlpha = 0.55;
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#000";
    lines();
    ctx.strokeRect(cx - box / 2 - 1, cy - box / 2 - 1, box + 2, box + 2);
    ctx.globalAlpha = 0.9;
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#fff";
    lines();
    ctx.strokeRect(cx - box / 2 - 1, cy - box / 2 - 1, box + 2, box + 2);
    ctx.globalAlpha = 1;
    ctx.restore();
  }

  /** The scale on screen and row d's sink share, said with every attention readout. @param {number} d @param {number} s */
  function sinkText(d, s) {
    const sum = sinkOf.summary;
    if (!sum) return "";
    const sink = sinkName(sum.first, Boolean(model.get("bos")));
    const left = scale === "without sink" && s < sum.first ? " (the sink, left out)" : "";
    const sc = scale === "without sink" ? `scale: without sink (${sink} left out, row renormalised)` : "scale: all sources";
    return `${left} · ${sc} · ${sink} share of this row ${formatNumber(sum.share[d], 3)}`;
  }

  function updateReadout() {
    const hoverCell = focus.focused;
    if (!hoverCell || !data) {
      readout.textContent = n ? "hover a cell" + (mode() === "attention" && sinkOf.summary ? ` · scale: ${scale}` : "") : "";
      readout.dataset.scale = mode() === "attention" ? scale : "";
      for (const k of ["dst", "src", "value"]) delete readout.dataset[k];
      return;
    }
    const [d, s] = hoverCell;
    const v = data.at(d, s);
    const toks = tokens();
    /** @param {number} i */
    const tok = (i) => `${i < toks.length ? quoteToken(toks[i]) : "?"} [${i}]`;
    const val = v !== v ? "NaN" : formatNumber(v);
    readout.textContent =
      mode() === "logit_attr"
        ? `dst ${tok(d)} → src ${tok(s)}: logit attr ${v > 0 ? "+" : ""}${val}` + (d + 1 < toks.length ? ` (to the logit of ${tok(d + 1)})` : "")
        : `dst ${tok(d)} → src ${tok(s)}: attention ${val}` + sinkText(d, s);
    readout.dataset.scale = mode() === "attention" ? scale : "";
    if (mode() === "attention" && sinkOf.summary) readout.dataset.sinkShare = String(sinkOf.summary.share[d]);
    else delete readout.dataset.sinkShare;
    readout.dataset.dst = String(d);
    readout.dataset.src = String(s);
    readout.dataset.value = String(v);
  }

  function updateControls() {
    title.textContent = model.get("title") || "";
    const m = mode();
    modes.update();
    selects.update();
  }

  // ---- interaction -----------------------------------------------------------------------
  /** The [d, s] cell at CSS pixel (mx, my) of the zoomed, panned plot, or null. @param {number} mx @param {number} my */
  const cellAtPoint = (mx, my) =>
    cellAt(mx, my, { left: MARGIN.left, top: MARGIN.top, scale: zoom, rows: n, cols: n, originCol: ox, originRow: oy, width: size, height: size });
  focus.subscribe(() => {
    drawOverlay();
    updateReadout();
  }, signal);

  /** @param {WheelEvent} e */
  const onWheel = (e) => {
    if (n === 0) return;
    const [mx, my] = localPoint(canvas, e);
    if (!cellAtPoint(mx, my)) return;
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.002;
    const factor = Math.exp(-e.deltaY * unit);
    const cx = ox + (mx - MARGIN.left) / zoom;
    const cy = oy + (my - MARGIN.top) / zoom;
    zoom *= factor;
    clampView();
    ox = cx - (mx - MARGIN.left) / zoom;
    oy = cy - (my - MARGIN.top) / zoom;
    clampView();
    draw();
    focus.setHover(cellAtPoint(mx, my));
    drawOverlay();
  };
  /** @param {PointerEvent} e */
  const onDown = (e) => {
    if (e.button !== 0) return;
    const [mx, my] = localPoint(canvas, e);
    if (!cellAtPoint(mx, my)) return;
    drag = { x: mx, y: my, ox, oy, id: e.pointerId };
    canvas.setPointerCapture?.(e.pointerId);
    canvas.classList.add("iw-dragging");
  };
  /** @param {PointerEvent} e */
  const onMove = (e) => {
    const [mx, my] = localPoint(canvas, e);
    if (drag) {
      ox = drag.ox - (mx - drag.x) / zoom;
      oy = drag.oy - (my - drag.y) / zoom;
      clampView();
      draw();
      drawOverlay();
    }
    focus.setHover(cellAtPoint(mx, my));
  };
  /** @param {PointerEvent} e */
  const onUp = (e) => {
    if (!drag) return;
    canvas.releasePointerCapture?.(drag.id);
    drag = null;
    canvas.classList.remove("iw-dragging");
    onMove(e);
  };
  const onLeaveCanvas = () => {
    if (!drag) focus.setHover(null);
  };
  const onDbl = () => {
    resetView();
    draw();
    drawOverlay();
  };
  bindGridKeys(canvas, focus, { signal, shape: () => [n, n] });
  canvas.addEventListener("wheel", onWheel, { passive: false, signal });
  canvas.addEventListener("pointerdown", onDown, { signal });
  canvas.addEventListener("pointermove", onMove, { signal });
  canvas.addEventListener("pointerup", onUp, { signal });
  canvas.addEventListener("pointercancel", onUp, { signal });
  canvas.addEventListener("pointerleave", onLeaveCanvas, { signal });
  canvas.addEventListener("dblclick", onDbl, { signal });

  onWidthChange(
    root,
    () => {
      layout();
      draw();
      drawOverlay();
    },
    signal,
  );

  // ---- model events ----------------------------------------------------------------------
  function onData() {
    loadData();
    updateControls();
    clampView();
    const hoverCell = focus.hover;
    if (hoverCell && (hoverCell[0] >= n || hoverCell[1] >= n)) focus.hover = null; // drawn just below
    const locked = focus.locked;
    if (locked && (locked[0] >= n || locked[1] >= n)) focus.locked = null;
    draw();
    drawOverlay();
    updateReadout();
    updateAlt();
  }

  /** The canvas's label, and the five strongest cells as text (attention: leaving out source 0,
   * where most heads park what they do not use; attribution: by |value|). */
  function updateAlt() {
    const m = mode();
    const what = m === "logit_attr" ? "direct logit attribution" : "attention";
    alt.label(
      `${title.textContent || "Attention matrix"}: ${what} of layer ${model.get("layer")}, head ${model.get("head")}, ` +
        `${n} × ${n} tokens (rows: destination, columns: source). Arrow keys move over the cells, Enter locks one, Escape unlocks.`,
    );
    if (!data || n === 0) return alt.summary("");
    if (n > 512) return alt.summary(`${n} tokens: move over the cells with the arrow keys to read them.`);
    /** @type {[number, number, number][]} */
    const top = [];
    const row = new Float32Array(n);
    for (let d = 0; d < n; d++) {
      data.row(d, row);
      for (let s = m === "attention" ? 1 : 0; s <= d && s < n; s++) {
        const v = row[s];
        if (!Number.isFinite(v)) continue;
        const key = m === "attention" ? v : Math.abs(v);
        if (top.length < 5 || key > top[top.length - 1][2]) {
          top.push([d, s, key]);
          top.sort((a, b) => b[2] - a[2]);
          if (top.length > 5) top.pop();
        }
      }
    }
    const toks = tokens();
    /** @param {number} i */
    const tok = (i) => `${i < toks.length ? quoteToken(toks[i]) : "?"} [${i}]`;
    alt.summary(
      `Strongest ${what}${m === "attention" ? " (source 0 left out)" : ""}: ` +
        top.map(([d, s]) => `${tok(d)} → ${tok(s)} ${formatNumber(data ? data.at(d, s) : NaN, 3)}`).join("; ") + ".",
    );
  }
  listen(model, ["attention", "attribution", "mode", "sink_scale", "bos", "palette"], onData, signal);
  listen(
    model,
    ["tokens"],
    () => {
      draw();
      updateReadout();
    },
    signal,
  );
  listen(
    model,
    ["layer", "head", "n_layers", "n_heads", "heads_available", "title"],
    () => {
      updateControls();
      updateAlt();
    },
    signal,
  );
  listen(model, ["message"], banner.update, signal);
  signal.addEventListener("abort", lost.dispose, { once: true });

  layout();
  onData();

  return view.dispose;
}

/** The view over a model whose head buffers come on request (see shared/headdata.js). */
/** @type {import("./shared/types.js").View<MatrixTraits>} */
const render = headDataView(renderView, matrixNeeds);

/** @satisfies {import("@anywidget/types").AnyWidget<MatrixTraits>} */
const widget = { render };
export default widget;
export { render };
