// @ts-check
/**
 * Sweep depth: models side by side, each one's head map of one measure at one checkpoint (default
 * its last). Layers are placed by relative depth d = layer / (n_layers − 1) on one shared vertical
 * axis (d = 0 first layer at the top, d = 1 last layer at the bottom; a one-layer model at 0.5), so
 * layers at the same relative depth of models of different depth line up. Each model's columns are
 * its heads. One colour scale (viridis) over every model. Clicking a head sets `selected` =
 * [model, layer, head] and prints the call that opens that checkpoint's explorer at that head.
 *
 * Traits: models, measure, grids ({"0": float32 [n_layers, n_heads], …} by model index), shapes ([n_layers,
 * n_heads] per model), revisions, calls, selected, call, message, title.
 * @module sweep_depth
 */
import { formatNumber, sequentialColour } from "./shared/colour.js";
import { h, listen } from "./shared/dom.js";
import { messageBanner, viewShell } from "./shared/controls.js";
import { clearedContext, localPoint, onWidthChange, sizeCanvas } from "./shared/canvas.js";
import { themeColours } from "./shared/plot.js";
import { prettyName } from "./shared/text.js";
import { finiteRange, numbers, showCall } from "./shared/grids.js";

const MARGIN = Object.freeze({ left: 40, top: 34, right: 8, bottom: 8 });
const HEIGHT = 260; // the depth axis, CSS px
const GAP = 18; // between models

/**
 * Row band of layer l of an L-layer model on a depth axis of `height` px starting at `top`: the
 * band's centre sits at top + pad + d·(height − 2·pad), d = l / (L − 1), pad = half the band.
 * @param {number} l @param {number} L @param {number} top @param {number} height @param {number} band
 */
export function bandOf(l, L, top, height, band) {
  const d = L > 1 ? l / (L - 1) : 0.5;
  const centre = top + band / 2 + d * (height - band);
  return { y: centre - band / 2, d };
}

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ models: string[], measure: string, grids: Record<string, BufferTrait>, shapes: number[][],
 *   revisions: string[], calls: string[], selected: number[], call: string, message: string,
 *   title: string }} SweepDepthTraits
 */

