// @ts-check
/**
 * A faithful multi-resolution view of one [dst, src] matrix: each screen pixel shows the MAXIMUM
 * of the cells it covers (attention), or the value of largest magnitude with its sign (logit
 * attribution), so one bright cell stays visible at any zoom (image scaling would average it away:
 * at 8,192 tokens in a 720 px plot a pixel covers ~130 cells).
 *
 * Levels: level b (b = 1, 2, 4, …) holds the max over b × b blocks of cells. A render of a window
 * of `span` cells into W pixels (c = span / W cells per pixel) reads the level b = 2^⌊log2 c⌋ (1
 * when zoomed past one cell per pixel) and takes, for each pixel, the max over the level cells it
 * overlaps. The coarsest levels come from an **overview** (block maxima made where the whole
 * matrix is: the kernel or the page's embedded data, docs/payload.md) when there is one; finer
 * levels are computed here from the matrix's rows in bands of TILE level rows, on demand, kept
 * under a byte budget (least recently used out) — at 8,192 tokens the page never holds an 8,192²
 * image. A compact-row matrix (layout "csr") is read entry by entry.
 *
 * Transparent (NaN): pixels outside the matrix, and in attention mode pixels whose every cell lies
 * above the diagonal (the causal mask).
 * @module pyramid
 */
import { attributionRGBA, sequentialLUT } from "./colour.js";

/** @typedef {import("./matrix.js").Matrix} Matrix */
/** @typedef {{ block: number, m: number, values: ArrayLike<number> }} Overview block maxima [m, m] */

/** Level rows per band. */
export const TILE = 64;
/** Bytes of bands kept per pyramid. */
export const BAND_BUDGET = 48 * 1024 * 1024;

/** The level used at `c` cells per pixel: the largest power of two ≤ c (1 below one cell per pixel). @param {number} c */
export function levelFor(c) {
  let b = 1;
  while (b * 2 <= c) b *= 2;
  return b;
}

/** Max (or signed largest magnitude) of a and b; NaN loses. @param {number} a @param {number} b @param {boolean} signed */
function pick(a, b, signed) {
  if (b !== b) return a;
  if (a !== a) return b;
  if (!signed) return b > a ? b : a;
  const aa = a < 0 ? -a : a;
  const bb = b < 0 ? -b : b;
  return bb > aa || (bb === aa && b > a) ? b : a;
}

export class Pyramid {
  /**
   * @param {Matrix} M the matrix [n, n]
   * @param {{ signed?: boolean, causal?: boolean, overview?: Overview | null, budget?: number,
   *   remote?: ((b: number, t: number) => void) | null }} [o]
   *   signed: largest magnitude (attribution) instead of max; causal: cells above the diagonal are
   *   the mask (transparent where nothing else is covered); overview: block maxima of M; remote:
   *   asked once per band made here from compact rows, for the exact band ({@link acceptBand})
   */
  constructor(M, { signed = false, causal = !signed, overview = null, budget = BAND_BUDGET, remote = null } = {}) {
    this.M = M;
    this.n = M.n;
    this.signed = signed;
    this.causal = causal;
    this.overview = overview && overview.block > 1 && overview.m === Math.ceil(this.n / overview.block) ? overview : null;
    this.budget = budget;
    /** @type {Map<string, Float32Array>} "b/t" → band [TILE, ceil(n / b)], in use order */
    this.bands = new Map();
    this.bytes = 0;
    /** @type {Float32Array<ArrayBufferLike>} */
    this.scratch = new Float32Array(0);
    /** the level of the last render */
    this.lastLevel = 0;
    /** @type {((b: number, t: number) => void) | null} asks for the exact band (the kernel) */
    this.remote = remote;
    /** @type {Set<string>} bands that are exact (came from where the whole matrix is) */
    this.exact = new Set();
    /** @type {Set<string>} bands asked of `remote` */
    this.asked = new Set();
  }

  /**
   * An exact band (from the kernel: block maxima over every cell, where one made here from compact
   * rows misses their dropped entries). Replaces the band made here.
   * @param {number} b @param {number} t @param {Float32Array} values [TILE, ceil(n / b)]
   */
  acceptBand(b, t, values) {
    if (values.length !== TILE * Math.ceil(this.n / b)) return;
    const key = `${b}/${t}`;
    const old = this.bands.get(key);
    if (old) {
      this.bands.delete(key);
      this.bytes -= old.byteLength;
    }
    this.bands.set(key, values);
    this.bytes += values.byteLength;
    this.exact.add(key);
  }

  /**
   * Band t of level b: level rows [t·TILE, (t+1)·TILE), every level column.
   * @param {number} b @param {number} t
   */
  band(b, t) {
    const key = `${b}/${t}`;
    const hit = this.bands.get(key);
    if (hit) {
      this.bands.delete(key);
      this.bands.set(key, hit);
      return hit;
    }
    const n = this.n;
    const mb = Math.ceil(n / b);
    if (this.remote && this.M.entries && !this.asked.has(key)) {
      this.asked.add(key); // made here at once from the compact rows; the exact one follows
      this.remote(b, t);
    }
    const out = new Float32Array(TILE * mb);
    const d0 = t * TILE * b;
    const d1 = Math.min(n, (t + 1) * TILE * b);
    const M = this.M;
    const signed = this.signed;
    for (let d = d0; d < d1; d++) {
      const base = Math.floor((d - d0) / b) * mb;
      if (M.entries) {
        const { idx, val } = M.entries(d);
        for (let e = 0; e < idx.length; e++) {
          const j = base + Math.floor(idx[e] / b);
          out[j] = pick(out[j], val[e], signed);
        }
      } else {
        if (this.scratch.length !== n) this.scratch = new Float32Array(n);
        const row = (this.scratch = M.row(d, this.scratch));
        for (let s = 0; s < n; s++) {
          const v = row[s];
          if (v !== v || v === 0) continue;
          const j = base + ((s / b) | 0);
          out[j] = pick(out[j], v, signed);
        }
      }
    }
    this.bands.set(key, out);
    this.bytes += out.byteLength;
    for (const [k, v] of this.bands) {
      if (this.bytes <= this.budget || k === key) break;
      this.bands.delete(k);
      this.exact.delete(k);
      this.asked.delete(k);
      this.bytes -= v.byteLength;
    }
    return out;
  }

