import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "temp/**", "**/fixtures/pkg-smoke/**"],
    setupFiles: ["reflect-metadata"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
