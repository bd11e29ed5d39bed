/**
 * The `vdtb` subcommands as functions (the parser in main.ts only maps arguments onto them), so
 * tests can call them directly. Each returns an exit code: 0 success, 1 failures found.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { Testbench } from "../harness/testbench.js";
import { toChromeTrace } from "../harness/chrome-trace.js";
import { encodePng } from "../harness/png.js";
import { readProc } from "../kernel/procfs/index.js";
import { builtinSuites, builtinTargets } from "../conformance/builtin.js";
import { planConformance, shardPlan, type PlannedCase } from "../conformance/plan.js";
import { runConformance } from "../conformance/runner.js";
import { summarize, toHtml, toJson, toJUnit, type CaseResult, type ConformanceRun } from "../conformance/results.js";
import { builtinDevices, builtinDrivers } from "./default-board.js";
import { runDemo } from "./demo.js";

/** Where command output goes (stdout/stderr in the CLI, buffers in tests). @public */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Show progress bars (a TTY). */
  readonly progress: boolean;
}

/** Package version, for reports. @internal */
export const VDTB_VERSION = "0.1.0";

async function bootDefault(board: string, seed: number): Promise<Testbench> {
  return Testbench.boot({ board, seed, devices: builtinDevices(board), drivers: builtinDrivers() });
}

/** Run a plan with a progress bar when interactive. @internal */
async function runWithProgress(plan: readonly PlannedCase[], io: CliIo, shard?: { index: number; count: number }): Promise<ConformanceRun> {
  const bar = io.progress ? new SingleBar({ format: "conformance [{bar}] {value}/{total} {failed} failed | {case}", hideCursor: true }, Presets.shades_classic) : undefined;
  let failed = 0;
  bar?.start(plan.length, 0, { failed: 0, case: "" });
  const run = await runConformance(plan, {
    version: VDTB_VERSION,
    ...(shard ? { shard } : {}),
    onCase: (r: CaseResult, done: number) => {
      if (r.status === "failed") failed++;
      bar?.update(done, { failed, case: `${r.suite}/${r.name}@${r.board}` });
    },
  });
  bar?.stop();
  return run;
}

function writeReports(run: ConformanceRun, files: { json?: string; junit?: string; html?: string }): string[] {
  const written: string[] = [];
  const put = (file: string | undefined, text: string) => {
    if (!file) return;
    const path = resolve(file);
    mkdirSync(resolve(path, ".."), { recursive: true });
    writeFileSync(path, text);
    written.push(path);
  };
  put(files.json, toJson(run));
  put(files.junit, toJUnit(run));
  put(files.html, toHtml(run));
  return written;
}

function printFailures(run: ConformanceRun, io: CliIo): void {
  for (const c of run.cases.filter((x) => x.status === "failed")) {
    io.err(`FAIL ${c.driver}:${c.suite}/${c.name}@${c.board}#${c.seed}: ${c.diagnosis ?? "failed"}`);
    io.err(`     replay: ${c.replay}`);
  }
}

/** Options of {@link conformanceCommand}. @public */
export interface ConformanceCommandOptions {
  readonly seeds: number;
  readonly shard?: { index: number; count: number };
  readonly filter?: string;
  readonly json?: string;
  readonly junit?: string;
  readonly html?: string;
}

/** `vdtb conformance`: every built-in driver through hygiene plus its class suite. @public */
export async function conformanceCommand(opts: ConformanceCommandOptions, io: CliIo): Promise<number> {
  const seeds = Array.from({ length: opts.seeds }, (_, i) => i + 1);
  let plan = planConformance(builtinTargets(), builtinSuites(), { seeds, ...(opts.filter ? { filter: opts.filter } : {}) });
  if (opts.shard) plan = shardPlan(plan, opts.shard.index, opts.shard.count);
  io.err(`vdtb conformance: ${plan.length} case(s)${opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count})` : ""}`);
  const run = await runWithProgress(plan, io, opts.shard);
  for (const f of writeReports(run, opts)) io.err(`wrote ${f}`);
  printFailures(run, io);
  const s = summarize(run);
  io.out(`${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ""}`);
  return s.failed > 0 ? 1 : 0;
}

/** `vdtb replay <seed> <case>`: run exactly one case again. @public */
export async function replayCaseCommand(seed: number, id: string, io: CliIo): Promise<number> {
  const plan = planConformance(builtinTargets(), builtinSuites(), { seeds: [seed] }).filter((p) => p.id === id);
  if (plan.length === 0) {
    io.err(`no case "${id}" with seed ${seed}; case ids look like vfb:framebuffer/pan@pc#1 (see the report or vdtb conformance output)`);
    return 2;
  }
  const run = await runConformance(plan, { version: VDTB_VERSION });
  const c = run.cases[0]!;
  io.out(`${c.status.toUpperCase()} ${id}${c.diagnosis ? `: ${c.diagnosis}` : ""}`);
  for (const r of c.reports) io.out(r.text);
  if (c.dmesg) io.out(`--- dmesg (tail) ---\n${c.dmesg}`);
  return c.status === "failed" ? 1 : 0;
}

