import { describe, expect, it } from "vitest";
import { bytesAccessor, defineStruct, packBits, unpackBits } from "./struct.js";

const Desc = defineStruct("desc", { control: "u32", length: "u32", src: "u64", dst: "u64", next: "u64" }, { align: 32 });

describe("struct DSL", () => {
  it("lays fields out at natural alignment and pads to the alignment", () => {
    expect(Desc.offsets).toEqual({ control: 0, length: 4, src: 8, dst: 16, next: 24 });
    expect(Desc.size).toBe(32);
    const Odd = defineStruct("odd", { a: "u8", b: "u32", c: "u16" });
    expect(Odd.offsets).toEqual({ a: 0, b: 4, c: 8 });
    expect(Odd.size).toBe(12);
  });

  it("round-trips 64-bit fields above 2^32 little-endian", () => {
    const bytes = Desc.encode({ control: 0xad4b0013, length: 4096, src: 0x1_2345_6000, next: 2 ** 52 + 32 });
    expect(bytes[8]).toBe(0x00);
    expect(bytes[12]).toBe(0x01);
    expect(Desc.decode(bytes)).toEqual({ control: 0xad4b0013, length: 4096, src: 0x1_2345_6000, dst: 0, next: 2 ** 52 + 32 });
  });

  it("reads and writes single fields through any accessor", () => {
    const mem = new Uint8Array(64);
    const acc = bytesAccessor(mem);
    Desc.write(acc, 32, { length: 77 });
    Desc.set(acc, 32, "dst", 0xffff_ffff_ff);
    expect(Desc.get(acc, 32, "length")).toBe(77);
    expect(Desc.read(acc, 32).dst).toBe(0xffff_ffff_ff);
    expect(() => Desc.get(acc, 0, "nope" as "length")).toThrow(/no field/);
  });

  it("rejects overlapping explicit offsets", () => {
    expect(() => defineStruct("bad", { a: "u32", b: { type: "u16", offset: 2 } })).toThrow(/overlaps/);
  });

  it("packs and unpacks bit fields", () => {
    const ctl = { MAGIC: [16, 16], ADJ: [8, 6], STOP: [0, 1], EOP: [4, 1] } as const;
    const w = packBits(ctl, { MAGIC: 0xad4b, ADJ: 3, STOP: 1, EOP: 1 });
    expect(w).toBe(0xad4b0311);
    expect(unpackBits(ctl, w)).toEqual({ MAGIC: 0xad4b, ADJ: 3, STOP: 1, EOP: 1 });
  });
});