  /**
   * The values of a W × H pixel image of the cell window starting at (x0 = first source,
   * y0 = first destination), `c` cells per pixel on both axes: NaN = transparent.
   * @param {number} x0 @param {number} y0 @param {number} c @param {number} W @param {number} H
   * @param {Float32Array} [out] W·H values to overwrite
   * @returns {Float32Array}
   */
  render(x0, y0, c, W, H, out) {
    const n = this.n;
    const px = out && out.length === W * H ? out : new Float32Array(W * H);
    px.fill(NaN);
    let b = levelFor(c);
    const ov = this.overview;
    const useOverview = ov !== null && b >= ov.block;
    if (useOverview) b = ov.block;
    this.lastLevel = b;
    const mb = useOverview ? ov.m : Math.ceil(n / b);
    // per pixel column: the covered cells [s0, s1) and level columns [j0, j1)
    const j0 = new Int32Array(W);
    const j1 = new Int32Array(W);
    const sLo = new Float64Array(W);
    for (let x = 0; x < W; x++) {
      const s0 = x0 + x * c;
      const s1 = Math.min(n, x0 + (x + 1) * c);
      sLo[x] = Math.floor(s0);
      j0[x] = Math.floor(s0 / b);
      j1[x] = s0 >= n ? j0[x] : Math.max(j0[x] + 1, Math.ceil(s1 / b));
    }
    const signed = this.signed;
    for (let y = 0; y < H; y++) {
      const r0 = y0 + y * c;
      if (r0 >= n) break;
      const r1 = Math.min(n, y0 + (y + 1) * c);
      const dLast = Math.ceil(r1) - 1; // the last destination covered
      const i0 = Math.floor(r0 / b);
      const i1 = Math.max(i0 + 1, Math.ceil(r1 / b));
      const base = y * W;
      for (let i = i0; i < i1; i++) {
        /** @type {ArrayLike<number>} */
        let arr;
        let off;
        if (useOverview) {
          arr = ov.values;
          off = i * mb;
        } else {
          arr = this.band(b, Math.floor(i / TILE));
          off = (i % TILE) * mb;
        }
        for (let x = 0; x < W; x++) {
          if (j1[x] <= j0[x]) continue;
          if (this.causal && sLo[x] > dLast) continue; // every covered cell is masked
          let v = px[base + x];
          for (let j = j0[x]; j < j1[x]; j++) v = pick(v, arr[off + j], signed);
          px[base + x] = v !== v ? 0 : v;
        }
      }
    }
    return px;
  }
}

/** Packed RGBA (host byte order) by code: attention's sequential map, 256 codes over [0, 1]. */
export function sequentialTable() {
  const lut = sequentialLUT();
  const table = new Uint32Array(256);
  const bytes = new Uint8Array(table.buffer);
  for (let k = 0; k < 256; k++) bytes.set([lut[3 * k], lut[3 * k + 1], lut[3 * k + 2], 255], 4 * k);
  return table;
}

/** Packed RGBA by code: [0, 256) positive, [256, 512) negative, the alpha = the code.
 * @param {unknown} [palette] palette name of the diverging map ("paper" by default) */
export function divergingTable(palette) {
  const table = new Uint32Array(512);
  const bytes = new Uint8Array(table.buffer);
  [attributionRGBA(1, 1, palette), attributionRGBA(-1, 1, palette)].forEach((c, sign) => {
    for (let a = 0; a < 256; a++) bytes.set([c[0], c[1], c[2], a], 4 * (256 * sign + a));
  });
  return table;
}

/**
 * RGBA pixels of rendered values (as the matrix view's colours: attention viridis(clamp(v, 0, 1)),
 * logit_attr the diverging map on ±vmax with 0 transparent); NaN is transparent.
 * @param {Float32Array} values
 * @param {string} mode "attention" | "logit_attr"
 * @param {number} vmax
 * @param {Uint8ClampedArray<ArrayBuffer>} into values.length · 4 bytes
 * @param {unknown} [palette] palette name of the diverging map
 */
export function colourValues(values, mode, vmax, into, palette) {
  into.fill(0);
  const px32 = new Uint32Array(into.buffer, into.byteOffset, values.length);
  if (mode === "logit_attr") {
    const table = divergingTable(palette);
    const inv = vmax > 0 && Number.isFinite(vmax) ? 1 / vmax : Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v || v === 0) continue;
      let t = v * inv;
      if (t !== t) t = v > 0 ? 1 : -1;
      const a = t < 0 ? -t : t;
      px32[i] = table[(t < 0 ? 256 : 0) + Math.round((a > 1 ? 1 : a) * 255)];
    }
    return into;
  }
  const table = sequentialTable();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) continue;
    px32[i] = table[Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255)];
  }
  return into;
}
