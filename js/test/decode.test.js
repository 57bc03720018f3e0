import { describe, expect, it } from "vitest";
import { decode, decodeState, decodeSync, expandTril, halfToFloat, isAbsent, resolveBuffer, toDataView } from "../src/shared/decode.js";
import { b64Dict, bytesOf, floatToHalfBits, viewDict } from "./helpers.js";

const arr = (x) => Array.from(x);

describe("decodeSync: dtypes", () => {
  it("uint8 with scale/offset (value = offset + scale * stored)", () => {
    const r = decodeSync(viewDict("uint8", [4], [0, 1, 128, 255], { scale: 1 / 255, offset: 0 }));
    expect(r.shape).toEqual([4]);
    expect(r.data).toBeInstanceOf(Float32Array);
    expect(r.data[0]).toBe(0);
    expect(r.data[3]).toBeCloseTo(1, 7);
    expect(r.data[2]).toBeCloseTo(128 / 255, 7);
  });

  it("int8 negative values and offset", () => {
    const r = decodeSync(viewDict("int8", [3], [-128, 0, 127], { scale: 0.5, offset: 1 }));
    expect(arr(r.data)).toEqual([1 - 64, 1, 1 + 63.5]);
  });

  it("uint16 little-endian", () => {
    const r = decodeSync(viewDict("uint16", [2], [0x0102, 65535], { scale: 2, offset: -1 }));
    expect(arr(r.data)).toEqual([2 * 0x0102 - 1, 2 * 65535 - 1]);
    // explicit byte order check
    const raw = new Uint8Array([0x02, 0x01]);
    expect(decodeSync({ dtype: "uint16", shape: [1], view: new DataView(raw.buffer) }).data[0]).toBe(0x0102);
  });

  it("float32 including NaN and infinities", () => {
    const r = decodeSync(viewDict("float32", [2, 2], [1.5, -2.25, NaN, Infinity]));
    expect(r.shape).toEqual([2, 2]);
    expect(r.data[0]).toBe(1.5);
    expect(r.data[1]).toBe(-2.25);
    expect(Number.isNaN(r.data[2])).toBe(true);
    expect(r.data[3]).toBe(Infinity);
  });

  it("int32", () => {
    const r = decodeSync(viewDict("int32", [3], [-2147483648, 0, 123456], { scale: 1, offset: 0 }));
    expect(arr(r.data)).toEqual([-2147483648, 0, 123456]);
  });

  it("float16 normal values", () => {
    const bits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x3555, 0x0000];
    const r = decodeSync(viewDict("float16", [6], bits));
    expect(arr(r.data)).toEqual([1, -2, 0.5, 65504, Math.fround(0.333251953125), 0]);
  });

  it("float16 special values: ±0, ±inf, NaN, subnormals", () => {
    const bits = [0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x0001, 0x03ff, 0x8001, 0x0400];
    const r = decodeSync(viewDict("float16", [bits.length], bits));
    expect(Object.is(r.data[0], -0)).toBe(true);
    expect(r.data[1]).toBe(Infinity);
    expect(r.data[2]).toBe(-Infinity);
    expect(Number.isNaN(r.data[3])).toBe(true);
    expect(Number.isNaN(r.data[4])).toBe(true);
    expect(r.data[5]).toBe(2 ** -24); // smallest subnormal
    expect(r.data[6]).toBe(1023 * 2 ** -24); // largest subnormal
    expect(r.data[7]).toBe(-(2 ** -24));
    expect(r.data[8]).toBe(2 ** -14); // smallest normal
  });

  it("halfToFloat agrees with a float32 round trip for every finite half", () => {
    const bad = [];
    for (let bits = 0; bits < 65536; bits++) {
      if (((bits >> 10) & 0x1f) === 31) continue;
      if (floatToHalfBits(halfToFloat(bits)) !== bits) bad.push(bits);
    }
    expect(bad).toEqual([]);
  });

  it("float16 with scale/offset and unaligned payload", () => {
    const bytes = bytesOf("float16", [0x3c00, 0x4000]);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = new DataView(shifted.buffer, 1, bytes.length);
    const r = decodeSync({ dtype: "float16", shape: [2], scale: 3, offset: 1, layout: "dense", view });
    expect(arr(r.data)).toEqual([4, 7]);
  });

  it("unaligned float32 payload", () => {
    const bytes = bytesOf("float32", [0.25, -8]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const r = decodeSync({ dtype: "float32", shape: [2], view: new DataView(shifted.buffer, 3, 8) });
    expect(arr(r.data)).toEqual([0.25, -8]);
  });
});

