import { describe, expect, it } from "vitest";
import { defineRegisters, GuestAccess, prefixRegisters, RegisterFile, registerTableMarkdown } from "./registers.js";

const map = defineRegisters(
  "demo",
  {
    CTRL: { offset: 0x00, width: 32, fields: { EN: { lsb: 0, width: 1 }, MODE: { lsb: 4, width: 3 } } },
    STATUS: { offset: 0x04, width: 32, mode: "w1c", reset: 0x3 },
    ID: { offset: 0x08, width: 32, mode: "ro", reset: 0x1234abcd },
    EVENTS: { offset: 0x0c, width: 32, mode: "rc" },
    KEY: { offset: 0x10, width: 32, mode: "wo" },
    SET: { offset: 0x14, width: 32, mode: "w1s" },
    MIXED: { offset: 0x18, width: 16, access: [1, 2], fields: { LOW: { lsb: 0, width: 8, mode: "ro" }, HIGH: { lsb: 8, width: 8 } }, reset: 0x00aa },
  },
  { size: 0x20 },
);

describe("register DSL", () => {
  it("starts at the declared reset values", () => {
    const f = new RegisterFile(map);
    expect(f.get("STATUS")).toBe(3);
    expect(f.get("ID")).toBe(0x1234abcd);
    expect(f.get("MIXED")).toBe(0xaa);
    f.set("ID", 0);
    f.reset();
    expect(f.get("ID")).toBe(0x1234abcd);
  });

  it("applies each access mode on guest writes and reads", () => {
    const f = new RegisterFile(map);
    f.guestWrite(0x00, 4, 0x51);
    expect(f.field("CTRL", "EN")).toBe(1);
    expect(f.field("CTRL", "MODE")).toBe(5);
    f.guestWrite(0x04, 4, 0x1); // w1c clears bit 0 only
    expect(f.get("STATUS")).toBe(0x2);
    f.guestWrite(0x08, 4, 0); // ro ignores
    expect(f.guestRead(0x08, 4)).toBe(0x1234abcd);
    f.set("EVENTS", 0x80);
    expect(f.guestRead(0x0c, 4)).toBe(0x80);
    expect(f.guestRead(0x0c, 4)).toBe(0); // cleared by the first read
    f.guestWrite(0x10, 4, 0xdead);
    expect(f.get("KEY")).toBe(0xdead);
    expect(f.guestRead(0x10, 4)).toBe(0); // wo reads 0
    f.guestWrite(0x14, 4, 0x1);
    f.guestWrite(0x14, 4, 0x4);
    expect(f.get("SET")).toBe(0x5); // w1s accumulates
  });

  it("keeps read-only fields inside a writable register", () => {
    const f = new RegisterFile(map);
    f.guestWrite(0x18, 2, 0x1234);
    expect(f.get("MIXED")).toBe(0x12aa);
  });

  it("serves narrower lanes only where allowed", () => {
    const f = new RegisterFile(map);
    expect(f.guestRead(0x19, 1)).toBe(0);
    f.guestWrite(0x19, 1, 0x7f);
    expect(f.get("MIXED")).toBe(0x7faa);
    expect(f.guestRead(0x01, 1)).toBe(GuestAccess.BAD_SIZE); // CTRL is 32-bit only
    expect(f.guestRead(0x02, 4)).toBe(GuestAccess.BAD_SIZE); // misaligned
    expect(f.guestRead(0x1c, 4)).toBe(GuestAccess.UNMAPPED);
    expect(f.guestWrite(0x40, 4, 1)).toBe(GuestAccess.UNMAPPED);
  });

  it("runs hooks: read hooks supply live values, write hooks see the applied value", () => {
    const f = new RegisterFile(map);
    let counter = 41;
    f.onRead("ID", () => ++counter);
    expect(f.guestRead(0x08, 4)).toBe(42);
    const seen: number[][] = [];
    f.onWrite("STATUS", (v, old, w) => seen.push([v, old, w]));
    f.guestWrite(0x04, 4, 0x2);
    expect(seen).toEqual([[0x1, 0x3, 0x2]]);
  });

  it("rejects malformed tables when the model loads", () => {
    expect(() => defineRegisters("bad", { A: { offset: 0, width: 32 }, B: { offset: 2, width: 16 } }, { size: 8 })).toThrow(/overlaps/);
    expect(() => defineRegisters("bad", { A: { offset: 6, width: 32 } }, { size: 8 })).toThrow(/outside/);
    expect(() => defineRegisters("bad", { A: { offset: 0, width: 8, reset: 0x100 } }, { size: 8 })).toThrow(/fit/);
    expect(() => defineRegisters("bad", { A: { offset: 0, width: 8, fields: { F: { lsb: 6, width: 4 } } } }, { size: 8 })).toThrow(/outside/);
  });

  it("prefixes and shifts a repeated block, and renders docs and dumps from the table", () => {
    const engine = { ID: { offset: 0, width: 32, mode: "ro", reset: 7 }, CTRL: { offset: 4, width: 32 } } as const;
    const both = defineRegisters("two", { ...prefixRegisters("A_", 0, engine), ...prefixRegisters("B_", 0x100, engine) }, { size: 0x200 });
    const f = new RegisterFile(both);
    expect(f.nameAt(0x104)).toBe("B_CTRL");
    expect(f.guestRead(0x100, 4)).toBe(7);
    expect(registerTableMarkdown(both)).toContain("| 0x0104 | B_CTRL | 32 |");
    expect(f.dump()).toMatch(/B_ID\s+@0x0100 = 0x00000007/);
  });
});
