import { describe, expect, it } from "vitest";
import { extent, logTicks, nearestPoint, nearestX, niceTicks, polyline, rankPartners, scale } from "../src/shared/plot.js";
import { scoreText } from "../src/loss_curve.js";

describe("scales", () => {
  it("maps a log domain by log10 and inverts it", () => {
    const x = scale({ log: true, domain: [1, 1000], range: [0, 300] });
    expect(x.map(1)).toBe(0);
    expect(x.map(10)).toBeCloseTo(100, 10);
    expect(x.map(1000)).toBeCloseTo(300, 10);
    expect(x.invert(200)).toBeCloseTo(100, 8);
  });
  it("maps a linear y domain bottom to top", () => {
    const y = scale({ domain: [0, 2], range: [100, 0] });
    expect(y.map(0)).toBe(100);
    expect(y.map(1.5)).toBe(25);
    expect(y.invert(50)).toBe(1);
  });
  it("pads the finite extent and survives flat or empty series", () => {
    expect(extent([[1, NaN, 3]], 0.5)).toEqual([0, 4]);
    expect(extent([[2, 2]])).toEqual([1.5, 2.5]);
    expect(extent([[], [NaN]])).toEqual([0, 1]);
  });
});

describe("ticks", () => {
  it("log ticks: powers of ten, with 2x and 5x when there are few", () => {
    expect(logTicks(1, 1000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(1, 255)).toEqual([1, 10, 100]);
    expect(logTicks(3, 60)).toEqual([5, 10, 20, 50]);
  });
  it("round linear ticks inside the range", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.33, 0.71, 5)).toEqual([-0.2, 0, 0.2, 0.4, 0.6]);
    expect(niceTicks(0, 1600, 4)).toEqual([0, 500, 1000, 1500]);
  });
});

describe("picking and ranking", () => {
  it("nearest sample by x, skipping NaN, none beyond the radius", () => {
    expect(nearestX([NaN, 10, 20, 30], 17)).toBe(2);
    expect(nearestX([NaN, 10, 20], 100, 5)).toBe(-1);
  });
  it("ranks the earlier heads by K-composition, ties in [layer, head] order, top k", () => {
    // 3 layers x 2 heads; the induction head is in layer 2: only layers 0 and 1 count
    const k = [0.1, 0.4, 0.4, 0.2, NaN, NaN];
    const prev = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    const rows = rankPartners(k, prev, 2, 2);
    expect(rows.map((r) => [r.layer, r.head])).toEqual([[0, 1], [1, 0], [1, 1], [0, 0]]);
    expect(rows[0]).toEqual({ layer: 0, head: 1, k: 0.4, prev: 0.8 });
    expect(rankPartners(k, prev, 2, 2, 2)).toHaveLength(2);
    expect(rankPartners(k, prev, 0, 2)).toEqual([]);
  });
  it("says the ICL score with its indices", () => {
    expect(scoreText(-0.4213, 0.031, 50, 500)).toBe("ICL score -0.421 ± 0.031 nats (loss[500] − loss[50])");
    expect(scoreText(null, null, 26, 255)).toBe("ICL score n/a nats (loss[255] − loss[26])");
  });
});

describe("polyline", () => {
  it("lifts the pen over every non-finite sample and starts where asked", () => {
    /** @type {string[]} */
    const ops = [];
    const ctx = {
      beginPath: () => ops.push("begin"),
      moveTo: (/** @type {number} */ x, /** @type {number} */ y) => ops.push(`M${x},${y}`),
      lineTo: (/** @type {number} */ x, /** @type {number} */ y) => ops.push(`L${x},${y}`),
      stroke: () => ops.push("stroke"),
    };
    const ys = [9, 1, 2, NaN, 4, 5, 6];
    const xs = [0, 10, 20, 30, 40, NaN, 60];
    polyline(ctx, xs, (i) => ys[i], 1);
    expect(ops).toEqual(["begin", "M10,1", "L20,2", "M40,4", "M60,6", "stroke"]);
  });
});

describe("nearestPoint", () => {
  it("finds the nearest point within the radius, the last drawn on ties, none outside", () => {
    expect(nearestPoint([0, 10, 10, NaN], [0, 0, 0, 0], 9, 0, 5)).toBe(2);
    expect(nearestPoint([0, 10], [0, 0], 4, 3, 5)).toBe(0);
    expect(nearestPoint([0, 10], [0, 0], 4, 4, 5)).toBe(-1);
  });
});
