// The token view's long-text helpers: blocks cover the text exactly once and end after a newline
// where one falls in their second half; the search finds the next (or previous) token holding the
// query, wrapping around, case-insensitive, skipping tokens that cannot be locked.
import { describe, expect, it } from "vitest";
import { findToken, tokenBlocks } from "../src/token_view.js";

describe("tokenBlocks", () => {
  it("covers [0, n) in order, each block at most `size` tokens", () => {
    const tokens = Array.from({ length: 1000 }, (_, i) => (i % 97 === 0 ? "x\n" : "w"));
    const blocks = tokenBlocks(tokens, 64);
    expect(blocks[0][0]).toBe(0);
    expect(blocks[blocks.length - 1][1]).toBe(1000);
    for (let k = 1; k < blocks.length; k++) expect(blocks[k][0]).toBe(blocks[k - 1][1]);
    for (const [a, b] of blocks) expect(b - a).toBeLessThanOrEqual(64);
  });
  it("ends a block after a newline in its second half", () => {
    const tokens = Array.from({ length: 300 }, (_, i) => (i === 50 || i === 20 ? "\n" : "w"));
    expect(tokenBlocks(tokens, 64)[0]).toEqual([0, 51]); // 50 is in [32, 64); 20 is not
    expect(tokenBlocks(Array(130).fill("w"), 64)).toEqual([[0, 64], [64, 128], [128, 130]]);
  });
});

describe("findToken", () => {
  const tokens = [" The", " cat", " sat", " the", " mat", "."];
  it("finds the next match after `from`, wrapping, case-insensitive", () => {
    expect(findToken(tokens, "the", -1, 1)).toBe(0);
    expect(findToken(tokens, "the", 0, 1)).toBe(3);
    expect(findToken(tokens, "the", 3, 1)).toBe(0);
    expect(findToken(tokens, "THE", 3, -1)).toBe(0);
    expect(findToken(tokens, "the", 0, -1)).toBe(3);
  });
  it("skips tokens that cannot be locked and says -1 for no match", () => {
    expect(findToken(tokens, "at", -1, 1, (i) => i !== 1)).toBe(2);
    expect(findToken(tokens, "dog", -1, 1)).toBe(-1);
    expect(findToken(tokens, "", -1, 1)).toBe(-1);
  });
});
