// @ts-check
/**
 * Decoding of the buffer dicts described in docs/payload.md.
 *
 * A buffer dict is
 *   {dtype, shape, scale, offset, layout: "dense" | "tril", view}          (live widget)
 *   {dtype, shape, scale, offset, layout, b64, compression?: "deflate"}    (exported HTML)
 * where the stored elements are little-endian, row-major (C order) and
 *   value = offset + scale * stored.
 * With layout "tril" only the lower triangle (incl. the diagonal) of a square [n, n] matrix is
 * stored, row by row: row i holds elements [i, 0..i], n(n+1)/2 elements in all; the rest is 0.
 *
 * An empty object `{}` (or null/undefined) means "absent".
 *
 * @module decode
 */

/** Bytes per element of each supported dtype. */
export const DTYPE_SIZE = Object.freeze({
  uint8: 1,
  int8: 1,
  uint16: 2,
  float16: 2,
  float32: 4,
  int32: 4,
});

/**
 * True for a value that stands for "no buffer": null, undefined or an object without keys.
 * @param {any} buf
 */
export function isAbsent(buf) {
  if (buf == null) return true;
  if (typeof buf !== "object") return true;
  return Object.keys(buf).length === 0;
}

/**
 * True for an object that looks like a buffer dict (has a dtype, a shape and a payload).
 * @param {any} x
 */
export function isBufferDict(x) {
  return (
    x != null &&
    typeof x === "object" &&
    !Array.isArray(x) &&
    typeof x.dtype === "string" &&
    Array.isArray(x.shape) &&
    ("view" in x || "b64" in x || "buffer" in x)
  );
}

/**
 * Normalise whatever the transport delivered (DataView, ArrayBuffer, any typed array incl.
 * node's Buffer) into a DataView over exactly those bytes.
 * @param {DataView | ArrayBuffer | ArrayBufferView} v
 * @returns {DataView}
 */
export function toDataView(v) {
  if (v instanceof DataView) return v;
  if (v instanceof ArrayBuffer) return new DataView(v);
  if (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) return new DataView(v);
  if (ArrayBuffer.isView(v)) return new DataView(v.buffer, v.byteOffset, v.byteLength);
  // Some transports hand over {buffer: ArrayBuffer} wrappers.
  const wrapped = /** @type {any} */ (v);
  if (wrapped && typeof wrapped === "object" && wrapped.buffer instanceof ArrayBuffer) return toDataView(wrapped.buffer);
  throw new TypeError("buffer payload is not binary data");
}

/** @type {Float32Array | null} */
let HALF_TABLE = null;

/**
 * Convert one IEEE 754 binary16 bit pattern to a number.
 *   sign = bit 15, exponent e = bits 10..14, mantissa m = bits 0..9
 *   e = 0:        (-1)^sign * m * 2^-24                 (zero and subnormals)
 *   e = 31:       m = 0 ? ±Infinity : NaN
 *   otherwise:    (-1)^sign * (1 + m / 1024) * 2^(e - 15)
 * @param {number} bits integer 0..65535
 * @returns {number}
 */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Lookup table of all 65,536 half values (built on first use, 256 KiB). */
export function halfTable() {
  if (HALF_TABLE === null) {
    HALF_TABLE = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) HALF_TABLE[i] = halfToFloat(i);
  }
  return HALF_TABLE;
}

/** True on little-endian hosts (all mainstream browsers): typed arrays can then alias the bytes. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A typed array of `count` elements aliasing the view's bytes when host endianness and alignment
 * allow it, else null (callers then fall back to DataView getters).
 * @template {Uint16Array | Float32Array | Int32Array} A
 * @param {{ new (buffer: ArrayBufferLike, byteOffset: number, length: number): A, BYTES_PER_ELEMENT: number }} Ctor
 * @param {DataView} view
 * @param {number} count
 * @returns {A | null}
 */
