/**
 * `vdtb/vitest`: matchers for vitest. Importing this entry (e.g. from `setupFiles`) registers
 * them on vitest's `expect`; their types come with the import.
 *
 * @example
 * ```ts
 * // vitest.config.ts: test: { setupFiles: ["vdtb/vitest"] }
 * await tb.unbindAll();
 * expect(tb).toBeClean();
 * expect(tb).toHaveReported("dma-api", /failed to check map error/);
 * ```
 * @packageDocumentation
 */
import { expect } from "vitest";
import type { ReportKind } from "../checks/report.js";
import { vdtbMatchers } from "./matchers.js";

export { toBeClean, toHaveReported, vdtbMatchers } from "./matchers.js";
export type { HasReports, MatcherOutcome } from "./matchers.js";

expect.extend(vdtbMatchers);

declare module "vitest" {
  // vitest declares Matchers<T = any>; an augmentation must repeat it exactly.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  interface Matchers<T = any> {
    /** No reports at all on the testbench (no leak, DMA-API error, KASAN report, oops...). */
    toBeClean(): T;
    /** Some report of `kind` whose text contains `match` (string) or matches it (RegExp). */
    toHaveReported(kind: ReportKind, match?: string | RegExp): T;
  }
}
