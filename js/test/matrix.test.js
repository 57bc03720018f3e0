// Matrices read on demand (shared/matrix.js): every element, row and column equals what the full
// decode (decodeSync) gives, for each dtype and layout the Python side writes; the lazy
// without-sink matrix equals withoutSink; the token view's shading on a stored matrix equals the
// shading on the dense decode.
import { describe, expect, it } from "vitest";
import { matrixPixels } from "../src/attention_matrix.js";
import { attributionRGBA, sequentialLUT } from "../src/shared/colour.js";
import { decodeSync } from "../src/shared/decode.js";
import { asMatrix, denseMatrix, storedMatrix, toDense } from "../src/shared/matrix.js";
import { shadeValues, valueWeightDenominators } from "../src/shared/shading.js";
import { sinkSummary, withoutSink, withoutSinkMatrix } from "../src/shared/sink.js";
import { floatToHalfBits, viewDict } from "./helpers.js";

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed) {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A causal pattern [n, n]: rows sum to 1, a strong first column (the sink), zeros above. */
function pattern(n, seed = 1) {
  const r = rng(seed);
  const A = new Float32Array(n * n);
  for (let d = 0; d < n; d++) {
    let sum = 0;
    const row = [];
    for (let s = 0; s <= d; s++) {
      const v = s === 0 ? 3 : r();
      row.push(v);
      sum += v;
    }
    row.forEach((v, s) => (A[d * n + s] = v / sum));
  }
  return A;
}

const half = (A) => Array.from(A, (v) => floatToHalfBits(v));
const tril = (A, n) => {
  const out = [];
  for (let d = 0; d < n; d++) for (let s = 0; s <= d; s++) out.push(A[d * n + s]);
  return out;
};

/** Every element, row and column of a stored matrix against the full decode. */
function expectSameAsDecode(dict) {
  const want = decodeSync(dict).data;
  const m = storedMatrix(dict);
  const n = m.n;
  expect(Array.from(toDense(m))).toEqual(Array.from(want));
  for (let d = 0; d < n; d++) {
    expect(Array.from(m.row(d))).toEqual(Array.from(want.subarray(d * n, (d + 1) * n)));
    expect(Array.from(m.col(d))).toEqual(Array.from({ length: n }, (_, i) => want[i * n + d]));
    for (let s = 0; s < n; s++) expect(Object.is(m.at(d, s), want[d * n + s]) || m.at(d, s) === want[d * n + s]).toBe(true);
  }
  let mx = 0;
  for (const v of want) if (Math.abs(v) > mx && Math.abs(v) !== Infinity) mx = Math.abs(v);
  expect(m.maxAbs()).toBe(mx);
  return m;
}

describe("storedMatrix reads what decodeSync decodes", () => {
  const n = 7;
  const A = pattern(n);
  it("float16 dense (the live attention)", () => expectSameAsDecode(viewDict("float16", [n, n], half(A))));
  it("float16 tril (the live attention, lower triangle only)", () => {
    const m = expectSameAsDecode(viewDict("float16", [n, n], half(tril(A, n)), { layout: "tril" }));
    expect(m.at(1, 5)).toBe(0);
  });
  it("float16 with NaN rows, infinities and negative values (logit attribution)", () => {
    const L = Array.from({ length: n * n }, (_, i) => (i >= (n - 1) * n ? NaN : i % 5 === 0 ? -i / 7 : i / 9));
    L[3] = Infinity;
    L[4] = -Infinity;
    expectSameAsDecode(viewDict("float16", [n, n], half(L)));
    expectSameAsDecode(viewDict("float16", [n, n], half(L), { scale: 0.5, offset: 0.25 }));
  });
  it("uint8 tril with a scale (the exported attention)", () =>
    expectSameAsDecode(viewDict("uint8", [n, n], tril(A, n).map((v) => Math.round(v * 255)), { layout: "tril", scale: 1 / 255 })));
  it("int8 with pad_rows (the exported attribution)", () =>
    expectSameAsDecode(viewDict("int8", [n, n], Array.from({ length: (n - 1) * n }, (_, i) => (i % 11) - 5), { scale: 0.1, pad_rows: 1 })));
  it("float32 at an odd byte offset (copied, not aliased)", () => {
    const bytes = new Uint8Array(1 + 4 * n * n);
    const dv = new DataView(bytes.buffer, 1);
    A.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    expectSameAsDecode({ dtype: "float32", shape: [n, n], scale: 1, offset: 0, layout: "dense", view: dv });
  });
  it("absent or not square: null; the same dict gives the same matrix", () => {
    expect(storedMatrix({})).toBeNull();
    const d = viewDict("float32", [n, n], Array.from(A));
    expect(storedMatrix(d)).toBe(storedMatrix(d));
    expect(asMatrix(null, 3)).toBeNull();
    expect(asMatrix(A, n).at(2, 1)).toBe(A[2 * n + 1]);
  });
});

describe("the lazy without-sink matrix and the shading on stored matrices", () => {
  const n = 9;
  const A = pattern(n, 7);
  const dict = viewDict("float16", [n, n], half(tril(A, n)), { layout: "tril" });
  const dense = decodeSync(dict).data;
  const m = storedMatrix(dict);

  it("withoutSinkMatrix equals withoutSink, row by row and cell by cell", () => {
    for (const k of [1, 2]) {
      const want = withoutSink(dense, n, k);
      const lazy = withoutSinkMatrix(m, n, k);
      expect(Array.from(toDense(lazy))).toEqual(Array.from(want));
      for (let s = 0; s < n; s++) expect(Array.from(lazy.col(s))).toEqual(Array.from({ length: n }, (_, d) => want[d * n + s]));
      expect(lazy.at(4, 0)).toBe(0);
      expect(lazy.at(4, 3)).toBe(want[4 * n + 3]);
    }
    const summary = sinkSummary(m, n);
    expect(summary.first).toBe(sinkSummary(dense, n).first);
    expect(Array.from(summary.share)).toEqual(Array.from(sinkSummary(dense, n).share));
    expect(Array.from(toDense(summary.withoutMatrix()))).toEqual(Array.from(summary.without()));
  });

  it("shadeValues on a stored matrix equals shadeValues on the dense decode, every mode and role", () => {
    const vn = Float32Array.from({ length: n }, (_, i) => 0.5 + i / 3);
    const L = Float32Array.from({ length: n * n }, (_, i) => (i >= (n - 1) * n ? NaN : Math.sin(i)));
    const Ld = viewDict("float16", [n, n], half(L));
    const Lm = storedMatrix(Ld);
    const Ldense = decodeSync(Ld).data;
    for (const mode of ["attention", "logit_attr"]) {
      for (const selectedIs of ["destination", "source"]) {
        for (const valueWeighted of [false, true]) {
          for (let index = 0; index < n; index++) {
            const o = { mode, selectedIs, index, n, valueNorm: vn, valueWeighted };
            const want = shadeValues({ ...o, attention: dense, attribution: Ldense });
            const got = shadeValues({ ...o, attention: m, attribution: Lm });
            expect(Array.from(got)).toEqual(Array.from(want));
          }
        }
      }
    }
    expect(Array.from(valueWeightDenominators(m, vn, n))).toEqual(Array.from(valueWeightDenominators(dense, vn, n)));
    expect(denseMatrix(dense, n).maxAbs()).toBe(m.maxAbs());
  });
});

describe("the matrix's pixels from a stored matrix", () => {
  const n = 12;
  const A = pattern(n, 3);
  const dict = viewDict("float16", [n, n], half(tril(A, n)), { layout: "tril" });
  const dense = decodeSync(dict).data;
  const L = Float32Array.from({ length: n * n }, (_, i) => (i >= (n - 1) * n ? NaN : Math.cos(i) * 2));
  const Ldict = viewDict("float16", [n, n], half(L));
  const Ldense = decodeSync(Ldict).data;

  it("equal the pixels of the dense decode, and each cell is the colour map's colour", () => {
    const px = matrixPixels(storedMatrix(dict), n, "attention", 1);
    expect(Array.from(px)).toEqual(Array.from(matrixPixels(dense, n, "attention", 1)));
    const lut = sequentialLUT();
    for (const [d, s] of [[0, 0], [5, 2], [11, 11], [3, 7]]) {
      const i = 4 * (d * n + s);
      if (s > d) {
        expect(Array.from(px.slice(i, i + 4))).toEqual([0, 0, 0, 0]); // above the diagonal
        continue;
      }
      const k = Math.round(Math.min(1, Math.max(0, dense[d * n + s])) * 255);
      expect(Array.from(px.slice(i, i + 4))).toEqual([lut[3 * k], lut[3 * k + 1], lut[3 * k + 2], 255]);
    }
    const vmax = storedMatrix(Ldict).maxAbs();
    const lp = matrixPixels(storedMatrix(Ldict), n, "logit_attr", vmax);
    expect(Array.from(lp)).toEqual(Array.from(matrixPixels(Ldense, n, "logit_attr", vmax)));
    for (const i of [1, 7, 30, 100]) {
      const v = Ldense[i];
      const c = attributionRGBA(v < 0 ? -1 : 1, 1);
      expect(Array.from(lp.slice(4 * i, 4 * i + 4))).toEqual([c[0], c[1], c[2], Math.round(Math.min(1, Math.abs(v) / vmax) * 255)]);
    }
    expect(Array.from(lp.slice(4 * (n - 1) * n, 4 * (n - 1) * n + 4))).toEqual([0, 0, 0, 0]); // NaN row
    // a reused buffer gives the same pixels
    const again = matrixPixels(storedMatrix(dict), n, "attention", 1, new Uint8ClampedArray(n * n * 4).fill(7));
    expect(Array.from(again)).toEqual(Array.from(px));
  });
});
