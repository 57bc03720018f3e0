// Bundle the anywidget view modules and the standalone runtime into the Python package.
//   node build.mjs            one build
//   node build.mjs --watch    rebuild on change
//
// The views are the files js/src/<kind>.js (every .js file there but the saved pages' runtime,
// standalone.js): each is a build entry, and the runtime's registry is the virtual module
// "iw:views" generated from the same list (viewsPlugin), so adding a view edits neither file.
import * as esbuild from "esbuild";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRC_DIR = path.join(here, "src");
export const OUT_DIR = path.resolve(here, "../src/induction_widgets/static");
/** The saved pages' runtime: an entry, not a view. */
export const RUNTIME = "standalone";

/**
 * The view kinds: the `.js` files of `dir` (not its folders) but the runtime, sorted.
 * @param {string} [dir]
 */
export function viewKinds(dir = SRC_DIR) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith(".js") && f.name !== `${RUNTIME}.js`)
    .map((f) => f.name.slice(0, -3))
    .sort();
}

export const VIEW_KINDS = viewKinds();
export const ENTRIES = [...VIEW_KINDS, RUNTIME];

/** The specifier standalone.js imports its registry from. */
export const VIEWS_MODULE = "iw:views";

/**
 * Source of the "iw:views" module: `export default { <kind>: <its default export>, … }`.
 * @param {string[]} [kinds]
 * @param {string} [dir]
 */
export function viewsModule(kinds = VIEW_KINDS, dir = SRC_DIR) {
  const lines = kinds.map((k, i) => `import v${i} from ${JSON.stringify(path.join(dir, `${k}.js`))};`);
  const entries = kinds.map((k, i) => `${JSON.stringify(k)}: v${i}`).join(", ");
  return `${lines.join("\n")}\nexport default { ${entries} };\n`;
}

/** esbuild plugin: resolves "iw:views" to {@link viewsModule}. */
export const viewsPlugin = {
  name: "iw-views",
  /** @param {import("esbuild").PluginBuild} b */
  setup(b) {
    b.onResolve({ filter: /^iw:views$/ }, () => ({ path: "views", namespace: "iw-views" }));
    b.onLoad({ filter: /.*/, namespace: "iw-views" }, () => ({
      contents: viewsModule(viewKinds()),
      resolveDir: SRC_DIR,
      loader: "js",
    }));
  },
};

/** The same module for Vite / vitest (vitest.config.mjs). */
export const viteViewsPlugin = {
  name: "iw-views",
  /** @param {string} id */
  resolveId: (id) => (id === VIEWS_MODULE ? `\0${VIEWS_MODULE}` : null),
  /** @param {string} id */
  load: (id) => (id === `\0${VIEWS_MODULE}` ? viewsModule(viewKinds()) : null),
};

/** esbuild options: self-contained ESM, minified, es2020. */
export const options = {
  entryPoints: Object.fromEntries(ENTRIES.map((name) => [name, path.join(SRC_DIR, `${name}.js`)])),
  outdir: OUT_DIR,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  platform: "browser",
  splitting: false, // each file must stand alone (anywidget loads one ESM module)
  legalComments: "none",
  logLevel: "info",
  plugins: [viewsPlugin],
};

export async function build(extra = {}) {
  return esbuild.build({ ...options, ...extra });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--json")) {
    // what the Python tests compare with the view declarations
    console.log(JSON.stringify({ kinds: VIEW_KINDS, entries: ENTRIES, runtime: RUNTIME }));
  } else if (process.argv.includes("--watch")) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await build();
  }
}
