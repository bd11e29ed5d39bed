/**
 * Runs planned conformance cases: each case boots its own testbench (board, variant overrides,
 * seed, the target's devices and driver, not yet bound), runs, unbinds everything, and must end
 * clean unless it expects reports. Results carry the diagnosis, dmesg and trace excerpts, display
 * snapshots and the command that replays the case.
 */
import { Testbench } from "../harness/testbench.js";
import { encodePng } from "../harness/png.js";
import { traceKindName } from "../soc/trace.js";
import type { CaseResult, ConformanceRun } from "./results.js";
import type { PlannedCase } from "./plan.js";

/** The testbench type conformance cases receive. @public */
export type ConformanceTestbench = Testbench;

/** Options of {@link runConformance}. @public */
export interface RunOptions {
  /** Called after each case (progress bars). */
  readonly onCase?: (result: CaseResult, done: number, total: number) => void;
  readonly shard?: { readonly index: number; readonly count: number };
  /** Package version for the report. */
  readonly version?: string;
  /**
   * The replay command printed with each result. The default (`npx vdtb replay <seed> '<id>'`)
   * replays built-in targets; a plan of your own should say how to rerun one case in your
   * project, e.g. `(p) => \`VDTB_CASE='${p.id}' npx vitest run conformance.test.ts\``.
   */
  readonly replay?: (p: PlannedCase<Testbench>) => string;
}

const DMESG_TAIL = 40;
const TRACE_TAIL = 40;

function tail(text: string, lines: number): string {
  const all = text.split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n");
}

function traceExcerpt(tb: Testbench): string {
  const recs = tb.soc.trace.snapshot();
  return recs
    .slice(Math.max(0, recs.length - TRACE_TAIL))
    .map((r) => `${(r.time / 1000).toFixed(3).padStart(12)}us ${traceKindName(r.kind).padEnd(12)} ${r.name ?? ""} addr=0x${r.addr.toString(16)} size=${r.size} value=0x${(r.value >>> 0).toString(16)}`)
    .join("\n");
}

/** The command that replays one case. @public */
export function replayCommand(p: Pick<PlannedCase, "seed" | "id">): string {
  return `npx vdtb replay ${p.seed} '${p.id}'`;
}

/** Run one planned case. Never throws: failures become a failed result. @public */
export async function runCase(p: PlannedCase<Testbench>, replay: (p: PlannedCase<Testbench>) => string = replayCommand): Promise<CaseResult> {
  const started = performance.now();
  const base = {
    suite: p.suite.id,
    name: p.case.name,
    driver: p.target.driver.name,
    board: p.board,
    seed: p.seed,
    variant: p.variant,
    replay: replay(p),
  };
  let tb: Testbench | undefined;
  try {
    const devices = p.target.devices();
    tb = await Testbench.boot({
      board: p.board,
      seed: p.seed,
      overrides: p.suite.overrides?.(p.variant) ?? {},
      devices,
      drivers: [p.target.driver],
      bind: false,
    });
    let diagnosis: string | undefined;
    try {
      await p.case.run({ tb, target: p.target, board: p.board, seed: p.seed, variant: p.variant });
      await tb.unbindAll();
    } catch (err) {
      diagnosis = err instanceof Error ? err.message : String(err);
      await tb.unbindAll().catch(() => undefined);
    }
    const reports = [...tb.reports()];
    if (!diagnosis && !p.case.expectsReports && reports.length > 0) {
      diagnosis = `the testbench is not clean: ${reports.length} report(s), first: ${reports[0]!.title}`;
    }
    const snapshots = devices.flatMap((d, i) => {
      const s = d.snapshot?.();
      return s ? [{ name: `${d.model}${i}`, pngBase64: Buffer.from(encodePng(s.rgba, s.width, s.height)).toString("base64") }] : [];
    });
    return {
      ...base,
      status: diagnosis ? "failed" : "passed",
      durationMs: performance.now() - started,
      ...(diagnosis ? { diagnosis, dmesg: tail(tb.dmesg(), DMESG_TAIL), trace: traceExcerpt(tb) } : {}),
      reports: diagnosis ? reports : [],
      ...(snapshots.length ? { snapshots } : {}),
    };
  } catch (err) {
    return {
      ...base,
      status: "failed",
      durationMs: performance.now() - started,
      diagnosis: `the case could not run: ${err instanceof Error ? err.message : String(err)}`,
      reports: tb ? [...tb.reports()] : [],
    };
  } finally {
    await tb?.dispose();
  }
}

/** Run a plan (or a shard of it) case by case. @public */
export async function runConformance(plan: readonly PlannedCase<Testbench>[], options: RunOptions = {}): Promise<ConformanceRun> {
  const started = new Date().toISOString();
  const cases: CaseResult[] = [];
  for (const p of plan) {
    const r = await runCase(p, options.replay);
    cases.push(r);
    options.onCase?.(r, cases.length, plan.length);
  }
  return {
    tool: "vdtb",
    version: options.version ?? "0.0.0",
    started,
    ...(options.shard ? { shard: options.shard } : {}),
    cases,
  };
}
