// Bundle bench/run.ts with esbuild (decorators per tsconfig) and run it with node.
// Usage: npm run bench [-- --quick]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = resolve(root, "temp/bench/run.mjs");

await build({
  entryPoints: [resolve(root, "bench/run.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  tsconfig: resolve(root, "tsconfig.json"),
  logLevel: "warning",
  // CommonJS dependencies bundled into ESM may call require() for node builtins.
  banner: { js: "import { createRequire as __vdtbCreateRequire } from 'node:module'; const require = __vdtbCreateRequire(import.meta.url);" },
});

const r = spawnSync(process.execPath, ["--expose-gc", outfile, ...process.argv.slice(2)], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
