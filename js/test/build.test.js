// The bundles exist, are self-contained ESM, and are safe to inline into a <script> element.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ENTRIES, OUT_DIR, build } from "../build.mjs";

beforeAll(async () => {
  await build({ logLevel: "silent" });
}, 60_000);

describe.each(ENTRIES)("static/%s.js", (name) => {
  const file = path.join(OUT_DIR, `${name}.js`);
  it("has no imports or requires left", () => {
    const src = readFileSync(file, "utf8");
    expect(src.length).toBeGreaterThan(1000);
    expect(src).not.toMatch(/\bimport\s*(?:[\w$*{}\s,]+from\s*)?["'`]/);
    expect(src).not.toMatch(/\bimport\s*\(/);
    expect(src).not.toMatch(/\brequire\s*\(/);
    expect(src).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // no CDN
  });
  it("can be inlined in HTML (ASCII, no </script or <!--)", () => {
    const src = readFileSync(file, "utf8");
    expect(src).not.toMatch(/<\/script/i);
    expect(src).not.toMatch(/<!--/);
    expect(/^[\x00-\x7f]*$/.test(src)).toBe(true);
  });
  it("loads as an ES module", async () => {
    const mod = await import(`${pathToFileURL(file).href}?t=${Date.now()}`);
    if (name === "standalone") {
      expect(typeof mod.mount).toBe("function");
      expect(typeof mod.link).toBe("function");
      expect(typeof globalThis.inductionWidgets.mount).toBe("function");
    } else {
      expect(typeof mod.default.render).toBe("function");
    }
  });
});
