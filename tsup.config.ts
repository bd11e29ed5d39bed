import { defineConfig } from "tsup";

/**
 * JavaScript only: declarations come from tsc + api-extractor (scripts/build.mjs), because
 * tsup 8's own dts step breaks under TypeScript 6.
 *
 * `splitting` is on for CJS as well as ESM so that code shared between entries (the SDK's
 * token symbols, error classes) exists once per format: a driver importing tokens from
 * `vdtb/sdk` must get the very objects `vdtb/testbench` registers under.
 *
 * Runtime dependencies stay external (tsup's default for `dependencies`); vitest is an
 * optional peer used only by `vdtb/vitest`.
 *
 * tsyringe throws at import time without the Reflect polyfill, and an ES module cannot import
 * anything before its hoisted imports run. Rather than rely on every entry keeping
 * `import "./polyfill.js"` first, esbuild injects testbench/polyfill.ts ahead of each entry's
 * code, so `reflect-metadata` is always the first thing a bundle loads.
 */
const polyfill = ["testbench/polyfill.ts"];
export default defineConfig([
  {
    entry: {
      sdk: "sdk/index.ts",
      testbench: "testbench/index.ts",
      devices: "devices/index.ts",
      drivers: "drivers/index.ts",
      vitest: "testbench/vitest/index.ts",
    },
    format: ["esm", "cjs"],
    target: "node20",
    platform: "node",
    sourcemap: true,
    splitting: true,
    dts: false,
    clean: false,
    outDir: "dist",
    external: ["vitest"],
    inject: polyfill,
  },
  {
    entry: { cli: "testbench/cli/main.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    sourcemap: true,
    dts: false,
    clean: false,
    outDir: "dist",
    external: ["vitest"],
    inject: polyfill,
    banner: { js: "#!/usr/bin/env node" },
  },
]);
