import { describe, expect, it } from "vitest";
import { PfnBits, PinTable } from "./pins.js";

describe("PinTable", () => {
  it("counts pins per pfn and releases ledger ids last-in first-out, with or without ids", () => {
    const t = new PinTable();
    expect(t.unpin(5)).toBe(-1);
    t.pin(5, 0);
    t.pin(5, 0);
    t.pin(5, 11);
    t.pin(5, 0);
    t.pin(0x123456, 12);
    expect(t.count(5)).toBe(4);
    expect(t.count(0x123456)).toBe(1);
    expect([t.unpin(5), t.unpin(5), t.unpin(5), t.unpin(5), t.unpin(5)]).toEqual([0, 11, 0, 0, -1]);
    expect(t.count(5)).toBe(0);
    expect(t.unpin(0x123456)).toBe(12);
    t.pin(7, 0);
    expect(t.unpin(7)).toBe(0);
    expect(t.unpin(7)).toBe(-1);
  });
});

describe("PfnBits", () => {
  it("holds pfns, high ones included, and counts each once", () => {
    const b = new PfnBits();
    for (const pfn of [0, 31, 32, 1 << 15, 2 ** 36 + 5, 31]) b.add(pfn);
    expect(b.size).toBe(5);
    expect([0, 31, 32, 1 << 15, 2 ** 36 + 5].every((p) => b.has(p))).toBe(true);
    expect([1, 33, (1 << 15) + 1, 2 ** 36 + 4, 5].some((p) => b.has(p))).toBe(false);
  });
});
