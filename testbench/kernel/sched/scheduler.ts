/**
 * The scheduler pump. Driver code runs synchronously between awaits; a sleeping kernel call
 * returns a Promise that a clock event (a timeout, an interrupt handler's `complete()`) resolves.
 * {@link Scheduler.run} drives a top-level task to completion: drain the host's microtasks so every
 * woken task runs to its next await, then advance the simulated clock to the next event time and
 * run everything due then; repeat. All concurrent `run` calls share one pump, so events fire in
 * clock order whatever the number of tasks.
 *
 * Cost per step: one host macrotask hop (`setImmediate`) per batch of clock steps. Steps that wake
 * nobody (device progress events) run back to back without a hop; the batch ends at the first
 * wakeup, at process-context work becoming ready, or after {@link Scheduler.maxStepsPerHop}.
 * A sleeping call made outside any task (test code awaiting `k.msleep(1)` or
 * `k.wait_for_completion_timeout(...)` directly) runs as an ad-hoc task: its wait is driven like a
 * run of its own, so simulated time advances and the call returns; if it can never complete, the
 * call rejects with the {@link SchedulerDeadlock} instead of hanging.
 *
 * Contract for other subsystems: a Promise a task awaits must be resolved through
 * {@link Scheduler.block}/{@link Scheduler.wake} (or a primitive built on them), never from a raw
 * clock callback, or the pump may run past the moment the task should have resumed.
 */
import { inject, injectable } from "../../soc/di.js";
import type { Clock } from "../../soc/clock.js";
import { CLOCK } from "../../soc/tokens.js";
import type { KernelCore } from "../core.js";
import { NO_SITE, siteFrames, type CallSite } from "../stack.js";
import { KERNEL_CORE } from "../tokens.js";
import { currentTaskStore, Task, Waiter } from "./task.js";

/** A blocked task as listed in a deadlock or hung-task error. @public */
export interface BlockedTask {
  readonly task: string;
  readonly what: string;
  /** Innermost driver frame of the call that blocked ("?" without stacks). */
  readonly frame: string;
  /** Simulated ns spent blocked. */
  readonly blockedNs: number;
}

/**
 * Thrown (as a rejection of {@link Scheduler.run}) when tasks can never make progress: nothing is
 * scheduled on the clock and tasks are still blocked, or a task stayed blocked longer than the
 * hung-task timeout.
 * @public
 */
export class SchedulerDeadlock extends Error {
  constructor(
    message: string,
    readonly blocked: readonly BlockedTask[],
  ) {
    super(message);
    this.name = "SchedulerDeadlock";
  }
}

/** Options of {@link Scheduler.run}. @public */
export interface RunOptions {
  /** Command name of the new task (function form only; default "task"). */
  readonly comm?: string;
}

interface RunRecord {
  settled: boolean;
  reject: (e: unknown) => void;
}

const hop = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** @public */
@injectable()
export class Scheduler {
  /**
   * Linux's hung_task_timeout_secs: an untimed wait blocked this long (simulated) fails the run,
   * as does a pump that made no progress for this long with no timed wait pending.
   */
  hungTaskTimeoutNs = 120e9;
  /** Clock steps run back to back without a host hop when they wake nobody. */
  maxStepsPerHop = 4096;

  private live = 0;
  private pumping = false;
  private wakeups = 0;
  private progressAt = 0;
  private nextPid = 100;
  private fallback: Task;
  private readonly runs = new Set<RunRecord>();
  private readonly blocked = new Set<Waiter>();
  private untimed: Waiter[] = [];
  private untimedHead = 0;
  private timedCount = 0;
  private ready: (() => void)[] = [];

  constructor(
    @inject(CLOCK) private readonly clock: Clock,
    @inject(KERNEL_CORE) private readonly core: KernelCore,
  ) {
    this.fallback = new Task(core.ctx.task.pid, core.ctx.task.comm);
    // Reports read `core.ctx.task`: make it the task whose code is running now. Assigning it sets
    // the task of code running outside any scheduler task (e.g. a test body).
    Object.defineProperty(core.ctx, "task", {
      configurable: true,
      enumerable: true,
      get: () => this.current(),
      set: (t: { pid: number; comm: string }) => {
        this.fallback = t instanceof Task ? t : new Task(t.pid, t.comm);
      },
    });
  }

