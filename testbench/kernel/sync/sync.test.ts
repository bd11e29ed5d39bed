import { describe, expect, it } from "vitest";
import { HZ, type IrqFlags } from "../../../sdk/index.js";
import { SchedulerDeadlock } from "../sched/scheduler.js";
import { bootKernelForTest } from "../sched/testenv.js";

const MS = 1e6;

describe("sleeping and time", () => {
  it("msleep advances simulated time exactly and jiffies follow at HZ=250", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    expect(HZ).toBe(250);
    await sched.run(async () => {
      await kk.msleep(10);
      expect(soc.clock.now).toBe(10 * MS);
      await kk.usleep_range(100, 200);
      expect(soc.clock.now).toBe(10 * MS + 200_000);
    });
    expect(kk.jiffies).toBe(2); // 10.2 ms / 4 ms
    expect(kk.ktime_get_ns()).toBe(10.2 * MS);
    expect(kk.msecs_to_jiffies(10)).toBe(3);
    expect(kk.msecs_to_jiffies(8)).toBe(2);
    expect(kk.usecs_to_jiffies(1)).toBe(1);
    expect(kk.jiffies_to_msecs(5)).toBe(20);
  });

  it("udelay busy-waits in atomic context without a report and runs device events meanwhile", () => {
    const { soc, core, k } = bootKernelForTest();
    const kk = k();
    const l = kk.spin_lock_init("dev->lock");
    let deviceEvent = -1;
    soc.clock.schedule(3000, () => (deviceEvent = soc.clock.now));
    const f = kk.spin_lock_irqsave(l);
    kk.udelay(5);
    kk.ndelay(500);
    kk.mdelay(1);
    kk.spin_unlock_irqrestore(l, f);
    expect(deviceEvent).toBe(3000);
    expect(soc.clock.now).toBe(5000 + 500 + MS);
    expect(core.reports()).toHaveLength(0);
  });

  it("reports msleep under a spinlock as sleeping in invalid context", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k();
    const l = kk.spin_lock_init("dev->lock");
    await sched.run(async function driverSleepsUnderLock() {
      kk.spin_lock(l);
      await kk.msleep(1);
      kk.spin_unlock(l);
    });
    const r = core.reports("atomic-sleep");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^BUG: sleeping function called from invalid context at driverSleepsUnderLock/);
    expect(r[0]!.text).toContain("call: msleep");
  });
});

describe("completions and wait queues", () => {
  it("a completion wakes its waiter from a clock event", async () => {
    const { sched, soc, core, k } = bootKernelForTest();
    const kk = k();
    const done = kk.init_completion();
    soc.clock.schedule(7 * MS, () => kk.complete(done));
    await sched.run(() => kk.wait_for_completion(done));
    expect(soc.clock.now).toBe(7 * MS);
    expect(kk.completion_done(done)).toBe(false);
    expect(core.reports()).toHaveLength(0);
  });

  it("wait_for_completion_timeout: jiffies left (≥ 1) on completion, 0 on timeout", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    const c = kk.init_completion();
    soc.clock.schedule(12 * MS, () => kk.complete(c));
    expect(await sched.run(() => kk.wait_for_completion_timeout(c, 10))).toBe(7);
    const t0 = soc.clock.now;
    expect(await sched.run(() => kk.wait_for_completion_timeout(c, 10))).toBe(0);
    expect(soc.clock.now - t0).toBe(10 * 4 * MS);
    // Already done: the whole timeout comes back; complete_all satisfies every later wait.
    kk.complete(c);
    expect(await sched.run(() => kk.wait_for_completion_timeout(c, 5))).toBe(5);
    kk.complete_all(c);
    expect(await sched.run(() => kk.wait_for_completion_timeout(c, 5))).toBe(5);
    expect(kk.try_wait_for_completion(c)).toBe(true);
    kk.reinit_completion(c);
    expect(kk.try_wait_for_completion(c)).toBe(false);
    // Completed right at the deadline (before the timeout fires) still returns at least 1.
    expect(soc.clock.now % (4 * MS)).toBe(0);
    soc.clock.schedule(4 * MS, () => kk.complete(c));
    expect(await sched.run(() => kk.wait_for_completion_timeout(c, 1))).toBe(1);
  });

  it("complete() wakes one waiter, complete_all() wakes them all", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    const c = kk.init_completion();
    const woke: string[] = [];
    const waiter = (n: string) => async () => {
      const left = await kk.wait_for_completion_timeout(c, 100);
      woke.push(`${n}:${left > 0 ? "ok" : "timeout"}`);
    };
    soc.clock.schedule(MS, () => kk.complete(c));
    await Promise.all([sched.run(waiter("a")), sched.run(waiter("b"))]);
    expect(woke).toEqual(["a:ok", "b:timeout"]);
    woke.length = 0;
    kk.reinit_completion(c);
    soc.clock.schedule(MS, () => kk.complete_all(c));
    await Promise.all([sched.run(waiter("a")), sched.run(waiter("b"))]);
    expect(woke).toEqual(["a:ok", "b:ok"]);
  });

  it("wait_event_timeout: condition already true, becomes true, times out, true at the deadline", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    const wq = kk.init_waitqueue_head();
    let ready = true;
    expect(await sched.run(() => kk.wait_event_timeout(wq, () => ready, 25))).toBe(25);
    ready = false;
    soc.clock.schedule(9 * MS, () => {
      ready = true;
      kk.wake_up(wq);
    });
    expect(await sched.run(() => kk.wait_event_timeout(wq, () => ready, 25))).toBe(23);
    ready = false;
    const t0 = soc.clock.now; // 9 ms: jiffy 2, deadline at jiffy 4 = 16 ms
    expect(await sched.run(() => kk.wait_event_timeout(wq, () => ready, 2))).toBe(0);
    expect(soc.clock.now).toBe(16 * MS);
    expect(t0).toBe(9 * MS);
    // A condition that turned true without a wake-up still counts at the timeout: 1, not 0.
    const w = sched.run(() => kk.wait_event_timeout(wq, () => ready, 1));
    soc.clock.schedule(4 * MS, () => (ready = true));
    expect(await w).toBe(1);
  });

  it("wait_event is not woken by wake_up_interruptible (the pump reports it waiting forever)", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    const wq = kk.init_waitqueue_head();
    let flag = false;
    soc.clock.schedule(MS, () => {
      flag = true;
      kk.wake_up_interruptible(wq);
    });
    const err = await sched.run(() => kk.wait_event(wq, () => flag)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerDeadlock);
    expect((err as Error).message).toMatch(/task waits forever: wait_event in/);
    // The interruptible variant is woken.
    flag = false;
    soc.clock.schedule(MS, () => {
      flag = true;
      kk.wake_up_interruptible(wq);
    });
    expect(await sched.run(() => kk.wait_event_interruptible(wq, () => flag))).toBe(0);
  });
});

