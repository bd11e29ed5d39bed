import { describe, expect, it } from "vitest";
import { resolveBoard } from "../harness/board.js";
import { Clock } from "./clock.js";
import { IRQ_VECTOR_BASE, InterruptController } from "./irq.js";
import { TraceRing } from "./trace.js";

function setup() {
  const clock = new Clock();
  const irq = new InterruptController(clock, new TraceRing(resolveBoard("pc"), clock));
  const got: [number, number, number][] = [];
  irq.setDeliver((vector, line) => got.push([vector, line, clock.now]));
  return { clock, irq, got };
}

describe("InterruptController", () => {
  it("delivers from a clock event, never inside raise()", () => {
    const { clock, irq, got } = setup();
    clock.advance(100);
    irq.configure(5, "edge");
    irq.pulse(5);
    expect(got).toEqual([]);
    clock.step();
    expect(got).toEqual([[IRQ_VECTOR_BASE + 5, 5, 100]]);
    expect(irq.counts[5]).toBe(1);
  });

  it("delivers lines raised between and during MSI-only dispatches, and level lines held in service", () => {
    const { clock, irq, got } = setup();
    irq.msi(0xfee00000, 0x51);
    clock.runUntil(10);
    irq.configure(3, "level", 0x43);
    irq.raise(3);
    irq.msi(0xfee00000, 0x52);
    clock.runUntil(20);
    expect(got.map((g) => g[0])).toEqual([0x51, 0x43, 0x52]);
    // A handler raising a line during an MSI delivery: delivered on the next dispatch.
    irq.configure(7, "edge", 0x47);
    irq.setDeliver((vector, line) => {
      got.push([vector, line, clock.now]);
      if (vector === 0x53) irq.pulse(7);
    });
    irq.msi(0xfee00000, 0x53);
    clock.runUntil(30);
    irq.eoi(3);
    clock.runUntil(40);
    expect(got.map((g) => g[0])).toEqual([0x51, 0x43, 0x52, 0x53, 0x47, 0x43]);
  });

  it("level lines stay in service until EOI and re-deliver while asserted", () => {
    const { clock, irq, got } = setup();
    irq.configure(9, "level", 0x41);
    irq.raise(9);
    clock.runUntil(10);
    expect(got).toHaveLength(1);
    clock.runUntil(20);
    expect(got).toHaveLength(1); // in service
    irq.eoi(9);
    clock.runUntil(30);
    expect(got.map((g) => g[0])).toEqual([0x41, 0x41]); // still asserted: again
    irq.lower(9);
    irq.eoi(9);
    clock.runUntil(40);
    expect(got).toHaveLength(2);
  });

  it("masked lines do not deliver; a masked edge latches until unmask", () => {
    const { clock, irq, got } = setup();
    irq.configure(3, "edge");
    irq.mask(3);
    irq.pulse(3);
    clock.runUntil(10);
    expect(got).toEqual([]);
    expect(irq.isPending(3)).toBe(true);
    irq.unmask(3);
    clock.runUntil(20);
    expect(got.map((g) => g[1])).toEqual([3]);
    expect(irq.isPending(3)).toBe(false);
  });

  it("pends while local interrupts are disabled and delivers on enable", () => {
    const { clock, irq, got } = setup();
    const saved = irq.saveLocal();
    irq.configure(1, "edge");
    irq.pulse(1);
    irq.msi(0xfee00000, 0x51);
    clock.runUntil(50);
    expect(got).toEqual([]);
    irq.restoreLocal(saved);
    expect(got).toEqual([]); // still not nested inside restore
    clock.step();
    expect(got).toEqual([
      [IRQ_VECTOR_BASE + 1, 1, 50],
      [0x51, -1, 50],
    ]);
    expect(irq.msiCount).toBe(1);
  });

  it("an interrupt raised by a handler is delivered in a later event at the same time", () => {
    const { clock, irq } = setup();
    const order: number[] = [];
    irq.configure(2, "edge");
    irq.configure(7, "edge");
    irq.setDeliver((_v, line) => {
      order.push(line);
      if (line === 7) irq.pulse(2);
    });
    irq.pulse(7);
    clock.runUntil(0);
    expect(order).toEqual([7, 2]);
  });

  it("rejects bad line numbers", () => {
    const { irq } = setup();
    expect(() => irq.raise(256)).toThrow(RangeError);
    expect(() => irq.mask(-1)).toThrow(RangeError);
  });
});
