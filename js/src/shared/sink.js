// @ts-check
/**
 * Attention sinks in the browser: the same rules as `compute/sink.py`, applied to the attention
 * buffer the view already has (no second buffer travels; see docs/payload.md).
 *
 * For a head's pattern A [n, n] (row-major, [dst, src]) and a sink of the first k sources:
 *   share[d]  = Σ_{s<k} A[d, s]                         (the row's attention on the sink)
 *   Ã[d, s]   = A[d, s] / Σ_{s'≥k} A[d, s']  for s ≥ k, 0 for s < k   (= A / (1 − share) exactly;
 *               the sum of the row's other entries is used, so quantised rows still sum to 1)
 *   a row with nothing outside the sink is all zeros;
 *   k         = sink_width: the longest run 0 … k−1 of sources that each get, on average over the
 *               rows d ≥ most (most = 4, or n − 1 for short texts), at least 0.1 of the attention;
 *               at least 1, so BOS is always the candidate (sink_summary's rule);
 *   default   = "without sink" when the mean share over the rows d ≥ k is ≥ 0.3, else "all sources".
 * Every function takes the pattern as a dense row-major array or as a {@link Matrix} read on
 * demand (shared/matrix.js); {@link withoutSinkMatrix} renormalises one row at a time.
 * @module sink
 */
import { asMatrix } from "./matrix.js";

/** @typedef {import("./matrix.js").Matrix} Matrix */

export const SINK_DEFAULT_THRESHOLD = 0.3;
export const SCALES = Object.freeze(["auto", "without sink", "all sources"]);

/**
 * Sink width k (0 … most) of an [n, n] pattern, as `sink_width` in compute/sink.py.
 * @param {ArrayLike<number> | Matrix} A
 * @param {number} n
 */
export function sinkWidth(A, n, most = 4, threshold = 0.1) {
  const M = /** @type {Matrix} */ (asMatrix(A, n));
  if (n <= most) most = Math.max(n - 1, 0);
  const rows = n - most;
  if (rows <= 0) return 0;
  let k = 0;
  while (k < most) {
    let sum = 0;
    for (let d = most; d < n; d++) sum += M.at(d, k);
    if (!(sum / rows >= threshold)) break;
    k++;
  }
  return k;
}

/**
 * Each row's attention on the first k sources: Float32Array [n].
 * @param {ArrayLike<number> | Matrix} A
 * @param {number} n
 * @param {number} k
 */
export function sinkShare(A, n, k) {
  const M = /** @type {Matrix} */ (asMatrix(A, n));
  const out = new Float32Array(n);
  for (let d = 0; d < n; d++) {
    let s = 0;
    for (let j = 0; j < Math.min(k, n); j++) s += M.at(d, j);
    out[d] = s;
  }
  return out;
}

/**
 * The pattern without the first k sources, each row renormalised over the others: Float32Array
 * [n * n] (rows with nothing left are zeros; NaN entries stay NaN).
 * @param {ArrayLike<number> | Matrix} A0
 * @param {number} n
 * @param {number} k
 */
export function withoutSink(A0, n, k) {
  const M = asMatrix(A0, n);
  const A = M && typeof (/** @type {any} */ (A0).row) === "function" ? toDenseRows(/** @type {Matrix} */ (M)) : /** @type {ArrayLike<number>} */ (A0);
  const out = new Float32Array(n * n);
  for (let d = 0; d < n; d++) {
    const row = d * n;
    let total = 0;
    for (let s = k; s < n; s++) {
      const v = A[row + s];
      if (v === v) total += v;
    }
    if (!(total > 0)) continue;
    const inv = 1 / total;
    for (let s = k; s < n; s++) out[row + s] = A[row + s] * inv;
  }
  return out;
}

/**
 * The pattern without the first k sources as a {@link Matrix}: each row is renormalised when it
 * is read (the same numbers as {@link withoutSink}, which makes all of them at once). A row's
 * total Σ_{s≥k} A[d, s] is kept once computed; a column reads every row's total once.
 * @param {ArrayLike<number> | Matrix} A
 * @param {number} n
 * @param {number} k
 * @returns {Matrix}
 */