describe("mutexes", () => {
  it("serialises two concurrent tasks", async () => {
    const { sched, soc, core, k } = bootKernelForTest();
    const kk = k();
    const m = kk.mutex_init("dev->mutex");
    const log: string[] = [];
    const user = (n: string) => async () => {
      await kk.mutex_lock(m);
      log.push(`${n} in @${soc.clock.now / MS}`);
      await kk.msleep(5);
      log.push(`${n} out @${soc.clock.now / MS}`);
      kk.mutex_unlock(m);
    };
    await Promise.all([sched.run(user("A"), { comm: "a" }), sched.run(user("B"), { comm: "b" })]);
    expect(log).toEqual(["A in @0", "A out @5", "B in @5", "B out @10"]);
    expect(kk.mutex_is_locked(m)).toBe(false);
    expect(core.reports()).toHaveLength(0);
  });

  it("recursive mutex_lock is reported and ends as a deadlock, not a hang", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k();
    const m = kk.mutex_init("dev->mutex");
    const err = await sched.run(async function ioctlLocksTwice() {
      await kk.mutex_lock(m);
      await kk.msleep(1);
      await kk.mutex_lock(m);
    }, { comm: "app" }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^task waits forever: mutex_lock\(dev->mutex\) in ioctlLocksTwice/);
    expect(core.reports("lock").map((r) => r.title)).toContain("WARNING: possible recursive locking detected");
  });

  it("reports unlock by a non-owner and unlock of an unlocked mutex", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k();
    const m = kk.mutex_init("m");
    await sched.run(() => kk.mutex_lock(m), { comm: "owner" });
    await sched.run(async () => kk.mutex_unlock(m), { comm: "thief" });
    kk.mutex_unlock(m);
    const titles = core.reports("lock").map((r) => r.title);
    expect(titles).toEqual(["DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)", "WARNING: bad unlock balance detected!"]);
    expect(core.reports("lock")[0]!.text).toMatch(/owned by owner\/\d+ .* unlocked by thief\/\d+/);
  });

  it("mutex_lock in atomic context is reported by might_sleep", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k();
    const m = kk.mutex_init("m");
    const l = kk.spin_lock_init("l");
    await sched.run(async () => {
      kk.spin_lock(l);
      expect(kk.in_atomic()).toBe(true);
      await kk.mutex_lock(m);
      kk.spin_unlock(l);
      kk.mutex_unlock(m);
    });
    expect(core.reports("atomic-sleep")[0]!.text).toContain("call: mutex_lock");
  });
});

