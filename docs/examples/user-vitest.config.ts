// A vitest config for your own project: registers vdtb's matchers for every test file.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    setupFiles: ["vdtb/vitest"],
    testTimeout: 60_000,
  },
});