function alias(Ctor, view, count) {
  if (!HOST_LE || view.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) return null;
  return new Ctor(view.buffer, view.byteOffset, count);
}

/**
 * Read `count` stored elements of `dtype` from `view` (little-endian) into a Float32Array,
 * applying value = offset + scale * stored (skipped when scale = 1 and offset = 0, so that
 * NaN/±inf/-0 of float dtypes pass through untouched).
 * @param {DataView} view
 * @param {string} dtype
 * @param {number} count
 * @param {number} scale
 * @param {number} offset
 */
function readElements(view, dtype, count, scale, offset) {
  const out = new Float32Array(count);
  const identity = scale === 1 && offset === 0;
  let src = null;
  switch (dtype) {
    case "uint8":
      src = new Uint8Array(view.buffer, view.byteOffset, count);
      break;
    case "int8":
      src = new Int8Array(view.buffer, view.byteOffset, count);
      break;
    case "uint16":
      src = alias(Uint16Array, view, count);
      if (src === null) {
        src = new Uint16Array(count);
        for (let i = 0; i < count; i++) src[i] = view.getUint16(2 * i, true);
      }
      break;
    case "float16": {
      const table = halfTable();
      let bits = alias(Uint16Array, view, count);
      if (bits === null) {
        bits = new Uint16Array(count);
        for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true);
      }
      for (let i = 0; i < count; i++) out[i] = table[bits[i]];
      if (!identity) for (let i = 0; i < count; i++) out[i] = offset + scale * out[i];
      return out;
    }
    case "float32":
      src = alias(Float32Array, view, count);
      if (src === null) {
        src = new Float32Array(count);
        for (let i = 0; i < count; i++) src[i] = view.getFloat32(4 * i, true);
      }
      break;
    case "int32":
      src = alias(Int32Array, view, count);
      if (src === null) {
        src = new Int32Array(count);
        for (let i = 0; i < count; i++) src[i] = view.getInt32(4 * i, true);
      }
      break;
    default:
      throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}`);
  }
  if (identity) out.set(src);
  else for (let i = 0; i < count; i++) out[i] = offset + scale * src[i];
  return out;
}

/**
 * Expand a packed lower triangle (row i holds [i, 0..i]) to a dense row-major n×n matrix with
 * zeros above the diagonal.
 * @param {Float32Array} packed length n(n+1)/2
 * @param {number} n
 * @returns {Float32Array} length n*n
 */
export function expandTril(packed, n) {
  const dense = new Float32Array(n * n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    dense.set(packed.subarray(k, k + i + 1), i * n);
    k += i + 1;
  }
  return dense;
}

/**
 * Decode a buffer dict whose payload is already binary (`view`).
 * @param {any} buf buffer dict (raw data from the kernel or a page: checked here); `{}`/null = absent
 * @returns {{data: Float32Array, shape: number[]} | null} dense row-major values; for "tril"
 *   the shape is [n, n] and data has n*n elements.
 */
export function decodeSync(buf) {
  if (isAbsent(buf)) return null;
  const { dtype, shape } = buf;
  if (!(dtype in DTYPE_SIZE)) throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) throw new TypeError("buffer dict without a shape");
  const payload = buf.view !== undefined ? buf.view : buf.buffer;
  if (payload === undefined) {
    throw new TypeError("buffer dict has no binary view (use the async decode() for b64 payloads)");
  }
  const scale = buf.scale == null ? 1 : Number(buf.scale);
  const offset = buf.offset == null ? 0 : Number(buf.offset);
  const layout = buf.layout || "dense";
  // pad_rows: trailing rows that were not stored (dense only); they decode as NaN.
  const pad = buf.pad_rows ? Number(buf.pad_rows) : 0;
  if (pad && layout !== "dense") throw new TypeError("pad_rows needs the dense layout");
  const view = toDataView(payload);
  let count;
  let n = 0;
  if (layout === "tril") {
    if (shape.length !== 2 || shape[0] !== shape[1]) {
      throw new RangeError(`tril layout needs a square [n, n] shape, got [${shape}]`);
    }
    n = shape[0];
    count = (n * (n + 1)) / 2;
  } else if (layout === "dense") {
    count = shape.reduce((a, b) => a * b, 1);
    if (pad) count -= pad * shape.slice(1).reduce((a, b) => a * b, 1);
  } else {
    throw new TypeError(`unsupported layout ${JSON.stringify(layout)}`);
  }
  const need = count * DTYPE_SIZE[/** @type {keyof typeof DTYPE_SIZE} */ (dtype)];
  if (view.byteLength < need) {
    throw new RangeError(`buffer holds ${view.byteLength} bytes, ${dtype}[${shape}] ${layout} needs ${need}`);
  }
  const values = readElements(view, dtype, count, scale, offset);
  let data = layout === "tril" ? expandTril(values, n) : values;
  if (pad) {
    data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(NaN);
    data.set(values);
  }
  return { data, shape: shape.slice() };
}

/**
 * Base64 → bytes (browser atob, or node's Buffer when atob is missing).
 * @param {string} s
 * @returns {Uint8Array}
 */
export function base64ToBytes(s) {
  if (typeof atob === "function") {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  // Node without atob (tests): its Buffer
  const b = /** @type {any} */ (globalThis).Buffer.from(s, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Inflate a zlib ("deflate") stream with the native DecompressionStream.
 * @param {Uint8Array} bytes
 * @param {CompressionFormat} [format] "deflate" (zlib wrapper), "deflate-raw" or "gzip"
 * @returns {Promise<Uint8Array>}
 */
export async function inflate(bytes, format = "deflate") {
  if (typeof DecompressionStream === "undefined") {
    throw new Error("this browser has no DecompressionStream: cannot read compressed buffers");
  }
  const stream = new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Resolve a buffer dict to its binary form: `{...meta, view: DataView}`; b64 payloads are
 * decoded (and inflated when `compression` is set). Absent → null.
 * @param {any} buf raw buffer dict
 * @returns {Promise<object | null>}
 */
export async function resolveBuffer(buf) {
  if (isAbsent(buf)) return null;
  const { b64, compression, view, buffer, ...meta } = buf;
  if (view !== undefined || buffer !== undefined) {
    return { ...meta, view: toDataView(view !== undefined ? view : buffer) };
  }
  if (typeof b64 !== "string") throw new TypeError("buffer dict has neither view nor b64");
  let bytes = base64ToBytes(b64);
  if (compression) bytes = await inflate(bytes, compression);
  return { ...meta, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/**
 * Decode any buffer dict (view or b64, optionally deflate-compressed).
 * @param {any} buf raw buffer dict
 * @returns {Promise<{data: Float32Array, shape: number[]} | null>}
 */
export async function decode(buf) {
  const resolved = await resolveBuffer(buf);
  return resolved === null ? null : decodeSync(resolved);
}

/** @param {unknown} x @returns {x is Record<string, any>} */
function isPlainObject(x) {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * Walk a state object (plain objects and arrays, recursively) and resolve every buffer dict in
 * it into `{..., view: DataView}` form, so that views can call decodeSync uniformly. Empty `{}`
 * values are kept as `{}` (absent). Other values are copied as they are.
 * @param {any} state
 * @returns {Promise<any>} a new object; the input is not modified
 */
export async function decodeState(state) {
  if (isBufferDict(state)) return resolveBuffer(state);
  if (Array.isArray(state)) return Promise.all(state.map((x) => decodeState(x)));
  if (isPlainObject(state)) {
    const keys = Object.keys(state);
    const values = await Promise.all(keys.map((k) => decodeState(state[k])));
    /** @type {Record<string, any>} */
    const out = {};
    keys.forEach((k, i) => {
      out[k] = values[i];
    });
    return out;
  }
  return state;
}
