import { describe, expect, it } from "vitest";
import { SchedulerDeadlock } from "./scheduler.js";
import { bootKernelForTest } from "./testenv.js";

describe("scheduler pump", () => {
  it("runs a task to completion across clock events", async () => {
    const { sched, soc } = bootKernelForTest();
    const seen: number[] = [];
    const result = await sched.run(async () => {
      for (const d of [1000, 5000, 250]) {
        await sched.block("sleep", {}, soc.clock.now + d).promise;
        seen.push(soc.clock.now);
      }
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual([1000, 6000, 6250]);
  });

  it("shares one pump between concurrent runs: events fire in clock order", async () => {
    const { sched, soc } = bootKernelForTest();
    const order: string[] = [];
    const task = (name: string, delays: number[]) => async () => {
      for (const d of delays) {
        await sched.block("sleep", {}, soc.clock.now + d).promise;
        order.push(`${name}@${soc.clock.now}`);
      }
    };
    await Promise.all([sched.run(task("a", [10, 10, 10])), sched.run(task("b", [15, 15]))]);
    // Equal times run in the order they were scheduled: b's deadline (set at 15) before a's (set at 20).
    expect(order).toEqual(["a@10", "b@15", "a@20", "b@30", "a@30"]);
    await expect(sched.run(Promise.resolve("again"))).resolves.toBe("again");
  });

  it("names what a deadlocked task waits in instead of hanging", async () => {
    const { sched, core } = bootKernelForTest();
    const waitForever = () => sched.block("wait_for_completion", core.site()).promise;
    const err = await sched.run(async function probeThatWaits() {
      await waitForever();
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerDeadlock);
    expect((err as Error).message).toMatch(/^task waits forever: wait_for_completion in .*scheduler\.test\.ts.* with no pending events/);
    expect(core.reports("warn")[0]!.title).toMatch(/task waits forever/);
    // The pump is free for the next run.
    await expect(sched.run(Promise.resolve(7))).resolves.toBe(7);
  });

  it("fails a task blocked past the hung-task timeout even while events keep coming", async () => {
    const { sched, soc } = bootKernelForTest();
    sched.hungTaskTimeoutNs = 1e9;
    const tick = () => soc.clock.schedule(10e6, tick);
    tick();
    const err = await sched.run(() => sched.block("wait_event", {}).promise, { comm: "cat" }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^INFO: task cat:\d+ blocked for more than 1 seconds in wait_event/);
    expect(soc.clock.now).toBeGreaterThan(1e9);
    expect(soc.clock.now).toBeLessThan(1.1e9);
  });

  it("advance() lets exactly that much simulated time pass", async () => {
    const { sched, soc } = bootKernelForTest();
    let fired = 0;
    soc.clock.schedule(3e6, () => fired++);
    soc.clock.schedule(7e6, () => fired++);
    await sched.advance(5e6);
    expect(soc.clock.now).toBe(5e6);
    expect(fired).toBe(1);
  });

  it("gives each function-form task its own identity, visible in ctx.task", async () => {
    const { sched, core } = bootKernelForTest();
    const seen: string[] = [];
    const body = async () => {
      seen.push(`${core.ctx.task.comm}:${core.ctx.task.pid}`);
      await sched.block("x", {}, 100).promise;
      seen.push(`${core.ctx.task.comm}:${core.ctx.task.pid}`);
    };
    await Promise.all([sched.run(body, { comm: "p1" }), sched.run(body, { comm: "p2" })]);
    expect(seen).toEqual(["p1:100", "p2:101", "p1:100", "p2:101"]);
  });

  it("is deterministic: same program, same interleaving", async () => {
    const trace = async () => {
      const { sched, soc, core } = bootKernelForTest(7);
      const log: string[] = [];
      const worker = (name: string, step: number) => async () => {
        for (let i = 0; i < 5; i++) {
          await sched.block("sleep", {}, soc.clock.now + step * (1 + (i % 3))).promise;
          log.push(`${name}${i}@${soc.clock.now}/${core.ctx.task.pid}`);
        }
      };
      await Promise.all([sched.run(worker("a", 3)), sched.run(worker("b", 5)), sched.run(worker("c", 4))]);
      return log.join(" ");
    };
    const first = await trace();
    expect(await trace()).toBe(first);
    expect(first.split(" ")).toHaveLength(15);
  });

  it("replays a seed exactly: jittered device completions wake tasks in the same order", async () => {
    const trace = async (seed: number) => {
      const { sched, soc, k } = bootKernelForTest(seed);
      const kk = k();
      const log: string[] = [];
      const user = (name: string) => async () => {
        for (let i = 0; i < 4; i++) {
          const done = kk.init_completion();
          soc.clock.schedule(1000 + soc.rng.int(5000), () => kk.complete(done)); // device latency with jitter
          await kk.wait_for_completion(done);
          log.push(`${name}${i}@${soc.clock.now}`);
        }
      };
      await Promise.all(["a", "b", "c"].map((n) => sched.run(user(n), { comm: n })));
      return log.join(" ");
    };
    const first = await trace(5);
    expect(await trace(5)).toBe(first);
    expect(await trace(6)).not.toBe(first);
  });

  it("runs many same-time and wake-free events without a host hop each", async () => {
    const { sched, soc } = bootKernelForTest();
    let n = 0;
    for (let i = 0; i < 20000; i++) soc.clock.schedule(i, () => n++);
    const t0 = performance.now();
    await sched.advance(30000);
    expect(n).toBe(20000);
    // 20k events in a handful of hops; a hop per event would take far longer.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
