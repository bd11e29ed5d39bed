/**
 * Custom matchers: `expect(tb).toBeClean()` and `expect(tb).toHaveReported(kind, match?)`.
 * They accept anything with a `reports()` method (a Testbench), so they do not pull the
 * simulator into a test's type graph.
 */
import type { Report, ReportKind } from "../checks/report.js";

/** What the matchers inspect. @public */
export interface HasReports {
  reports(kind?: ReportKind): readonly Report[];
}

/** A matcher result in vitest's shape. @public */
export interface MatcherOutcome {
  pass: boolean;
  message: () => string;
}

function isHasReports(x: unknown): x is HasReports {
  return typeof x === "object" && x !== null && typeof (x as HasReports).reports === "function";
}

function render(reports: readonly Report[]): string {
  return reports.map((r, i) => `#${i + 1} [${r.kind}] ${r.text}`).join("\n\n");
}

/**
 * Pass when the testbench has no reports at all: no leak, DMA-API error, KASAN report, oops,
 * context bug or detector finding. The failure message is the rendered reports.
 * @public
 */
export function toBeClean(received: unknown): MatcherOutcome {
  if (!isHasReports(received)) return { pass: false, message: () => "toBeClean expects a Testbench (an object with reports())" };
  const found = received.reports();
  return {
    pass: found.length === 0,
    message: () =>
      found.length === 0 ? "expected the testbench to have reports, but it is clean" : `expected a clean testbench, found ${found.length} report(s):\n\n${render(found)}`,
  };
}

/**
 * Pass when some report of `kind` exists whose title or text contains `match` (string) or
 * matches it (RegExp).
 * @public
 */
export function toHaveReported(received: unknown, kind: ReportKind, match?: string | RegExp): MatcherOutcome {
  if (!isHasReports(received)) return { pass: false, message: () => "toHaveReported expects a Testbench (an object with reports())" };
  const ofKind = received.reports(kind);
  const hit = ofKind.find((r) => match === undefined || (typeof match === "string" ? r.text.includes(match) : match.test(r.text)));
  const what = `a "${kind}" report${match === undefined ? "" : ` matching ${String(match)}`}`;
  return {
    pass: hit !== undefined,
    message: () =>
      hit
        ? `expected no ${what}, but found:\n\n${hit.text}`
        : `expected ${what}; reports present:\n\n${render(received.reports()) || "(none)"}`,
  };
}

/** The matchers as an object for `expect.extend`. @public */
export const vdtbMatchers = { toBeClean, toHaveReported };
