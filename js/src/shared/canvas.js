// @ts-check
/**
 * Canvas helpers shared by the views: DPR-aware sizing, a cleared context in CSS pixels, and
 * pointer → CSS pixel → grid cell.
 * @module canvas
 */
import { pixelRatio } from "./dom.js";

/**
 * Size `canvas` to `w` × `h` CSS pixels with a backing store of w·dpr × h·dpr device pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {number} w
 * @param {number} h
 */
export function sizeCanvas(canvas, w, h) {
  const dpr = pixelRatio();
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
}

/**
 * The canvas's 2D context, cleared, drawing in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @returns {CanvasRenderingContext2D}
 */
export function clearedContext(canvas) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const dpr = pixelRatio();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

/**
 * The pointer's position in the canvas's CSS pixels (corrected for CSS zoom / transforms, where the
 * bounding box and the layout size differ).
 * @param {HTMLCanvasElement} canvas
 * @param {{ clientX: number, clientY: number }} e
 * @returns {[number, number]}
 */
export function localPoint(canvas, e) {
  const r = canvas.getBoundingClientRect();
  const k = r.width ? canvas.offsetWidth / r.width : 1;
  return [(e.clientX - r.left) * k, (e.clientY - r.top) * k];
}

/**
 * @typedef {{ left: number, top: number, scale: number, rows: number, cols: number,
 *             width?: number, height?: number, originCol?: number, originRow?: number }} Grid
 *   A grid of rows × cols cells drawn from (left, top) at `scale` CSS px per cell; `originCol/Row`
 *   is the cell at the top-left corner (pan); `width`/`height` clip the plot area.
 */

/**
 * The [row, col] cell under the CSS-pixel point (x, y), or null outside the grid (or the clip).
 * @param {number} x
 * @param {number} y
 * @param {Grid} g
 * @returns {[number, number] | null}
 */
export function cellAt(x, y, g) {
  const px = x - g.left;
  const py = y - g.top;
  if (g.rows <= 0 || g.cols <= 0 || px < 0 || py < 0) return null;
  if ((g.width !== undefined && px >= g.width) || (g.height !== undefined && py >= g.height)) return null;
  const col = Math.floor((g.originCol ?? 0) + px / g.scale);
  const row = Math.floor((g.originRow ?? 0) + py / g.scale);
  return row >= 0 && row < g.rows && col >= 0 && col < g.cols ? [row, col] : null;
}

/**
 * Call `onWidth(width)` whenever `el`'s client width changes (not on height-only changes).
 * @param {HTMLElement} el
 * @param {(width: number) => void} onWidth
 * @param {AbortSignal} [signal] disconnects on abort
 * @returns {() => void} disconnect
 */
export function onWidthChange(el, onWidth, signal) {
  if (typeof ResizeObserver === "undefined") return () => {};
  let last = -1;
  const observer = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w === last) return;
    last = w;
    onWidth(w);
  });
  observer.observe(el);
  const disconnect = () => observer.disconnect();
  signal?.addEventListener("abort", disconnect, { once: true });
  return disconnect;
}

let altCount = 0;

/**
 * A canvas's text alternative: role "img" with an aria-label (what the canvas is, and how to use
 * it from the keyboard), described by a visually hidden summary placed right after it (the numbers
 * a sighted reader takes from the picture: the top heads, the strongest cells), and by the view's
 * readout, which says the cell under the cursor and is announced as it changes (aria-live).
 * @param {HTMLCanvasElement} canvas
 * @param {{ readout?: HTMLElement }} [o]
 * @returns {{ el: HTMLElement, label: (text: string) => void, summary: (text: string) => void }}
 */
export function canvasAlt(canvas, { readout } = {}) {
  const id = `iw-alt-${++altCount}`;
  const el = document.createElement("p");
  el.className = "iw-sr-only";
  el.id = id;
  canvas.after(el);
  canvas.setAttribute("role", "img");
  const described = [id];
  if (readout) {
    if (!readout.id) readout.id = `${id}-readout`;
    readout.setAttribute("aria-live", "polite");
    described.push(readout.id);
  }
  canvas.setAttribute("aria-describedby", described.join(" "));
  return {
    el,
    label: (text) => {
      if (canvas.getAttribute("aria-label") !== text) canvas.setAttribute("aria-label", text);
    },
    summary: (text) => {
      if (el.textContent !== text) el.textContent = text;
    },
  };
}
