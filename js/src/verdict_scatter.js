// @ts-check
/**
 * Verdict scatter: every head as a point, prefix matching (x) against the copying measure the
 * strict-definition verdict uses (y), the two thresholds as dashed lines — the heads right of and
 * above both lines are the "induction head" verdicts — points coloured by layer depth (viridis,
 * layer 1 → layer N). Hovering a point names the head with its scores; clicking it sets
 * `selected_head` = [layer, head].
 *
 * Traits: x, y, depth (float32 buffers [n_layers * n_heads], heads row-major), verdicts
 * (string[]), x_threshold, y_threshold, x_name, y_name, x_range, y_range ([lo, hi]),
 * selected_head ([layer, head] or []), n_layers, n_heads, message, title.
 * @module verdict_scatter
 */
import { formatNumber, legend, rgbString, sequentialColour } from "./shared/colour.js";
import { h, listen } from "./shared/dom.js";
import { floatBuffers, kernelLostBanner, messageBanner, viewShell } from "./shared/controls.js";
import { canvasAlt, clearedContext, localPoint, onWidthChange, sizeCanvas } from "./shared/canvas.js";
import { Focus, bindGridKeys, bindPointer } from "./shared/focus.js";
import { drawFrame, nearestPoint, niceTicks, scale, themeColours } from "./shared/plot.js";
import { prettyName } from "./shared/text.js";

export const MARGIN = Object.freeze({ left: 46, top: 10, right: 12, bottom: 38 });
export const RADIUS = 4.5;
const HIT = 8;

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ x: BufferTrait, y: BufferTrait, depth: BufferTrait, verdicts: string[], x_threshold: number,
 *   y_threshold: number, x_name: string, y_name: string, x_range: number[], y_range: number[],
 *   selected_head: number[], n_layers: number, n_heads: number, message: string, title: string }} VerdictScatterTraits
 * @typedef {import("./shared/plot.js").Scale} Scale
 * @typedef {import("./shared/plot.js").Box} Box
 */

/**
 * The plotted ranges: the trait range widened to cover every finite value.
 * @param {Iterable<number>} values
 * @param {number[]} range [lo, hi]
 * @returns {[number, number]}
 */
export function axisRange(values, range) {
  let lo = Array.isArray(range) && range.length === 2 ? Number(range[0]) : Infinity;
  let hi = Array.isArray(range) && range.length === 2 ? Number(range[1]) : -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(lo < hi)) return Number.isFinite(lo) ? [lo - 0.5, lo + 0.5] : [0, 1];
  return [lo, hi];
}

/**
 * The scatter's scales on the kit's {@link scale}: x left → right over `xr` across the box, y
 * bottom → top over `yr`.
 * @param {Box} box
 * @param {number[]} xr
 * @param {number[]} yr
 * @returns {{ box: Box, x: Scale, y: Scale }}
 */
export function scatterGeometry(box, xr, yr) {
  return {
    box,
    x: scale({ domain: xr, range: [box.left, box.left + box.width] }),
    y: scale({ domain: yr, range: [box.top + box.height, box.top] }),
  };
}

