// Pure helpers of the views: head choices, token text formatting, table sorting, matrix pixels.
import { describe, expect, it } from "vitest";
import { headAfterLayerChange, headChoices, layerChoices } from "../src/shared/heads.js";
import { escapeInvisible, labelToken, prettyName, quoteToken } from "../src/shared/text.js";
import { ABLATION, scoreLabel, signedSpread, sortRows } from "../src/head_map.js";
import { matrixPixels } from "../src/attention_matrix.js";
import { maskOf, maxAbsFinite } from "../src/shared/controls.js";
import { VIRIDIS } from "../src/shared/colour.js";

describe("head choices", () => {
  it("empty heads_available = every head", () => {
    expect(layerChoices(3, [])).toEqual([0, 1, 2]);
    expect(headChoices(1, 4, [])).toEqual([0, 1, 2, 3]);
  });
  it("restricted to the available pairs", () => {
    const avail = [[5, 1], [2, 3], [5, 0], [2, 3]];
    expect(layerChoices(12, avail)).toEqual([2, 5]);
    expect(headChoices(5, 12, avail)).toEqual([0, 1]);
    expect(headChoices(2, 12, avail)).toEqual([3]);
    expect(headChoices(7, 12, avail)).toEqual([]);
  });
  it("switching layer keeps the head when possible", () => {
    const avail = [[5, 1], [2, 3], [5, 0]];
    expect(headAfterLayerChange(5, 1, 12, avail)).toBe(1);
    expect(headAfterLayerChange(2, 1, 12, avail)).toBe(3);
    expect(headAfterLayerChange(2, 7, 12, [])).toBe(7);
  });
});

describe("token text", () => {
  it("quotes and escapes hostile tokens", () => {
    expect(quoteToken(" the")).toBe('" the"');
    expect(quoteToken("a\nb")).toBe('"a\\nb"');
    expect(quoteToken('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteToken("\u202eevil\u0000")).toBe('"\\u202eevil\\u0000"');
    expect(quoteToken("x".repeat(10000)).length).toBe(42);
    expect(quoteToken("</script><img src=x onerror=alert(1)>")).toBe('"</script><img src=x onerror=alert(1)>"');
    expect(escapeInvisible("a\\b")).toBe("a\\\\b");
  });
  it("labels are single-line and bounded", () => {
    expect(labelToken("a\nb")).toBe("a↵b");
    expect(labelToken("\u200fab\u0000")).toBe("ab");
    expect(labelToken("y".repeat(100), 10)).toHaveLength(10);
  });
  it("prettifies score names", () => {
    expect(prettyName("prefix_matching")).toBe("prefix matching");
  });
});

describe("head table sorting", () => {
  const rows = [
    { index: 0, s: 0.5 },
    { index: 1, s: NaN },
    { index: 2, s: 0.9 },
    { index: 3, s: 0.5 },
    { index: 4, s: undefined },
  ];
  it("descending with NaN/missing last, ties by index", () => {
    expect(sortRows(rows, (r) => r.s, "desc").map((r) => r.index)).toEqual([2, 0, 3, 1, 4]);
  });
  it("ascending with NaN/missing still last", () => {
    expect(sortRows(rows, (r) => r.s, "asc").map((r) => r.index)).toEqual([0, 3, 2, 1, 4]);
  });
});

describe("matrix pixels", () => {
  it("attention: viridis, transparent causal-masked zeros and NaN", () => {
    const px = matrixPixels(new Float32Array([1, 0, 0, NaN]), 2, "attention", 1);
    expect(Array.from(px.slice(0, 4))).toEqual([...VIRIDIS[8], 255]); // [0,0] = 1
    expect(px[7]).toBe(0); // [0,1] above the diagonal, 0 → transparent
    expect(Array.from(px.slice(8, 12))).toEqual([...VIRIDIS[0], 255]); // [1,0] = 0 on/below diagonal
    expect(px[15]).toBe(0); // NaN
  });
  it("logit_attr: diverging with alpha", () => {
    const px = matrixPixels(new Float32Array([2, -2, 0, NaN]), 2, "logit_attr", 2);
    expect(px[3]).toBe(255);
    expect(px[7]).toBe(255);
    expect(px[11]).toBe(0);
    expect(px[15]).toBe(0);
    expect(px[2]).toBeGreaterThan(px[0]); // blue
    expect(px[4]).toBeGreaterThan(px[6]); // orange
  });
  it("logit_attr: the palette's pair", () => {
    const px = matrixPixels(new Float32Array([2, -1, 0, NaN]), 2, "logit_attr", 2, undefined, "colorblind");
    expect(Array.from(px.slice(0, 4))).toEqual([0, 114, 178, 255]);
    expect(Array.from(px.slice(4, 8))).toEqual([230, 159, 0, 128]);
  });
});

describe("controls helpers", () => {
  it("maskOf / maxAbsFinite", () => {
    expect(maskOf(null)).toBeNull();
    expect(Array.from(maskOf({ data: new Float32Array([0, 1, 2]), shape: [3] }))).toEqual([0, 1, 1]);
    expect(maxAbsFinite(new Float32Array([NaN, -3, Infinity, 2]))).toBe(3);
    expect(maxAbsFinite(null)).toBe(0);
  });
});

describe("head map: the ΔICL (ablation) colouring", () => {
  it("names the mode, other scores by their pretty name", () => {
    expect(ABLATION).toBe("icl_ablation");
    expect(scoreLabel(ABLATION)).toBe("ΔICL (ablation)");
    expect(scoreLabel(ABLATION, "exact")).toBe("ΔICL (ablation)");
    expect(scoreLabel(ABLATION, "attribution")).toBe("ΔICL (attribution patching)");
    expect(scoreLabel("copying", "attribution")).toBe("copying");
    expect(scoreLabel("prefix_matching")).toBe("prefix matching");
  });
  it("signs the value (a real minus), ± its standard error when there is one", () => {
    expect(signedSpread(0.11, 0.011)).toBe("+0.11 ± 0.011");
    expect(signedSpread(-0.12, 0.012)).toBe("−0.12 ± 0.012");
    expect(signedSpread(-0.12, NaN)).toBe("−0.12");
    expect(signedSpread(0, undefined)).toBe("0");
  });
});
