import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Same mapping as tsconfig "paths": repo tests run against sources; test/package covers dist.
    alias: {
      "vdtb/sdk": src("./sdk/index.ts"),
      "vdtb/testbench": src("./testbench/index.ts"),
      "vdtb/devices": src("./devices/index.ts"),
      "vdtb/drivers": src("./drivers/index.ts"),
      "vdtb/vitest": src("./testbench/vitest/index.ts"),
    },
  },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "temp/**", "**/fixtures/pkg-smoke/**"],
    setupFiles: ["reflect-metadata"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
