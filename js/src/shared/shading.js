// @ts-check
/**
 * Which value each token gets when one token is hovered/locked in the token view. Pure, no DOM.
 *
 * Matrices are dense row-major Float32Array n×n indexed [dst, src]: M[d, s] = M[d * n + s].
 *
 * mode "attention" (red): A[d, s] = how much destination d attends to source s, i.e. where the
 *   head looks (at position d) to predict token d + 1.
 *   - selectedIs "destination": hovered d; every source s ≤ d gets A[d, s].
 *   - selectedIs "source":      hovered s; every destination d ≥ s gets A[d, s].
 *   - valueWeighted: A is replaced by W[d, s] = A[d, s]·|v_s| / Σ_s' A[d, s']·|v_s'|
 *     (row-renormalised by the value-vector norms; 0 when the denominator is 0).
 *
 * mode "logit_attr" (blue/orange): L[d, s] = direct-path contribution of source s, through this
 *   head at destination d, to the logit of the token at position d + 1 (row n-1 is NaN). A token
 *   p is the "output" (predicted) token of row p - 1.
 *   - selectedIs "destination": hovered p (the predicted, "current" token); every source
 *     s ≤ p - 1 gets L[p - 1, s]; p = 0 predicts nothing.
 *   - selectedIs "source":      hovered s; every token p with p - 1 ≥ s gets L[p - 1, s].
 *
 * Masks (Uint8Array-like, 1 = allowed, null = everything allowed):
 *   dstMask    attention-mode destinations (the hovered token for "destination", the shaded
 *              tokens for "source"),
 *   outputMask the same for logit_attr outputs p,
 *   srcMask    sources in both modes.
 * A hovered token that is not allowed in its role shades nothing. NaN inputs stay NaN.
 *
 * The matrices may be dense Float32Arrays or {@link Matrix} objects read on demand
 * (shared/matrix.js): one hovered token reads one row or one column, never the whole matrix.
 * @module shading
 */
import { asMatrix } from "./matrix.js";

/** @typedef {import("./matrix.js").Matrix} Matrix */

const allowed = (/** @type {ArrayLike<number> | null | undefined} */ mask, /** @type {number} */ i) => mask == null || i >= mask.length || mask[i] !== 0;

/**
 * Denominators of the value weighting: den[d] = Σ_s A[d, s]·valueNorm[s] over finite terms.
 * @param {Float32Array | Matrix} attention [n, n]
 * @param {ArrayLike<number>} valueNorm [n]
 * @param {number} n
 * @returns {Float64Array} [n]
 */
export function valueWeightDenominators(attention, valueNorm, n) {
  const A = /** @type {Matrix} */ (asMatrix(attention, n));
  const den = new Float64Array(n);
  /** @type {Float32Array<ArrayBufferLike>} */
  let r = new Float32Array(n);
  for (let d = 0; d < n; d++) den[d] = rowDenominator((r = A.row(d, r)), valueNorm, n);
  return den;
}

/** Σ_s row[s]·valueNorm[s] over finite terms.
 * @param {ArrayLike<number>} row @param {ArrayLike<number>} valueNorm @param {number} n */
function rowDenominator(row, valueNorm, n) {
  let sum = 0;
  for (let s = 0; s < n; s++) {
    const t = row[s] * valueNorm[s];
    if (Number.isFinite(t)) sum += t;
  }
  return sum;
}

/** W = a·|v_s| / den (NaN stays NaN, 0 when den is 0), as {@link weighted}.
 * @param {number} a @param {number} norm @param {number} den */
function weightedValue(a, norm, den) {
  const num = a * norm;
  if (Number.isNaN(num)) return NaN;
  return den === 0 ? 0 : num / den;
}

/**
 * Value-weighted attention W[d, s] (see module doc).
 * @param {Float32Array} attention [n, n]
 * @param {Float32Array} valueNorm [n]
 * @param {Float64Array} den denominators from valueWeightDenominators
 * @param {number} n
 * @param {number} d
 * @param {number} s
 */
