// Fixture helpers: build buffer dicts the way the Python side does (little-endian, row-major).
import { deflateSync } from "node:zlib";

/** Bytes of `values` stored as `dtype` (little-endian). `values` are stored integers/floats. */
export function bytesOf(dtype, values) {
  const size = { uint8: 1, int8: 1, uint16: 2, float16: 2, float32: 4, int32: 4 }[dtype];
  const buf = new ArrayBuffer(values.length * size);
  const dv = new DataView(buf);
  values.forEach((v, i) => {
    if (dtype === "uint8") dv.setUint8(i, v);
    else if (dtype === "int8") dv.setInt8(i, v);
    else if (dtype === "uint16" || dtype === "float16") dv.setUint16(2 * i, v, true); // float16: raw bits
    else if (dtype === "float32") dv.setFloat32(4 * i, v, true);
    else if (dtype === "int32") dv.setInt32(4 * i, v, true);
  });
  return new Uint8Array(buf);
}

/** A live-style buffer dict with a DataView payload. */
export function viewDict(dtype, shape, values, extra = {}) {
  const bytes = bytesOf(dtype, values);
  return { dtype, shape, scale: 1, offset: 0, layout: "dense", view: new DataView(bytes.buffer), ...extra };
}

/** An export-style buffer dict with b64 (optionally zlib-deflated) payload. */
export function b64Dict(dtype, shape, values, { compress = false, ...extra } = {}) {
  let bytes = bytesOf(dtype, values);
  if (compress) bytes = deflateSync(bytes);
  const dict = { dtype, shape, scale: 1, offset: 0, layout: "dense", b64: Buffer.from(bytes).toString("base64"), ...extra };
  if (compress) dict.compression = "deflate";
  return dict;
}

/** float32 → float16 bits (round to nearest even), for building fixtures. */
export function floatToHalfBits(x) {
  const f32 = new Float32Array([x]);
  const u = new Uint32Array(f32.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
