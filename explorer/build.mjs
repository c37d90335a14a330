// Bundles the explorer: src/main.ts → dist/main.js (minified, with source map), and copies
// index.html and style.css beside it. `npm run build:explorer` type-checks first.
import * as esbuild from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

await mkdir(dist, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(dist, "main.js"),
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2022"],
  platform: "browser",
  legalComments: "none",
  logLevel: "warning",
});
for (const f of ["index.html", "style.css"]) {
  await copyFile(join(here, f), join(dist, f));
}
console.log(`explorer built into ${dist}`);
