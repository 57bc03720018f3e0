// @ts-check
/**
 * Phase change (the paper's Argument 1 figure on a run's checkpoints): the best head's prefix
 * matching, copying and previous-token scores (top panel) and the ICL score ± its standard error
 * (bottom panel) against training step (linear), with the consecutive checkpoints between which
 * `jump_measure` changes most shaded in both panels. Hovering reads every series at the nearest
 * checkpoint.
 *
 * Traits: steps (int32 buffer [n]), prefix_matching, copying, previous_token, icl, icl_sem
 * (float32 buffers [n]), series_labels, jump_measure, jump ([step_before, step_after]), early,
 * late, note, message, title.
 * @module phase_change
 */
import { formatNumber } from "./shared/colour.js";
import { h } from "./shared/dom.js";
import { floatBuffers, messageBanner, viewShell } from "./shared/controls.js";
import { canvasAlt, clearedContext, sizeCanvas } from "./shared/canvas.js";
import { drawFrame, extent, linePlotCycle, niceTicks, polyline, scale, themeColours } from "./shared/plot.js";
import { prettyName } from "./shared/text.js";

export const SERIES = Object.freeze([
  { name: "prefix_matching", colour: "rgb(31,119,180)" },
  { name: "copying", colour: "rgb(44,160,44)" },
  { name: "previous_token", colour: "rgb(255,127,14)" },
]);
export const ICL_COLOUR = "rgb(214,39,40)";
const MARGIN = Object.freeze({ left: 46, right: 14, top: 10, gap: 34, bottom: 34 });

/**
 * The readout of checkpoint i: "step 600: best prefix matching 0.91, … · ICL score −1.21 ± 0.05".
 * @param {number} step
 * @param {{label: string, value: number}[]} heads
 * @param {number} icl
 * @param {number} sem
 */
export function checkpointText(step, heads, icl, sem) {
  const parts = heads.map((s) => `${s.label} ${formatNumber(s.value, 3)}`);
  const err = Number.isFinite(sem) ? ` ± ${formatNumber(sem, 2)}` : "";
  return `step ${step}: best head's ${parts.join(", ")} · ICL score ${formatNumber(icl, 3)}${err} nats`;
}

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ steps: BufferTrait, prefix_matching: BufferTrait, copying: BufferTrait, previous_token: BufferTrait,
 *   icl: BufferTrait, icl_sem: BufferTrait, series_labels: string[], jump_measure: string, jump: number[],
 *   early: number, late: number, note: string, message: string, title: string }} PhaseChangeTraits
 * @typedef {import("./shared/plot.js").Scale} Scale
 * @typedef {import("./shared/plot.js").Box} Box
 */

