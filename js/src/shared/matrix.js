// @ts-check
/**
 * Square [n, n] matrices ([dst, src], row-major) read on demand. A view shows one row or one
 * column of a head's 2,048² pattern at a time (the token view), or draws it row by row (the
 * matrix): decoding the whole buffer into a dense Float32Array (16 MB at 2,048 tokens) on every
 * head switch, and a second one for the pattern without its sink, cost more than the switch
 * itself (profiled in JupyterLab: decode, renormalise and the garbage collection of those arrays
 * were most of the browser's time). A {@link Matrix} reads the stored elements directly:
 *
 *   at(d, s)        the value M[d, s]
 *   row(d, out?)    M[d, 0..n-1] into a Float32Array (`out` reused when given)
 *   col(s, out?)    M[0..n-1, s]
 *   maxAbs()        max |finite M[d, s]| (0 if none), computed once
 *
 * Values are exactly those of `decodeSync` (docs/payload.md): value = offset + scale · stored
 * (identity skipped so NaN/±inf/−0 of float dtypes pass through), 0 above the diagonal of a
 * "tril" layout, NaN in `pad_rows`. {@link denseMatrix} gives the same interface over an already
 * dense Float32Array (tests, decoded pages).
 *
 * Layout "csr" (long texts, docs/payload.md): compact rows — each row's largest entries (columns
 * ascending) and `rest[d]`, a bound on the entries left out; those read as 0. A csr matrix also
 * has `entries(d)` (the stored columns and values of row d) and `bound(d)` (= rest[d]).
 * @module matrix
 */
import { DTYPE_SIZE, HOST_LE, halfTable, isAbsent, toDataView } from "./decode.js";

/**
 * @typedef {{ n: number, at(d: number, s: number): number, row(d: number, out?: Float32Array): Float32Array,
 *   col(s: number, out?: Float32Array): Float32Array, maxAbs(): number,
 *   entries?: (d: number) => { idx: ArrayLike<number>, val: Float32Array },
 *   bound?: (d: number) => number }} Matrix
 */

/**
 * The stored elements as a typed array (aliasing the bytes when endianness and alignment allow,
 * else one copy).
 * @param {DataView} view @param {string} dtype @param {number} count
 * @returns {ArrayLike<number>}
 */
