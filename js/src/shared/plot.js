// @ts-check
/**
 * Line-chart and bar helpers for the "beyond" views (loss curve, phase change, partners): linear
 * and log scales, tick choice, the nearest sample under the pointer, a head ranking, and the axes
 * frame drawn on a canvas, and the life cycle the line plots share ({@link linePlotCycle}). Everything
 * but {@link drawFrame} and {@link linePlotCycle} is pure (tested in js/test/plot.test.js).
 * @module plot
 */
import { formatNumber } from "./colour.js";
import { localPoint, onWidthChange } from "./canvas.js";
import { listen } from "./dom.js";
import { Focus, bindPointer } from "./focus.js";

/**
 * @typedef {{ log?: boolean, domain: number[], range: number[] }} ScaleSpec
 * @typedef {{ map: (v: number) => number, invert: (p: number) => number, domain: number[], log: boolean }} Scale
 */

/**
 * A scale from `domain` [lo, hi] onto pixel `range` [a, b] (b < a for an upward y axis); `log`:
 * base-10 log scale (the domain must be > 0).
 * @param {ScaleSpec} s
 * @returns {Scale}
 */
export function scale({ log = false, domain, range }) {
  const f = log ? Math.log10 : (/** @type {number} */ v) => v;
  const g = log ? (/** @type {number} */ v) => Math.pow(10, v) : (/** @type {number} */ v) => v;
  const d0 = f(domain[0]);
  const d1 = f(domain[1]);
  const span = d1 - d0 || 1;
  const [a, b] = range;
  return {
    map: (v) => a + ((f(v) - d0) / span) * (b - a),
    invert: (p) => g(d0 + ((p - a) / (b - a)) * span),
    domain: [domain[0], domain[1]],
    log,
  };
}

/**
 * [min, max] of the finite values, padded by `pad` of the span (a flat or empty series gets ±0.5).
 * @param {Iterable<number>[]} series
 * @param {number} [pad]
 */
export function extent(series, pad = 0.05) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of series) {
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (!(lo < hi)) return [lo - 0.5, hi + 0.5];
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

/**
 * About `n` round ticks inside [lo, hi] (the step 1, 2 or 5 × 10^k nearest (hi − lo) / n).
 * @param {number} lo
 * @param {number} hi
 * @param {number} [n]
 */
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const r = raw / mag;
  const step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
  const out = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.round(t / step) * step);
  }
  return out.map((t) => Number(t.toPrecision(12)));
}

/**
 * Ticks of a log axis over [lo, hi] (lo > 0): the powers of ten inside, plus 2× and 5× when there
 * are fewer than three of them.
 * @param {number} lo
 * @param {number} hi
 */
export function logTicks(lo, hi) {
  const out = [];
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const inside = (/** @type {number} */ v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  for (let k = first; k <= last; k++) if (inside(Math.pow(10, k))) out.push(Math.pow(10, k));
  if (out.length < 3) {
    for (let k = first; k <= last; k++) {
      for (const m of [2, 5]) if (inside(m * Math.pow(10, k))) out.push(m * Math.pow(10, k));
    }
    out.sort((a, b) => a - b);
  }
  return out.map((t) => Number(t.toPrecision(12)));
}

/**
 * Index of the sample whose pixel x is nearest `px` (samples at NaN are skipped), or -1 when none
 * is within `radius` pixels.
 * @param {ArrayLike<number>} xs pixel x of each sample
 * @param {number} px
 * @param {number} [radius]
 */
export function nearestX(xs, px, radius = Infinity) {
  let best = -1;
  let bestD = radius;
  for (let i = 0; i < xs.length; i++) {
    const d = Math.abs(xs[i] - px);
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  }
  return best;
}

/**
 * Index of the point nearest (px, py) within `radius` pixels (points at NaN are skipped; ties: the
 * one drawn last), or -1.
 * @param {ArrayLike<number>} xs pixel x of each point
 * @param {ArrayLike<number>} ys pixel y of each point
 * @param {number} px
 * @param {number} py
 * @param {number} radius
 */
export function nearestPoint(xs, ys, px, py, radius) {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i] - px;
    const dy = ys[i] - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  }
  return best;
}

/**
 * Stroke the line through the samples (xs[i], yAt(i)) for i >= `from`, lifting the pen over every
 * sample whose x or y is not finite: a gap in the data is a gap in the line, never a jump across it.
 * The caller sets the stroke style.
 * @param {{ beginPath(): void, moveTo(x: number, y: number): void, lineTo(x: number, y: number): void, stroke(): void }} ctx
 * @param {ArrayLike<number>} xs pixel x of each sample
 * @param {(i: number) => number} yAt pixel y of sample i
 * @param {number} [from]
 */
export function polyline(ctx, xs, yAt, from = 0) {
  ctx.beginPath();
  let pen = false;
  for (let i = from; i < xs.length; i++) {
    const py = yAt(i);
    if (!Number.isFinite(xs[i]) || !Number.isFinite(py)) {
      pen = false;
      continue;
    }
    if (pen) ctx.lineTo(xs[i], py);
    else ctx.moveTo(xs[i], py);
    pen = true;
  }
  ctx.stroke();
}