/** @type {import("./shared/types.js").View<PhaseChangeTraits>} */
function render({ model, el }) {
  const shell = viewShell(el, "iw-phase-change");
  const { root, signal } = shell;
  const title = h("span", { class: "iw-title" });
  const key = h("span", { class: "iw-key" });
  const header = h("div", { class: "iw-header" }, [title, key]);
  const banner = messageBanner(model);
  const canvas = h("canvas", { class: "iw-plot", attrs: { role: "img" } });
  const jumpNote = h("div", { class: "iw-jump" });
  const note = h("div", { class: "iw-note" });
  const readout = h("div", { class: "iw-readout" });
  root.append(header, banner.el, h("div", { class: "iw-canvas-wrap" }, [canvas]), jumpNote, note, readout);
  el.append(root);
  const alt = canvasAlt(canvas, { readout });

  /** @type {Record<string, Float32Array<ArrayBufferLike> | Int32Array<ArrayBufferLike>>} */
  let data = {};
  /** @type {Float64Array} */
  let px = new Float64Array(0);
  let hover = -1;
  /** @type {{ x: Scale, yTop: Scale, yLow: Scale, topBox: Box, lowBox: Box } | null} */
  let geom = null;

  const buf = floatBuffers(model);
  const labels = () => {
    const given = model.get("series_labels") || [];
    return SERIES.map((s, i) => given[i] || prettyName(s.name));
  };

  function load() {
    data = {};
    for (const name of ["steps", "icl", "icl_sem", ...SERIES.map((s) => s.name)]) data[name] = buf(name);
    title.textContent = model.get("title") || "";
    key.replaceChildren();
    labels().forEach((label, i) => key.append(h("span", { text: "━ ", attrs: { style: `color:${SERIES[i].colour}` } }), `best ${label}  `));
    key.append(h("span", { text: "━ ", attrs: { style: `color:${ICL_COLOUR}` } }), "ICL score");
    const [a, b] = model.get("jump") || [];
    const measure = model.get("jump_measure") || "prefix_matching";
    jumpNote.textContent =
      a === undefined ? "" : measure === "icl"
        ? `shaded: step ${a} → ${b}, where the ICL score falls most`
        : `shaded: step ${a} → ${b}, where the best head's ${prettyName(measure)} score rises most`;
    const e = model.get("early");
    const l = model.get("late");
    note.textContent = `ICL score: loss at token index ${l} minus loss at index ${e}` + (model.get("note") ? ` (${model.get("note")})` : "");
  }

  function layout() {
    const w = Math.max(300, Math.min(640, (root.clientWidth || 640) - 8));
    const hgt = Math.round(w * 0.75);
    sizeCanvas(canvas, w, hgt);
    const S = data.steps;
    const n = S.length;
    const left = MARGIN.left;
    const width = w - MARGIN.left - MARGIN.right;
    const panel = (hgt - MARGIN.top - MARGIN.gap - MARGIN.bottom) / 2;
    const topBox = { left, top: MARGIN.top, width, height: panel };
    const lowBox = { left, top: MARGIN.top + panel + MARGIN.gap, width, height: panel };
    const x = scale({ domain: n ? [S[0], S[n - 1]] : [0, 1], range: [left, left + width] });
    const yTop = scale({ domain: extent(SERIES.map((s) => data[s.name])), range: [topBox.top + panel, topBox.top] });
    const lo = Array.from(data.icl, (v, i) => v - (Number.isFinite(data.icl_sem[i]) ? data.icl_sem[i] : 0));
    const hi = Array.from(data.icl, (v, i) => v + (Number.isFinite(data.icl_sem[i]) ? data.icl_sem[i] : 0));
    const yLow = scale({ domain: extent([lo, hi]), range: [lowBox.top + panel, lowBox.top] });
    geom = { x, yTop, yLow, topBox, lowBox };
    px = new Float64Array(n);
    for (let i = 0; i < n; i++) px[i] = x.map(S[i]);
    const [a, b] = model.get("jump") || [NaN, NaN];
    Object.assign(canvas.dataset, {
      plotLeft: left,
      plotWidth: width,
      topTop: topBox.top,
      lowTop: lowBox.top,
      panelHeight: panel,
      xMin: x.domain[0],
      xMax: x.domain[1],
      topMin: yTop.domain[0],
      topMax: yTop.domain[1],
      lowMin: yLow.domain[0],
      lowMax: yLow.domain[1],
      jumpLeftPx: x.map(a),
      jumpRightPx: x.map(b),
      nPoints: n,
    });
    alt.label(`${n} checkpoints: the best head's scores and the ICL score against training step.`);
    alt.summary(
      `${jumpNote.textContent} ` +
        Array.from(S, (step, i) => `step ${step}: ICL score ${formatNumber(data.icl[i], 3)}`).join("; ") +
        ".",
    );
  }

  /**
   * @param {CanvasRenderingContext2D} ctx
   * @param {ArrayLike<number>} values
   * @param {import("./shared/plot.js").Scale} y
   * @param {string} colour
   */
  function line(ctx, values, y, colour) {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    polyline(ctx, px, (i) => y.map(values[i]));
    for (let i = 0; i < px.length; i++) {
      if (!Number.isFinite(values[i])) continue;
      ctx.beginPath();
      ctx.arc(px[i], y.map(values[i]), i === hover ? 4 : 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  function draw() {
    if (!geom) return;
    const ctx = clearedContext(canvas);
    const { fg } = themeColours(root);
    const { x, yTop, yLow, topBox, lowBox } = geom;
    // the jump, shaded across both panels
    const [a, b] = model.get("jump") || [];
    if (a !== undefined) {
      ctx.save();
      ctx.fillStyle = "rgba(127,127,127,0.22)";
      for (const box of [topBox, lowBox]) ctx.fillRect(x.map(a), box.top, x.map(b) - x.map(a), box.height);
      ctx.restore();
    }
    const xTicks = niceTicks(x.domain[0], x.domain[1], 6);
    drawFrame(ctx, topBox, x, yTop, { xTicks, yTicks: niceTicks(yTop.domain[0], yTop.domain[1], 4), yLabel: "best head's score", fg });
    drawFrame(ctx, lowBox, x, yLow, { xTicks, yTicks: niceTicks(yLow.domain[0], yLow.domain[1], 4), xLabel: "training step", yLabel: "ICL (nats)", fg });
    SERIES.forEach((s) => line(ctx, data[s.name], yTop, s.colour));
    // ICL ± sem as whiskers, then the line
    ctx.save();
    ctx.strokeStyle = ICL_COLOUR;
    ctx.globalAlpha = 0.5;
    ctx.beginPath();
    for (let i = 0; i < px.length; i++) {
      const v = data.icl[i];
      const e = data.icl_sem[i];
      if (!Number.isFinite(v) || !Number.isFinite(e)) continue;
      ctx.moveTo(px[i], yLow.map(v - e));
      ctx.lineTo(px[i], yLow.map(v + e));
    }
    ctx.stroke();
    ctx.restore();
    line(ctx, data.icl, yLow, ICL_COLOUR);
    if (hover >= 0) {
      ctx.save();
      ctx.strokeStyle = fg;
      ctx.globalAlpha = 0.4;
      ctx.setLineDash([2, 2]);
      ctx.beginPath();
      for (const box of [topBox, lowBox]) {
        ctx.moveTo(Math.round(px[hover]) + 0.5, box.top);
        ctx.lineTo(Math.round(px[hover]) + 0.5, box.top + box.height);
      }
      ctx.stroke();
      ctx.restore();
    }
  }

  function updateReadout() {
    if (hover < 0) {
      readout.textContent = px.length ? "hover the plot to read a checkpoint" : "no checkpoints";
      delete readout.dataset.step;
      return;
    }
    const names = labels();
    const heads = SERIES.map((s, k) => ({ label: names[k], value: data[s.name][hover] }));
    readout.textContent = checkpointText(data.steps[hover], heads, data.icl[hover], data.icl_sem[hover]);
    readout.dataset.step = String(data.steps[hover]);
  }

  // hover (the kit's Focus: hover only, no lock in this view), resize and trait changes
  linePlotCycle({
    root,
    canvas,
    model,
    signal,
    names: ["steps", "icl", "icl_sem", "series_labels", "jump", "jump_measure", "early", "late", "note", "title", ...SERIES.map((s) => s.name)],
    banner,
    xs: () => px,
    span: () => (geom ? [geom.topBox.left - 4, geom.topBox.left + geom.topBox.width + 4] : null),
    setHover: (i) => {
      hover = i;
    },
    load,
    layout,
    draw,
    readout: updateReadout,
  });
  return () => shell.dispose();
}

/** @satisfies {import("@anywidget/types").AnyWidget<PhaseChangeTraits>} */
const widget = { render };
export default widget;
export { render };
