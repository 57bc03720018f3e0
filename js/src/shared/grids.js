// @ts-check
/**
 * Numbers of buffer traits for the grid views over a sweep (sweep_heatmap, sweep_depth): decoded
 * once per raw buffer dict, and their finite range; the call line that opens the selected head.
 * @module grids
 */
import { decodeSync } from "./decode.js";

/** Decoded buffers by their raw dict. @type {WeakMap<object, Float32Array>} */
const CACHE = new WeakMap();

/**
 * A buffer trait's numbers (empty when absent).
 * @param {any} raw
 * @returns {Float32Array}
 */
export function numbers(raw) {
  if (!raw || typeof raw !== "object" || !raw.dtype) return new Float32Array(0);
  let hit = CACHE.get(raw);
  if (!hit) {
    const d = decodeSync(raw);
    hit = d ? d.data : new Float32Array(0);
    CACHE.set(raw, hit);
  }
  return hit;
}

/**
 * [min, max] of the finite values (a flat [0, 1] when there are none).
 * @param {ArrayLike<number>} v
 * @returns {[number, number]}
 */
export function finiteRange(v) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) continue;
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  return lo <= hi ? [lo, hi === lo ? lo + 1e-9 : hi] : [0, 1];
}

/**
 * Show in `el` the call that opens the selected head (`selected` = [model, layer, head]): the
 * model's own `call` trait, else `iw.InductionExplorer(<calls[model]>, text, layer=…, head=…)`;
 * empty with no selection.
 * @param {import("./types.js").ModelLike} model @param {HTMLElement} el
 */
export function showCall(model, el) {
  const sel = model.get("selected") || [];
  if (sel.length !== 3) {
    el.textContent = "";
    return;
  }
  const calls = model.get("calls") || [];
  el.textContent = model.get("call") || `iw.InductionExplorer(${calls[sel[0]]}, text, layer=${sel[1]}, head=${sel[2]})`;
  el.dataset.selected = sel.join(",");
}
