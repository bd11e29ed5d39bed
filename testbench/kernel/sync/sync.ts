/**
 * The synchronisation and time subsystem: the `KernelSync` slice of the facade (spinlocks,
 * interrupt state, mutexes, completions, wait queues, sleeping and busy-wait delays, jiffies, work
 * items, tasklets, timers). Sleeping calls go through the scheduler pump; busy-waits run the clock
 * synchronously (device events happen, interrupts stay pending while local interrupts are off).
 *
 * Timing choices: `msleep(ms)` wakes exactly `ms` later (Linux rounds up to jiffies and adds one);
 * `usleep_range(min, max)` wakes after `max` (an idle Linux system fires the hrtimer at its hard
 * expiry); `*_timeout` waits are jiffy-based as in Linux.
 */
import { inject, injectable } from "../../soc/di.js";
import type { Clock } from "../../soc/clock.js";
import type { InterruptController } from "../../soc/irq.js";
import { CLOCK, IRQ } from "../../soc/tokens.js";
import type { IrqFlags, KernelSync, SpinLock, WorkStruct, TimerList } from "../../../sdk/index.js";
import type { LedgerEntry } from "../../checks/ledger.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { SOFT_LOCKUP_NS, softLockup } from "../oops.js";
import type { Scheduler } from "../sched/scheduler.js";
import { KERNEL_CORE, SCHEDULER } from "../tokens.js";
import { Completions, WaitQueues } from "./completion.js";
import { LocalIrq, Softirq, type SyncEnv } from "./irqflags.js";
import { Mutexes } from "./mutex.js";
import { SpinLocks } from "./spinlock.js";
import { jiffiesAt, jiffiesToMsecs, msecsToJiffies, usecsToJiffies } from "./time.js";
import { Timers } from "./timer.js";
import { WorkQueue } from "./workqueue.js";

/** @public */
@injectable()
export class SyncSubsystem implements KernelApiPart {
  /** @internal */ readonly env: SyncEnv;
  /** The CPU's interrupt flag. @internal */ readonly local: LocalIrq;
  /** Pending softirq work; the IRQ subsystem kicks it at irq exit. @internal */ readonly softirq: Softirq;
  /** @internal */ readonly spin: SpinLocks;
  /** @internal */ readonly mutexes: Mutexes;
  /** @internal */ readonly completions: Completions;
  /** @internal */ readonly waitqueues: WaitQueues;
  /** @internal */ readonly workqueue: WorkQueue;
  /** @internal */ readonly timers: Timers;

  constructor(
    @inject(KERNEL_CORE) readonly core: KernelCore,
    @inject(CLOCK) readonly clock: Clock,
    @inject(IRQ) readonly irqc: InterruptController,
    @inject(SCHEDULER) readonly sched: Scheduler,
  ) {
    this.env = { core, clock, irqc, sched };
    this.local = new LocalIrq(this.env);
    this.softirq = new Softirq(this.env);
    this.local.onEnable = () => this.softirq.kick();
    this.spin = new SpinLocks(this.env, this.local);
    this.mutexes = new Mutexes(this.env);
    this.completions = new Completions(this.env);
    this.waitqueues = new WaitQueues(this.env);
    this.workqueue = new WorkQueue(this.env, this.softirq);
    this.timers = new Timers(this.env, this.softirq, this.workqueue);
  }

  /**
   * Reclaimer for leaked "work" and "timer" ledger entries (register with the driver core's
   * LeakReclaimers): cancels the item so it never runs into an unbound driver.
   */
  reclaimLeak(entry: LedgerEntry): boolean {
    if (entry.kind === "work") return this.workqueue.reclaimLeak(entry.id);
    if (entry.kind === "timer") return this.timers.reclaimLeak(entry.id);
    return false;
  }

  /** Current jiffies (HZ = 250 from simulated time). */
  get jiffies(): number {
    return jiffiesAt(this.clock.now);
  }

  /** Sleep `ns` of simulated time in `call` (might_sleep first). */
  async sleepNs(ns: number, call: string): Promise<void> {
    const site = this.core.site();
    this.core.mightSleep(call, site);
    const d = ns > 0 ? ns : 0;
    await this.sched.block(call, site, this.clock.now + d).promise;
  }

  /**
   * Busy-wait `ns`: events due meanwhile run now; allowed in atomic context. A wait past the
   * soft-lockup threshold (an endless one included) is the watchdog's oops.
   */
  busyWait(ns: number, driver?: string): void {
    if (!(ns > 0)) return;
    if (ns > SOFT_LOCKUP_NS) {
      this.clock.runUntil(this.clock.now + SOFT_LOCKUP_NS);
      throw softLockup(this.core, `busy-wait of ${ns} ns`, this.core.site(), driver);
    }
    this.clock.runUntil(this.clock.now + ns);
  }

