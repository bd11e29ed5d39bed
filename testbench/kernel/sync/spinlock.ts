/**
 * Spinlocks with the checks of CONFIG_DEBUG_SPINLOCK (recursion, already unlocked, wrong owner)
 * and a small lockdep: a lock used both in hardirq (softirq) context and in process context with
 * interrupts (softirqs) enabled is reported as an inconsistent lock state, whether or not the
 * interrupt happened to arrive inside the critical section in this run. On one simulated CPU a
 * second acquisition cannot spin (it would hang the host), so it is reported and counted as a
 * nested hold that the matching unlocks release.
 */
import type { IrqFlags, SpinLock } from "../../../sdk/index.js";
import type { Task } from "../sched/task.js";
import { siteFrames } from "../stack.js";
import { hexFlags, type LocalIrq, type SyncEnv } from "./irqflags.js";

/** A spinlock (`spinlock_t`) behind the facade's opaque handle. @internal */
export class SpinLockImpl {
  depth = 0;
  owner: Task | null = null;
  /** Flags saved by each nested spin_lock_irqsave, innermost last. */
  readonly saved: number[] = [];
  // lockdep usage: where first seen in each state (frames, for the report).
  inHardirq: string | null = null;
  hardirqOn: string | null = null;
  inSoftirq: string | null = null;
  softirqOn: string | null = null;
  inconsistentReported = false;

  constructor(readonly name: string) {}

  get held(): boolean {
    return this.depth > 0;
  }
}

/** The spinlock operations. @internal */
export class SpinLocks {
  private anon = 0;

  constructor(
    private readonly env: SyncEnv,
    private readonly local: LocalIrq,
  ) {}

  init(name?: string): SpinLock {
    return new SpinLockImpl(name ?? `spinlock#${++this.anon}`) as unknown as SpinLock;
  }

  lock(handle: SpinLock): void {
    const l = this.impl(handle, "spin_lock");
    if (!l) return;
    const core = this.env.core;
    const cur = this.env.sched.current();
    if (l.depth > 0 && core.detectors.contextChecks) {
      const what = l.owner === cur ? "recursion" : "cpu recursion";
      this.bug(l, what, cur);
    }
    l.depth++;
    l.owner = cur;
    core.ctx.preempt++;
    if (core.detectors.contextChecks) this.noteUsage(l);
  }

  unlock(handle: SpinLock): void {
    const l = this.impl(handle, "spin_unlock");
    if (!l) return;
    const core = this.env.core;
    const cur = this.env.sched.current();
    if (l.depth === 0) {
      if (core.detectors.contextChecks) this.bug(l, "already unlocked", cur);
      return;
    }
    if (l.owner !== cur && core.detectors.contextChecks) this.bug(l, "wrong owner", cur);
    l.depth--;
    if (l.depth === 0) l.owner = null;
    if (core.ctx.preempt > 0) core.ctx.preempt--;
  }

  trylock(handle: SpinLock): boolean {
    const l = this.impl(handle, "spin_trylock");
    if (!l || l.depth > 0) return false;
    this.lock(handle);
    return true;
  }

  lockIrq(handle: SpinLock): void {
    if (this.env.core.ctx.irqsDisabled && this.env.core.detectors.contextChecks) {
      this.env.core.report({
        kind: "lock",
        title: `WARNING: spin_lock_irq(${this.nameOf(handle)}) with interrupts already disabled: spin_unlock_irq() will enable them`,
        details: { hint: "use spin_lock_irqsave/spin_unlock_irqrestore where interrupts may already be off" },
      }, this.env.core.site());
    }
    this.local.disable();
    this.lock(handle);
  }

  unlockIrq(handle: SpinLock): void {
    this.unlock(handle);
    this.local.enable();
  }

  lockIrqsave(handle: SpinLock): IrqFlags {
    const flags = this.local.save();
    this.lock(handle);
    const l = handle as unknown as SpinLockImpl;
    if (l instanceof SpinLockImpl) l.saved.push(flags);
    return flags;
  }

