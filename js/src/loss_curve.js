// @ts-check
/**
 * Loss curve: the mean per-token loss L[i] (nats) against token index i on a log x axis, with
 * dashed marks at the two indices the ICL score reads (the paper's 50 and 500, or the 1 : 10 pair
 * a short context allows, said in `note`) and the score L[late] − L[early] in the title.
 * Hovering reads the loss at the nearest index.
 *
 * Traits: loss (float32 buffer [pos], NaN at 0), early, late, score, sem (number or null), note,
 * window, n_contexts, message, title.
 * @module loss_curve
 */
import { formatNumber } from "./shared/colour.js";
import { h } from "./shared/dom.js";
import { floatBuffers, messageBanner, viewShell } from "./shared/controls.js";
import { canvasAlt, clearedContext, sizeCanvas } from "./shared/canvas.js";
import { drawFrame, extent, logTicks, linePlotCycle, niceTicks, polyline, scale, themeColours } from "./shared/plot.js";

export const MARGIN = Object.freeze({ left: 46, top: 10, right: 14, bottom: 34 });
const LINE = "rgb(31,119,180)";

/**
 * The ICL score as the title says it: "ICL score −0.42 ± 0.03 nats (loss[500] − loss[50])".
 * @param {number|null} score
 * @param {number|null} sem
 * @param {number} early
 * @param {number} late
 */
export function scoreText(score, sem, early, late) {
  const value = score == null ? "n/a" : formatNumber(score, 3) + (sem == null ? "" : ` ± ${formatNumber(sem, 2)}`);
  return `ICL score ${value} nats (loss[${late}] − loss[${early}])`;
}

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ loss: BufferTrait, early: number, late: number, score: number | null, sem: number | null, note: string,
 *   window: number, n_contexts: number, message: string, title: string }} LossCurveTraits
 */

/** @type {import("./shared/types.js").View<LossCurveTraits>} */
function render({ model, el }) {
  const shell = viewShell(el, "iw-loss-curve");
  const { root, signal } = shell;
  const title = h("span", { class: "iw-title" });
  const score = h("span", { class: "iw-icl-score" });
  const header = h("div", { class: "iw-header" }, [title, score]);
  const banner = messageBanner(model);
  const canvas = h("canvas", { class: "iw-plot", attrs: { role: "img" } });
  const note = h("div", { class: "iw-note" });
  const readout = h("div", { class: "iw-readout" });
  root.append(header, banner.el, h("div", { class: "iw-canvas-wrap" }, [canvas]), note, readout);
  el.append(root);
  const alt = canvasAlt(canvas, { readout });

  /** @type {Float32Array<ArrayBufferLike>} */
  let L = new Float32Array(0);
  /** @type {Float64Array} */
  let px = new Float64Array(0);
  let hover = -1;
  /** @type {{x: import("./shared/plot.js").Scale, y: import("./shared/plot.js").Scale, box: import("./shared/plot.js").Box} | null} */
  let geom = null;

  const buf = floatBuffers(model);
  function load() {
    L = buf("loss");
    title.textContent = model.get("title") || "";
    score.textContent = scoreText(model.get("score"), model.get("sem"), model.get("early"), model.get("late"));
    const w = model.get("window") | 0;
    const n = model.get("n_contexts") | 0;
    note.textContent =
      `mean over ${n} context${n === 1 ? "" : "s"}` +
      (w ? `; the score averages each context's loss over index ± ${w}` : "") +
      (model.get("note") ? `. ${model.get("note")}` : "");
  }

  function layout() {
    const w = Math.max(280, Math.min(620, (root.clientWidth || 620) - 8));
    const hgt = Math.round(w * 0.55);
    sizeCanvas(canvas, w, hgt);
    const box = { left: MARGIN.left, top: MARGIN.top, width: w - MARGIN.left - MARGIN.right, height: hgt - MARGIN.top - MARGIN.bottom };
    const last = Math.max(2, L.length - 1);
    const x = scale({ log: true, domain: [1, last], range: [box.left, box.left + box.width] });
    const y = scale({ domain: extent([L.subarray(1)]), range: [box.top + box.height, box.top] });
    geom = { x, y, box };
    px = new Float64Array(L.length);
    for (let i = 0; i < L.length; i++) px[i] = i >= 1 && Number.isFinite(L[i]) ? x.map(i) : NaN;
    Object.assign(canvas.dataset, {
      plotLeft: box.left,
      plotTop: box.top,
      plotWidth: box.width,
      plotHeight: box.height,
      xMin: 1,
      xMax: last,
      yMin: y.domain[0],
      yMax: y.domain[1],
      nPoints: L.length,
      earlyPx: x.map(model.get("early")),
      latePx: x.map(model.get("late")),
    });
    alt.label(`Loss per token index over ${L.length} tokens (log x axis); ${score.textContent}`);
    const early = model.get("early") | 0;
    const late = model.get("late") | 0;
    /** @param {number} i */
    const at = (i) => (i < L.length ? `${formatNumber(L[i], 3)} at token ${i}` : "");
    alt.summary(`Mean loss ${[1, early, late, L.length - 1].filter((i, k, a) => i >= 1 && a.indexOf(i) === k).map(at).join(", ")}. ${note.textContent}`);
  }

  function draw() {
    if (!geom) return;
    const ctx = clearedContext(canvas);
    const { fg } = themeColours(root);
    const { x, y, box } = geom;
    drawFrame(ctx, box, x, y, {
      xTicks: logTicks(1, x.domain[1]),
      yTicks: niceTicks(y.domain[0], y.domain[1], 5),
      xLabel: "token index (log scale)",
      yLabel: "loss (nats)",
      fg,
    });
    // the two indices the score reads
    ctx.save();
    ctx.strokeStyle = fg;
    ctx.fillStyle = fg;
    ctx.setLineDash([4, 3]);
    ctx.globalAlpha = 0.7;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    for (const i of [model.get("early"), model.get("late")]) {
      const p = Math.round(x.map(i)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(p, box.top);
      ctx.lineTo(p, box.top + box.height);
      ctx.stroke();
      const right = p + 30 > box.left + box.width; // near the right edge: label left of the mark
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText(String(i), right ? p - 3 : p + 3, box.top + 2);
    }
    ctx.restore();
    // the curve
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    ctx.strokeStyle = LINE;
    ctx.lineWidth = 1.5;
    polyline(ctx, px, (i) => y.map(L[i]), 1);
    if (hover >= 1) {
      ctx.fillStyle = LINE;
      ctx.beginPath();
      ctx.arc(px[hover], y.map(L[hover]), 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
  }

  function updateReadout() {
    if (hover < 1) {
      readout.textContent = L.length ? "hover the curve to read the loss at a token index" : "no losses";
      delete readout.dataset.index;
      return;
    }
    const tag = hover === model.get("early") ? " (early index)" : hover === model.get("late") ? " (late index)" : "";
    readout.textContent = `token index ${hover}${tag}: mean loss ${formatNumber(L[hover], 4)} nats`;
    readout.dataset.index = String(hover);
  }

  // hover (the kit's Focus: hover only, no lock in this view), resize and trait changes
  linePlotCycle({
    root,
    canvas,
    model,
    signal,
    names: ["loss", "early", "late", "score", "sem", "note", "window", "n_contexts", "title"],
    banner,
    xs: () => px,
    span: () => (geom ? [geom.box.left, geom.box.left + geom.box.width] : null),
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

/** @satisfies {import("@anywidget/types").AnyWidget<LossCurveTraits>} */
const widget = { render };
export default widget;
export { render };
