import { describe, expect, it } from "vitest";
import { scaleOnScreen, sinkShare, sinkSummary, sinkWidth, withoutSink } from "../src/shared/sink.js";

/** A causal pattern: row d puts `bos` on source 0 and the rest uniformly on 1 … d. */
function sinky(n, bos) {
  const A = new Float32Array(n * n);
  A[0] = 1;
  for (let d = 1; d < n; d++) {
    A[d * n] = bos;
    for (let s = 1; s <= d; s++) A[d * n + s] = (1 - bos) / d;
  }
  return A;
}

describe("sink", () => {
  it("finds BOS as the sink and its share", () => {
    const A = sinky(8, 0.8);
    expect(sinkWidth(A, 8)).toBe(1);
    expect(Array.from(sinkShare(A, 8, 1))).toEqual([1, ...Array(7).fill(Math.fround(0.8))]);
    const s = sinkSummary(A, 8);
    expect(s.first).toBe(1);
    expect(s.meanShare).toBeCloseTo(0.8, 6);
    expect(s.defaultScale).toBe("without sink");
    expect(scaleOnScreen("auto", s)).toBe("without sink");
    expect(scaleOnScreen("all sources", s)).toBe("all sources");
  });
  it("renormalises each row over the other sources (row 0, all sink, is zeros)", () => {
    const A = sinky(5, 0.6);
    const W = withoutSink(A, 5, 1);
    expect(Array.from(W.slice(0, 5))).toEqual([0, 0, 0, 0, 0]);
    for (let d = 1; d < 5; d++) {
      expect(W[d * 5]).toBe(0);
      for (let s = 1; s <= d; s++) expect(W[d * 5 + s]).toBeCloseTo(1 / d, 6);
      // the same as dividing by 1 − share
      expect(W[d * 5 + 1]).toBeCloseTo(A[d * 5 + 1] / (1 - 0.6), 5);
    }
  });
  it("a head without a sink starts on all sources; a uniform head has no sink", () => {
    const A = sinky(40, 0.05);
    const s = sinkSummary(A, 40);
    expect(s.defaultScale).toBe("all sources");
    expect(sinkWidth(A, 40)).toBe(0);
    expect(s.first).toBe(1);
  });
});