describe("decodeSync: payload forms and layout", () => {
  it("accepts DataView, ArrayBuffer, Uint8Array (with offset) and node Buffer", () => {
    const bytes = bytesOf("float32", [1, 2, 3]);
    const padded = new Uint8Array(16);
    padded.set(bytes, 4);
    for (const view of [new DataView(bytes.buffer), bytes.buffer, bytes, padded.subarray(4, 16), Buffer.from(bytes)]) {
      expect(arr(decodeSync({ dtype: "float32", shape: [3], view }).data)).toEqual([1, 2, 3]);
    }
    expect(toDataView(padded.subarray(4, 16)).byteOffset).toBe(4);
  });

  it("expands tril to dense n×n with zeros above the diagonal", () => {
    // rows: [1], [2 3], [4 5 6]
    const r = decodeSync(viewDict("uint8", [3, 3], [1, 2, 3, 4, 5, 6], { layout: "tril", scale: 0.5, offset: 0 }));
    expect(r.shape).toEqual([3, 3]);
    expect(arr(r.data)).toEqual([0.5, 0, 0, 1, 1.5, 0, 2, 2.5, 3]);
  });

  it("expandTril on n = 1 and n = 0", () => {
    expect(arr(expandTril(new Float32Array([7]), 1))).toEqual([7]);
    expect(expandTril(new Float32Array(0), 0).length).toBe(0);
  });

  it("tril rejects non-square shapes", () => {
    expect(() => decodeSync(viewDict("uint8", [2, 3], [1, 2, 3], { layout: "tril" }))).toThrow();
  });

  it("rejects short buffers and unknown dtypes", () => {
    expect(() => decodeSync(viewDict("float32", [4], [1, 2]))).toThrow(/needs/);
    expect(() => decodeSync({ dtype: "float64", shape: [1], view: new DataView(new ArrayBuffer(8)) })).toThrow();
  });

  it("empty dict / null = absent", () => {
    expect(decodeSync({})).toBeNull();
    expect(decodeSync(null)).toBeNull();
    expect(isAbsent({})).toBe(true);
    expect(isAbsent({ dtype: "uint8" })).toBe(false);
  });

  it("zero-size arrays", () => {
    const r = decodeSync({ dtype: "float32", shape: [0, 0], view: new DataView(new ArrayBuffer(0)) });
    expect(r.data.length).toBe(0);
  });
});

describe("async decode: b64 and deflate", () => {
  it("b64 without compression", async () => {
    const r = await decode(b64Dict("float32", [2], [0.5, -1]));
    expect(arr(r.data)).toEqual([0.5, -1]);
  });

  it("b64 + deflate (zlib) with tril uint8 attention as in export", async () => {
    const n = 5;
    const stored = [];
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) stored.push((i * 50 + j * 7) % 256);
    const dict = b64Dict("uint8", [n, n], stored, { compress: true, layout: "tril", scale: 1 / 255 });
    expect(dict.compression).toBe("deflate");
    const r = await decode(dict);
    expect(r.shape).toEqual([n, n]);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const expected = j <= i ? Math.fround(stored[k++] / 255) : 0;
        expect(r.data[i * n + j]).toBeCloseTo(expected, 6);
      }
    }
  });

  it("float16 b64 + deflate carries NaN and inf", async () => {
    const r = await decode(b64Dict("float16", [3], [0x7e00, 0x7c00, floatToHalfBits(0.1)], { compress: true }));
    expect(Number.isNaN(r.data[0])).toBe(true);
    expect(r.data[1]).toBe(Infinity);
    expect(r.data[2]).toBeCloseTo(0.1, 3);
  });

  it("decode also accepts view dicts and {}", async () => {
    expect(arr((await decode(viewDict("int8", [1], [-3]))).data)).toEqual([-3]);
    expect(await decode({})).toBeNull();
  });

  it("resolveBuffer returns raw bytes in view form", async () => {
    const r = await resolveBuffer(b64Dict("uint8", [3], [1, 2, 3], { compress: true }));
    expect(r.view).toBeInstanceOf(DataView);
    expect(r.b64).toBeUndefined();
    expect(r.compression).toBeUndefined();
    expect(r.dtype).toBe("uint8");
    expect(Array.from(new Uint8Array(r.view.buffer, r.view.byteOffset, r.view.byteLength))).toEqual([1, 2, 3]);
  });
});

describe("decodeState", () => {
  it("resolves nested buffer dicts and keeps other values", async () => {
    const state = {
      tokens: ["a", "b"],
      layer: 1,
      attention: b64Dict("uint8", [2, 2], [255, 0, 255], { layout: "tril", scale: 1 / 255, compress: true }),
      dst_mask: {},
      scores: { copying: b64Dict("float32", [1, 2], [0.5, 0.25]), prefix_matching: viewDict("float32", [1, 2], [1, 2]) },
      selected_head: [0, 1],
    };
    const out = await decodeState(state);
    expect(out.tokens).toEqual(["a", "b"]);
    expect(out.layer).toBe(1);
    expect(out.dst_mask).toEqual({});
    expect(out.attention.view).toBeInstanceOf(DataView);
    expect(arr(decodeSync(out.attention).data)).toEqual([1, 0, 0, 1]);
    expect(arr(decodeSync(out.scores.copying).data)).toEqual([0.5, 0.25]);
    expect(arr(decodeSync(out.scores.prefix_matching).data)).toEqual([1, 2]);
    expect(out.selected_head).toEqual([0, 1]);
    expect(state.attention.b64).toBeDefined(); // input untouched
  });
});

describe("pad_rows", () => {
  it("decodes trailing rows that were not stored as NaN", async () => {
    const { decodeSync } = await import("../src/shared/decode.js");
    // int8 [3, 2] with the last row not stored: stored rows [[1, -2], [3, 4]] at scale 0.5
    const bytes = new Int8Array([2, -4, 6, 8]);
    const out = decodeSync({ dtype: "int8", shape: [3, 2], scale: 0.5, offset: 0, layout: "dense", pad_rows: 1, view: new DataView(bytes.buffer) });
    expect(Array.from(out.data.slice(0, 4))).toEqual([1, -2, 3, 4]);
    expect(out.data.length).toBe(6);
    expect(Number.isNaN(out.data[4]) && Number.isNaN(out.data[5])).toBe(true);
    expect(out.shape).toEqual([3, 2]);
  });
});
