// Build the package into dist/.
//
//   node scripts/build.mjs              full build
//   node scripts/build.mjs --if-needed  build only when dist/ is missing or older than the sources
//                                       (npm's pretest/prestart hook)
//
// Steps: tsup (JavaScript, ESM + CJS) -> tsc (declarations into temp/dts) -> api-extractor per
// entry point (API report in etc/, rollup into dist/<entry>.d.ts) -> copy to dist/<entry>.d.cts.
//
// API reports: with CI=true a difference from the committed etc/*.api.md fails the build; locally
// it is only reported. `npm run api` (scripts/api.mjs) accepts a change by rewriting etc/.
// api-extractor errors (missing release tag, forgotten export, ...) fail every build except the
// --if-needed one outside CI, so that `npm test` and `npm start` keep working while someone
// else's half-finished export is in the tree; CI and `npm run build` still catch it.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Entry points in dependency order: an entry's rollup may import from the ones before it. */
export const entries = [
  { name: "sdk", dir: "sdk" },
  { name: "devices", dir: "devices" },
  { name: "drivers", dir: "drivers" },
  { name: "testbench", dir: "testbench" },
  { name: "vitest", dir: "testbench/vitest" },
];

const dtsDir = join(root, "temp", "dts");
// A stand-in `vdtb` package that the per-entry api-extractor runs resolve `vdtb/<entry>` to.
const linkedPackageDir = join(root, "temp", "node_modules", "vdtb");
const distDir = join(root, "dist");
const stampFile = join(root, "temp", "build-stamp");
const sourceRoots = ["sdk", "devices", "drivers", "testbench", "api-extractor", "package.json", "tsup.config.ts", "tsconfig.json", "tsconfig.build.json", "tsdoc.json"];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

const bin = (name) => join(root, "node_modules", ".bin", name);

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) {
    if (!/\.(test|spec)\.ts$/.test(e)) newest = Math.max(newest, newestMtime(join(path, e)));
  }
  return newest;
}

function distIsCurrent() {
  const outputs = ["cli.js", ...entries.flatMap((e) => [`${e.name}.js`, `${e.name}.cjs`, `${e.name}.d.ts`, `${e.name}.d.cts`])];
  if (!existsSync(stampFile) || !outputs.every((f) => existsSync(join(distDir, f)))) return false;
  const built = statSync(stampFile).mtimeMs;
  return sourceRoots.every((p) => newestMtime(join(root, p)) <= built);
}

function entryOf(relPath) {
  // Longest folder first, so testbench/vitest/ wins over testbench/.
  const byDepth = [...entries].sort((a, b) => b.dir.length - a.dir.length);
  return byDepth.find((e) => relPath === e.dir || relPath.startsWith(e.dir + "/"));
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

/**
 * Point every declaration import that crosses into another entry's folder at that entry's
 * package subpath (`../sdk/address.js` -> `vdtb/sdk`), so api-extractor references the
 * other rollup instead of copying its declarations. See api-extractor/base.json.
 */
export function linkEntriesInDeclarations() {
  const specifier = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"']*)\2/g;
  for (const file of walk(dtsDir)) {
    if (!file.endsWith(".d.ts")) continue;
    const here = entryOf(relative(dtsDir, file).split(sep).join("/"));
    if (!here) continue;
    const text = readFileSync(file, "utf8");
    const out = text.replace(specifier, (whole, lead, quote, spec) => {
      const target = relative(dtsDir, resolve(dirname(file), spec)).split(sep).join("/");
      const owner = entryOf(target);
      return owner && owner !== here ? `${lead}${quote}vdtb/${owner.name}${quote}` : whole;
    });
    if (out !== text) writeFileSync(file, out);
  }
}

export function emitDeclarations() {
  rmSync(dtsDir, { recursive: true, force: true });
  run(bin("tsc"), ["-p", "tsconfig.build.json"]);
  linkEntriesInDeclarations();
  // A package.json without a name stops TypeScript resolving `vdtb/...` as a self-reference to
  // the repo's own package; it must come from node_modules for api-extractor to treat it as an
  // external package (see api-extractor/base.json).
  writeFileSync(join(dtsDir, "package.json"), JSON.stringify({ private: true, type: "module" }) + "\n");
  rmSync(linkedPackageDir, { recursive: true, force: true });
  mkdirSync(linkedPackageDir, { recursive: true });
  const exports = Object.fromEntries(entries.map((e) => [`./${e.name}`, { types: `./${e.name}.d.ts` }]));
  writeFileSync(join(linkedPackageDir, "package.json"), JSON.stringify({ name: "vdtb", type: "module", exports }, null, 2) + "\n");
}

/**
 * Run api-extractor for every entry. `local` rewrites etc/ (accepting changes); otherwise a
 * changed report throws when `failOnChange` and only warns when not. Errors throw unless
 * `failOnError` is false.
 */
export async function extractApi({ local, failOnChange, failOnError = true }) {
  const { Extractor, ExtractorConfig } = await import("@microsoft/api-extractor");
  mkdirSync(distDir, { recursive: true });
  mkdirSync(join(root, "etc"), { recursive: true });
  const changed = [];
  let errors = 0;
  for (const e of entries) {
    const config = ExtractorConfig.loadFileAndPrepare(join(root, "api-extractor", `${e.name}.json`));
    const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false });
    errors += result.errorCount;
    if (result.apiReportChanged && !local) changed.push(`etc/vdtb-${e.name}.api.md`);
    // Copy even after errors, so that later entries still resolve `vdtb/<entry>` and report their own problems.
    const rollup = join(distDir, `${e.name}.d.ts`);
    if (!existsSync(rollup)) continue;
    copyFileSync(rollup, join(distDir, `${e.name}.d.cts`));
    copyFileSync(rollup, join(linkedPackageDir, `${e.name}.d.ts`));
  }
  if (errors > 0) {
    const msg = `api-extractor reported ${errors} error(s)`;
    if (failOnError) throw new Error(msg);
    console.warn(`warning: ${msg}; \`npm run build\` and CI fail on them`);
  }
  if (changed.length > 0) {
    const msg = `public API changed: ${changed.join(", ")}. Review the diff against temp/api/ and run \`npm run api\` to accept it.`;
    if (failOnChange) throw new Error(msg);
    console.warn(`warning: ${msg}`);
  }
}

async function main(argv) {
  const ifNeeded = argv.includes("--if-needed");
  if (ifNeeded && distIsCurrent()) {
    console.log("dist/ is up to date");
    return;
  }
  const ci = process.env.CI === "true" || process.env.CI === "1";
  const started = Date.now();
  rmSync(stampFile, { force: true });
  rmSync(distDir, { recursive: true, force: true });
  run(bin("tsup"), ["--silent"]);
  emitDeclarations();
  await extractApi({ local: false, failOnChange: ci, failOnError: ci || !ifNeeded });
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, new Date().toISOString() + "\n");
  console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
