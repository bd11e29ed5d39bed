/**
 * Deferred work. Work items run in process context (they may sleep) on kworker tasks that the
 * scheduler pump starts between clock steps, never inside driver code or an interrupt; tasklets
 * run in softirq context. A work item or tasklet that is pending (or running) is in the leak
 * ledger (kind "work") so an unbind that forgets `cancel_work_sync`/`tasklet_kill` is visible.
 *
 * As in Linux, PENDING is cleared just before the function runs (it may requeue itself), and an
 * item queued while it runs starts again only after the running instance returns.
 */
import type { WorkStruct } from "../../../sdk/index.js";
import type { Owner } from "../facade.js";
import { siteFrames, type CallSite } from "../stack.js";
import type { Task, Waiter } from "../sched/task.js";
import type { Softirq, SyncEnv } from "./irqflags.js";
import { jiffiesAt, jiffyStartNs } from "./time.js";

/** `struct work_struct` (also a delayed work). @internal */
export class WorkImpl {
  pending = false;
  running = false;
  /** Queued again while running: start once the running instance returns. */
  deferred = false;
  queuedGen = 0;
  runningGen = 0;
  doneGen = 0;
  timer = 0;
  ledgerId = 0;
  site: CallSite;
  worker: Task | null = null;
  readonly flushers: { w: Waiter; gen: number }[] = [];
  constructor(
    readonly fn: (work: WorkStruct) => void | Promise<void>,
    readonly owner: Owner,
    site: CallSite,
  ) {
    this.site = site;
  }
}

/** A tasklet. @internal */
export class TaskletImpl {
  scheduled = false;
  running = false;
  gen = 0;
  ledgerId = 0;
  constructor(
    readonly fn: () => void,
    readonly owner: Owner,
  ) {}
}

function fnName(f: (...args: never[]) => unknown): string {
  return f.name || "<anonymous>";
}

/** The system workqueue and tasklets. @internal */
export class WorkQueue {
  private readonly idle: Task[] = [];
  private readonly byLedger = new Map<number, WorkImpl | TaskletImpl>();
  private workers = 0;

  constructor(
    private readonly env: SyncEnv,
    private readonly softirq: Softirq,
  ) {}

  initWork(owner: Owner, fn: (work: WorkStruct) => void | Promise<void>): WorkStruct {
    return new WorkImpl(fn, owner, this.env.core.site()) as unknown as WorkStruct;
  }

  /** schedule_work / schedule_delayed_work: false when already pending. */
  schedule(handle: WorkStruct, delayJiffies: number, call: string): boolean {
    const w = this.work(handle, call);
    if (!w || w.pending) return false;
    const { core, clock } = this.env;
    w.pending = true;
    w.queuedGen++;
    w.site = core.site();
    this.syncLedger(w);
    if (delayJiffies > 0) {
      const gen = w.queuedGen;
      w.timer = clock.scheduleAt(jiffyStartNs(jiffiesAt(clock.now) + Math.ceil(delayJiffies)), () => {
        w.timer = 0;
        this.enqueue(w, gen);
      });
    } else {
      this.enqueue(w, w.queuedGen);
    }
    return true;
  }

  /** flush_work: wait for the last queued instance to finish; false when idle. */
  async flush(handle: WorkStruct): Promise<boolean> {
    const { core, sched } = this.env;
    const site = core.site();
    core.mightSleep("flush_work", site);
    const w = this.work(handle, "flush_work");
    if (!w || (!w.pending && !w.running)) return false;
    if (w.running && !w.pending && w.worker === sched.current()) return this.selfWait(w, "flush_work");
    const target = w.pending ? w.queuedGen : w.runningGen;
    await this.waitDone(w, target, "flush_work", site);
    return true;
  }