/**
 * @typedef {{ layer: number, head: number, k: number, prev: number }} PartnerRow
 */

/**
 * The earlier heads of the induction head in `layer`, highest K-composition first (ties keep the
 * [layer, head] order, as the Python `Partners.ranked` does), at most `top` of them.
 * @param {ArrayLike<number>} k K-composition [n_layers * n_heads] (row-major [layer, head])
 * @param {ArrayLike<number>} prev previous-token score, same layout
 * @param {number} layer the induction head's layer (only layers < layer are ranked)
 * @param {number} nHeads
 * @param {number} [top]
 * @returns {PartnerRow[]}
 */
export function rankPartners(k, prev, layer, nHeads, top = Infinity) {
  /** @type {PartnerRow[]} */
  const rows = [];
  for (let l = 0; l < layer; l++) {
    for (let h = 0; h < nHeads; h++) {
      const i = l * nHeads + h;
      rows.push({ layer: l, head: h, k: k[i], prev: prev[i] });
    }
  }
  const key = (/** @type {number} */ v) => (Number.isNaN(v) ? -Infinity : v);
  rows.sort((a, b) => key(b.k) - key(a.k));
  return rows.slice(0, Math.max(0, top));
}

/**
 * @typedef {{ left: number, top: number, width: number, height: number }} Box
 */

/**
 * Draw a plot's frame: the box, x and y ticks with labels, and the axis titles.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Box} box
 * @param {Scale} x
 * @param {Scale} y
 * @param {{ xTicks: number[], yTicks: number[], xLabel?: string, yLabel?: string, fg: string }} o
 */
export function drawFrame(ctx, box, x, y, o) {
  const { left, top, width, height } = box;
  ctx.save();
  ctx.strokeStyle = o.fg;
  ctx.fillStyle = o.fg;
  ctx.globalAlpha = 0.5;
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, width, height);
  ctx.globalAlpha = 0.12;
  ctx.beginPath();
  for (const t of o.yTicks) {
    const py = Math.round(y.map(t)) + 0.5;
    ctx.moveTo(left, py);
    ctx.lineTo(left + width, py);
  }
  ctx.stroke();
  ctx.globalAlpha = 1;
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of o.xTicks) ctx.fillText(formatNumber(t, 3), x.map(t), top + height + 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of o.yTicks) ctx.fillText(formatNumber(t, 3), left - 4, y.map(t));
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  if (o.xLabel) ctx.fillText(o.xLabel, left + width / 2, top + height + 16);
  if (o.yLabel) {
    ctx.translate(10, top + height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(o.yLabel, 0, 0);
  }
  ctx.restore();
}

/**
 * The text and background colours of `root` (a transparent background reads as white).
 * @param {HTMLElement} root
 */
export function themeColours(root) {
  const style = getComputedStyle(root);
  const bg = style.backgroundColor && style.backgroundColor !== "rgba(0, 0, 0, 0)" ? style.backgroundColor : "#fff";
  return { fg: style.color || "#222", bg };
}

/**
 * The life cycle the line plots share (loss curve, phase change). The pointer hovers the sample
 * nearest in x while it is inside `span()` (the plot's x extent in canvas pixels, null before the
 * first layout), through the kit's {@link Focus}; a hover change calls `setHover` (-1: none), then
 * redraws and rewrites the readout; a width change lays out and redraws; a change of one of `names`
 * reloads, lays out, redraws and rewrites the readout (done once now); `message` drives the banner.
 * @param {{ root: HTMLElement, canvas: HTMLCanvasElement, model: import("./types.js").ModelLike, signal: AbortSignal,
 *   names: string[], banner: { update: () => void }, xs: () => ArrayLike<number>,
 *   span: () => [number, number] | null, setHover: (i: number) => void, load: () => void,
 *   layout: () => void, draw: () => void, readout: () => void }} o
 */
export function linePlotCycle(o) {
  const focus = new Focus();
  bindPointer(o.canvas, focus, {
    signal: o.signal,
    onClick: null,
    itemAt: (e) => {
      const [cx] = localPoint(o.canvas, e);
      const span = o.span();
      const i = span && cx >= span[0] && cx <= span[1] ? nearestX(o.xs(), cx) : -1;
      return i >= 0 ? i : null;
    },
  });
  focus.subscribe((state) => {
    o.setHover(state.hover ?? -1);
    o.draw();
    o.readout();
  }, o.signal);
  function onAll() {
    o.load();
    o.layout();
    o.draw();
    o.readout();
  }
  onWidthChange(o.root, () => {
    o.layout();
    o.draw();
  }, o.signal);
  listen(o.model, o.names, onAll, o.signal);
  listen(o.model, ["message"], o.banner.update, o.signal);
  onAll();
}
