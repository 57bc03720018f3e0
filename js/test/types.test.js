// Typed JS: every source file is `// @ts-check`, tsc runs with noImplicitAny, and every view's
// model is typed by its traits (AnyModel<Traits> through View<Traits>); the two fixtures show that
// the compiler options `npm run typecheck` uses reject an untyped model and a misspelt trait.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const src = path.join(root, "src");

/** @param {string} dir @returns {string[]} */
function jsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? jsFiles(p) : d.name.endsWith(".js") ? [p] : [];
  });
}

/** Compiler options of tsconfig.json. */
function options() {
  const cfg = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  return ts.parseJsonConfigFileContent(cfg.config, ts.sys, root).options;
}

/** @param {string} file @returns {string[]} error codes and messages */
function errorsOf(file) {
  const program = ts.createProgram([file], options());
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === path.resolve(file))
    .map((d) => `TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("typed JS", () => {
  it("checks every source file with noImplicitAny", () => {
    expect(options().noImplicitAny).toBe(true);
    expect(options().checkJs).toBe(true);
    const unchecked = jsFiles(src).filter((f) => !fs.readFileSync(f, "utf8").startsWith("// @ts-check"));
    expect(unchecked.map((f) => path.relative(root, f))).toEqual([]);
  });

  it("types every view's model by its traits, never as any", () => {
    const views = fs.readdirSync(src).filter((f) => f.endsWith(".js") && f !== "standalone.js");
    expect(views.length).toBeGreaterThanOrEqual(8);
    for (const f of views) {
      const text = fs.readFileSync(path.join(src, f), "utf8");
      const typed = text.match(/@type \{import\("\.\/shared\/types\.js"\)\.View<(\w+)>\}/);
      expect(typed, `${f}: its render is not typed View<Traits>`).not.toBeNull();
      const traits = /** @type {RegExpMatchArray} */ (typed)[1];
      expect(text, `${f}: no typedef of ${traits}`).toMatch(new RegExp(`\\}\\s*${traits}\\b`));
      expect(text, `${f}: default export does not satisfy AnyWidget<${traits}>`).toContain(
        `@satisfies {import("@anywidget/types").AnyWidget<${traits}>}`,
      );
    }
    for (const f of jsFiles(src)) {
      const text = fs.readFileSync(f, "utf8");
      expect(text, `${path.relative(root, f)} types a model as any/object`).not.toMatch(/model: any\b|\{(any|object)\} model\b/);
    }
  });

  it("rejects an untyped model and a trait the view does not declare", () => {
    const untyped = errorsOf(path.join(here, "fixtures", "untyped_view.js"));
    expect(untyped.some((e) => e.startsWith("TS7031") && e.includes("'model'"))).toBe(true);
    const wrong = errorsOf(path.join(here, "fixtures", "wrong_trait_view.js"));
    expect(wrong.some((e) => e.includes('"titel"'))).toBe(true);
  }, 60_000);
});
