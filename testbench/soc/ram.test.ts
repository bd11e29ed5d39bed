import { describe, expect, it } from "vitest";
import { resolveBoard } from "../harness/board.js";
import { SparseRam } from "./ram.js";

const GiB = 1024 ** 3;

describe("SparseRam", () => {
  it("backs pages on first touch only and reads zeros elsewhere", () => {
    const ram = new SparseRam(resolveBoard("pc", { ram: [{ base: 0, size: 4 * GiB }] }));
    expect(ram.touchedPages).toBe(0);
    const buf = new Uint8Array(8192);
    ram.read(3 * GiB, buf);
    expect(buf.every((b) => b === 0)).toBe(true);
    expect(ram.touchedPages).toBe(0);
    ram.write(4 * GiB - 2, new Uint8Array([1, 2]));
    ram.write32(0x1000, 0xcafef00d);
    expect(ram.touchedPages).toBe(2);
    expect(ram.read32(0x1000)).toBe(0xcafef00d);
    expect(ram.peekPage(5)).toBeUndefined();
    expect(ram.touchedPages).toBe(2);
    expect(ram.page(5)).toHaveLength(4096);
    expect(ram.touchedPages).toBe(3);
  });

  it("copies across page boundaries and banks keep their own addresses", () => {
    const ram = new SparseRam(resolveBoard("arm"));
    const base = 0x80000000;
    const src = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
    ram.write(base + 4000, src);
    const back = new Uint8Array(10000);
    ram.read(base + 4000, back);
    expect(back).toEqual(src);
    expect(ram.touchedPages).toBe(4);
    expect(ram.read32(base + 4094)).toBe((src[94]! | (src[95]! << 8) | (src[96]! << 16) | (src[97]! << 24)) >>> 0);
    expect(() => ram.read(0, new Uint8Array(4))).toThrow(RangeError);
    expect(ram.contains(base + 512 * 1024 * 1024 - 4, 4)).toBe(true);
    expect(ram.contains(base + 512 * 1024 * 1024 - 4, 8)).toBe(false);
  });

  it("fill with zero keeps untouched pages untouched", () => {
    const ram = new SparseRam(resolveBoard("pc"));
    ram.fill(0, 1 << 20, 0);
    expect(ram.touchedPages).toBe(0);
    ram.fill(100, 5000, 0xab);
    expect(ram.touchedPages).toBe(2);
    const b = new Uint8Array(3);
    ram.read(99, b);
    expect([...b]).toEqual([0, 0xab, 0xab]);
  });

  it("rejects banks that are not page aligned", () => {
    expect(() => new SparseRam(resolveBoard("pc", { ram: [{ base: 0x100, size: 4096 }] }))).toThrow(RangeError);
  });
});
