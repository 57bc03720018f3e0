import { describe, expect, it } from "vitest";
import { canSelect, shadeValues, valueWeightDenominators } from "../src/shared/shading.js";

const NAN = NaN;
const n = 4;
// Causal attention [dst, src]: each row sums to 1 over s ≤ d.
const A = new Float32Array([
  1.0, 0, 0, 0,
  0.25, 0.75, 0, 0,
  0.5, 0.25, 0.25, 0,
  0.1, 0.2, 0.3, 0.4,
]);
// Logit attribution [dst, src]: row d is about the token at d + 1; the last row is NaN.
const L = new Float32Array([
  1, 0, 0, 0,
  -1, 2, 0, 0,
  0.5, -0.5, 3, 0,
  NAN, NAN, NAN, NAN,
]);
const VN = new Float32Array([1, 2, 0, 4]);

const f32 = (xs) => Array.from(new Float32Array(xs));
const shade = (o) => Array.from(shadeValues({ n, attention: A, attribution: L, ...o }));

describe("attention mode", () => {
  it("destination: hovered d shades sources s ≤ d with A[d, s]", () => {
    expect(shade({ mode: "attention", selectedIs: "destination", index: 2 })).toEqual(f32([0.5, 0.25, 0.25, NAN]));
    expect(shade({ mode: "attention", selectedIs: "destination", index: 0 })).toEqual(f32([1, NAN, NAN, NAN]));
  });
  it("source: hovered s shades destinations d ≥ s with A[d, s]", () => {
    expect(shade({ mode: "attention", selectedIs: "source", index: 1 })).toEqual(f32([NAN, 0.75, 0.25, 0.2]));
    expect(shade({ mode: "attention", selectedIs: "source", index: 3 })).toEqual(f32([NAN, NAN, NAN, 0.4]));
  });
  it("nothing hovered / out of range → all NaN", () => {
    for (const index of [-1, 4, 1.5]) {
      expect(shade({ mode: "attention", selectedIs: "destination", index }).every(Number.isNaN)).toBe(true);
    }
  });
  it("missing attention → all NaN", () => {
    const r = shadeValues({ mode: "attention", selectedIs: "destination", index: 1, n, attention: null });
    expect(Array.from(r).every(Number.isNaN)).toBe(true);
  });
  it("dstMask restricts the hovered destination (destination role)", () => {
    const dstMask = new Uint8Array([1, 0, 1, 1]);
    expect(shade({ mode: "attention", selectedIs: "destination", index: 1, dstMask }).every(Number.isNaN)).toBe(true);
    expect(shade({ mode: "attention", selectedIs: "destination", index: 2, dstMask })).toEqual(f32([0.5, 0.25, 0.25, NAN]));
  });
  it("dstMask restricts the shaded destinations (source role)", () => {
    const dstMask = new Uint8Array([1, 1, 0, 1]);
    expect(shade({ mode: "attention", selectedIs: "source", index: 0, dstMask })).toEqual(f32([1, 0.25, NAN, 0.1]));
  });
  it("srcMask restricts shaded sources (destination role) and the hovered source (source role)", () => {
    const srcMask = new Uint8Array([0, 1, 1, 1]);
    expect(shade({ mode: "attention", selectedIs: "destination", index: 3, srcMask })).toEqual(f32([NAN, 0.2, 0.3, 0.4]));
    expect(shade({ mode: "attention", selectedIs: "source", index: 0, srcMask }).every(Number.isNaN)).toBe(true);
    expect(shade({ mode: "attention", selectedIs: "source", index: 2, srcMask })).toEqual(f32([NAN, NAN, 0.25, 0.3]));
  });
  it("NaN inputs stay NaN", () => {
    const An = A.slice();
    An[3 * n + 1] = NaN;
    const r = Array.from(shadeValues({ mode: "attention", selectedIs: "destination", index: 3, n, attention: An }));
    expect(r).toEqual(f32([0.1, NAN, 0.3, 0.4]));
  });
});