  /** cancel_work_sync: dequeue and wait for a running instance; true when it was pending. */
  async cancelSync(handle: WorkStruct): Promise<boolean> {
    const { core, clock, sched } = this.env;
    const site = core.site();
    core.mightSleep("cancel_work_sync", site);
    const w = this.work(handle, "cancel_work_sync");
    if (!w) return false;
    const wasPending = w.pending;
    if (w.pending) {
      w.pending = false;
      w.deferred = false;
      if (w.timer !== 0) clock.cancel(w.timer);
      w.timer = 0;
    }
    this.syncLedger(w);
    if (w.running) {
      if (w.worker === sched.current()) return this.selfWait(w, "cancel_work_sync") || wasPending;
      await this.waitDone(w, w.runningGen, "cancel_work_sync", site);
    }
    return wasPending;
  }

  tasklet(owner: Owner, fn: () => void): WorkStruct {
    return new TaskletImpl(fn, owner) as unknown as WorkStruct;
  }

  taskletSchedule(handle: WorkStruct): void {
    const t = this.asTasklet(handle, "tasklet_schedule");
    if (!t || t.scheduled) return;
    t.scheduled = true;
    const gen = ++t.gen;
    this.taskletLedger(t);
    this.softirq.raise(() => this.runTasklet(t, gen));
  }

  taskletKill(handle: WorkStruct): void {
    const { core } = this.env;
    const t = this.asTasklet(handle, "tasklet_kill");
    if (!t) return;
    if (core.ctx.inInterrupt()) {
      core.report({ kind: "warn", title: "Attempt to kill tasklet from interrupt" }, core.site());
      return;
    }
    t.scheduled = false;
    t.gen++;
    this.taskletLedger(t);
  }

  /**
   * Leak reclaim after unbind: dequeue the work item or tasklet behind a ledger entry so it never
   * runs into the unbound driver. A running work instance finishes; it is not requeued.
   */
  reclaimLeak(ledgerId: number): boolean {
    const x = this.byLedger.get(ledgerId);
    if (!x) return false;
    if (x instanceof WorkImpl) {
      x.pending = false;
      x.deferred = false;
      x.queuedGen++;
      if (x.timer !== 0) this.env.clock.cancel(x.timer);
      x.timer = 0;
      this.syncLedger(x);
      if (x.running) {
        // Still running: keep tracking it, but the entry is reclaimed from the ledger's view.
        this.env.core.ledger.remove(x.ledgerId);
        this.byLedger.delete(x.ledgerId);
        x.ledgerId = 0;
      }
    } else {
      x.scheduled = false;
      x.gen++;
      this.taskletLedger(x);
    }
    return true;
  }

  private enqueue(w: WorkImpl, gen: number): void {
    this.env.sched.enqueueProcessWork(() => this.execute(w, gen));
  }

  private execute(w: WorkImpl, gen: number): void {
    if (!w.pending || gen !== w.queuedGen) return;
    if (w.running) {
      w.deferred = true;
      return;
    }
    const sched = this.env.sched;
    w.pending = false;
    w.running = true;
    w.runningGen = gen;
    const worker = this.idle.pop() ?? sched.newTask(`kworker/0:${++this.workers}`);
    w.worker = worker;
    let result: void | Promise<void>;
    try {
      result = sched.runAs(worker, () => w.fn(w as unknown as WorkStruct));
    } catch (e) {
      this.crashed(w, e);
      result = undefined;
    }
    if (result && typeof (result as Promise<void>).then === "function") {
      (result as Promise<void>).then(
        () => this.finish(w, worker),
        (e: unknown) => {
          this.crashed(w, e);
          this.finish(w, worker);
        },
      );
    } else {
      this.finish(w, worker);
    }
  }

  private finish(w: WorkImpl, worker: Task): void {
    w.running = false;
    w.worker = null;
    w.doneGen = w.runningGen;
    this.idle.push(worker);
    for (let i = 0; i < w.flushers.length; ) {
      const f = w.flushers[i]!;
      if (f.gen <= w.doneGen || f.w.settled) {
        w.flushers.splice(i, 1);
        this.env.sched.wake(f.w);
      } else i++;
    }
    if (w.deferred && w.pending) {
      w.deferred = false;
      this.enqueue(w, w.queuedGen);
    }
    this.syncLedger(w);
  }

