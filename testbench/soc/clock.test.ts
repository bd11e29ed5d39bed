import { describe, expect, it } from "vitest";
import { Clock, Rng } from "./clock.js";

describe("Clock", () => {
  it("runs events in time order, FIFO among equal times", () => {
    const c = new Clock();
    const log: string[] = [];
    c.scheduleAt(20, () => log.push("b20"));
    c.scheduleAt(10, () => log.push("a10"));
    c.scheduleAt(20, () => log.push("c20"));
    c.scheduleAt(10, () => log.push("d10"));
    for (let i = 0; i < 50; i++) c.scheduleAt(30, () => log.push(`e${i}`));
    c.runUntil(100);
    expect(log.slice(0, 4)).toEqual(["a10", "d10", "b20", "c20"]);
    expect(log.slice(4)).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    expect(c.now).toBe(100);
  });

  it("step runs every event due at the next time, including ones scheduled meanwhile", () => {
    const c = new Clock();
    const log: number[] = [];
    c.schedule(5, () => {
      log.push(1);
      c.schedule(0, () => log.push(2));
      c.schedule(1, () => log.push(3));
    });
    expect(c.step()).toBe(true);
    expect(c.now).toBe(5);
    expect(log).toEqual([1, 2]);
    expect(c.step()).toBe(true);
    expect(log).toEqual([1, 2, 3]);
    expect(c.now).toBe(6);
    expect(c.step()).toBe(false);
  });

  it("cancels events and reports pending", () => {
    const c = new Clock();
    let ran = 0;
    const id = c.schedule(10, () => ran++);
    c.schedule(20, () => ran++);
    expect(c.pending).toBe(2);
    expect(c.cancel(id)).toBe(true);
    expect(c.cancel(id)).toBe(false);
    expect(c.nextTime()).toBe(20);
    c.runUntil(50);
    expect(ran).toBe(1);
    expect(c.pending).toBe(0);
  });

  it("never moves backwards and clamps past times to now", () => {
    const c = new Clock();
    c.advance(100);
    let at = -1;
    c.scheduleAt(50, () => (at = c.now));
    c.runUntil(10);
    expect(c.now).toBe(100);
    c.step();
    expect(at).toBe(100);
  });

  it("keeps heap order under random load", () => {
    const c = new Clock();
    const rng = new Rng(3);
    const seen: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = rng.int(1000);
      c.scheduleAt(t, () => seen.push(c.now));
    }
    c.runUntil(1000);
    expect(seen.length).toBe(2000);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
  });
});

describe("Rng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    a.reseed(42);
    expect(a.nextU32()).toBe(xs[0]);
  });

  it("stays in range and is roughly uniform", () => {
    const r = new Rng(7);
    const buckets = new Array(10).fill(0);
    let floatsOk = true;
    for (let i = 0; i < 20000; i++) {
      buckets[r.int(10)]++;
      const f = r.float();
      if (!(f >= 0 && f < 1)) floatsOk = false;
    }
    expect(floatsOk).toBe(true);
    expect(buckets.reduce((a, b) => a + b, 0)).toBe(20000);
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(250);
    expect(() => r.int(0)).toThrow(RangeError);
  });
});
