/**
 * Builds the dashboard (dashboard/) into the Worker's static assets
 * (dashboard/dist/dashboard/: index.html, app.js, app.css), bundled and
 * minified with esbuild, uPlot included: no CDN, nothing fetched at run time.
 * Run by npm start, npm test, npm run deploy and the benchmark; prints the
 * gzipped size (README states it).
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = join(ROOT, "dashboard");
export const DASHBOARD_OUT = join(SOURCE, "dist");

/** Builds the assets; returns their total gzipped size in bytes. */
export async function buildDashboard(): Promise<number> {
  const out = join(DASHBOARD_OUT, "dashboard");
  rmSync(DASHBOARD_OUT, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(SOURCE, "src/main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    outfile: join(out, "app.js"),
    logLevel: "warning",
  });
  const css = readFileSync(join(ROOT, "node_modules/uplot/dist/uPlot.min.css"), "utf8") + readFileSync(join(SOURCE, "src/app.css"), "utf8");
  writeFileSync(join(out, "app.css"), css);
  copyFileSync(join(SOURCE, "index.html"), join(out, "index.html"));
  return ["app.js", "app.css", "index.html"].reduce((n, file) => n + gzipSync(readFileSync(join(out, file)), { level: 9 }).byteLength, 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await buildDashboard();
  console.log(`dashboard: ${(bytes / 1024).toFixed(1)} KB gzipped in ${DASHBOARD_OUT}`);
}
