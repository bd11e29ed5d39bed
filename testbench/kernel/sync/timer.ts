/**
 * Kernel timers (`struct timer_list`): expiry in jiffies, callbacks in softirq context. A timer
 * armed and not yet run or deleted is in the leak ledger (kind "timer").
 */
import type { TimerList } from "../../../sdk/index.js";
import type { Owner } from "../facade.js";
import type { CallSite } from "../stack.js";
import type { Softirq, SyncEnv } from "./irqflags.js";
import type { WorkQueue } from "./workqueue.js";
import { jiffyStartNs } from "./time.js";

/** `struct timer_list`. @internal */
export class TimerImpl {
  pending = false;
  running = false;
  expires = 0;
  gen = 0;
  event = 0;
  ledgerId = 0;
  constructor(
    readonly fn: (t: TimerList) => void,
    readonly owner: Owner,
  ) {}
}

/** Timer operations. @internal */
export class Timers {
  private readonly byLedger = new Map<number, TimerImpl>();

  constructor(
    private readonly env: SyncEnv,
    private readonly softirq: Softirq,
    private readonly wq: WorkQueue,
  ) {}

  setup(owner: Owner, fn: (t: TimerList) => void): TimerList {
    return new TimerImpl(fn, owner) as unknown as TimerList;
  }

  /** mod_timer: 1 when the timer was pending, else 0. */
  mod(handle: TimerList, expires: number): number {
    const t = this.impl(handle, "mod_timer");
    if (!t) return 0;
    const { core, clock } = this.env;
    const was = t.pending ? 1 : 0;
    if (t.event !== 0) clock.cancel(t.event);
    t.pending = true;
    t.expires = expires;
    const gen = ++t.gen;
    // An expiry already passed fires at once (Linux: at the next tick).
    t.event = clock.scheduleAt(Math.max(clock.now, jiffyStartNs(expires)), () => {
      t.event = 0;
      this.softirq.raise(() => this.run(t, gen));
    });
    if (t.ledgerId === 0) {
      const site: CallSite = core.site();
      t.ledgerId = core.ledger.add("timer", t.owner, `timer ${t.fn.name || "<anonymous>"} (armed, not deleted)`, site, core.now());
      if (t.ledgerId !== 0) this.byLedger.set(t.ledgerId, t);
    }
    return was;
  }

  /** del_timer_sync: 1 when the timer was pending, else 0. */
  delSync(handle: TimerList): number {
    const t = this.impl(handle, "del_timer_sync");
    if (!t) return 0;
    const { core, clock } = this.env;
    if (core.detectors.contextChecks) {
      if (t.running) {
        core.report({
          kind: "lock",
          title: `BUG: del_timer_sync() of timer ${t.fn.name || "<anonymous>"} from its own callback`,
          text: `BUG: del_timer_sync() of timer ${t.fn.name || "<anonymous>"} from its own callback\n it waits for the running callback, i.e. for itself: *** DEADLOCK ***`,
        }, core.site());
      } else if (core.ctx.hardirq > 0) {
        core.report({ kind: "warn", title: "WARNING: del_timer_sync() in hardirq context (timer is not IRQ-safe)" }, core.site());
      }
    }
    const was = t.pending ? 1 : 0;
    t.pending = false;
    t.gen++;
    if (t.event !== 0) clock.cancel(t.event);
    t.event = 0;
    this.forget(t);
    return was;
  }

  private run(t: TimerImpl, gen: number): void {
    if (!t.pending || gen !== t.gen) return;
    t.pending = false;
    this.forget(t);
    t.running = true;
    try {
      t.fn(t as unknown as TimerList);
    } catch (e) {
      this.wq.reportCrash(`timer function ${t.fn.name || "<anonymous>"}`, t.owner, e);
    } finally {
      t.running = false;
    }
  }

  private forget(t: TimerImpl): void {
    if (t.ledgerId !== 0 && !t.pending) {
      this.env.core.ledger.remove(t.ledgerId);
      this.byLedger.delete(t.ledgerId);
      t.ledgerId = 0;
    }
  }

  /** Leak reclaim after unbind: deactivate the timer behind a ledger entry. */
  reclaimLeak(ledgerId: number): boolean {
    const t = this.byLedger.get(ledgerId);
    if (!t) return false;
    t.pending = false;
    t.gen++;
    if (t.event !== 0) this.env.clock.cancel(t.event);
    t.event = 0;
    this.forget(t);
    return true;
  }

  private impl(handle: TimerList, call: string): TimerImpl | null {
    if (handle instanceof TimerImpl) return handle;
    const core = this.env.core;
    core.report({ kind: "warn", title: `WARNING: ${call}() on an object that timer_setup() did not return` }, core.site());
    return null;
  }
}
