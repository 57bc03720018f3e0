// The faithful multi-resolution matrix (shared/pyramid.js) and compact rows (matrix.js "csr"):
// every rendered pixel equals the max (signed: largest magnitude) over the cells it covers,
// computed here by brute force; one bright cell stays visible at full zoom-out; an overview gives
// the same pixels as the levels computed from rows; compact rows read as the kept entries.
import { describe, expect, it } from "vitest";
import { denseMatrix, storedMatrix, toDense } from "../src/shared/matrix.js";
import { Pyramid, TILE, colourValues, levelFor } from "../src/shared/pyramid.js";
import { bytesOf, floatToHalfBits } from "./helpers.js";

function rng(seed) {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Sparse causal [n, n]: a few random cells per row, the rest 0; signed when asked. */
function sparse(n, seed, signed = false) {
  const r = rng(seed);
  const A = new Float32Array(n * n);
  for (let d = 0; d < n; d++) {
    for (let k = 0; k < 3; k++) {
      const s = Math.floor(r() * (d + 1));
      A[d * n + s] = (signed && r() < 0.5 ? -1 : 1) * Math.fround(r());
    }
  }
  return A;
}

/** Brute force: the pixel's covered cells [floor(x0 + x c), ceil(x0 + (x+1) c)) on both axes,
 * the cells of the level b blocks they overlap (what a max pyramid can know). */
function reference(A, n, x0, y0, c, W, H, signed, causal) {
  const b = levelFor(c);
  const out = new Float32Array(W * H).fill(NaN);
  for (let y = 0; y < H; y++) {
    const r0 = y0 + y * c;
    if (r0 >= n) break;
    const r1 = Math.min(n, y0 + (y + 1) * c);
    for (let x = 0; x < W; x++) {
      const s0 = x0 + x * c;
      if (s0 >= n) continue;
      const s1 = Math.min(n, x0 + (x + 1) * c);
      if (causal && Math.floor(s0) > Math.ceil(r1) - 1) continue;
      const dA = Math.floor(r0 / b) * b;
      const dB = Math.min(n, Math.max(Math.floor(r0 / b) + 1, Math.ceil(r1 / b)) * b);
      const sA = Math.floor(s0 / b) * b;
      const sB = Math.min(n, Math.max(Math.floor(s0 / b) + 1, Math.ceil(s1 / b)) * b);
      let v = 0;
      for (let d = dA; d < dB; d++) {
        for (let s = sA; s < sB; s++) {
          const a = A[d * n + s];
          if (signed ? Math.abs(a) > Math.abs(v) || (Math.abs(a) === Math.abs(v) && a > v) : a > v) v = a;
        }
      }
      out[y * W + x] = v;
    }
  }
  return out;
}

/** The [dst, src] matrix as compact rows (all non-zero entries kept), as payload.compact_rows_payload writes it. */
function csrDict(A, n, rest = 0) {
  const ptr = [0];
  const idx = [];
  const val = [];
  for (let d = 0; d < n; d++) {
    for (let s = 0; s < n; s++) {
      if (A[d * n + s] !== 0) {
        idx.push(s);
        val.push(floatToHalfBits(A[d * n + s]));
      }
    }
    ptr.push(idx.length);
  }
  const parts = [bytesOf("int32", ptr), bytesOf("uint16", idx), bytesOf("uint16", val), bytesOf("uint16", Array(n).fill(floatToHalfBits(rest)))];
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { dtype: "float16", shape: [n, n], scale: 1, offset: 0, layout: "csr", nnz: idx.length, index_dtype: "uint16", view: new DataView(bytes.buffer) };
}

describe("pyramid render", () => {
  for (const signed of [false, true]) {
    for (const [x0, y0, c, W] of [
      [0, 0, 300 / 40, 40],
      [0, 0, 300 / 137, 137],
      [17.5, 40.25, 0.7, 50],
      [100, 3, 3.3, 60],
      [0, 0, 1, 300],
    ]) {
      it(`is the max over covered blocks (${signed ? "signed" : "max"}, c=${c.toFixed(2)})`, () => {
        const n = 300;
        const A = sparse(n, 7, signed);
        const got = new Pyramid(denseMatrix(A, n), { signed }).render(x0, y0, c, W, W);
        expect(Array.from(got)).toEqual(Array.from(reference(A, n, x0, y0, c, W, W, signed, !signed)));
      });
    }
  }

  it("keeps one bright cell of 8,192 tokens visible at full zoom-out, from compact rows", () => {
    const n = 8192;
    const W = 720;
    // previous-token pattern, plus one far cell
    const ptr = [0];
    const idx = [];
    const val = [];
    for (let d = 0; d < n; d++) {
      const row = d === 6000 ? [[1000, 0.6], [5999, 0.4]] : [[Math.max(d - 1, 0), 1]];
      for (const [s, v] of row) {
        idx.push(s);
        val.push(floatToHalfBits(v));
      }
      ptr.push(idx.length);
    }
    const parts = [bytesOf("int32", ptr), bytesOf("uint16", idx), bytesOf("uint16", val), bytesOf("uint16", Array(n).fill(0))];
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const M = storedMatrix({ dtype: "float16", shape: [n, n], layout: "csr", nnz: idx.length, index_dtype: "uint16", view: new DataView(bytes.buffer) });
    const pyr = new Pyramid(M);
    const c = n / W;
    const px = pyr.render(0, 0, c, W, W);
    const y = Math.floor(6000 / c);
    const x = Math.floor(1000 / c);
    expect(px[y * W + x]).toBeCloseTo(0.6, 3);
    // the far cell and nothing else off the diagonal: a block of the level may straddle two
    // pixels, so it shows on at most 2 × 2 pixels next to its own
    const bright = [];
    for (let i = 0; i < px.length; i++) if (px[i] > 0.5 && Math.abs(Math.floor(i / W) - (i % W)) > 2) bright.push([Math.floor(i / W), i % W]);
    expect(bright.length).toBeGreaterThanOrEqual(1);
    expect(bright.length).toBeLessThanOrEqual(4);
    for (const [py, pxx] of bright) expect(Math.abs(py - y) <= 1 && Math.abs(pxx - x) <= 1).toBe(true);
    expect(pyr.lastLevel).toBe(8);
    expect(pyr.bytes).toBeLessThanOrEqual(48 * 1024 * 1024);
    // the diagonal: every pixel on it is bright
    for (let k = 0; k < W - 1; k++) expect(px[k * W + k]).toBeGreaterThan(0.35);
  });

  it("gives the same pixels from an overview as from the rows", () => {
    const n = 256;
    const A = sparse(n, 3);
    const b = 4;
    const m = n / b;
    const ov = new Float32Array(m * m);
    for (let d = 0; d < n; d++) for (let s = 0; s < n; s++) {
      const k = Math.floor(d / b) * m + Math.floor(s / b);
      ov[k] = Math.max(ov[k], A[d * n + s]);
    }
    const plain = new Pyramid(denseMatrix(A, n)).render(0, 0, n / 50, 50, 50);
    const withOverview = new Pyramid(denseMatrix(A, n), { overview: { block: b, m, values: ov } });
    expect(Array.from(withOverview.render(0, 0, n / 50, 50, 50))).toEqual(Array.from(plain));
    expect(withOverview.bands.size).toBe(0); // nothing computed from rows
  });

  it("keeps its bands under the budget", () => {
    const n = 1024;
    const A = sparse(n, 5);
    const pyr = new Pyramid(denseMatrix(A, n), { budget: 3 * TILE * n * 4 });
    for (let y = 0; y < n; y += 100) pyr.render(0, y, 1, 200, 100);
    expect(pyr.bands.size).toBeLessThanOrEqual(3);
    expect(pyr.bytes).toBeLessThanOrEqual(3 * TILE * n * 4);
  });
});

describe("compact rows (csr)", () => {
  it("read as the kept entries, 0 elsewhere, with the rest bound", () => {
    const n = 40;
    const A = sparse(n, 11, true);
    const M = storedMatrix(csrDict(A, n, 0.125));
    const want = Float32Array.from(A, (v) => v); // values are exact in float16? not all: compare to rounded
    const dense = toDense(M);
    for (let i = 0; i < n * n; i++) expect(dense[i]).toBeCloseTo(want[i], 3);
    for (let d = 0; d < n; d++) for (let s = 0; s < n; s++) expect(M.at(d, s)).toBe(dense[d * n + s]);
    for (let s = 0; s < n; s++) expect(Array.from(M.col(s))).toEqual(Array.from({ length: n }, (_, d) => dense[d * n + s]));
    expect(M.bound?.(3)).toBe(0.125);
    expect(M.maxAbs()).toBe(Math.max(...Array.from(dense, Math.abs)));
  });
});

describe("compact rows stored in one byte (saved pages)", () => {
  for (const [dtype, scale, vals] of [["uint8", 1 / 255, [255, 3, 128]], ["int8", 0.004, [-127, 5, 100]]]) {
    it(`read ${dtype} values times val_scale, and the rest bound after them`, () => {
      // n = 3: row 0 → (0), row 1 → (0, 1), row 2 → (2); rest 0.25 everywhere
      const n = 3;
      const ptr = bytesOf("int32", [0, 1, 3, 3]);
      const idx = bytesOf("uint16", [0, 0, 1]);
      const q = dtype === "uint8" ? Uint8Array.from(vals) : new Uint8Array(Int8Array.from(vals).buffer);
      const rest = bytesOf("uint16", Array(n).fill(floatToHalfBits(0.25)));
      const bytes = new Uint8Array(ptr.length + idx.length + q.length + rest.length);
      let at = 0;
      for (const p of [ptr, idx, q, rest]) {
        bytes.set(p, at);
        at += p.length;
      }
      const M = storedMatrix({ dtype: "float16", shape: [n, n], layout: "csr", nnz: 3, index_dtype: "uint16", val_dtype: dtype, val_scale: scale, view: new DataView(bytes.buffer) });
      expect(M.at(0, 0)).toBeCloseTo(vals[0] * scale, 6);
      expect(M.at(1, 0)).toBeCloseTo(vals[1] * scale, 6);
      expect(M.at(1, 1)).toBeCloseTo(vals[2] * scale, 6);
      expect(M.at(2, 2)).toBe(0);
      expect(M.bound?.(2)).toBe(0.25);
    });
  }
});

describe("colourValues", () => {
  it("is transparent for NaN and (attribution) 0", () => {
    const rgba = colourValues(Float32Array.from([NaN, 0, 1, -0.5]), "logit_attr", 1, new Uint8ClampedArray(16));
    expect(rgba[3]).toBe(0);
    expect(rgba[7]).toBe(0);
    expect(rgba[11]).toBe(255);
    expect(rgba[15]).toBe(128);
    const att = colourValues(Float32Array.from([NaN, 0]), "attention", 1, new Uint8ClampedArray(8));
    expect([att[3], att[7]]).toEqual([0, 255]);
  });
});

describe("exact bands", () => {
  it("are asked once per band made from compact rows, and replace it", () => {
    const n = 256;
    const A = sparse(n, 9);
    const asked = [];
    const pyr = new Pyramid(storedMatrix(csrDict(A, n)), { remote: (b, t) => asked.push([b, t]) });
    pyr.render(0, 0, 2, 128, 128);
    pyr.render(0, 0, 2, 128, 128);
    expect(asked).toEqual([[2, 0], [2, 1]]); // level 2: 128 level rows = 2 bands, each asked once
    const exact = new Float32Array(TILE * 128).fill(0.25);
    pyr.acceptBand(2, 0, exact);
    const px = pyr.render(0, 0, 2, 128, 128);
    expect(px[5 * 128 + 1]).toBe(0.25); // the kernel's band is drawn
    expect(pyr.exact.has("2/0")).toBe(true);
    pyr.acceptBand(2, 1, new Float32Array(3)); // a band of the wrong size is refused
    expect(pyr.exact.has("2/1")).toBe(false);
  });
  it("are not asked for a dense matrix (already exact)", () => {
    const asked = [];
    new Pyramid(denseMatrix(sparse(64, 1), 64), { remote: () => asked.push(1) }).render(0, 0, 2, 32, 32);
    expect(asked).toEqual([]);
  });
});
