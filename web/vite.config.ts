/**
 * The review UI's build: Preact via Vite's own JSX transform, output where wrangler serves static
 * assets. After writing, prints the gzipped size of the JavaScript index.html loads before any
 * interaction (its entry script and modulepreloads) and fails above the 80 KB budget.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

export const INITIAL_JS_BUDGET_KB = 80;

function initialJsBudget(): Plugin {
  let outDir = "";
  return {
    name: "initial-js-budget",
    apply: "build",
    configResolved(c) {
      outDir = path.resolve(c.root, c.build.outDir);
    },
    closeBundle() {
      const html = readFileSync(path.join(outDir, "index.html"), "utf8");
      const srcs = [...html.matchAll(/<script[^>]+src="([^"]+)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)].map((m) => m[1] ?? m[2]);
      const sizes = srcs.map((s) => gzipSync(readFileSync(path.join(outDir, s.replace(/^\//, "")))).length);
      const kb = sizes.reduce((a, b) => a + b, 0) / 1024;
      console.log(
        `initial JavaScript (${srcs.length} file${srcs.length === 1 ? "" : "s"} loaded by index.html): ${kb.toFixed(1)} KB gzipped (budget ${INITIAL_JS_BUDGET_KB} KB)`,
      );
      if (kb >= INITIAL_JS_BUDGET_KB) throw new Error(`initial JavaScript is ${kb.toFixed(1)} KB gzipped, over the ${INITIAL_JS_BUDGET_KB} KB budget`);
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  plugins: [initialJsBudget()],
});
