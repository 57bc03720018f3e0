// vitest resolves the saved pages' registry ("iw:views") as the build does (build.mjs).
import { defineConfig } from "vitest/config";
import { viteViewsPlugin } from "./build.mjs";

export default defineConfig({ plugins: [viteViewsPlugin] });
