// @ts-check
/**
 * Sweep heatmap: all heads' phase change at once. Rows = heads (L0H0 … layer-major), columns =
 * checkpoints in step order, colour = the chosen measure (viridis over its finite range). Each
 * head's jump — the checkpoint after its largest rise, `jumps[measure][row]` — is outlined; the
 * best head's jump (`jump[measure]` = [i−1, i]) is shaded over the whole column pair. The ICL
 * score, when measured, is a strip above (darker = lower = more in-context learning). Hovering
 * reads value ± sem; clicking sets `selected` = [checkpoint, layer, head] and prints the call that
 * opens that checkpoint's explorer at that head.
 *
 * Traits: models, model, measure_names, measure, values / sems ({name: float32 [n_ckpt, n_rows]}),
 * jumps ({name: int32 [n_rows]}), jump ({name: int32 [i−1, i]}, [−1, −1] = none), steps (int32 [n_ckpt], −1 = no
 * step), revisions, calls (load expression per checkpoint), icl, icl_sem (float32 [n_ckpt] or {}),
 * n_layers, n_heads, selected, call, message, title.
 * @module sweep_heatmap
 */
import { formatNumber, formatSpread, sequentialColour } from "./shared/colour.js";
import { h, listen, setOptions } from "./shared/dom.js";
import { messageBanner, viewShell } from "./shared/controls.js";
import { clearedContext, localPoint, onWidthChange, sizeCanvas } from "./shared/canvas.js";
import { finiteRange, numbers, showCall } from "./shared/grids.js";
import { themeColours } from "./shared/plot.js";
import { prettyName } from "./shared/text.js";

const MARGIN = Object.freeze({ left: 48, top: 8, right: 8, bottom: 26 });
const STRIP = 12; // ICL strip height
const GAP = 6;

/** "step 600" or the revision when it names no step. @param {number} step @param {string} rev */
export function ckptLabel(step, rev) {
  return step >= 0 ? `step ${step}` : rev || "as published";
}

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ models: string[], model: string, measure_names: string[], measure: string,
 *   values: Record<string, BufferTrait>, sems: Record<string, BufferTrait>, jumps: Record<string, BufferTrait>,
 *   jump: Record<string, BufferTrait>, steps: BufferTrait, revisions: string[], calls: string[],
 *   icl: BufferTrait, icl_sem: BufferTrait, n_layers: number, n_heads: number, selected: number[],
 *   call: string, message: string, title: string }} SweepHeatmapTraits
 */