/** @type {import("./shared/types.js").View<SweepDepthTraits>} */
function render({ model, el }) {
  const shell = viewShell(el, "iw-sweep-depth");
  const { root, signal } = shell;
  const title = h("span", { class: "iw-title" });
  const key = h("span", { class: "iw-key" });
  const banner = messageBanner(model);
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "iw-plot", attrs: { role: "img" } }));
  const readout = h("div", { class: "iw-readout" });
  const call = h("pre", { class: "iw-call" });
  root.append(h("div", { class: "iw-header" }, [title, key]), banner.el, h("div", { class: "iw-canvas-wrap" }, [canvas]), readout, call);
  el.append(root);
  /** @type {any[]} */
  let panels = [];
  let hover = /** @type {number[] | null} */ (null);
  let lo = 0;
  let hi = 1;

  function layout() {
    const shapes = model.get("shapes") || [];
    const raw = model.get("grids") || {};
    const grids = shapes.map((/** @type {any} */ _s, /** @type {number} */ m) => numbers(raw[String(m)]));
    const all = grids.flatMap((/** @type {Float32Array} */ g) => Array.from(g));
    [lo, hi] = finiteRange(all);
    const avail = Math.max(240, Math.min(1000, (root.clientWidth || 640) - 8));
    const totalHeads = shapes.reduce((/** @type {number} */ a, /** @type {number[]} */ s) => a + s[1], 0);
    const cellW = Math.max(6, Math.min(28, Math.floor((avail - MARGIN.left - MARGIN.right - GAP * (shapes.length - 1)) / Math.max(1, totalHeads))));
    const minLayers = Math.min(...shapes.map((/** @type {number[]} */ s) => s[0]));
    const band = Math.max(4, Math.min(28, Math.floor(HEIGHT / Math.max(1, Math.max(...shapes.map((/** @type {number[]} */ s) => s[0])))), Math.floor(HEIGHT / Math.max(2, minLayers))));
    let x = MARGIN.left;
    panels = shapes.map((/** @type {number[]} */ [L, H], /** @type {number} */ m) => {
      const p = { m, L, H, x, cellW, band, values: grids[m], rows: Array.from({ length: L }, (_, l) => bandOf(l, L, MARGIN.top, HEIGHT, band)) };
      x += H * cellW + GAP;
      return p;
    });
    sizeCanvas(canvas, Math.max(x - GAP + MARGIN.right, 200), MARGIN.top + HEIGHT + MARGIN.bottom);
    canvas.dataset.panels = JSON.stringify(panels.map((p) => ({ x: p.x, cellW: p.cellW, band: p.band, L: p.L, H: p.H, ys: p.rows.map((/** @type {any} */ r) => r.y) })));
    canvas.setAttribute("aria-label", `${panels.length} models' head maps of ${prettyName(model.get("measure"))}, layers at relative depth`);
  }

  function draw() {
    const ctx = clearedContext(canvas);
    const { fg } = themeColours(root);
    const models = model.get("models") || [];
    const revs = model.get("revisions") || [];
    const sel = model.get("selected") || [];
    ctx.font = "10px sans-serif";
    // the shared depth axis
    ctx.fillStyle = fg;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const d of [0, 0.5, 1]) {
      const y = MARGIN.top + (panels[0] ? panels[0].band / 2 : 0) + d * (HEIGHT - (panels[0] ? panels[0].band : 0));
      ctx.fillText(d.toFixed(1), MARGIN.left - 6, y);
    }
    ctx.save();
    ctx.translate(10, MARGIN.top + HEIGHT / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText("relative depth", 0, 0);
    ctx.restore();
    for (const p of panels) {
      ctx.fillStyle = fg;
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      ctx.fillText(`${models[p.m]}${revs[p.m] ? ` @ ${revs[p.m]}` : ""}`, p.x, MARGIN.top - 18);
      ctx.fillText(`${p.L} layers × ${p.H} heads`, p.x, MARGIN.top - 6);
      for (let l = 0; l < p.L; l++) {
        for (let hd = 0; hd < p.H; hd++) {
          const v = p.values[l * p.H + hd];
          const c = sequentialColour((v - lo) / (hi - lo));
          ctx.fillStyle = c ? `rgb(${c[0]},${c[1]},${c[2]})` : "rgba(127,127,127,0.2)";
          ctx.fillRect(p.x + hd * p.cellW, p.rows[l].y, p.cellW - 1, p.band - 1);
        }
      }
      for (const [k, mk] of [hover, sel.length === 3 ? sel : null].entries()) {
        if (!mk || mk[0] !== p.m) continue;
        ctx.strokeStyle = k ? "rgb(214,39,40)" : fg;
        ctx.lineWidth = 2;
        ctx.strokeRect(p.x + mk[2] * p.cellW, p.rows[mk[1]].y, p.cellW - 1, p.band - 1);
      }
    }
    key.textContent = `${prettyName(model.get("measure"))}: ${formatNumber(lo, 3)} (dark) to ${formatNumber(hi, 3)} (yellow), one scale for all models`;
  }

  /** @param {MouseEvent} e */
  function at(e) {
    const [x, y] = localPoint(canvas, e);
    for (const p of panels) {
      const hd = Math.floor((x - p.x) / p.cellW);
      if (hd < 0 || hd >= p.H) continue;
      const l = p.rows.findIndex((/** @type {any} */ r) => y >= r.y && y < r.y + p.band);
      if (l >= 0) return [p.m, l, hd];
    }
    return null;
  }

  function text() {
    if (!hover) return "hover a head; click to open it";
    const [m, l, hd] = hover;
    const p = panels[m];
    const v = p.values[l * p.H + hd];
    return `${(model.get("models") || [])[m]} L${l}H${hd} (relative depth ${p.rows[l].d.toFixed(2)}): ${prettyName(model.get("measure"))} ${formatNumber(v, 3)}`;
  }

  canvas.addEventListener("pointermove", (e) => {
    hover = at(e);
    readout.textContent = text();
    draw();
  }, { signal });
  canvas.addEventListener("click", (e) => {
    const mk = at(e);
    if (!mk) return;
    model.set("selected", mk);
    model.save_changes();
  }, { signal });

  function reload() {
    title.textContent = model.get("title") || "";
    layout();
    draw();
    readout.textContent = text();
    showCall(model, call);
  }
  listen(model, ["grids", "shapes", "measure", "models", "revisions", "title"], reload, signal);
  listen(model, ["selected", "call"], () => {
    draw();
    showCall(model, call);
  }, signal);
  listen(model, ["message"], () => banner.update(), signal);
  onWidthChange(root, reload, signal);
  reload();
  return () => shell.dispose();
}

/** @satisfies {import("@anywidget/types").AnyWidget<SweepDepthTraits>} */
const widget = { render };
export default widget;
export { render };