  private async waitDone(w: WorkImpl, target: number, call: string, site: CallSite): Promise<void> {
    while (w.doneGen < target && (w.running || w.pending)) {
      const waiter = this.env.sched.block(`${call}(${fnName(w.fn)})`, site);
      w.flushers.push({ w: waiter, gen: target });
      await waiter.promise;
    }
  }

  private selfWait(w: WorkImpl, call: string): boolean {
    const { core } = this.env;
    core.report({
      kind: "lock",
      title: `WARNING: possible recursive locking detected: ${call}() of work ${fnName(w.fn)} from the work itself`,
      text: `WARNING: possible recursive locking detected\n ${call}() called by ${fnName(w.fn)} on its own work item would wait for itself forever\n *** DEADLOCK ***`,
    }, core.site());
    return false;
  }

  private crashed(w: WorkImpl, e: unknown): void {
    this.reportCrash(`work function ${fnName(w.fn)}`, w.owner, e);
  }

  private runTasklet(t: TaskletImpl, gen: number): void {
    if (!t.scheduled || gen !== t.gen) return;
    t.scheduled = false;
    t.running = true;
    try {
      t.fn();
    } catch (e) {
      this.reportCrash(`tasklet ${fnName(t.fn)}`, t.owner, e);
    } finally {
      t.running = false;
      this.taskletLedger(t);
    }
  }

  /** An exception escaping deferred work: an oops report unless one was already filed for it. */
  reportCrash(what: string, owner: Owner, e: unknown): void {
    const core = this.env.core;
    if (e instanceof Error && e.name === "KernelOops") return;
    const err = e instanceof Error ? e : new Error(String(e));
    const frames = siteFrames({ stack: err.stack ?? "" });
    core.report({
      kind: "oops",
      title: `BUG: ${what} of ${owner.driver} threw: ${err.message}`,
      stack: frames,
      driver: owner.driver,
    });
  }

  private syncLedger(w: WorkImpl): void {
    const { core } = this.env;
    const live = w.pending || w.running;
    if (live && w.ledgerId === 0) {
      w.ledgerId = core.ledger.add("work", w.owner, `work ${fnName(w.fn)} (queued, not cancelled)`, w.site, core.now());
      if (w.ledgerId !== 0) this.byLedger.set(w.ledgerId, w);
    } else if (!live && w.ledgerId !== 0) {
      core.ledger.remove(w.ledgerId);
      this.byLedger.delete(w.ledgerId);
      w.ledgerId = 0;
    }
  }

  private taskletLedger(t: TaskletImpl): void {
    const { core } = this.env;
    const live = t.scheduled || t.running;
    if (live && t.ledgerId === 0) {
      t.ledgerId = core.ledger.add("work", t.owner, `tasklet ${fnName(t.fn)} (scheduled, not killed)`, core.site(), core.now());
      if (t.ledgerId !== 0) this.byLedger.set(t.ledgerId, t);
    } else if (!live && t.ledgerId !== 0) {
      core.ledger.remove(t.ledgerId);
      this.byLedger.delete(t.ledgerId);
      t.ledgerId = 0;
    }
  }

  private work(handle: WorkStruct, call: string): WorkImpl | null {
    if (handle instanceof WorkImpl) return handle;
    this.badHandle(call, handle instanceof TaskletImpl ? "a tasklet (use tasklet_schedule/tasklet_kill)" : "not an object returned by INIT_WORK()");
    return null;
  }

  private asTasklet(handle: WorkStruct, call: string): TaskletImpl | null {
    if (handle instanceof TaskletImpl) return handle;
    this.badHandle(call, handle instanceof WorkImpl ? "a work item (use schedule_work/cancel_work_sync)" : "not an object returned by tasklet_init()");
    return null;
  }

  private badHandle(call: string, why: string): void {
    const core = this.env.core;
    core.report({ kind: "warn", title: `WARNING: ${call}() on ${why}` }, core.site());
  }
}