/** @type {import("./shared/types.js").View<SweepHeatmapTraits>} */
function render({ model, el }) {
  const shell = viewShell(el, "iw-sweep-heatmap");
  const { root, signal } = shell;
  const title = h("span", { class: "iw-title" });
  const select = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "aria-label": "measure" } }));
  const range = h("span", { class: "iw-key" });
  const header = h("div", { class: "iw-header" }, [title, select, range]);
  const banner = messageBanner(model);
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "iw-plot", attrs: { role: "img" } }));
  const jumpNote = h("div", { class: "iw-jump" });
  const readout = h("div", { class: "iw-readout" });
  const call = h("pre", { class: "iw-call" });
  root.append(header, banner.el, h("div", { class: "iw-canvas-wrap" }, [canvas]), jumpNote, readout, call);
  el.append(root);

  /** @type {any} */
  let g = null;
  let hover = /** @type {number[] | null} */ (null);

  const get = () => {
    const measure = model.get("measure");
    const steps = numbers(model.get("steps"));
    return {
      measure,
      values: numbers((model.get("values") || {})[measure]),
      sems: numbers((model.get("sems") || {})[measure]),
      jumps: numbers((model.get("jumps") || {})[measure]),
      jump: Array.from(numbers((model.get("jump") || {})[measure])).filter((i) => i >= 0),
      steps,
      icl: numbers(model.get("icl")),
      iclSem: numbers(model.get("icl_sem")),
      nCkpt: steps.length,
      nRows: model.get("n_layers") * model.get("n_heads"),
      revisions: model.get("revisions") || [],
    };
  };

  function layout() {
    const d = get();
    const avail = Math.max(240, Math.min(900, (root.clientWidth || 640) - 8));
    const cellW = Math.max(4, Math.floor((avail - MARGIN.left - MARGIN.right) / Math.max(1, d.nCkpt)));
    const cellH = Math.max(6, Math.min(18, Math.floor(360 / Math.max(1, d.nRows))));
    const strip = d.icl.length ? STRIP + GAP : 0;
    const w = MARGIN.left + cellW * d.nCkpt + MARGIN.right;
    const hgt = MARGIN.top + strip + cellH * d.nRows + MARGIN.bottom;
    sizeCanvas(canvas, w, hgt);
    g = { left: MARGIN.left, top: MARGIN.top + strip, cellW, cellH, stripTop: MARGIN.top, d };
    Object.assign(canvas.dataset, {
      left: g.left,
      top: g.top,
      cellW,
      cellH,
      rows: d.nRows,
      cols: d.nCkpt,
      measure: d.measure,
      jumpCols: Array.from(d.jumps).join(","),
    });
    const [a, b] = d.jump;
    jumpNote.textContent =
      a === undefined
        ? "one checkpoint: no jump to mark"
        : `shaded: ${ckptLabel(d.steps[a], d.revisions[a])} → ${ckptLabel(d.steps[b], d.revisions[b])}, where the best head's ${prettyName(d.measure)} rises most; outlined: each head's largest rise (the checkpoint after it)`;
    canvas.setAttribute("aria-label", `${d.nRows} heads × ${d.nCkpt} checkpoints of ${prettyName(d.measure)}. ${jumpNote.textContent}`);
  }

  function draw() {
    if (!g) return;
    const { d, left, top, cellW, cellH } = g;
    const ctx = clearedContext(canvas);
    const { fg } = themeColours(root);
    const [lo, hi] = finiteRange(d.values);
    range.textContent = `colour: ${prettyName(d.measure)} from ${formatNumber(lo, 3)} (dark) to ${formatNumber(hi, 3)} (yellow)`;
    for (let i = 0; i < d.nCkpt; i++) {
      for (let r = 0; r < d.nRows; r++) {
        const v = d.values[i * d.nRows + r];
        const c = sequentialColour((v - lo) / (hi - lo));
        ctx.fillStyle = c ? `rgb(${c[0]},${c[1]},${c[2]})` : "rgba(127,127,127,0.2)";
        ctx.fillRect(left + i * cellW, top + r * cellH, cellW, cellH);
      }
    }
    if (d.icl.length) {
      const [ilo, ihi] = finiteRange(d.icl);
      for (let i = 0; i < d.nCkpt; i++) {
        const c = sequentialColour((d.icl[i] - ilo) / (ihi - ilo));
        ctx.fillStyle = c ? `rgb(${c[0]},${c[1]},${c[2]})` : "rgba(127,127,127,0.2)";
        ctx.fillRect(left + i * cellW, g.stripTop, cellW, STRIP);
      }
    }
    ctx.fillStyle = fg;
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    if (d.icl.length) ctx.fillText("ICL", left - 4, g.stripTop + STRIP / 2);
    const nHeads = model.get("n_heads");
    const every = Math.max(1, Math.ceil(11 / cellH));
    for (let r = 0; r < d.nRows; r += every) ctx.fillText(`L${Math.floor(r / nHeads)}H${r % nHeads}`, left - 4, top + (r + 0.5) * cellH);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const everyC = Math.max(1, Math.ceil(40 / cellW));
    for (let i = 0; i < d.nCkpt; i += everyC) ctx.fillText(d.steps[i] >= 0 ? String(d.steps[i]) : d.revisions[i] || "·", left + (i + 0.5) * cellW, top + d.nRows * cellH + 3);
    ctx.fillText("training step", left + (d.nCkpt * cellW) / 2, top + d.nRows * cellH + 14);
    // the model-level jump: the column pair shaded
    const [a, b] = d.jump;
    if (a !== undefined) {
      ctx.save();
      ctx.fillStyle = "rgba(255,255,255,0.18)";
      ctx.fillRect(left + a * cellW, g.stripTop, (b - a + 1) * cellW, top - g.stripTop + d.nRows * cellH);
      ctx.strokeStyle = fg;
      ctx.setLineDash([3, 2]);
      ctx.strokeRect(left + a * cellW + 0.5, g.stripTop + 0.5, (b - a + 1) * cellW - 1, top - g.stripTop + d.nRows * cellH - 1);
      ctx.restore();
    }
    // each head's jump: its cell outlined
    ctx.save();
    ctx.lineWidth = 1; // crisp: the white line on the cell's 2nd pixel row/column, black on its 3rd
    for (let r = 0; r < d.nRows; r++) {
      const i = d.jumps[r];
      if (!(i >= 0)) continue;
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(left + i * cellW + 1.5, top + r * cellH + 1.5, cellW - 3, cellH - 3);
      ctx.strokeStyle = "#000";
      ctx.strokeRect(left + i * cellW + 2.5, top + r * cellH + 2.5, cellW - 5, cellH - 5);
    }
    ctx.restore();
    const sel = model.get("selected") || [];
    const marks = [hover, sel.length === 3 ? [sel[0], sel[1] * nHeads + sel[2]] : null];
    marks.forEach((m, k) => {
      if (!m) return;
      ctx.save();
      ctx.strokeStyle = k ? "rgb(214,39,40)" : fg;
      ctx.lineWidth = 2;
      ctx.strokeRect(left + m[0] * cellW, top + m[1] * cellH, cellW, cellH);
      ctx.restore();
    });
  }

  /** @param {number[] | null} m [checkpoint, row] */
  function cellText(m) {
    if (!m || !g) return "hover a cell to read a head at a checkpoint; click to open it";
    const { d } = g;
    const nHeads = model.get("n_heads");
    const [i, r] = m;
    const v = d.values[i * d.nRows + r];
    const s = d.sems[i * d.nRows + r];
    const j = d.jumps[r];
    const jumpText = j >= 1 ? `; its largest rise: ${ckptLabel(d.steps[j - 1], d.revisions[j - 1])} → ${ckptLabel(d.steps[j], d.revisions[j])}` : "";
    const icl = d.icl.length ? ` · ICL score ${formatSpread(d.icl[i], d.iclSem[i], 3)} nats` : "";
    return `L${Math.floor(r / nHeads)}H${r % nHeads} at ${ckptLabel(d.steps[i], d.revisions[i])}: ${prettyName(d.measure)} ${formatSpread(v, s, 3)} (± sem)${jumpText}${icl}`;
  }

  /** @param {PointerEvent | MouseEvent} e */
  function at(e) {
    if (!g) return null;
    const [x, y] = localPoint(canvas, e);
    const { d } = g;
    const col = Math.floor((x - g.left) / g.cellW);
    const row = Math.floor((y - g.top) / g.cellH);
    return col >= 0 && col < d.nCkpt && row >= 0 && row < d.nRows ? [col, row] : null;
  }

  canvas.addEventListener(
    "pointermove",
    (e) => {
      hover = at(e);
      readout.textContent = cellText(hover);
      draw();
    },
    { signal },
  );
  canvas.addEventListener(
    "pointerleave",
    () => {
      hover = null;
      readout.textContent = cellText(null);
      draw();
    },
    { signal },
  );
  canvas.addEventListener(
    "click",
    (e) => {
      const m = at(e);
      if (!m) return;
      const nHeads = model.get("n_heads");
      model.set("selected", [m[0], Math.floor(m[1] / nHeads), m[1] % nHeads]);
      model.save_changes();
    },
    { signal },
  );
  select.addEventListener(
    "change",
    () => {
      model.set("measure", select.value);
      model.save_changes();
    },
    { signal },
  );

  function reload() {
    title.textContent = [model.get("title"), model.get("model")].filter(Boolean).join(" — ");
    setOptions(
      select,
      (model.get("measure_names") || []).map((/** @type {string} */ n) => ({ value: n, label: prettyName(n) })),
      model.get("measure"),
    );
    layout();
    draw();
    readout.textContent = cellText(hover);
    showCall(model, call);
  }
  listen(model, ["values", "sems", "jumps", "jump", "measure", "steps", "icl", "n_layers", "n_heads", "title", "model"], reload, signal);
  listen(model, ["selected", "call"], () => {
    draw();
    showCall(model, call);
  }, signal);
  listen(model, ["message"], () => banner.update(), signal);
  onWidthChange(root, () => {
    layout();
    draw();
  }, signal);
  reload();
  return () => shell.dispose();
}

/** @satisfies {import("@anywidget/types").AnyWidget<SweepHeatmapTraits>} */
const widget = { render };
export default widget;
export { render };