export function weighted(attention, valueNorm, den, n, d, s) {
  const a = attention[d * n + s];
  const num = a * valueNorm[s];
  if (Number.isNaN(num)) return NaN;
  return den[d] === 0 ? 0 : num / den[d];
}

/**
 * Whether token `index` may be hovered/locked in the current mode and role.
 * @param {{mode: string, selectedIs: string, index: number, n: number,
 *          dstMask?: ArrayLike<number>|null, srcMask?: ArrayLike<number>|null,
 *          outputMask?: ArrayLike<number>|null}} o
 * @returns {boolean}
 */
export function canSelect({ mode, selectedIs, index, n, dstMask = null, srcMask = null, outputMask = null }) {
  if (!Number.isInteger(index) || index < 0 || index >= n) return false;
  if (selectedIs === "source") return allowed(srcMask, index);
  if (mode === "logit_attr") return index >= 1 && allowed(outputMask, index);
  return allowed(dstMask, index);
}

/**
 * Shaded value of every token for one hovered token (see module doc for the semantics).
 * @param {object} o
 * @param {"attention" | "logit_attr"} o.mode
 * @param {"destination" | "source"} o.selectedIs
 * @param {number} o.index hovered/locked token (-1 or out of range: nothing)
 * @param {number} o.n number of tokens
 * @param {Float32Array|Matrix|null} o.attention [n, n] in [dst, src]
 * @param {Float32Array|Matrix|null} o.attribution [n, n] in [dst, src], row d is about token d + 1
 * @param {Float32Array|null} [o.valueNorm] [n] |v_s| per source
 * @param {boolean} [o.valueWeighted]
 * @param {ArrayLike<number>|null} [o.dstMask] [n]
 * @param {ArrayLike<number>|null} [o.srcMask] [n]
 * @param {ArrayLike<number>|null} [o.outputMask] [n]
 * @param {Float64Array|null} [o.denominators] cached valueWeightDenominators (optional)
 * @returns {Float32Array} [n], NaN = not shaded
 */
export function shadeValues({
  mode,
  selectedIs,
  index,
  n,
  attention = null,
  attribution = null,
  valueNorm = null,
  valueWeighted = false,
  dstMask = null,
  srcMask = null,
  outputMask = null,
  denominators = null,
}) {
  const out = new Float32Array(n).fill(NaN);
  if (!canSelect({ mode, selectedIs, index, n, dstMask, srcMask, outputMask })) return out;

  if (mode === "logit_attr") {
    const L = asMatrix(attribution, n);
    if (!L) return out;
    if (selectedIs === "destination") {
      const row = L.row(index - 1);
      for (let s = 0; s <= index - 1; s++) if (allowed(srcMask, s)) out[s] = row[s];
    } else {
      const s = index;
      const col = L.col(s);
      for (let p = s + 1; p < n; p++) if (allowed(outputMask, p)) out[p] = col[p - 1];
    }
    return out;
  }

  const A = asMatrix(attention, n);
  if (!A) return out;
  const vw = Boolean(valueWeighted) && valueNorm != null;
  if (selectedIs === "destination") {
    const d = index;
    const row = A.row(d);
    const den = vw ? (denominators ? denominators[d] : rowDenominator(row, /** @type {ArrayLike<number>} */ (valueNorm), n)) : 0;
    for (let s = 0; s <= d; s++) {
      if (!allowed(srcMask, s)) continue;
      out[s] = vw ? weightedValue(row[s], /** @type {ArrayLike<number>} */ (valueNorm)[s], den) : row[s];
    }
  } else {
    const s = index;
    const col = A.col(s);
    const den = vw ? denominators || valueWeightDenominators(A, /** @type {ArrayLike<number>} */ (valueNorm), n) : null;
    for (let d = s; d < n; d++) {
      if (!allowed(dstMask, d)) continue;
      out[d] = den ? weightedValue(col[d], /** @type {ArrayLike<number>} */ (valueNorm)[s], den[d]) : col[d];
    }
  }
  return out;
}
