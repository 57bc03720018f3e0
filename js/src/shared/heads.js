// @ts-check
/**
 * Layer/head choice logic shared by the views. Pure.
 * `heads_available` is a list of [layer, head] pairs; empty = every head of the model.
 * @module heads
 */

/** Integer range [0, n). */
const range = (/** @type {number} */ n) => Array.from({ length: Math.max(0, n | 0) }, (_, i) => i);

/** Valid [layer, head] pairs of heads_available (non-integers dropped). @param {unknown} available @returns {number[][]} */
function pairs(available) {
  if (!Array.isArray(available)) return [];
  return available.filter((p) => Array.isArray(p) && p.length >= 2 && Number.isInteger(p[0]) && Number.isInteger(p[1]));
}

/**
 * Layers offered in the Layer select.
 * @param {number} nLayers
 * @param {number[][]} available
 * @returns {number[]} sorted
 */
export function layerChoices(nLayers, available) {
  const p = pairs(available);
  if (p.length === 0) return range(nLayers);
  return [...new Set(p.map((x) => x[0]))].sort((a, b) => a - b);
}

/**
 * Heads offered in the Head select for `layer`.
 * @param {number} layer
 * @param {number} nHeads
 * @param {number[][]} available
 * @returns {number[]} sorted
 */
export function headChoices(layer, nHeads, available) {
  const p = pairs(available);
  if (p.length === 0) return range(nHeads);
  return [...new Set(p.filter((x) => x[0] === layer).map((x) => x[1]))].sort((a, b) => a - b);
}

/**
 * The head to use after switching to `layer`: keep `head` when available there, else the first
 * available head of that layer.
 * @param {number} layer
 * @param {number} head
 * @param {number} nHeads
 * @param {number[][]} available
 */
export function headAfterLayerChange(layer, head, nHeads, available) {
  const heads = headChoices(layer, nHeads, available);
  if (heads.length === 0 || heads.includes(head)) return head;
  return heads[0];
}