/** `vdtb proc <file>`: boot the board with its built-in devices and print a /proc file. @public */
export async function procCommand(file: string, opts: { board: string; seed: number }, io: CliIo): Promise<number> {
  const tb = await bootDefault(opts.board, opts.seed);
  try {
    if (file === "maps") {
      const demo = await runDemo(tb);
      io.out(readProc(tb, "maps", demo.process.pid).trimEnd());
    } else {
      io.out(readProc(tb, file).trimEnd());
    }
    return 0;
  } finally {
    await tb.dispose();
  }
}

/** `vdtb trace`: run the demo workload and write its Chrome/Perfetto trace. @public */
export async function traceCommand(opts: { board: string; seed: number; out: string }, io: CliIo): Promise<number> {
  const tb = await bootDefault(opts.board, opts.seed);
  try {
    await runDemo(tb);
    const path = resolve(opts.out);
    mkdirSync(resolve(path, ".."), { recursive: true });
    const trace = toChromeTrace(tb.soc.trace.snapshot(), tb.reports(), deviceNames(tb));
    writeFileSync(path, JSON.stringify(trace));
    io.out(`wrote ${path} (${trace.traceEvents.length} events); open it in https://ui.perfetto.dev`);
    return 0;
  } finally {
    await tb.dispose();
  }
}

function deviceNames(tb: Testbench): Map<number, string> {
  return new Map(tb.drivers.devices().map((d) => [d.requester, `${d.name} (${d.model.model})`]));
}

/** Options of {@link runCommand}. @public */
export interface RunCommandOptions {
  readonly board: string;
  readonly seed: number;
  readonly out: string;
  readonly seeds: number;
  /** Only the default board's cases of the conformance run. */
  readonly quick: boolean;
}

/**
 * `vdtb run`, the main job: boot the board with every built-in device and driver, run the demo,
 * write the framebuffer PNG and the trace, unbind and check the testbench is clean, then run the
 * built-in conformance and write its reports, all under `out/`.
 * @public
 */
export async function runCommand(opts: RunCommandOptions, io: CliIo): Promise<number> {
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const tb = await bootDefault(opts.board, opts.seed);
  let clean: boolean;
  try {
    io.out(tb.memoryMap());
    io.out(`bound: ${tb.drivers.boundDevices().map((b) => `${b.device.name} → ${b.driver.name}`).join(", ") || "(none)"}`);
    const demo = await runDemo(tb);
    const fb = tb.drivers.devices().find((d) => d.model.snapshot)?.model.snapshot?.();
    if (fb) {
      writeFileSync(join(out, "fb0.png"), encodePng(fb.rgba, fb.width, fb.height));
      io.out(`wrote ${join(out, "fb0.png")} (${fb.width}x${fb.height})`);
    }
    writeFileSync(join(out, "trace.json"), JSON.stringify(toChromeTrace(tb.soc.trace.snapshot(), tb.reports(), deviceNames(tb))));
    io.out(`wrote ${join(out, "trace.json")}`);
    // The demo process exits (closing its files and mappings) before the drivers go away.
    await demo.process.exit();
    await tb.unbindAll();
    writeFileSync(join(out, "dmesg.txt"), tb.dmesg() + "\n");
    clean = tb.reports().length === 0;
    io.out(clean ? "unbound everything: the testbench is clean" : `unbound everything: ${tb.reports().length} report(s):\n${tb.reports().map((r) => r.text).join("\n\n")}`);
  } finally {
    await tb.dispose();
  }
  const seeds = Array.from({ length: opts.seeds }, (_, i) => i + 1);
  let plan = planConformance(builtinTargets(), builtinSuites(), { seeds });
  if (opts.quick) plan = plan.filter((p) => p.board === opts.board);
  io.err(`conformance: ${plan.length} case(s)`);
  const run = await runWithProgress(plan, io);
  for (const f of writeReports(run, { json: join(out, "report.json"), junit: join(out, "report.xml"), html: join(out, "report.html") })) io.out(`wrote ${f}`);
  printFailures(run, io);
  const s = summarize(run);
  io.out(`conformance: ${s.passed} passed, ${s.failed} failed`);
  return clean && s.failed === 0 ? 0 : 1;
}