describe("spinlocks and interrupt state", () => {
  it("reports recursion, unlock of an unheld lock and irqsave/irqrestore mismatch", () => {
    const { core, k } = bootKernelForTest();
    const kk = k();
    const a = kk.spin_lock_init("a");
    const b = kk.spin_lock_init("b");
    kk.spin_lock(a);
    kk.spin_lock(a);
    kk.spin_unlock(a);
    kk.spin_unlock(a);
    expect(core.ctx.preempt).toBe(0);
    kk.spin_unlock(b);
    const fa = kk.spin_lock_irqsave(a);
    const fb = kk.spin_lock_irqsave(b);
    kk.spin_unlock_irqrestore(b, fa); // swapped flags: interrupts back on while a is held
    expect(kk.irqs_disabled()).toBe(false);
    kk.spin_unlock_irqrestore(a, fb);
    expect(kk.irqs_disabled()).toBe(true);
    kk.local_irq_enable();
    const titles = core.reports("lock").map((r) => r.title);
    expect(titles[0]).toMatch(/^BUG: spinlock recursion on CPU#0, swapper\/0\/\d+$/);
    expect(titles[1]).toMatch(/^BUG: spinlock already unlocked on CPU#0/);
    expect(titles[2]).toMatch(/^BUG: spinlock irqsave\/irqrestore mismatch on CPU#0/);
    expect(titles[3]).toMatch(/^BUG: spinlock irqsave\/irqrestore mismatch on CPU#0/);
    expect(titles).toHaveLength(4);
    expect(core.reports("lock")[2]!.text).toContain("lock: b");
  });

  it("local_irq_restore of made-up flags is reported; save/restore nest", () => {
    const { core, k, soc } = bootKernelForTest();
    const kk = k();
    const f1 = kk.local_irq_save();
    const f2 = kk.local_irq_save();
    expect(soc.irq.localEnabled).toBe(false);
    kk.local_irq_restore(f2);
    expect(kk.irqs_disabled()).toBe(true);
    kk.local_irq_restore(f1);
    expect(kk.irqs_disabled()).toBe(false);
    expect(soc.irq.localEnabled).toBe(true);
    expect(core.reports()).toHaveLength(0);
    kk.local_irq_restore(0x200 as IrqFlags);
    expect(core.reports("lock")[0]!.title).toMatch(/local_irq_restore\(\) with flags 0x200 not returned by local_irq_save/);
  });

  it("spin_lock_irq with interrupts already off is reported", () => {
    const { core, k } = bootKernelForTest();
    const kk = k();
    const l = kk.spin_lock_init("l");
    const f = kk.local_irq_save();
    kk.spin_lock_irq(l);
    kk.spin_unlock_irq(l);
    kk.local_irq_restore(f);
    expect(core.reports("lock")[0]!.title).toMatch(/spin_lock_irq\(l\) with interrupts already disabled/);
  });

  it("lockdep: a lock taken in a timer (softirq) and in process context with softirqs on is inconsistent", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k();
    const l = kk.spin_lock_init("stats_lock");
    const t = kk.timer_setup(function statsTimer() {
      kk.spin_lock(l);
      kk.spin_unlock(l);
    });
    kk.mod_timer(t, kk.jiffies + 1);
    await sched.run(async function readStats() {
      kk.spin_lock(l);
      kk.spin_unlock(l);
      await kk.msleep(10);
    });
    const r = core.reports("lock");
    expect(r.map((x) => x.title)).toEqual(["WARNING: inconsistent lock state"]);
    expect(r[0]!.text).toContain("inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.");
  });
});

describe("deferred work", () => {
  it("work runs in process context on a kworker; schedule_work returns false while pending", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k({ driver: "drv" });
    const seen: string[] = [];
    const w = kk.INIT_WORK(async function resetWork() {
      seen.push(`${core.ctx.task.comm} atomic=${kk.in_atomic()}`);
      await kk.msleep(2); // may sleep
      seen.push("slept");
    });
    expect(kk.schedule_work(w)).toBe(true);
    expect(kk.schedule_work(w)).toBe(false);
    expect(core.ledger.outstanding("drv").map((e) => e.kind)).toEqual(["work"]);
    await sched.run(async () => {
      expect(await kk.flush_work(w)).toBe(true);
    });
    expect(seen).toEqual(["kworker/0:1 atomic=false", "slept"]);
    expect(core.ledger.outstanding("drv")).toHaveLength(0);
    expect(core.reports()).toHaveLength(0);
  });

  it("delayed work fires after its delay; cancel_work_sync dequeues it and says so", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    let ranAt = -1;
    const w = kk.INIT_WORK(() => void (ranAt = soc.clock.now));
    kk.schedule_delayed_work(w, 5);
    await sched.advance(30 * MS);
    expect(ranAt).toBe(20 * MS);
    ranAt = -1;
    kk.schedule_delayed_work(w, 5);
    expect(await sched.run(() => kk.cancel_work_sync(w))).toBe(true);
    await sched.advance(30 * MS);
    expect(ranAt).toBe(-1);
    expect(await sched.run(() => kk.cancel_work_sync(w))).toBe(false);
  });

  it("cancel_work_sync waits for a running instance", async () => {
    const { sched, soc, k } = bootKernelForTest();
    const kk = k();
    let finished = -1;
    const w = kk.INIT_WORK(async () => {
      await kk.msleep(8);
      finished = soc.clock.now;
    });
    kk.schedule_work(w);
    await sched.run(async () => {
      await kk.msleep(1); // the work is now running
      expect(await kk.cancel_work_sync(w)).toBe(false);
      expect(finished).toBe(8 * MS);
    });
  });

  it("work, tasklets and timers still pending are in the ledger under their owner", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k({ driver: "leaky" });
    const w = kk.INIT_WORK(() => {});
    const t = kk.timer_setup(() => {});
    const tl = kk.tasklet_init(() => {});
    kk.schedule_delayed_work(w, 100);
    kk.mod_timer(t, kk.jiffies + 100);
    kk.local_irq_disable(); // the tasklet cannot run yet
    kk.tasklet_schedule(tl);
    expect(core.ledger.outstanding("leaky").map((e) => e.kind).sort()).toEqual(["timer", "work", "work"]);
    kk.local_irq_enable();
    await sched.advance(1);
    expect(core.ledger.outstanding("leaky").map((e) => e.kind).sort()).toEqual(["timer", "work"]);
    expect(kk.del_timer_sync(t)).toBe(1);
    expect(kk.del_timer_sync(t)).toBe(0);
    await sched.run(() => kk.cancel_work_sync(w));
    expect(core.ledger.outstanding("leaky")).toHaveLength(0);
  });

  it("tasklets and timers run in softirq context; a timer does not fire while interrupts are off", async () => {
    const { sched, soc, core, k } = bootKernelForTest();
    const kk = k();
    const seen: string[] = [];
    const tl = kk.tasklet_init(() => seen.push(`tasklet softirq=${core.ctx.softirq} interrupt=${kk.in_interrupt()}`));
    const t = kk.timer_setup(() => seen.push(`timer@${soc.clock.now / MS} softirq=${core.ctx.softirq}`));
    kk.tasklet_schedule(tl);
    kk.tasklet_schedule(tl); // already scheduled: runs once
    expect(kk.mod_timer(t, kk.jiffies + 2)).toBe(0);
    expect(kk.mod_timer(t, kk.jiffies + 3)).toBe(1);
    await sched.run(async () => {
      const f = kk.local_irq_save();
      kk.mdelay(20); // busy-wait past the expiry with interrupts off
      expect(seen).toEqual([]);
      kk.local_irq_restore(f);
      await kk.msleep(1);
    });
    expect(seen).toEqual(["tasklet softirq=1 interrupt=true", "timer@20 softirq=1"]);
    // Sleeping in a timer callback is reported.
    const t2 = kk.timer_setup(function sleepyTimer() {
      void kk.msleep(1);
    });
    kk.mod_timer(t2, kk.jiffies);
    await sched.advance(MS);
    expect(core.reports("atomic-sleep")).toHaveLength(1);
  });

  it("reclaims leaked work and timers so they never run into an unbound driver", async () => {
    const { sched, core, sync, k } = bootKernelForTest();
    const kk = k({ driver: "gone" });
    let ran = 0;
    const w = kk.INIT_WORK(() => void ran++);
    const t = kk.timer_setup(() => void ran++);
    kk.schedule_delayed_work(w, 2);
    kk.mod_timer(t, kk.jiffies + 2);
    const leaks = core.ledger.outstanding("gone");
    expect(leaks.map((e) => e.kind).sort()).toEqual(["timer", "work"]);
    for (const e of leaks) expect(sync.reclaimLeak(e)).toBe(true);
    expect(core.ledger.outstanding("gone")).toHaveLength(0);
    await sched.advance(50 * MS);
    expect(ran).toBe(0);
  });

  it("a timer callback that throws is reported and the kernel continues", async () => {
    const { sched, core, k } = bootKernelForTest();
    const kk = k({ driver: "buggy" });
    const t = kk.timer_setup(function brokenTimer() {
      throw new Error("boom");
    });
    kk.mod_timer(t, 1);
    await sched.advance(10 * MS);
    const r = core.reports("oops");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe("BUG: timer function brokenTimer of buggy threw: boom");
  });
});
