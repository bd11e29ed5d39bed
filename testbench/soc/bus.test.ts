import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import { BusError, RegionKind } from "./bus.js";
import type { MmioHandler } from "./bus.js";
import { TraceKind } from "./trace.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

function regs(): MmioHandler & { writes: [number, number, number][]; last: number } {
  const h = {
    writes: [] as [number, number, number][],
    last: 0,
    read: (off: number, size: number) => (off === 0 ? 0x11223344 : off + size),
    write(off: number, size: number, value: number) {
      h.writes.push([off, size, value]);
    },
    registerName: (off: number) => (off === 0 ? "ID" : undefined),
  };
  return h;
}

describe("Bus", () => {
  it("dispatches RAM, RAM-backed and MMIO regions from one table", async () => {
    tb = await bootSoc({ board: "pc" });
    const { bus, trace } = tb.soc;
    const vram = new Uint8Array(0x10000);
    bus.addRamBacked("vram", 0xd0000000, vram);
    const h = regs();
    const mmio = bus.addMmio("dev", 0xfe000000, 0x1000, h, [4]);
    bus.write(0x1000, 4, 0xa5a5a5a5);
    expect(bus.read(0x1000, 4)).toBe(0xa5a5a5a5);
    expect(bus.read(0x1000, 2)).toBe(0xa5a5);
    bus.write(0xd0000004, 2, 0xbeef);
    expect(vram[4]).toBe(0xef);
    expect(bus.read(0xd0000004, 2)).toBe(0xbeef);
    expect(bus.read(0xfe000000, 4)).toBe(0x11223344);
    bus.write(0xfe000008, 4, 7);
    expect(h.writes).toEqual([[8, 4, 7]]);
    expect(bus.lookup(0xfe000fff)).toBe(mmio);
    expect(bus.lookup(0xfe001000)).toBeUndefined();
    expect(bus.lookup(0x10)!.kind).toBe(RegionKind.Ram);
    const mm = trace.snapshot().filter((r) => r.kind === TraceKind.MmioRead || r.kind === TraceKind.MmioWrite);
    expect(mm.map((r) => [r.kind, r.addr, r.name])).toEqual([
      [TraceKind.MmioRead, 0xfe000000, "ID"],
      [TraceKind.MmioWrite, 0xfe000008, undefined],
    ]);
    expect(tb.memoryMap()).toMatch(/fe000000-fe000fff : dev \(mmio\)/);
  });

  it("reads all ones and logs a guest error for unmapped addresses and bad sizes", async () => {
    tb = await bootSoc({ board: "pc" });
    const { bus, trace } = tb.soc;
    const h = regs();
    bus.addMmio("dev", 0xfe000000, 0x100, h, [4]);
    expect(bus.read(0xf0000000, 4)).toBe(0xffffffff);
    expect(bus.read(0xf0000000, 1)).toBe(0xff);
    expect(bus.read(0xfe000000, 2)).toBe(0xffff);
    bus.write(0xfe000000, 1, 1);
    expect(h.writes).toEqual([]);
    expect(bus.read(0xfe0000fe, 4)).toBe(0xffffffff); // crosses the region end
    const errs = trace.snapshot(TraceKind.GuestError);
    expect(errs).toHaveLength(5);
    expect(errs[0]).toMatchObject({ addr: 0xf0000000, size: 4 });
    expect(errs[2]!.name).toMatch(/size 2 not allowed in "dev"/);
    expect(bus.guestErrors).toBe(5);
  });

  it("throws BusError on a strict bus", async () => {
    tb = await bootSoc({ board: "pc", overrides: { strictBus: true } });
    const { bus } = tb.soc;
    expect(() => bus.read(0xf0000000, 4)).toThrow(BusError);
    bus.addMmio("dev", 0xfe000000, 0x100, regs(), [4]);
    expect(() => bus.write(0xfe000000, 2, 0)).toThrow(/size 2 not allowed/);
  });

  it("moves and removes regions, notifying listeners and refusing overlaps", async () => {
    tb = await bootSoc({ board: "pc" });
    const { bus } = tb.soc;
    let changes = 0;
    bus.onTopologyChange(() => changes++);
    const r = bus.addMmio("bar0", 0xc0000000, 0x1000, regs());
    expect(() => bus.addMmio("clash", 0xc0000800, 0x1000, regs())).toThrow(/overlaps "bar0"/);
    expect(() => bus.addMmio("ram-clash", 0x100000, 0x1000, regs())).toThrow(/overlaps "System RAM"/);
    bus.move(r, 0xc0100000);
    expect(bus.lookup(0xc0000000)).toBeUndefined();
    expect(bus.read(0xc0100000, 4)).toBe(0x11223344);
    bus.addMmio("bar1", 0xc0000000, 0x1000, regs());
    expect(() => bus.move(r, 0xc0000000)).toThrow(/overlaps/);
    expect(r.base).toBe(0xc0100000);
    bus.remove(r);
    expect(bus.lookup(0xc0100000)).toBeUndefined();
    expect(changes).toBe(4); // add, move, add, remove (the refused move changes nothing)
  });

  it("has a port space only on boards with ioPorts", async () => {
    tb = await bootSoc({ board: "pc" });
    const h = regs();
    tb.soc.bus.addPorts("uart", 0x3f8, 8, h, [1]);
    expect(tb.soc.bus.inPort(0x3f8, 1)).toBe(0x11223344);
    tb.soc.bus.outPort(0x3f9, 1, 0x41);
    expect(h.writes).toEqual([[1, 1, 0x41]]);
    expect(tb.soc.bus.inPort(0x3f8, 2)).toBe(0xffff);
    expect(tb.soc.bus.inPort(0x80, 1)).toBe(0xff);
    expect(tb.soc.trace.snapshot(TraceKind.PioWrite)).toHaveLength(1);
    await tb.dispose();
    tb = await bootSoc({ board: "arm" });
    expect(() => tb!.soc.bus.addPorts("uart", 0x3f8, 8, h)).toThrow(/no I\/O port space/);
    expect(tb.soc.bus.inPort(0x3f8, 1)).toBe(0xff);
    expect(tb.soc.trace.snapshot(TraceKind.GuestError)[0]!.name).toMatch(/no port space/);
  });
});
