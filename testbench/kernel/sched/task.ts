/**
 * Tasks and waiters. A task is a chain of driver code between awaits (a probe, a user process's
 * file operation, a kworker running a work item); `AsyncLocalStorage` carries which task an
 * `await` continuation belongs to, so mutex owners and reports name the right task.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CallSite } from "../stack.js";

/** A schedulable task (`struct task_struct`, reduced to what reports need). @public */
export class Task {
  constructor(
    readonly pid: number,
    readonly comm: string,
  ) {}

  toString(): string {
    return `${this.comm}/${this.pid}`;
  }
}

/**
 * One blocked wait: a task sleeping in a kernel primitive until woken or until its deadline.
 * Primitives keep waiters in their own lists and skip settled ones (lazy removal).
 * @internal
 */
export class Waiter {
  /** True once woken, timed out or abandoned; a settled waiter is never resolved again. */
  settled = false;
  /** Clock event of the deadline (0 when untimed or already fired). */
  timer = 0;
  /** Set by the primitive: the waiter may be woken by `wake_up_interruptible`. */
  interruptible = false;
  /**
   * Set by the scheduler for a wait made outside any task (test code): an ad-hoc run drives the
   * pump until it settles, and a deadlock rejects its promise instead of leaving it pending.
   */
  adHoc = false;
  resolve!: (woken: boolean) => void;
  reject!: (e: unknown) => void;
  readonly promise: Promise<boolean>;

  constructor(
    readonly task: Task,
    /** What it waits in, e.g. `wait_for_completion` or `mutex_lock(dev->lock)`. */
    readonly what: string,
    readonly site: CallSite,
    /** Simulated time the wait began. */
    readonly since: number,
    /** Absolute deadline in ns, Infinity for an untimed wait. */
    readonly deadline: number,
  ) {
    this.promise = new Promise<boolean>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Which task the running code belongs to (undefined: the boot/test context). @internal */
export const currentTaskStore = new AsyncLocalStorage<Task>();