  api(owner: Owner): Partial<KernelSync> {
    const s = this;
    const spin = this.spin;
    const mx = this.mutexes;
    const cp = this.completions;
    const wq = this.waitqueues;
    const work = this.workqueue;
    const timers = this.timers;
    const ctx = this.core.ctx;
    return {
      spin_lock_init: (name?: string) => spin.init(name),
      spin_lock: (l: SpinLock) => spin.lock(l),
      spin_unlock: (l: SpinLock) => spin.unlock(l),
      spin_lock_irq: (l: SpinLock) => spin.lockIrq(l),
      spin_unlock_irq: (l: SpinLock) => spin.unlockIrq(l),
      spin_lock_irqsave: (l: SpinLock) => spin.lockIrqsave(l),
      spin_unlock_irqrestore: (l: SpinLock, flags: IrqFlags) => spin.unlockIrqrestore(l, flags),
      spin_trylock: (l: SpinLock) => spin.trylock(l),
      local_irq_save: () => s.local.save(),
      local_irq_restore: (flags: IrqFlags) => s.local.restore(flags),
      local_irq_disable: () => s.local.disable(),
      local_irq_enable: () => s.local.enable(),
      irqs_disabled: () => ctx.irqsDisabled,
      in_interrupt: () => ctx.inInterrupt(),
      in_atomic: () => ctx.inAtomic(),
      might_sleep: () => void s.core.mightSleep("might_sleep"),

      mutex_init: (name?: string) => mx.init(name),
      mutex_lock: (m) => mx.lock(m, "mutex_lock"),
      mutex_lock_interruptible: async (m) => {
        await mx.lock(m, "mutex_lock_interruptible");
        return 0;
      },
      mutex_trylock: (m) => mx.trylock(m),
      mutex_unlock: (m) => mx.unlock(m),
      mutex_is_locked: (m) => mx.isLocked(m),

      init_completion: () => cp.init(),
      reinit_completion: (c) => cp.reinit(c),
      complete: (c) => cp.complete(c),
      complete_all: (c) => cp.completeAll(c),
      wait_for_completion: async (c) => {
        await cp.wait(c, "wait_for_completion");
      },
      wait_for_completion_timeout: (c, t) => cp.wait(c, "wait_for_completion_timeout", t),
      wait_for_completion_interruptible_timeout: (c, t) => cp.wait(c, "wait_for_completion_interruptible_timeout", t),
      try_wait_for_completion: (c) => cp.tryWait(c),
      completion_done: (c) => cp.done(c),

      init_waitqueue_head: () => wq.init(),
      wake_up: (q) => wq.wake(q, false),
      wake_up_all: (q) => wq.wake(q, false),
      wake_up_interruptible: (q) => wq.wake(q, true),
      wait_event: async (q, cond) => {
        await wq.wait(q, cond, "wait_event", false);
      },
      wait_event_timeout: (q, cond, t) => wq.wait(q, cond, "wait_event_timeout", false, t),
      wait_event_interruptible: (q, cond) => wq.wait(q, cond, "wait_event_interruptible", true),
      wait_event_interruptible_timeout: (q, cond, t) => wq.wait(q, cond, "wait_event_interruptible_timeout", true, t),

      msleep: (ms: number) => s.sleepNs(ms * 1e6, "msleep"),
      usleep_range: (minUs: number, maxUs: number) => s.sleepNs(Math.max(minUs, maxUs) * 1e3, "usleep_range"),
      udelay: (us: number) => s.busyWait(us * 1e3, owner.driver),
      ndelay: (ns: number) => s.busyWait(ns, owner.driver),
      mdelay: (ms: number) => s.busyWait(ms * 1e6, owner.driver),
      get jiffies() {
        return s.jiffies;
      },
      msecs_to_jiffies: (ms: number) => msecsToJiffies(ms),
      usecs_to_jiffies: (us: number) => usecsToJiffies(us),
      jiffies_to_msecs: (j: number) => jiffiesToMsecs(j),
      ktime_get_ns: () => s.clock.now,

      INIT_WORK: (fn: (w: WorkStruct) => void | Promise<void>) => work.initWork(owner, fn),
      schedule_work: (w: WorkStruct) => work.schedule(w, 0, "schedule_work"),
      schedule_delayed_work: (w: WorkStruct, d: number) => work.schedule(w, d, "schedule_delayed_work"),
      cancel_work_sync: (w: WorkStruct) => work.cancelSync(w),
      flush_work: (w: WorkStruct) => work.flush(w),
      tasklet_init: (fn: () => void) => work.tasklet(owner, fn),
      tasklet_schedule: (t: WorkStruct) => work.taskletSchedule(t),
      tasklet_kill: (t: WorkStruct) => work.taskletKill(t),

      timer_setup: (fn: (t: TimerList) => void) => timers.setup(owner, fn),
      mod_timer: (t: TimerList, expires: number) => timers.mod(t, expires),
      del_timer_sync: (t: TimerList) => timers.delSync(t),
    };
  }
}