function storedElements(view, dtype, count) {
  /** @type {[any, (i: number) => number]} */
  let spec;
  switch (dtype) {
    case "uint8":
      return new Uint8Array(view.buffer, view.byteOffset, count);
    case "int8":
      return new Int8Array(view.buffer, view.byteOffset, count);
    case "uint16":
    case "float16":
      spec = [Uint16Array, (i) => view.getUint16(2 * i, true)];
      break;
    case "float32":
      spec = [Float32Array, (i) => view.getFloat32(4 * i, true)];
      break;
    case "int32":
      spec = [Int32Array, (i) => view.getInt32(4 * i, true)];
      break;
    default:
      throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}`);
  }
  const [Ctor, get] = spec;
  if (HOST_LE && view.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(view.buffer, view.byteOffset, count);
  const out = new Ctor(count);
  for (let i = 0; i < count; i++) out[i] = get(i);
  return out;
}

/** A matrix over a binary buffer dict (`{dtype, shape: [n, n], scale, offset, layout, view}`). */
class StoredMatrix {
  /** @param {any} buf */
  constructor(buf) {
    const { dtype, shape } = buf;
    if (!(dtype in DTYPE_SIZE)) throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== shape[1]) throw new RangeError(`not a square matrix: [${shape}]`);
    const n = shape[0];
    const layout = buf.layout || "dense";
    const pad = buf.pad_rows ? Number(buf.pad_rows) : 0;
    if (layout !== "dense" && layout !== "tril") throw new TypeError(`unsupported layout ${JSON.stringify(layout)}`);
    if (pad && layout !== "dense") throw new TypeError("pad_rows needs the dense layout");
    const count = layout === "tril" ? (n * (n + 1)) / 2 : (n - pad) * n;
    const view = toDataView(buf.view !== undefined ? buf.view : buf.buffer);
    const need = count * /** @type {Record<string, number>} */ (DTYPE_SIZE)[dtype];
    if (view.byteLength < need) throw new RangeError(`buffer holds ${view.byteLength} bytes, ${dtype}[${shape}] ${layout} needs ${need}`);
    this.n = n;
    this.tril = layout === "tril";
    this.rows = n - pad; // stored rows
    this.stored = storedElements(view, dtype, count);
    this.half = dtype === "float16";
    this.scale = buf.scale == null ? 1 : Number(buf.scale);
    this.offset = buf.offset == null ? 0 : Number(buf.offset);
    this.identity = this.scale === 1 && this.offset === 0;
    /** @type {number | null} */
    this._maxAbs = null;
  }

  /** @param {number} i index into the stored elements */
  value(i) {
    const raw = this.stored[i];
    const v = this.half ? halfTable()[raw] : raw;
    return this.identity ? v : Math.fround(this.offset + this.scale * v);
  }

  /** @param {number} d @param {number} s */
  at(d, s) {
    if (d >= this.rows) return NaN;
    if (this.tril) return s > d ? 0 : this.value((d * (d + 1)) / 2 + s);
    return this.value(d * this.n + s);
  }

  /** @param {number} d @param {Float32Array} [out] */
  row(d, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    if (d >= this.rows) return o.fill(NaN);
    const start = this.tril ? (d * (d + 1)) / 2 : d * n;
    const len = this.tril ? d + 1 : n;
    const st = this.stored;
    if (this.half) {
      const t = halfTable();
      for (let s = 0; s < len; s++) o[s] = t[st[start + s]];
    } else {
      for (let s = 0; s < len; s++) o[s] = st[start + s];
    }
    if (!this.identity) for (let s = 0; s < len; s++) o[s] = this.offset + this.scale * o[s];
    if (len < n) o.fill(0, len);
    return o;
  }

  /** @param {number} s @param {Float32Array} [out] */
  col(s, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    for (let d = 0; d < n; d++) o[d] = this.at(d, s);
    return o;
  }

  maxAbs() {
    if (this._maxAbs !== null) return this._maxAbs;
    let m = 0;
    const st = this.stored;
    if (this.half && this.identity) {
      // on the bits: |x| orders like (bits & 0x7fff) for finite halves (< 0x7c00)
      let best = 0;
      for (let i = 0; i < st.length; i++) {
        const b = st[i] & 0x7fff;
        if (b > best && b < 0x7c00) best = b;
      }
      m = halfTable()[best];
    } else {
      for (let i = 0; i < st.length; i++) {
        const a = Math.abs(this.value(i));
        if (a > m && a !== Infinity) m = a;
      }
    }
    this._maxAbs = m;
    return m;
  }
}

/**
 * A typed array of `count` elements at `offset` bytes into `view` (aliasing when aligned and
 * little-endian, else a copy).
 * @param {DataView} view @param {number} offset @param {string} dtype @param {number} count
 */
function section(view, offset, dtype, count) {
  return storedElements(new DataView(view.buffer, view.byteOffset + offset, view.byteLength - offset), dtype, count);
}

/** The largest finite magnitude of `values` (0 when none). @param {ArrayLike<number>} values */
function finiteMaxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/** Compact rows (layout "csr"): `ptr [n + 1]`, `idx [nnz]`, `val [nnz]` (float16, or a saved
 * page's `val_dtype` uint8 / int8 times `val_scale`), `rest` float16 `[n]`. */
class CsrMatrix {
  /** @param {any} buf */
  constructor(buf) {
    const n = buf.shape[0];
    const nnz = Number(buf.nnz);
    const wide = buf.index_dtype === "int32";
    const valType = buf.val_dtype === "uint8" || buf.val_dtype === "int8" ? buf.val_dtype : "float16";
    const valBytes = valType === "float16" ? 2 : 1;
    const view = toDataView(buf.view !== undefined ? buf.view : buf.buffer);
    const need = 4 * (n + 1) + (wide ? 4 : 2) * nnz + valBytes * nnz + 2 * n;
    if (!(nnz >= 0) || view.byteLength < need) throw new RangeError(`csr buffer holds ${view.byteLength} bytes, needs ${need}`);
    this.n = n;
    this.rows = n - (buf.pad_rows ? Number(buf.pad_rows) : 0);
    this.ptr = section(view, 0, "int32", n + 1);
    let at = 4 * (n + 1);
    this.idx = section(view, at, wide ? "int32" : "uint16", nnz);
    at += (wide ? 4 : 2) * nnz;
    const t = halfTable();
    this.val = new Float32Array(nnz);
    if (valType === "float16") {
      const half = section(view, at, "uint16", nnz);
      for (let i = 0; i < nnz; i++) this.val[i] = t[half[i]];
    } else {
      const q = section(view, at, valType, nnz);
      const scale = Number(buf.val_scale);
      for (let i = 0; i < nnz; i++) this.val[i] = q[i] * scale;
    }
    const rest = section(view, at + valBytes * nnz, "uint16", n);
    this.rest = new Float32Array(n);
    for (let d = 0; d < n; d++) this.rest[d] = t[rest[d]];
    /** @type {number | null} */
    this._maxAbs = null;
  }

  /** The stored columns and values of row d (views, not copies). @param {number} d */
  entries(d) {
    if (d >= this.rows) return { idx: /** @type {any} */ (this.idx).subarray(0, 0), val: this.val.subarray(0, 0) };
    const a = this.ptr[d];
    const b = this.ptr[d + 1];
    return { idx: /** @type {any} */ (this.idx).subarray(a, b), val: this.val.subarray(a, b) };
  }

  /** The largest value (magnitude) left out of row d: every entry not stored is at most this. @param {number} d */
  bound(d) {
    return d >= this.rows ? NaN : this.rest[d];
  }

  /** @param {number} d @param {number} s */
  at(d, s) {
    if (d >= this.rows) return NaN;
    let lo = this.ptr[d];
    let hi = this.ptr[d + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.idx[mid];
      if (c === s) return this.val[mid];
      if (c < s) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** @param {number} d @param {Float32Array} [out] */
  row(d, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    if (d >= this.rows) return o.fill(NaN);
    o.fill(0);
    for (let i = this.ptr[d]; i < this.ptr[d + 1]; i++) o[this.idx[i]] = this.val[i];
    return o;
  }

  /** @param {number} s @param {Float32Array} [out] */
  col(s, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    for (let d = 0; d < n; d++) o[d] = this.at(d, s);
    return o;
  }

  maxAbs() {
    if (this._maxAbs === null) this._maxAbs = finiteMaxAbs(this.val);
    return this._maxAbs;
  }
}

/** A matrix over a dense row-major Float32Array [n * n]. */
class DenseMatrix {
  /** @param {ArrayLike<number> & { subarray?: Function }} data @param {number} n */
  constructor(data, n) {
    this.data = data;
    this.n = n;
    /** @type {number | null} */
    this._maxAbs = null;
  }

  /** @param {number} d @param {number} s */
  at(d, s) {
    return this.data[d * this.n + s];
  }

  /** @param {number} d @param {Float32Array} [out] */
  row(d, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    for (let s = 0; s < n; s++) o[s] = this.data[d * n + s];
    return o;
  }

  /** @param {number} s @param {Float32Array} [out] */
  col(s, out) {
    const n = this.n;
    const o = out && out.length === n ? out : new Float32Array(n);
    for (let d = 0; d < n; d++) o[d] = this.data[d * n + s];
    return o;
  }

  maxAbs() {
    if (this._maxAbs === null) this._maxAbs = finiteMaxAbs(this.data);
    return this._maxAbs;
  }
}

/**
 * The same matrix interface over a dense row-major array.
 * @param {ArrayLike<number>} data @param {number} n
 * @returns {Matrix}
 */
export function denseMatrix(data, n) {
  return new DenseMatrix(data, n);
}

/**
 * `x` as a {@link Matrix}: a matrix is returned as it is, an array is wrapped; null stays null.
 * @param {Matrix | ArrayLike<number> | null | undefined} x @param {number} n
 * @returns {Matrix | null}
 */
export function asMatrix(x, n) {
  if (x == null) return null;
  if (typeof (/** @type {any} */ (x).row) === "function") return /** @type {Matrix} */ (x);
  return denseMatrix(/** @type {ArrayLike<number>} */ (x), n);
}

/** Matrices by their buffer dict: a head seen again (kept by the head-data cache) is not read again. */
const BY_DICT = new WeakMap();

/**
 * A buffer dict (binary `view`) as a {@link Matrix}; null when absent or not square.
 * @param {any} buf
 * @returns {Matrix | null}
 */
export function storedMatrix(buf) {
  if (isAbsent(buf)) return null;
  const hit = BY_DICT.get(buf);
  if (hit !== undefined) return hit;
  let m = null;
  try {
    m = buf.layout === "csr" ? new CsrMatrix(buf) : new StoredMatrix(buf);
  } catch (err) {
    console.error("induction_widgets: cannot read a matrix buffer", err);
  }
  BY_DICT.set(buf, m);
  return m;
}

/**
 * Every row of `m` as a dense row-major Float32Array [n * n] (what `decodeSync` gives).
 * @param {Matrix} m
 */
export function toDense(m) {
  const n = m.n;
  const out = new Float32Array(n * n);
  for (let d = 0; d < n; d++) m.row(d, out.subarray(d * n, (d + 1) * n));
  return out;
}
