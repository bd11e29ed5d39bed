/**
 * Completions and wait queues with Linux's return conventions: a `*_timeout` wait returns the
 * jiffies left (at least 1) when it succeeded and 0 when the timeout elapsed; the condition or
 * `done` count is re-checked after every wake-up, as the kernel's wait loops do. Timeouts are
 * jiffy-based: a wait of N jiffies ends when `jiffies` reaches its start value plus N.
 *
 * `wait_event` sleeps uninterruptibly, so `wake_up_interruptible` does not wake it (a real bug
 * class: the pump then reports the task as waiting forever).
 */
import type { Completion, WaitQueueHead } from "../../../sdk/index.js";
import type { Waiter } from "../sched/task.js";
import { isNull, nullDeref } from "../oops.js";
import type { SyncEnv } from "./irqflags.js";
import { jiffiesLeft, MAX_JIFFY_OFFSET, timeoutDeadline } from "./time.js";

const UINT_MAX = 0xffffffff;

/** Forget a waiter that timed out (so polling loops do not grow the list). */
function dropWaiter(list: Waiter[], w: Waiter): void {
  const i = list.indexOf(w);
  if (i >= 0) list.splice(i, 1);
}

/** `struct completion`. @internal */
export class CompletionImpl {
  done = 0;
  readonly waiters: Waiter[] = [];
}

/** `wait_queue_head_t`. @internal */
export class WaitQueueImpl {
  waiters: Waiter[] = [];
}

/** Completion and wait-queue operations. @internal */
export class Completions {
  constructor(private readonly env: SyncEnv) {}

  init(): Completion {
    return new CompletionImpl() as unknown as Completion;
  }

  reinit(c: Completion): void {
    this.impl(c, "reinit_completion").done = 0;
  }

  complete(c: Completion): void {
    const x = this.impl(c, "complete");
    if (x.done !== UINT_MAX) x.done++;
    while (x.waiters.length > 0) {
      if (this.env.sched.wake(x.waiters.shift()!)) break;
    }
  }

  completeAll(c: Completion): void {
    const x = this.impl(c, "complete_all");
    x.done = UINT_MAX;
    const ws = x.waiters.splice(0);
    for (const w of ws) this.env.sched.wake(w);
  }

  tryWait(c: Completion): boolean {
    const x = this.impl(c, "try_wait_for_completion");
    if (x.done === 0) return false;
    if (x.done !== UINT_MAX) x.done--;
    return true;
  }

  done(c: Completion): boolean {
    return this.impl(c, "completion_done").done > 0;
  }

  /**
   * Wait for `c`. Untimed (`timeoutJiffies` undefined) resolves to 1 when done; timed resolves to
   * the jiffies left (≥ 1) or 0 on timeout.
   */
  async wait(c: Completion, call: string, timeoutJiffies?: number): Promise<number> {
    const { core, clock, sched } = this.env;
    const site = core.site();
    core.mightSleep(call, site);
    const x = this.impl(c, call);
    const timed = timeoutJiffies !== undefined && timeoutJiffies < MAX_JIFFY_OFFSET;
    const deadline = timed ? timeoutDeadline(clock.now, timeoutJiffies) : Infinity;
    if (x.done > 0) {
      if (x.done !== UINT_MAX) x.done--;
      return timed ? Math.max(1, Math.floor(timeoutJiffies)) : 1;
    }
    for (;;) {
      if (clock.now >= deadline) return 0;
      const w = sched.block(call, site, deadline);
      x.waiters.push(w);
      if (!(await w.promise)) dropWaiter(x.waiters, w);
      if (x.done > 0) {
        if (x.done !== UINT_MAX) x.done--;
        return timed ? Math.max(1, jiffiesLeft(clock.now, deadline)) : 1;
      }
    }
  }

  private impl(c: Completion, fn: string): CompletionImpl {
    if (c instanceof CompletionImpl) return c;
    if (isNull(c)) throw nullDeref(this.env.core, fn, "struct completion", c, this.env.core.site());
    throw new TypeError("completion: not an object returned by init_completion()");
  }
}

/** Wait-queue operations. @internal */
export class WaitQueues {
  constructor(private readonly env: SyncEnv) {}

  init(): WaitQueueHead {
    return new WaitQueueImpl() as unknown as WaitQueueHead;
  }

  /** Wake every waiter (`interruptibleOnly`: only those sleeping interruptibly). */
  wake(wq: WaitQueueHead, interruptibleOnly: boolean): void {
    const q = this.impl(wq);
    if (q.waiters.length === 0) return;
    const ws = q.waiters;
    q.waiters = [];
    for (const w of ws) {
      if (w.settled) continue;
      if (interruptibleOnly && !w.interruptible) q.waiters.push(w);
      else this.env.sched.wake(w);
    }
  }

  /**
   * `wait_event*`: sleep until `condition()` holds. Untimed resolves to 0; timed to the jiffies left
   * (≥ 1) once the condition holds, or 0 when the timeout elapsed with it still false.
   */
  async wait(wq: WaitQueueHead, condition: () => boolean, call: string, interruptible: boolean, timeoutJiffies?: number): Promise<number> {
    const { core, clock, sched } = this.env;
    const site = core.site();
    core.mightSleep(call, site);
    const q = this.impl(wq);
    const timed = timeoutJiffies !== undefined && timeoutJiffies < MAX_JIFFY_OFFSET;
    const deadline = timed ? timeoutDeadline(clock.now, timeoutJiffies) : Infinity;
    if (condition()) return timed ? Math.max(1, Math.floor(timeoutJiffies)) : 0;
    for (;;) {
      if (clock.now >= deadline) return 0;
      const w = sched.block(call, site, deadline);
      w.interruptible = interruptible;
      q.waiters.push(w);
      if (!(await w.promise)) dropWaiter(q.waiters, w);
      // The kernel evaluates the condition once more after a timeout: true then still counts.
      if (condition()) return timed ? Math.max(1, jiffiesLeft(clock.now, deadline)) : 0;
    }
  }

  private impl(wq: WaitQueueHead): WaitQueueImpl {
    if (wq instanceof WaitQueueImpl) return wq;
    throw new TypeError("wait queue: not an object returned by init_waitqueue_head()");
  }
}
