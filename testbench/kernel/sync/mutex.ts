/**
 * Sleeping mutexes: owner tracking, FIFO hand-off to waiters, might_sleep on lock, lockdep-style
 * reports for recursive locking, bad unlock balance and unlock by a task that is not the owner.
 * A recursive lock really blocks (as in Linux), so the scheduler pump reports the deadlock.
 */
import type { Mutex } from "../../../sdk/index.js";
import type { Task, Waiter } from "../sched/task.js";
import { NO_SITE, siteFrames, type CallSite } from "../stack.js";
import type { SyncEnv } from "./irqflags.js";

/** `struct mutex` behind the facade's handle. @internal */
export class MutexImpl {
  owner: Task | null = null;
  ownerSite: CallSite = NO_SITE;
  get ownerFrame(): string {
    return siteFrames(this.ownerSite, 1)[0] ?? "?";
  }
  readonly waiters: Waiter[] = [];
  constructor(readonly name: string) {}
}

/** The mutex operations. @internal */
export class Mutexes {
  private anon = 0;

  constructor(private readonly env: SyncEnv) {}

  init(name?: string): Mutex {
    return new MutexImpl(name ?? `mutex#${++this.anon}`) as unknown as Mutex;
  }

  async lock(handle: Mutex, call: string): Promise<void> {
    const { core, sched } = this.env;
    const site = core.site();
    core.mightSleep(call, site);
    const m = this.impl(handle, call);
    if (!m) return;
    const cur = sched.current();
    if (m.owner === null) {
      this.take(m, cur, site);
      return;
    }
    if (m.owner === cur && !sched.isAnonymous(cur) && core.detectors.contextChecks) {
      const title = "WARNING: possible recursive locking detected";
      core.report({
        kind: "lock",
        title,
        text: [
          title,
          `${cur.comm}/${cur.pid} is trying to acquire lock:`,
          `  (${m.name}) at: ${siteFrames(site, 1)[0] ?? "?"}`,
          "but task is already holding lock:",
          `  (${m.name}) at: ${m.ownerFrame}`,
          " *** DEADLOCK ***",
        ].join("\n"),
        details: { lock: m.name },
      }, site);
    }
    const w = sched.block(`${call}(${m.name})`, site);
    m.waiters.push(w);
    await w.promise;
    // Ownership was handed over by unlock before the wake.
  }

  trylock(handle: Mutex): boolean {
    const m = this.impl(handle, "mutex_trylock");
    if (!m || m.owner !== null) return false;
    this.take(m, this.env.sched.current(), this.env.core.site());
    return true;
  }

  unlock(handle: Mutex): void {
    const { core, sched } = this.env;
    const m = this.impl(handle, "mutex_unlock");
    if (!m) return;
    const cur = sched.current();
    if (m.owner === null) {
      if (core.detectors.contextChecks) {
        const site = core.site();
        core.report({
          kind: "lock",
          title: "WARNING: bad unlock balance detected!",
          text: [
            "WARNING: bad unlock balance detected!",
            `${cur.comm}/${cur.pid} is trying to release lock (${m.name}) at:`,
            `  ${siteFrames(site, 1)[0] ?? "?"}`,
            "but there are no more locks to release!",
          ].join("\n"),
          details: { lock: m.name },
        }, site);
      }
      return;
    }
    if (core.detectors.contextChecks) {
      if (core.ctx.inInterrupt()) {
        core.report({ kind: "lock", title: "DEBUG_LOCKS_WARN_ON(in_interrupt())", text: `DEBUG_LOCKS_WARN_ON(in_interrupt())\n mutex_unlock(${m.name}) from interrupt context` }, core.site());
      } else if (m.owner !== cur && !sched.isAnonymous(cur) && !sched.isAnonymous(m.owner)) {
        core.report({
          kind: "lock",
          title: "DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)",
          text: [
            "DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)",
            ` mutex ${m.name} owned by ${m.owner.comm}/${m.owner.pid} (locked at ${m.ownerFrame}) unlocked by ${cur.comm}/${cur.pid}`,
          ].join("\n"),
          details: { lock: m.name, owner: m.owner.toString(), unlocker: cur.toString() },
        }, core.site());
      }
    }
    m.owner = null;
    while (m.waiters.length > 0) {
      const w = m.waiters.shift()!;
      if (w.settled) continue;
      this.take(m, w.task, w.site);
      sched.wake(w);
      break;
    }
  }

  isLocked(handle: Mutex): boolean {
    const m = this.impl(handle, "mutex_is_locked");
    return !!m && m.owner !== null;
  }

  private take(m: MutexImpl, task: Task, site: CallSite): void {
    m.owner = task;
    m.ownerSite = site;
  }

  private impl(handle: Mutex, call: string): MutexImpl | null {
    const m = handle as unknown as MutexImpl;
    if (m instanceof MutexImpl) return m;
    this.env.core.report({ kind: "lock", title: `DEBUG_LOCKS_WARN_ON(lock->magic != lock)`, text: `DEBUG_LOCKS_WARN_ON(lock->magic != lock)\n ${call}() on an object that mutex_init() did not return` }, this.env.core.site());
    return null;
  }
}
