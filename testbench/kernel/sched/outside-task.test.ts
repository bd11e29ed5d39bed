/**
 * Sleeping kernel calls made from test code, outside any scheduler task, run as ad-hoc tasks:
 * the wait drives the pump, simulated time advances and the call returns (or rejects with the
 * deadlock instead of hanging until the test timeout).
 */
import { describe, expect, it } from "vitest";
import "../../vitest/index.js";
import { Testbench } from "../../harness/testbench.js";
import { SCHEDULER } from "../tokens.js";
import { SchedulerDeadlock } from "./scheduler.js";

describe("sleeping calls from test code", { timeout: 10_000 }, () => {
  it("msleep advances simulated time and returns", async () => {
    const tb = await Testbench.boot();
    const k = tb.facade({ driver: "t" });
    const t0 = tb.core.now();
    await k.msleep(1);
    expect(tb.core.now() - t0).toBeGreaterThanOrEqual(1e6);
    expect(tb.core.now() - t0).toBeLessThan(1e6 + 10e6);
    const t1 = tb.core.now();
    await k.msleep(20);
    expect(tb.core.now() - t1).toBeGreaterThanOrEqual(20e6);
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("wait_for_completion_timeout: times out with 0, or returns the jiffies left when completed from a timer", async () => {
    const tb = await Testbench.boot();
    const k = tb.facade({ driver: "t" });
    const done = k.init_completion();
    const t0 = tb.core.now();
    expect(await k.wait_for_completion_timeout(done, k.msecs_to_jiffies(5))).toBe(0);
    expect(tb.core.now() - t0).toBeGreaterThanOrEqual(5e6);
    // Completed by a clock event 2 ms in: woken early with time left.
    tb.soc.clock.schedule(2e6, () => k.complete(done));
    const t1 = tb.core.now();
    const left = await k.wait_for_completion_timeout(done, k.msecs_to_jiffies(100));
    expect(left).toBeGreaterThan(0);
    expect(tb.core.now() - t1).toBeGreaterThanOrEqual(2e6);
    expect(tb.core.now() - t1).toBeLessThan(100e6);
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("several waits from test code at once share the pump", async () => {
    const tb = await Testbench.boot();
    const k = tb.facade({ driver: "t" });
    const order: number[] = [];
    await Promise.all([k.msleep(3).then(() => order.push(3)), k.msleep(1).then(() => order.push(1)), k.msleep(2).then(() => order.push(2))]);
    expect(order).toEqual([1, 2, 3]);
    await tb.dispose();
  });

  it("a wait nothing can end rejects with the deadlock instead of hanging", async () => {
    const tb = await Testbench.boot();
    const k = tb.facade({ driver: "t" });
    const never = k.init_completion();
    const err = await k.wait_for_completion(never).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchedulerDeadlock);
    expect((err as Error).message).toMatch(/^task waits forever: wait_for_completion.* in .*outside-task\.test\.ts/);
    // The pump is free again afterwards.
    await k.msleep(1);
    await expect(tb.container.resolve(SCHEDULER).run(Promise.resolve(5))).resolves.toBe(5);
    await tb.dispose();
  });
});