describe("value weighting", () => {
  // W[d, s] = A[d, s]·vn[s] / Σ_s' A[d, s']·vn[s']
  const W = (d, s) => {
    let den = 0;
    for (let t = 0; t < n; t++) den += A[d * n + t] * VN[t];
    return den === 0 ? 0 : (A[d * n + s] * VN[s]) / den;
  };
  it("destination role: row-renormalised by the value norms", () => {
    const r = shade({ mode: "attention", selectedIs: "destination", index: 3, valueNorm: VN, valueWeighted: true });
    // den = 0.1·1 + 0.2·2 + 0.3·0 + 0.4·4 = 2.1
    expect(r).toEqual(f32([0.1 / 2.1, 0.4 / 2.1, 0, 1.6 / 2.1]));
    const sum = r.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 6);
  });
  it("source role uses each destination's own denominator", () => {
    const r = shade({ mode: "attention", selectedIs: "source", index: 1, valueNorm: VN, valueWeighted: true });
    expect(r).toEqual(f32([NAN, W(1, 1), W(2, 1), W(3, 1)]));
  });
  it("denominator 0 → 0", () => {
    const vn = new Float32Array([0, 0, 0, 0]);
    const r = shade({ mode: "attention", selectedIs: "destination", index: 2, valueNorm: vn, valueWeighted: true });
    expect(r).toEqual(f32([0, 0, 0, NAN]));
  });
  it("cached denominators give the same result", () => {
    const den = valueWeightDenominators(A, VN, n);
    expect(den[3]).toBeCloseTo(2.1, 6);
    for (const selectedIs of ["destination", "source"]) {
      for (let index = 0; index < n; index++) {
        const a = shade({ mode: "attention", selectedIs, index, valueNorm: VN, valueWeighted: true });
        const b = shade({ mode: "attention", selectedIs, index, valueNorm: VN, valueWeighted: true, denominators: den });
        expect(b).toEqual(a);
      }
    }
  });
  it("ignored without value norms and in logit_attr mode", () => {
    expect(shade({ mode: "attention", selectedIs: "destination", index: 2, valueWeighted: true })).toEqual(f32([0.5, 0.25, 0.25, NAN]));
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 2, valueNorm: VN, valueWeighted: true })).toEqual(f32([-1, 2, NAN, NAN]));
  });
});

describe("logit_attr mode", () => {
  it("destination: hovered p shades sources s ≤ p-1 with L[p-1, s]", () => {
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 3 })).toEqual(f32([0.5, -0.5, 3, NAN]));
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 1 })).toEqual(f32([1, NAN, NAN, NAN]));
  });
  it("p = 0 predicts nothing", () => {
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 0 }).every(Number.isNaN)).toBe(true);
  });
  it("source: hovered s shades tokens p with p-1 ≥ s with L[p-1, s]", () => {
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 0 })).toEqual(f32([NAN, 1, -1, 0.5]));
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 2 })).toEqual(f32([NAN, NAN, NAN, 3]));
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 3 }).every(Number.isNaN)).toBe(true);
  });
  it("outputMask restricts the hovered output (destination role) and shaded outputs (source role)", () => {
    const outputMask = new Uint8Array([1, 1, 0, 1]);
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 2, outputMask }).every(Number.isNaN)).toBe(true);
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 3, outputMask })).toEqual(f32([0.5, -0.5, 3, NAN]));
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 0, outputMask })).toEqual(f32([NAN, 1, NAN, 0.5]));
  });
  it("srcMask restricts sources; dstMask is not used in logit_attr", () => {
    const srcMask = new Uint8Array([1, 0, 1, 1]);
    const dstMask = new Uint8Array([0, 0, 0, 0]);
    expect(shade({ mode: "logit_attr", selectedIs: "destination", index: 3, srcMask, dstMask })).toEqual(f32([0.5, NAN, 3, NAN]));
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 1, srcMask }).every(Number.isNaN)).toBe(true);
    expect(shade({ mode: "logit_attr", selectedIs: "source", index: 0, dstMask })).toEqual(f32([NAN, 1, -1, 0.5]));
  });
  it("missing attribution → all NaN", () => {
    const r = shadeValues({ mode: "logit_attr", selectedIs: "source", index: 0, n, attribution: null });
    expect(Array.from(r).every(Number.isNaN)).toBe(true);
  });
});

describe("canSelect", () => {
  const dstMask = new Uint8Array([1, 0, 1, 0]);
  const srcMask = new Uint8Array([0, 1, 1, 1]);
  const outputMask = new Uint8Array([1, 1, 0, 1]);
  const can = (mode, selectedIs, index) => canSelect({ mode, selectedIs, index, n, dstMask, srcMask, outputMask });
  it("follows the mask of the hovered token's role", () => {
    expect([0, 1, 2, 3].map((i) => can("attention", "destination", i))).toEqual([true, false, true, false]);
    expect([0, 1, 2, 3].map((i) => can("attention", "source", i))).toEqual([false, true, true, true]);
    expect([0, 1, 2, 3].map((i) => can("logit_attr", "destination", i))).toEqual([false, true, false, true]);
    expect([0, 1, 2, 3].map((i) => can("logit_attr", "source", i))).toEqual([false, true, true, true]);
  });
  it("everything in range is selectable without masks (except p = 0 as logit output)", () => {
    expect(canSelect({ mode: "attention", selectedIs: "destination", index: 0, n })).toBe(true);
    expect(canSelect({ mode: "logit_attr", selectedIs: "destination", index: 0, n })).toBe(false);
    expect(canSelect({ mode: "attention", selectedIs: "source", index: 4, n })).toBe(false);
    expect(canSelect({ mode: "attention", selectedIs: "source", index: -1, n })).toBe(false);
  });
  it("agrees with shadeValues: a non-selectable token shades nothing", () => {
    for (const mode of ["attention", "logit_attr"]) {
      for (const selectedIs of ["destination", "source"]) {
        for (let index = 0; index < n; index++) {
          if (can(mode, selectedIs, index)) continue;
          const r = shade({ mode, selectedIs, index, dstMask, srcMask, outputMask });
          expect(r.every(Number.isNaN)).toBe(true);
        }
      }
    }
  });
});