export function withoutSinkMatrix(A, n, k) {
  const M = /** @type {Matrix} */ (asMatrix(A, n));
  const totals = new Float64Array(n).fill(NaN); // NaN: not computed yet
  /** @type {Float32Array<ArrayBufferLike>} */
  let scratch = new Float32Array(n);
  /** @param {number} d the row's total over s ≥ k (NaN entries skipped) */
  const total = (d) => {
    let t = totals[d];
    if (t !== t) {
      scratch = M.row(d, scratch);
      t = 0;
      for (let s = k; s < n; s++) {
        const v = scratch[s];
        if (v === v) t += v;
      }
      totals[d] = t;
    }
    return t;
  };
  /** @type {number | null} */
  let maxAbs = null;
  const self = {
    n,
    /** @param {number} d @param {number} s */
    at(d, s) {
      const t = total(d);
      if (s < k || !(t > 0)) return 0;
      return Math.fround(M.at(d, s) * (1 / t));
    },
    /** @param {number} d @param {Float32Array} [out] */
    row(d, out) {
      const t = total(d);
      const o = M.row(d, out && out.length === n ? out : new Float32Array(n));
      if (!(t > 0)) return o.fill(0);
      const inv = 1 / t;
      o.fill(0, 0, Math.min(k, n));
      for (let s = k; s < n; s++) o[s] = o[s] * inv;
      return o;
    },
    /** @param {number} s @param {Float32Array} [out] */
    col(s, out) {
      const o = out && out.length === n ? out : new Float32Array(n);
      for (let d = 0; d < n; d++) o[d] = self.at(d, s);
      return o;
    },
    maxAbs() {
      if (maxAbs === null) {
        let m = 0;
        /** @type {Float32Array<ArrayBufferLike>} */
        let r = new Float32Array(n);
        for (let d = 0; d < n; d++) {
          r = self.row(d, r);
          for (let s = 0; s < n; s++) {
            const a = Math.abs(r[s]);
            if (a > m && a !== Infinity) m = a;
          }
        }
        maxAbs = m;
      }
      return maxAbs;
    },
  };
  return self;
}

/**
 * Everything a view needs for one head (as `sink_summary`): {first, share, meanShare,
 * defaultScale}, the without-sink matrix made on first use (`without()`: dense;
 * `withoutMatrix()`: read row by row).
 * @param {ArrayLike<number> | Matrix} A
 * @param {number} n
 */
export function sinkSummary(A, n) {
  const first = Math.max(1, sinkWidth(A, n));
  const share = sinkShare(A, n, first);
  let sum = 0;
  for (let d = first; d < n; d++) sum += share[d];
  const meanShare = n > first ? sum / (n - first) : 0;
  /** @type {Float32Array | null} */
  let cached = null;
  /** @type {Matrix | null} */
  let lazy = null;
  return {
    first,
    share,
    meanShare,
    defaultScale: meanShare >= SINK_DEFAULT_THRESHOLD ? "without sink" : "all sources",
    without: () => (cached ??= withoutSink(A, n, first)),
    withoutMatrix: () => (lazy ??= withoutSinkMatrix(A, n, first)),
  };
}

/**
 * The scale on screen: the trait's choice, or the head's default for "auto".
 * @param {string} choice "auto" | "without sink" | "all sources"
 * @param {{defaultScale: string} | null} summary
 */
export function scaleOnScreen(choice, summary) {
  if (choice === "without sink" || choice === "all sources") return choice;
  return summary ? summary.defaultScale : "all sources";
}

/** "BOS" / "the first 2 positions" — what the sink is, in words. @param {number} first @param {boolean} [bos] */
export function sinkName(first, bos = true) {
  if (first === 1) return bos ? "BOS" : "the first position";
  return `the first ${first} positions`;
}

/** The legend's meaning of 1.0 on each scale. @param {string} scale @param {number} first @param {boolean} [bos] */
export function scaleMeaning(scale, first, bos = true) {
  return scale === "without sink"
    ? `1 = all of the row's attention outside ${sinkName(first, bos)} (the sink left out, rows renormalised)`
    : "1 = all of the row's attention (every source, the sink included)";
}

/** @param {Matrix} m */
function toDenseRows(m) {
  const out = new Float32Array(m.n * m.n);
  for (let d = 0; d < m.n; d++) m.row(d, out.subarray(d * m.n, (d + 1) * m.n));
  return out;
}
