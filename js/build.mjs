// Bundle the anywidget view modules and the standalone runtime into the Python package.
//   node build.mjs            one build
//   node build.mjs --watch    rebuild on change
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = path.resolve(here, "../src/induction_widgets/static");
export const ENTRIES = ["token_view", "attention_matrix", "head_map", "explorer", "verdict_scatter", "loss_curve", "partners", "phase_change", "sweep_heatmap", "sweep_depth", "standalone"];

/** esbuild options: self-contained ESM, minified, es2020. */
export const options = {
  entryPoints: Object.fromEntries(ENTRIES.map((name) => [name, path.join(here, "src", `${name}.js`)])),
  outdir: OUT_DIR,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  platform: "browser",
  splitting: false, // each file must stand alone (anywidget loads one ESM module)
  legalComments: "none",
  logLevel: "info",
};

export async function build(extra = {}) {
  return esbuild.build({ ...options, ...extra });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--watch")) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await build();
  }
}
