import { describe, expect, it } from "vitest";
import {
  ATTENTION_RGB,
  NEGATIVE_RGB,
  POSITIVE_RGB,
  VIRIDIS,
  attentionColour,
  attributionColour,
  attributionLevel,
  attributionRGBA,
  formatNumber,
  formatSpread,
  sequentialColour,
  sequentialLUT,
  spreadNote,
} from "../src/shared/colour.js";

/** [r, g, b, a] of an "rgba(...)" string. */
const parse = (s) => s.match(/^rgba\((.*)\)$/)[1].split(",").map(Number);

describe("attentionColour", () => {
  it("is red with alpha = value at the endpoints", () => {
    expect(parse(attentionColour(0))).toEqual([...ATTENTION_RGB, 0]);
    expect(parse(attentionColour(1))).toEqual([...ATTENTION_RGB, 1]);
    expect(parse(attentionColour(0.5))[3]).toBe(0.5);
  });
  it("alpha is monotonic in the value", () => {
    let prev = -1;
    for (let i = 0; i <= 100; i++) {
      const a = parse(attentionColour(i / 100))[3];
      expect(a).toBeGreaterThanOrEqual(prev);
      prev = a;
    }
  });
  it("clamps to [0, 1]", () => {
    expect(attentionColour(-0.3)).toBe(attentionColour(0));
    expect(attentionColour(7)).toBe(attentionColour(1));
    expect(attentionColour(Infinity)).toBe(attentionColour(1));
  });
  it("NaN → transparent", () => {
    expect(attentionColour(NaN)).toBe("transparent");
  });
});

describe("attributionColour", () => {
  it("positive is blue, negative orange, zero invisible", () => {
    expect(parse(attributionColour(2, 2))).toEqual([...POSITIVE_RGB, 1]);
    expect(parse(attributionColour(-2, 2))).toEqual([...NEGATIVE_RGB, 1]);
    expect(parse(attributionColour(0, 2))[3]).toBe(0);
  });
  it("is symmetric around 0", () => {
    for (const v of [0.1, 0.5, 1.3, 2, 5]) {
      expect(parse(attributionColour(v, 2))[3]).toBe(parse(attributionColour(-v, 2))[3]);
    }
  });
  it("alpha grows with |v| / vmax and is clamped at vmax", () => {
    let prev = -1;
    for (let i = 0; i <= 40; i++) {
      const a = parse(attributionColour(i / 10, 3))[3];
      expect(a).toBeGreaterThanOrEqual(prev);
      prev = a;
    }
    expect(attributionColour(10, 3)).toBe(attributionColour(3, 3));
    expect(attributionColour(-10, 3)).toBe(attributionColour(-3, 3));
    expect(parse(attributionColour(1.5, 3))[3]).toBe(0.5);
  });
  it("NaN → transparent; vmax 0 or invalid does not divide by zero", () => {
    expect(attributionColour(NaN, 1)).toBe("transparent");
    expect(attributionLevel(0, 0)).toBe(0);
    expect(attributionLevel(1, 0)).toBe(1);
    expect(attributionLevel(-1, NaN)).toBe(-1);
    expect(attributionRGBA(NaN, 1)).toEqual([0, 0, 0, 0]);
    expect(attributionRGBA(-1, 1)).toEqual([...NEGATIVE_RGB, 255]);
    expect(attributionRGBA(0.5, 1)[3]).toBe(128);
  });
});

