/**
 * The kernel's shared core: dmesg, detector reports, execution context, fault injection and the
 * leak ledger. Every kernel subsystem takes it by injection.
 */
import { inject, injectable } from "../soc/di.js";
import type { Clock } from "../soc/clock.js";
import { CLOCK } from "../soc/tokens.js";
import { FaultInjector } from "../checks/fault-inject.js";
import { LeakLedger } from "../checks/ledger.js";
import { renderReport, type Report, type ReportInput, type ReportKind } from "../checks/report.js";
import { ExecContext } from "./context.js";
import { Dmesg } from "./printk.js";
import { captureSite, NO_SITE, siteFrames, type CallSite } from "./stack.js";

/** Detector switches (all on by default; benchmarks turn them off). @public */
export interface DetectorSwitches {
  /** Remember call sites of allocations and mappings (needed for useful leak reports). */
  stacks: boolean;
  kasan: boolean;
  dmaDebug: boolean;
  deviceCrossCheck: boolean;
  leakLedger: boolean;
  contextChecks: boolean;
}

/** @public */
@injectable()
export class KernelCore {
  readonly dmesg: Dmesg;
  readonly ctx = new ExecContext();
  readonly faults = new FaultInjector();
  readonly ledger = new LeakLedger();
  readonly detectors: DetectorSwitches = {
    stacks: true,
    kasan: true,
    dmaDebug: true,
    deviceCrossCheck: true,
    leakLedger: true,
    contextChecks: true,
  };
  private readonly found: Report[] = [];
  private readonly listeners: ((r: Report) => void)[] = [];

  constructor(@inject(CLOCK) private readonly clock: Clock) {
    this.dmesg = new Dmesg(() => this.clock.now);
  }

  /** Simulated time in nanoseconds. */
  now(): number {
    return this.clock.now;
  }

  /** Capture the caller's site when stacks are on. */
  site(): CallSite {
    return this.detectors.stacks ? captureSite() : NO_SITE;
  }

  /** Turn every detector on or off (benchmarks run with them off). */
  setDetectors(on: boolean): void {
    for (const k of Object.keys(this.detectors) as (keyof DetectorSwitches)[]) this.detectors[k] = on;
    this.ledger.enabled = on;
  }

  /** File a report: stamped with simulated time, printed to dmesg, collected. */
  report(input: ReportInput, site?: CallSite): Report {
    const stack = input.stack ?? (site ? siteFrames(site) : undefined);
    const withStack: ReportInput = stack ? { ...input, stack } : input;
    const r: Report = { ...withStack, time: this.clock.now, text: renderReport(withStack) };
    this.found.push(r);
    this.dmesg.log(r.kind === "warn" ? "warn" : "err", r.text);
    for (const l of this.listeners) l(r);
    return r;
  }

  /** Reports so far, optionally of one kind. */
  reports(kind?: ReportKind): readonly Report[] {
    return kind ? this.found.filter((r) => r.kind === kind) : this.found;
  }

  clearReports(): void {
    this.found.length = 0;
  }

  onReport(listener: (r: Report) => void): void {
    this.listeners.push(listener);
  }

  /**
   * `might_sleep()`: report "sleeping function called from invalid context" when in atomic
   * context. Returns true when the call was legal.
   */
  mightSleep(what: string, site?: CallSite): boolean {
    if (!this.detectors.contextChecks || !this.ctx.inAtomic()) return true;
    const s = site ?? this.site();
    const frames = siteFrames(s);
    const where = frames[0] ?? what;
    this.report(
      {
        kind: "atomic-sleep",
        title: `BUG: sleeping function called from invalid context at ${where}`,
        stack: frames,
        details: { call: what, hardirq: this.ctx.hardirq, preempt: this.ctx.preempt, irqsDisabled: this.ctx.irqsDisabled },
        text: [
          `BUG: sleeping function called from invalid context at ${where}`,
          this.ctx.describe(),
          `preempt_count: ${this.ctx.preempt + (this.ctx.hardirq << 16) + (this.ctx.softirq << 8)}, expected: 0`,
          `call: ${what}`,
          ...frames.map((f) => ` ${f}`),
        ].join("\n"),
      },
    );
    return false;
  }
}
