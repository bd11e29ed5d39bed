import { describe, expect, it } from "vitest";
import { resolveBoard } from "../harness/board.js";
import { Clock } from "./clock.js";
import { TraceKind, TraceRing, traceKindName } from "./trace.js";

function ring(capacity: number): { t: TraceRing; c: Clock } {
  const c = new Clock();
  return { t: new TraceRing(resolveBoard("pc", { traceCapacity: capacity }), c), c };
}

describe("TraceRing", () => {
  it("records fields with the current time and names", () => {
    const { t, c } = ring(8);
    c.advance(5);
    t.record(TraceKind.MmioWrite, 0xfe000010, 4, 0x1234, -1, "CTRL");
    const [r] = t.snapshot();
    expect(r).toMatchObject({ seq: 0, time: 5, kind: TraceKind.MmioWrite, addr: 0xfe000010, size: 4, value: 0x1234, source: -1, name: "CTRL" });
    expect(traceKindName(r!.kind)).toBe("mmio-write");
  });

  it("wraps at capacity, keeping the newest records and clearing stale names", () => {
    const { t } = ring(4);
    for (let i = 0; i < 10; i++) t.record(TraceKind.DmaRead, i, 1, i, 3, i === 1 ? "one" : undefined);
    expect(t.count).toBe(10);
    expect(t.length).toBe(4);
    const rs = t.snapshot();
    expect(rs.map((r) => r.addr)).toEqual([6, 7, 8, 9]);
    expect(rs.map((r) => r.seq)).toEqual([6, 7, 8, 9]);
    expect(rs.every((r) => r.name === undefined)).toBe(true);
    expect(t.snapshot(TraceKind.Irq)).toEqual([]);
  });

  it("hashes deterministically and is sensitive to every field", () => {
    const fill = (tweak: number): string => {
      const { t } = ring(16);
      t.record(TraceKind.MmioRead, 0x1000, 4, 7, -1, "STATUS");
      t.record(TraceKind.DmaWrite, -0x778000000000, 4096, 0, 0x18, undefined);
      t.record(TraceKind.Irq, 11, 0, 1 + tweak, 0x18);
      return t.hash();
    };
    expect(fill(0)).toBe(fill(0));
    expect(fill(1)).not.toBe(fill(0));
  });
});