  /** The task running the current code. */
  current(): Task {
    return currentTaskStore.getStore() ?? this.fallback;
  }

  /**
   * True for the task of code running outside any scheduler task (test bodies, bare-promise runs,
   * the pump itself): several such chains share one identity, so owner checks skip it.
   */
  isAnonymous(task: Task): boolean {
    return task === this.fallback;
  }

  /** A new task identity (pids from 100 up, in creation order: deterministic). */
  newTask(comm: string): Task {
    return new Task(this.nextPid++, comm);
  }

  /** Run `fn` as `task` (its awaits keep the identity). */
  runAs<T>(task: Task, fn: () => T): T {
    return currentTaskStore.run(task, fn);
  }

  /**
   * Drive `work` to completion on simulated time. Pass a function to run it as a new task (mutex
   * ownership and reports then name it); a bare promise keeps the caller's task identity.
   * Rejects with {@link SchedulerDeadlock} when it can never complete.
   */
  run<T>(work: Promise<T> | (() => T | Promise<T>), options: RunOptions = {}): Promise<T> {
    let p: Promise<T>;
    if (typeof work === "function") {
      const task = this.newTask(options.comm ?? "task");
      p = currentTaskStore.run(task, () => {
        try {
          return Promise.resolve(work());
        } catch (e) {
          return Promise.reject(e);
        }
      });
    } else {
      p = work;
    }
    return new Promise<T>((resolve, reject) => {
      const rec: RunRecord = { settled: false, reject };
      this.runs.add(rec);
      this.live++;
      this.progressAt = this.clock.now;
      const done = (): boolean => {
        if (rec.settled) return false;
        rec.settled = true;
        this.runs.delete(rec);
        this.live--;
        this.progressAt = this.clock.now;
        return true;
      };
      p.then(
        (v) => done() && resolve(v),
        (e: unknown) => done() && reject(e),
      );
      this.startPump();
    });
  }

  /** Let `ns` of simulated time pass, running events, interrupts, work and woken tasks. */
  advance(ns: number): Promise<void> {
    const w = this.waiter("advance", NO_SITE, this.clock.now + Math.max(0, ns));
    return this.run(w.promise.then(() => undefined));
  }

  /**
   * Block the current task in `what` until {@link wake} or `deadline` (absolute ns; Infinity for
   * none). The waiter's promise resolves true when woken, false on timeout. Outside any task, the
   * wait drives the pump itself (an ad-hoc run) and rejects with {@link SchedulerDeadlock} when it
   * can never end.
   */
  block(what: string, site: CallSite, deadline = Infinity): Waiter {
    const w = this.waiter(what, site, deadline);
    if (this.isAnonymous(w.task)) {
      w.adHoc = true;
      // The waiter's own promise carries the outcome to the caller; this run only keeps the pump going.
      this.run(w.promise).catch(() => undefined);
    }
    return w;
  }

  private waiter(what: string, site: CallSite, deadline: number): Waiter {
    const w = new Waiter(this.current(), what, site, this.clock.now, deadline);
    this.blocked.add(w);
    if (deadline === Infinity) {
      this.untimed.push(w);
    } else {
      this.timedCount++;
      w.timer = this.clock.scheduleAt(deadline, () => this.expire(w));
    }
    return w;
  }

  /** Wake a waiter (true when it was still blocked). */
  wake(w: Waiter): boolean {
    if (w.settled) return false;
    this.settle(w);
    if (w.timer !== 0) {
      this.clock.cancel(w.timer);
      w.timer = 0;
    }
    w.resolve(true);
    return true;
  }

  /** Queue process-context work (a kworker job) to run from the pump, outside any driver code. */
  enqueueProcessWork(job: () => void): void {
    this.ready.push(job);
  }

  /** Tasks blocked right now. */
  blockedTasks(): BlockedTask[] {
    const out: BlockedTask[] = [];
    for (const w of this.blocked) {
      out.push({ task: w.task.toString(), what: w.what, frame: siteFrames(w.site, 1)[0] ?? "?", blockedNs: this.clock.now - w.since });
    }
    return out;
  }