  unlockIrqrestore(handle: SpinLock, flags: IrqFlags): void {
    const l = handle as unknown as SpinLockImpl;
    if (l instanceof SpinLockImpl && l.depth > 0) {
      const expected = l.saved.pop();
      if (expected !== undefined && expected !== flags && this.env.core.detectors.contextChecks) {
        const owner = this.env.sched.current();
        this.env.core.report({
          kind: "lock",
          title: `BUG: spinlock irqsave/irqrestore mismatch on CPU#0, ${owner.comm}/${owner.pid}`,
          text: [
            `BUG: spinlock irqsave/irqrestore mismatch on CPU#0, ${owner.comm}/${owner.pid}`,
            ` lock: ${l.name}: spin_unlock_irqrestore() got flags ${hexFlags(flags)}, its spin_lock_irqsave() saved ${hexFlags(expected)}`,
            ` interrupts will be ${this.local.issued(flags) && (Math.floor(flags / 0x200) & 1) === 1 ? "enabled" : "disabled"} after the restore`,
          ].join("\n"),
          details: { lock: l.name, flags, saved: expected },
        }, this.env.core.site());
      }
    }
    this.unlock(handle);
    this.local.restore(flags);
  }

  private nameOf(handle: SpinLock): string {
    const l = handle as unknown as SpinLockImpl;
    return l instanceof SpinLockImpl ? l.name : "?";
  }

  private impl(handle: SpinLock, call: string): SpinLockImpl | null {
    const l = handle as unknown as SpinLockImpl;
    if (l instanceof SpinLockImpl) return l;
    const cur = this.env.sched.current();
    this.env.core.report({
      kind: "lock",
      title: `BUG: spinlock bad magic on CPU#0, ${cur.comm}/${cur.pid}`,
      text: `BUG: spinlock bad magic on CPU#0, ${cur.comm}/${cur.pid}\n ${call}() on an object that spin_lock_init() did not return`,
    }, this.env.core.site());
    return null;
  }

  private bug(l: SpinLockImpl, what: string, cur: Task): void {
    const title = `BUG: spinlock ${what} on CPU#0, ${cur.comm}/${cur.pid}`;
    const owner = l.owner ? `${l.owner.comm}/${l.owner.pid}` : "<none>";
    this.env.core.report({
      kind: "lock",
      title,
      text: [title, ` lock: ${l.name}, .magic: dead4ead, .owner: ${owner}, .owner_cpu: ${l.owner ? 0 : -1}`].join("\n"),
      details: { lock: l.name, what },
    }, this.env.core.site());
  }

  private noteUsage(l: SpinLockImpl): void {
    const ctx = this.env.core.ctx;
    let changed = false;
    if (ctx.hardirq > 0) {
      if (l.inHardirq === null) (l.inHardirq = this.here()), (changed = true);
    } else if (ctx.softirq > 0) {
      if (l.inSoftirq === null) (l.inSoftirq = this.here()), (changed = true);
      if (!ctx.irqsDisabled && l.hardirqOn === null) (l.hardirqOn = this.here()), (changed = true);
    } else if (!ctx.irqsDisabled) {
      if (l.hardirqOn === null) (l.hardirqOn = this.here()), (changed = true);
      if (l.softirqOn === null) (l.softirqOn = this.here()), (changed = true);
    }
    if (!changed || l.inconsistentReported) return;
    let state: string | null = null;
    let first = "";
    let second = "";
    if (l.inHardirq !== null && l.hardirqOn !== null) {
      state = "{HARDIRQ-ON-W} -> {IN-HARDIRQ-W}";
      first = `taken with interrupts enabled at: ${l.hardirqOn}`;
      second = `taken in hardirq context at: ${l.inHardirq}`;
    } else if (l.inSoftirq !== null && l.softirqOn !== null) {
      state = "{SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W}";
      first = `taken with softirqs enabled at: ${l.softirqOn}`;
      second = `taken in softirq context at: ${l.inSoftirq}`;
    }
    if (state === null) return;
    l.inconsistentReported = true;
    this.env.core.report({
      kind: "lock",
      title: "WARNING: inconsistent lock state",
      text: [
        "WARNING: inconsistent lock state",
        `inconsistent ${state} usage.`,
        ` lock: ${l.name}`,
        ` ${first}`,
        ` ${second}`,
        "possible unsafe locking scenario: the interrupt arrives while the lock is held and spins on it forever",
        "use spin_lock_irqsave() (or spin_lock_bh()) outside the interrupt handler",
      ].join("\n"),
      details: { lock: l.name, state },
    }, this.env.core.site());
  }

  private here(): string {
    return siteFrames(this.env.core.site(), 1)[0] ?? "?";
  }
}
