/** The Worker bundle: built as a deploy builds it (or taken from BENCH_BUNDLE), and its size. */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { buildDashboard } from "../../scripts/build-dashboard.ts";
import { runCommand } from "./processes.ts";
import { BenchError, LOGS, OUT, ROOT, WRANGLER } from "./settings.ts";

export interface BundleModule {
  name: string;
  path: string;
  kind: "esModule" | "wasm" | "text" | "data";
}

export interface BundleInfo {
  dir: string;
  /** The main module, relative to the repo. */
  main: string;
  /** Main module first. */
  modules: BundleModule[];
  rawBytes: number;
  gzipBytes: number;
}

/** `wrangler deploy --dry-run --outdir bench/out/bundle`, or BENCH_BUNDLE. Returns the bundle's location. */
export async function buildBundle(): Promise<string> {
  const override = process.env.BENCH_BUNDLE;
  if (override !== undefined && override !== "") {
    const resolved = resolve(override);
    if (!existsSync(resolved)) throw new BenchError(`BENCH_BUNDLE ${override} does not exist`);
    console.log(`bundle: using ${resolved} (BENCH_BUNDLE), no build`);
    return resolved;
  }
  const outdir = join(OUT, "bundle");
  rmSync(outdir, { recursive: true, force: true });
  console.log("bundle: wrangler deploy --dry-run --outdir bench/out/bundle");
  await buildDashboard(); // wrangler.toml's [assets] must exist for the build
  const result = await runCommand(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    timeoutMs: 300_000,
  });
  writeFileSync(join(LOGS, "wrangler-build.log"), result.stdout + result.stderr);
  if (result.code !== 0) {
    const output = (result.stdout + result.stderr).trim();
    throw new BenchError(`the wrangler build failed (exit ${String(result.code)}):\n${output}`);
  }
  return outdir;
}

const MODULE_KINDS: ReadonlyArray<[RegExp, BundleModule["kind"]]> = [
  [/\.(m?js|cjs)$/, "esModule"],
  [/\.wasm$/, "wasm"],
  [/\.(txt|html|sql)$/, "text"],
  [/\.bin$/, "data"],
];

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}

/** The bundle's modules, main first, and its size: raw bytes and gzip -9 of every module. */
export function describeBundle(location: string): BundleInfo {
  const isFile = statSync(location).isFile();
  const dir = isFile ? dirname(location) : location;
  let mainPath = isFile ? location : join(dir, "index.js");
  const files = isFile ? [location] : listFiles(dir);
  if (!existsSync(mainPath)) {
    const scripts = files.filter((f) => /\.m?js$/.test(f));
    if (scripts.length !== 1 || scripts[0] === undefined) {
      throw new BenchError(`cannot tell the bundle's main module in ${dir}: no index.js and ${scripts.length} scripts`);
    }
    mainPath = scripts[0];
  }
  const modules: BundleModule[] = [];
  for (const path of files) {
    const kind = MODULE_KINDS.find(([pattern]) => pattern.test(path))?.[1];
    if (kind === undefined) continue; // source maps, README.md
    const name = relative(dir, path).split(sep).join("/");
    const module: BundleModule = { name, path, kind };
    if (path === mainPath) modules.unshift(module);
    else modules.push(module);
  }
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const module of modules) {
    const content = readFileSync(module.path);
    rawBytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { dir, main: relative(ROOT, mainPath), modules, rawBytes, gzipBytes };
}
