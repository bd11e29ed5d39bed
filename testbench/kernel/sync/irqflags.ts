/**
 * Local interrupt state and softirqs. `local_irq_disable` clears the CPU's interrupt flag in both
 * the kernel's context (`core.ctx.irqsDisabled`, what might_sleep checks) and the interrupt
 * controller (so device interrupts pend until re-enabled). Softirqs (tasklets, timers) run from a
 * clock event in softirq context, never while interrupts are off or inside another interrupt.
 */
import type { IrqFlags } from "../../../sdk/index.js";
import type { Clock } from "../../soc/clock.js";
import type { InterruptController } from "../../soc/irq.js";
import type { KernelCore } from "../core.js";
import type { Scheduler } from "../sched/scheduler.js";

/** What the sync pieces share. @internal */
export interface SyncEnv {
  readonly core: KernelCore;
  readonly clock: Clock;
  readonly irqc: InterruptController;
  readonly sched: Scheduler;
}

// Saved flags look like x86 EFLAGS (bit 1 always set, IF = bit 9) with a save serial above bit 10,
// so a restore with flags from a different save (or made up) is recognisable.
const FLAGS_FIXED = 0x2;
const FLAGS_IF = 0x200;
const FLAGS_SERIAL = 0x400;

/** Hex for flag values in reports. @internal */
export function hexFlags(f: number): string {
  // A driver may pass anything (undefined, null): print it rather than fail the report.
  return typeof f === "number" ? `0x${f.toString(16)}` : String(f);
}

/** The CPU's interrupt flag. @internal */
export class LocalIrq {
  private serial = 0;
  /** Called when interrupts become enabled (softirqs that waited can run). */
  onEnable: () => void = () => {};

  constructor(private readonly env: SyncEnv) {}

  get disabled(): boolean {
    return this.env.core.ctx.irqsDisabled;
  }

  disable(): void {
    this.env.core.ctx.irqsDisabled = true;
    this.env.irqc.disableLocal();
  }

  enable(): void {
    this.env.core.ctx.irqsDisabled = false;
    this.env.irqc.enableLocal();
    this.onEnable();
  }

  /** local_irq_save: disable and return the previous state. */
  save(): IrqFlags {
    const wasEnabled = !this.env.core.ctx.irqsDisabled;
    this.disable();
    return (++this.serial * FLAGS_SERIAL + FLAGS_FIXED + (wasEnabled ? FLAGS_IF : 0)) as IrqFlags;
  }

  /** True for a value some save returned. */
  issued(flags: number): boolean {
    if (typeof flags !== "number" || !Number.isInteger(flags) || flags < FLAGS_SERIAL) return false;
    const serial = Math.floor(flags / FLAGS_SERIAL);
    const low = flags - serial * FLAGS_SERIAL;
    return serial <= this.serial && (low === FLAGS_FIXED || low === FLAGS_FIXED + FLAGS_IF);
  }

  /** local_irq_restore: the interrupt flag as saved in `flags`. */
  restore(flags: IrqFlags): void {
    if (!this.issued(flags) && this.env.core.detectors.contextChecks) {
      this.env.core.report({
        kind: "lock",
        title: `WARNING: local_irq_restore() with flags ${hexFlags(flags)} not returned by local_irq_save()`,
      }, this.env.core.site());
    }
    const f = Number(flags) || 0;
    if ((Math.floor(f / FLAGS_IF) & 1) === 1) this.enable();
    else this.disable();
  }
}

/** Pending softirq work (tasklets, expired timers), run in softirq context from a clock event. @internal */
export class Softirq {
  private pending: (() => void)[] = [];
  private scheduled = false;
  private readonly runner = (): void => this.run();

  constructor(private readonly env: SyncEnv) {}

  /** raise_softirq: queue `item` to run at the next opportunity. */
  raise(item: () => void): void {
    this.pending.push(item);
    this.kick();
  }

  /** Make sure pending items get a chance to run (after interrupts are enabled, at irq exit). */
  kick(): void {
    if (this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    this.env.clock.schedule(0, this.runner);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private run(): void {
    this.scheduled = false;
    const ctx = this.env.core.ctx;
    // Not now: interrupts off or already inside an interrupt. Re-kicked at local_irq_enable,
    // at the end of hardirq dispatch, and after this batch.
    if (ctx.irqsDisabled || ctx.hardirq > 0 || ctx.softirq > 0) return;
    const items = this.pending;
    this.pending = [];
    ctx.softirq++;
    try {
      for (const item of items) item();
    } finally {
      ctx.softirq--;
    }
    this.kick();
  }
}