/** @type {import("./shared/types.js").View<VerdictScatterTraits>} */
function render({ model, el }) {
  // one AbortController per view (viewShell): every listener goes with its signal on teardown
  const shell = viewShell(el, "iw-verdict-scatter");
  const { root, signal } = shell;

  const title = h("span", { class: "iw-title" });
  const legendEl = h("span", { class: "iw-legend" });
  const header = h("div", { class: "iw-header" }, [title, h("span", { text: "layer depth" }), legendEl]);
  const banner = messageBanner(model);
  const lost = kernelLostBanner(
    model,
    () => "The points stay readable, but selecting a head no longer reaches the kernel or the linked views. Re-run the cell to reconnect.",
  );
  const canvas = h("canvas", { class: "iw-scatter", attrs: { role: "img" } });
  const wrap = h("div", { class: "iw-canvas-wrap" }, [canvas]);
  const readout = h("div", { class: "iw-readout" });
  root.append(header, banner.el, lost.el, wrap, readout);
  el.append(root);
  const alt = canvasAlt(canvas, { readout });

  /** @type {Float32Array<ArrayBufferLike>} */
  let X = new Float32Array(0);
  /** @type {Float32Array<ArrayBufferLike>} */
  let Y = new Float32Array(0);
  /** @type {Float32Array<ArrayBufferLike>} */
  let D = new Float32Array(0);
  let nL = 0;
  let nH = 0;
  let px = new Float64Array(0);
  let py = new Float64Array(0);
  /** @type {{ box: Box, x: Scale, y: Scale } | null} */
  let geom = null;
  let hover = -1;

  const selectedIndex = () => {
    const s = model.get("selected_head");
    return Array.isArray(s) && s.length === 2 && s[0] < nL && s[1] < nH ? s[0] * nH + s[1] : -1;
  };
  const buf = floatBuffers(model);

  function loadData() {
    X = buf("x");
    Y = buf("y");
    D = buf("depth");
    nL = model.get("n_layers") | 0;
    nH = model.get("n_heads") | 0;
    title.textContent = model.get("title") || "";
    legend(legendEl, "sequential", nL, 1);
    legendEl.title = "layer depth: layer 1 (dark purple) to layer " + nL + " (yellow)";
    legendEl.dataset.min = "layer 1";
    legendEl.dataset.max = `layer ${nL}`;
    for (const [cls, text] of [[".iw-legend-min", "layer 1"], [".iw-legend-max", `layer ${nL}`]]) {
      const span = legendEl.querySelector(cls);
      if (span) span.textContent = text;
    }
  }

  function layout() {
    const w = Math.max(260, Math.min(560, (root.clientWidth || 560) - 8));
    const hgt = Math.round(w * 0.72);
    sizeCanvas(canvas, w, hgt);
    const box = { left: MARGIN.left, top: MARGIN.top, width: w - MARGIN.left - MARGIN.right, height: hgt - MARGIN.top - MARGIN.bottom };
    const g = scatterGeometry(box, axisRange(X, model.get("x_range")), axisRange(Y, model.get("y_range")));
    geom = g;
    px = new Float64Array(X.length);
    py = new Float64Array(X.length);
    for (let i = 0; i < X.length; i++) {
      const shown = Number.isFinite(X[i]) && Number.isFinite(Y[i]);
      px[i] = shown ? g.x.map(X[i]) : NaN;
      py[i] = shown ? g.y.map(Y[i]) : NaN;
    }
    Object.assign(canvas.dataset, {
      plotLeft: box.left,
      plotTop: box.top,
      plotWidth: box.width,
      plotHeight: box.height,
      xMin: g.x.domain[0],
      xMax: g.x.domain[1],
      yMin: g.y.domain[0],
      yMax: g.y.domain[1],
      nPoints: X.length,
    });
    alt.label(
      `Scatter of ${X.length} heads: ${prettyName(model.get("x_name") || "x")} against ` +
        `${prettyName(model.get("y_name") || "y")}. Arrow keys move over the heads ` +
        "(left and right: head, up and down: layer), Enter selects one.",
    );
    updateAlt();
  }

  /** The heads the thresholds call induction heads, and the selected one, as text. */
  function updateAlt() {
    const verdicts = model.get("verdicts") || [];
    const passing = [];
    for (let i = 0; i < X.length; i++) if (verdicts[i]) passing.push(headText(i));
    const sel = selectedIndex();
    alt.summary(
      (passing.length ? `Induction heads (right of and above both thresholds): ${passing.join("; ")}. ` : "No head passes both thresholds. ") +
        (sel >= 0 ? `Selected: ${headText(sel)}.` : "No head selected."),
    );
  }

  /** @param {CanvasRenderingContext2D} ctx @param {number} i @param {string} bg */
  function point(ctx, i, bg) {
    ctx.beginPath();
    ctx.arc(px[i], py[i], RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = rgbString(sequentialColour(D[i]));
    ctx.fill();
    ctx.lineWidth = 0.75;
    ctx.strokeStyle = bg;
    ctx.stroke();
  }

  function draw() {
    if (!geom) return;
    const ctx = clearedContext(canvas);
    const { fg, bg } = themeColours(root);
    const { box, x, y } = geom;
    const { left, top, width, height } = box;
    drawFrame(ctx, box, x, y, {
      xTicks: niceTicks(x.domain[0], x.domain[1], 5),
      yTicks: niceTicks(y.domain[0], y.domain[1], 5),
      xLabel: prettyName(model.get("x_name") || ""),
      yLabel: prettyName(model.get("y_name") || ""),
      fg,
    });
    // thresholds
    const tx = x.map(model.get("x_threshold"));
    const ty = y.map(model.get("y_threshold"));
    ctx.save();
    ctx.strokeStyle = fg;
    ctx.setLineDash([4, 3]);
    ctx.globalAlpha = 0.7;
    ctx.beginPath();
    ctx.moveTo(Math.round(tx) + 0.5, top);
    ctx.lineTo(Math.round(tx) + 0.5, top + height);
    ctx.moveTo(left, Math.round(ty) + 0.5);
    ctx.lineTo(left + width, Math.round(ty) + 0.5);
    ctx.stroke();
    ctx.restore();
    Object.assign(canvas.dataset, { xThresholdPx: tx, yThresholdPx: ty });
    // points (the selected and the hovered last, on top)
    const sel = selectedIndex();
    for (let i = 0; i < px.length; i++) if (i !== sel && i !== hover && Number.isFinite(px[i])) point(ctx, i, bg);
    for (const i of [sel, hover]) {
      if (i < 0 || !Number.isFinite(px[i])) continue;
      point(ctx, i, bg);
      ctx.beginPath();
      ctx.arc(px[i], py[i], RADIUS + 2.5, 0, 2 * Math.PI);
      ctx.lineWidth = i === sel ? 2 : 1;
      ctx.strokeStyle = fg;
      ctx.stroke();
    }
  }

  /** @param {number} i */
  function headText(i) {
    const l = Math.floor(i / nH);
    const hh = i % nH;
    const v = String((model.get("verdicts") || [])[i] || "");
    return (
      `L${l}H${hh} (layer ${l + 1} / ${nL}): ${prettyName(model.get("x_name") || "x")} ${formatNumber(X[i], 3)}, ` +
      `${prettyName(model.get("y_name") || "y")} ${formatNumber(Y[i], 3)}` +
      (v ? ` — ${v}` : " — not an induction head")
    );
  }

  function updateReadout() {
    const i = hover >= 0 ? hover : selectedIndex();
    if (i < 0 || i >= X.length) {
      readout.textContent = X.length
        ? `hover a head; click to select it. Heads right of the dashed ${prettyName(model.get("x_name") || "")} line ` +
          `(${formatNumber(model.get("x_threshold"), 3)}) and above the ${prettyName(model.get("y_name") || "")} line ` +
          `(${formatNumber(model.get("y_threshold"), 3)}) are induction heads.`
        : "no scores";
      for (const k of ["layer", "head", "x", "y"]) delete readout.dataset[k];
      return;
    }
    readout.textContent = (hover >= 0 ? "" : "selected ") + headText(i);
    Object.assign(readout.dataset, { layer: String(Math.floor(i / nH)), head: String(i % nH), x: String(X[i]), y: String(Y[i]) });
  }

  /** The point under the pointer (-1: none). @param {{ clientX: number, clientY: number }} e */
  function at(e) {
    const [x, y] = localPoint(canvas, e);
    return nearestPoint(px, py, x, y, HIT);
  }

  // the hovered point (the kit's Focus); a click selects the head through the model, not a lock
  /** @type {Focus<number>} */
  const focus = new Focus();
  bindPointer(canvas, focus, {
    signal,
    itemAt: (e) => {
      const i = at(e);
      return i >= 0 ? i : null;
    },
    onClick: (i) => {
      if (i === null) return;
      model.set("selected_head", [Math.floor(i / nH), i % nH]);
      model.save_changes();
      draw();
      updateReadout();
    },
  });
  // keyboard: the heads as a layers × heads grid (as on the head map), Enter selects
  bindGridKeys(canvas, focus, {
    signal,
    shape: () => [nL, nH],
    start: () => {
      const i = selectedIndex();
      return i >= 0 ? [Math.floor(i / nH), i % nH] : null;
    },
    toItem: ([l, hh]) => l * nH + hh,
    toCell: (i) => [Math.floor(i / nH), i % nH],
    onEnter: (i) => {
      model.set("selected_head", [Math.floor(i / nH), i % nH]);
      model.save_changes();
      draw();
      updateReadout();
      updateAlt();
    },
  });
  focus.subscribe((state) => {
    hover = state.hover ?? -1;
    canvas.style.cursor = hover >= 0 ? "pointer" : "";
    draw();
    updateReadout();
  }, signal);

  function onAll() {
    loadData();
    layout();
    draw();
    updateReadout();
  }
  const onSelected = () => {
    draw();
    updateReadout();
    updateAlt();
  };

  onWidthChange(
    root,
    () => {
      layout();
      draw();
    },
    signal,
  );
  listen(model, ["x", "y", "depth", "verdicts", "n_layers", "n_heads", "x_threshold", "y_threshold", "x_name", "y_name", "x_range", "y_range", "title"], onAll, signal);
  listen(model, ["selected_head"], onSelected, signal);
  listen(model, ["message"], banner.update, signal);
  signal.addEventListener("abort", lost.dispose, { once: true });
  onAll();

  return () => shell.dispose();
}

/** @satisfies {import("@anywidget/types").AnyWidget<VerdictScatterTraits>} */
const widget = { render };
export default widget;
export { render };