  /** True while the pump is running. */
  get running(): boolean {
    return this.pumping;
  }

  private expire(w: Waiter): void {
    w.timer = 0;
    if (w.settled) return;
    this.settle(w);
    w.resolve(false);
  }

  private settle(w: Waiter): void {
    w.settled = true;
    this.blocked.delete(w);
    if (w.deadline !== Infinity) this.timedCount--;
    this.wakeups++;
    this.progressAt = this.clock.now;
  }

  private startPump(): void {
    if (this.pumping) return;
    this.pumping = true;
    currentTaskStore.exit(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      while (this.live > 0) {
        await hop();
        if (this.live === 0) break;
        if (this.ready.length > 0) {
          this.runReady();
          continue;
        }
        const before = this.wakeups;
        let steps = 0;
        for (;;) {
          if (!this.clock.step()) {
            if (steps === 0) this.fail(this.deadlockError());
            break;
          }
          steps++;
          if (this.hungCheck()) break;
          if (this.wakeups !== before || this.ready.length > 0 || steps >= this.maxStepsPerHop || this.live === 0) break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private runReady(): void {
    const jobs = this.ready;
    this.ready = [];
    for (const job of jobs) job();
  }

  /** True when the run was failed as hung. */
  private hungCheck(): boolean {
    const now = this.clock.now;
    const q = this.untimed;
    while (this.untimedHead < q.length && q[this.untimedHead]!.settled) this.untimedHead++;
    if (this.untimedHead > 1024 && this.untimedHead * 2 > q.length) {
      this.untimed = q.slice(this.untimedHead);
      this.untimedHead = 0;
    }
    const oldest = this.untimed[this.untimedHead];
    if (oldest && now - oldest.since > this.hungTaskTimeoutNs) {
      this.fail(this.hungError(oldest));
      return true;
    }
    if (this.timedCount === 0 && now - this.progressAt > this.hungTaskTimeoutNs) {
      this.fail(this.hungError(undefined));
      return true;
    }
    return false;
  }

  private deadlockError(): SchedulerDeadlock {
    const blocked = this.blockedTasks();
    const first = blocked[0];
    const head = first
      ? `task waits forever: ${first.what} in ${first.frame} (${first.task}) with no pending events`
      : "task waits forever on a promise no kernel primitive resolves, with no pending events";
    const rest = blocked.slice(1).map((b) => `  also blocked: ${b.what} in ${b.frame} (${b.task})`);
    return new SchedulerDeadlock([head, ...rest].join("\n"), blocked);
  }

  private hungError(oldest: Waiter | undefined): SchedulerDeadlock {
    const secs = Math.round(this.hungTaskTimeoutNs / 1e9);
    const blocked = this.blockedTasks();
    const head = oldest
      ? `INFO: task ${oldest.task.comm}:${oldest.task.pid} blocked for more than ${secs} seconds in ${oldest.what} at ${siteFrames(oldest.site, 1)[0] ?? "?"}`
      : `INFO: no task made progress for more than ${secs} seconds of simulated time (awaiting a promise no kernel primitive resolves?)`;
    return new SchedulerDeadlock([head, ...blocked.map((b) => `  blocked: ${b.what} in ${b.frame} (${b.task})`)].join("\n"), blocked);
  }

  /** Report, abandon every blocked waiter (they can never run) and reject every live run. */
  private fail(err: SchedulerDeadlock): void {
    const mutex = err.blocked.some((b) => b.what.startsWith("mutex_lock"));
    this.core.report({ kind: mutex ? "lock" : "warn", title: err.message.split("\n")[0]!, text: err.message });
    for (const w of [...this.blocked]) {
      this.settle(w);
      if (w.timer !== 0) this.clock.cancel(w.timer);
      // A task's waiter is abandoned with its run; a wait made from test code fails its caller.
      if (w.adHoc) w.reject(err);
    }
    const runs = [...this.runs];
    this.runs.clear();
    for (const r of runs) {
      r.settled = true;
      this.live--;
      r.reject(err);
    }
  }
}
