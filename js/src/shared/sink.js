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
 * @module sink
 */

export const SINK_DEFAULT_THRESHOLD = 0.3;
export const SCALES = Object.freeze(["auto", "without sink", "all sources"]);

/**
 * Sink width k (0 … most) of an [n, n] pattern, as `sink_width` in compute/sink.py.
 * @param {ArrayLike<number>} A
 * @param {number} n
 */
export function sinkWidth(A, n, most = 4, threshold = 0.1) {
  if (n <= most) most = Math.max(n - 1, 0);
  const rows = n - most;
  if (rows <= 0) return 0;
  let k = 0;
  while (k < most) {
    let sum = 0;
    for (let d = most; d < n; d++) sum += A[d * n + k];
    if (!(sum / rows >= threshold)) break;
    k++;
  }
  return k;
}

/**
 * Each row's attention on the first k sources: Float32Array [n].
 * @param {ArrayLike<number>} A
 * @param {number} n
 * @param {number} k
 */
export function sinkShare(A, n, k) {
  const out = new Float32Array(n);
  for (let d = 0; d < n; d++) {
    let s = 0;
    for (let j = 0; j < Math.min(k, n); j++) s += A[d * n + j];
    out[d] = s;
  }
  return out;
}

/**
 * The pattern without the first k sources, each row renormalised over the others: Float32Array
 * [n * n] (rows with nothing left are zeros; NaN entries stay NaN).
 * @param {ArrayLike<number>} A
 * @param {number} n
 * @param {number} k
 */
export function withoutSink(A, n, k) {
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
 * Everything a view needs for one head (as `sink_summary`): {first, share, meanShare,
 * defaultScale}, the without-sink matrix made on first use (`without()`).
 * @param {ArrayLike<number>} A
 * @param {number} n
 */
export function sinkSummary(A, n) {
  const first = Math.max(1, sinkWidth(A, n));
  const share = sinkShare(A, n, first);
  let sum = 0;
  for (let d = first; d < n; d++) sum += share[d];
  const meanShare = n > first ? sum / (n - first) : 0;
  let cached = null;
  return {
    first,
    share,
    meanShare,
    defaultScale: meanShare >= SINK_DEFAULT_THRESHOLD ? "without sink" : "all sources",
    without: () => (cached ??= withoutSink(A, n, first)),
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

/** "BOS" / "the first 2 positions" — what the sink is, in words. */
export function sinkName(first, bos = true) {
  if (first === 1) return bos ? "BOS" : "the first position";
  return `the first ${first} positions`;
}

/** The legend's meaning of 1.0 on each scale. */
export function scaleMeaning(scale, first, bos = true) {
  return scale === "without sink"
    ? `1 = all of the row's attention outside ${sinkName(first, bos)} (the sink left out, rows renormalised)`
    : "1 = all of the row's attention (every source, the sink included)";
}