describe("sequentialColour", () => {
  it("hits the viridis endpoints and clamps", () => {
    expect(sequentialColour(0)).toEqual(VIRIDIS[0]);
    expect(sequentialColour(1)).toEqual(VIRIDIS[VIRIDIS.length - 1]);
    expect(sequentialColour(-1)).toEqual(VIRIDIS[0]);
    expect(sequentialColour(2)).toEqual(VIRIDIS[VIRIDIS.length - 1]);
    expect(sequentialColour(0.5)).toEqual(VIRIDIS[4]);
  });
  it("NaN → null", () => {
    expect(sequentialColour(NaN)).toBeNull();
  });
  it("lightness increases monotonically (readable in greyscale)", () => {
    const luma = ([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let prev = -1;
    for (let i = 0; i <= 64; i++) {
      const l = luma(sequentialColour(i / 64));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });
  it("LUT matches the function", () => {
    const lut = sequentialLUT();
    expect(lut.length).toBe(768);
    expect(Array.from(lut.slice(0, 3))).toEqual(VIRIDIS[0]);
    expect(Array.from(lut.slice(3 * 255))).toEqual(VIRIDIS[8]);
  });
});

describe("formatNumber", () => {
  it("formats", () => {
    expect(formatNumber(0.43121)).toBe("0.4312");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(NaN)).toBe("NaN");
    expect(formatNumber(-Infinity)).toBe("-inf");
    expect(formatNumber(1.5e-5)).toBe("1.500e-5");
  });
});

describe("formatSpread / spreadNote", () => {
  it("shows value ± sd (sd to 2 significant digits)", () => {
    expect(formatSpread(0.91234, 0.021456, 3)).toBe("0.912 ± 0.021");
    expect(formatSpread(-0.5, 0.1234)).toBe("-0.5 ± 0.12");
    expect(formatSpread(0.7, 0)).toBe("0.7 ± 0");
  });
  it("shows no ± without a usable sd", () => {
    expect(formatSpread(0.91234, undefined, 3)).toBe("0.912");
    expect(formatSpread(0.91234, NaN, 3)).toBe("0.912");
    expect(formatSpread(NaN, 0.1)).toBe("NaN");
  });
  it("says what the ± is over", () => {
    expect(spreadNote(10)).toBe("sd over 10 examples");
    expect(spreadNote(1)).toBe("1 example, no sd");
    expect(spreadNote(0)).toBe("0 examples, no sd");
    expect(spreadNote(undefined)).toBe("");
    expect(spreadNote(NaN)).toBe("");
  });
});

describe("injectStyles", () => {
  /** Just enough of a document for injectStyles. */
  function fakeDocument() {
    const byId = new Map();
    const head = {
      children: [],
      appendChild(node) {
        this.children.push(node);
        byId.set(node.id, node);
        return node;
      },
    };
    return {
      nodeType: 9,
      head,
      getElementById: (id) => byId.get(id) || null,
      createElement: (tag) => ({ tag, id: "", dataset: {}, textContent: "" }),
    };
  }
  it("inserts one theme-aware <style> and is idempotent", async () => {
    const { injectStyles, STYLE_ID } = await import("../src/shared/colour.js");
    const doc = fakeDocument();
    const a = injectStyles(doc);
    const b = injectStyles(doc);
    expect(a).toBe(b);
    expect(doc.head.children).toHaveLength(1);
    expect(a.id).toBe(STYLE_ID);
    expect(a.textContent).toContain("var(--jp-ui-font-color1, ");
    expect(a.textContent).toContain("var(--jp-layout-color0, ");
    expect(a.textContent).toContain("var(--jp-border-color2, ");
  });
});

describe("palettes", () => {
  // the documented numbers (docs/figures.md), written out here
  const CB = { attention: [213, 94, 0], positive: [0, 114, 178], negative: [230, 159, 0] };
  it('"colorblind" uses the Okabe–Ito colours in every scale', () => {
    expect(parse(attentionColour(0.25, "colorblind"))).toEqual([...CB.attention, 0.25]);
    expect(parse(attributionColour(2, 4, "colorblind"))).toEqual([...CB.positive, 0.5]);
    expect(parse(attributionColour(-4, 4, "colorblind"))).toEqual([...CB.negative, 1]);
    expect(attributionRGBA(-1, 2, "colorblind")).toEqual([...CB.negative, 128]);
  });
  it('"paper" is the default, and an unknown name falls back to it', () => {
    expect(attentionColour(0.5, "paper")).toBe(attentionColour(0.5));
    expect(attributionColour(-1, 2, "rainbow")).toBe(attributionColour(-1, 2));
    expect(parse(attentionColour(1))).toEqual([214, 39, 40, 1]);
  });
  it("the palettes' alphas are the same: only the hue changes", () => {
    for (const v of [0, 0.1, 0.37, 1]) {
      expect(parse(attentionColour(v, "colorblind"))[3]).toBe(parse(attentionColour(v))[3]);
      expect(parse(attributionColour(-v, 1, "colorblind"))[3]).toBe(parse(attributionColour(-v, 1))[3]);
    }
  });
});
