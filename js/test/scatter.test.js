import { describe, expect, it } from "vitest";
import { axisRange, scatterGeometry } from "../src/verdict_scatter.js";
import { nearestPoint } from "../src/shared/plot.js";

describe("verdict scatter geometry", () => {
  it("keeps the measure's range and widens it only to cover the data", () => {
    expect(axisRange([0.2, 0.5, NaN], [0, 1])).toEqual([0, 1]);
    expect(axisRange([-0.3, 1.2], [0, 1])).toEqual([-0.3, 1.2]);
    expect(axisRange([], [])).toEqual([0, 1]);
  });
  it("maps x left to right and y bottom to top", () => {
    const g = scatterGeometry({ left: 10, top: 5, width: 100, height: 50 }, [0, 1], [-1, 1]);
    const at = (/** @type {number} */ x, /** @type {number} */ y) => [g.x.map(x), g.y.map(y)];
    expect(at(0, -1)).toEqual([10, 55]);
    expect(at(1, 1)).toEqual([110, 5]);
    expect(at(0.5, 0)).toEqual([60, 30]);
  });
  it("finds the nearest point within the radius, the last drawn on ties, none outside", () => {
    const xs = [0, 10, 10, NaN];
    const ys = [0, 0, 0, 0];
    expect(nearestPoint(xs, ys, 1, 0, 5)).toBe(0);
    expect(nearestPoint(xs, ys, 9, 0, 5)).toBe(2);
    expect(nearestPoint(xs, ys, 30, 0, 5)).toBe(-1);
  });
});
