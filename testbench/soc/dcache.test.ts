import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import type { SocBootOptions } from "./boot.js";
import { DmaStatus } from "./device-port.js";
import { PteFlag } from "./pagetable.js";
import { TraceKind } from "./trace.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

const KVA = -0x778000000000;
const BUF = 0x200000; // physical buffer used as a DMA target

async function setup(opts: SocBootOptions) {
  tb = await bootSoc({ board: "pc", ...opts });
  let next = 0x1000000;
  const alloc = (): number => ((next += 4096), next - 4096);
  const { mmu, cpu } = tb.soc;
  const root = mmu.createRoot(alloc);
  mmu.map(root, KVA, 0, 0x800000, PteFlag.Write | PteFlag.Global | PteFlag.Huge, alloc);
  cpu.switchTo(root, 1);
  return tb.soc;
}

function u32(b: Uint8Array, off = 0): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

describe("DataCache and the device memory port", () => {
  it("non-coherent: a CPU write still dirty in the cache is invisible to a device read until cleaned", async () => {
    const { cpu, deviceMemory, dcache } = await setup({ overrides: { coherent: false } });
    cpu.store32(KVA + BUF, 0xc0ffee);
    const seen = new Uint8Array(4);
    expect(deviceMemory.read(BUF, seen)).toBe(DmaStatus.Ok);
    expect(u32(seen)).toBe(0); // stale RAM
    expect(dcache.dirtyLines(BUF, 4)).toBe(1);
    dcache.clean(BUF, 4); // dma_sync_single_for_device
    deviceMemory.read(BUF, seen);
    expect(u32(seen)).toBe(0xc0ffee);
    expect(dcache.dirtyLines(BUF, 4)).toBe(0);
  });

  it("coherent: the device read snoops the dirty line", async () => {
    const { cpu, deviceMemory, dcache, ram } = await setup({ overrides: { coherent: true } });
    cpu.store32(KVA + BUF + 60, 0x12345678); // spans bytes 60..63 of the line
    cpu.store32(KVA + BUF + 62, 0xaabbccdd); // crosses into the next line
    const seen = new Uint8Array(8);
    deviceMemory.read(BUF + 60, seen);
    expect([...seen]).toEqual([0x78, 0x56, 0xdd, 0xcc, 0xbb, 0xaa, 0, 0]);
    expect(ram.read32(BUF + 60)).toBe(0); // RAM itself is still stale: the data came from the cache
    expect(dcache.dirtyLines(BUF, 128)).toBe(2);
  });

  it("non-coherent: a device write leaves a stale line the CPU reads until it invalidates", async () => {
    const { cpu, deviceMemory, dcache } = await setup({ overrides: { coherent: false } });
    expect(cpu.load32(KVA + BUF)).toBe(0); // line now cached
    deviceMemory.write(BUF, Uint8Array.of(1, 2, 3, 4));
    expect(cpu.load32(KVA + BUF)).toBe(0); // stale
    dcache.invalidate(BUF, 64); // dma_sync_single_for_cpu
    expect(cpu.load32(KVA + BUF)).toBe(0x04030201);
  });

  it("coherent: a device write updates the cached line", async () => {
    const { cpu, deviceMemory } = await setup({ overrides: { coherent: true } });
    cpu.store32(KVA + BUF + 8, 0x99); // dirty line
    deviceMemory.write(BUF, Uint8Array.of(1, 2, 3, 4));
    expect(cpu.load32(KVA + BUF)).toBe(0x04030201);
    expect(cpu.load32(KVA + BUF + 8)).toBe(0x99); // the CPU's other dirty bytes survive
  });

  it("invalidate drops dirty data; cleanInvalidate writes it back first", async () => {
    const { cpu, dcache, ram } = await setup({ overrides: { coherent: false } });
    cpu.store32(KVA + BUF, 1);
    dcache.invalidate(BUF, 64);
    expect(cpu.load32(KVA + BUF)).toBe(0);
    cpu.store32(KVA + BUF, 2);
    dcache.cleanInvalidate(BUF, 64);
    expect(dcache.validLines).toBe(0);
    expect(ram.read32(BUF)).toBe(2);
  });

  it("evicts the least recently used way and writes it back", async () => {
    const { cpu, dcache, ram, trace } = await setup({ overrides: { coherent: false } });
    const setStride = dcache.sets * dcache.lineSize; // addresses this far apart share a set
    for (let w = 0; w < dcache.ways; w++) cpu.store32(KVA + BUF + w * setStride, w + 1);
    cpu.load32(KVA + BUF); // way 0 becomes most recent; way 1 is now LRU
    dcache.resetCounters();
    trace.cacheEvents = true;
    cpu.load32(KVA + BUF + dcache.ways * setStride); // one more line in the same set
    expect([dcache.misses, dcache.writebacks]).toEqual([1, 1]);
    expect(ram.read32(BUF + setStride)).toBe(2); // way 1 written back
    expect(ram.read32(BUF)).toBe(0); // way 0 still only in the cache
    expect(trace.snapshot(TraceKind.Cache).map((r) => r.name)).toEqual(["writeback", "fill"]);
  });

  it("a replacement tiny cache (1 set, 1 way) still behaves", async () => {
    const { cpu, dcache, ram } = await setup({ overrides: { coherent: false, dcache: { sets: 1, ways: 1, lineSize: 64 } } });
    cpu.store32(KVA + BUF, 5);
    cpu.store32(KVA + BUF + 64, 6); // evicts the first line
    expect(ram.read32(BUF)).toBe(5);
    expect(cpu.load32(KVA + BUF)).toBe(5);
    expect(dcache.writebacks).toBe(2);
  });

  it("aborts device access to MMIO or unmapped addresses with a status, never a throw", async () => {
    const { deviceMemory, bus, trace } = await setup({ overrides: { coherent: true } });
    bus.addMmio("dev", 0xfe000000, 0x1000, { read: () => 0, write: () => undefined });
    expect(deviceMemory.read(0xfe000000, new Uint8Array(4), 0x18)).toBe(DmaStatus.BusError);
    expect(deviceMemory.write(0xf0000000, new Uint8Array(4), 0x18)).toBe(DmaStatus.BusError);
    expect(deviceMemory.write(0x20000000 - 2, new Uint8Array(4), 0x18)).toBe(DmaStatus.BusError); // runs off RAM
    const errs = trace.snapshot(TraceKind.GuestError);
    expect(errs.map((r) => r.source)).toEqual([0x18, 0x18, 0x18]);
    expect(errs[0]!.name).toMatch(/MMIO "dev"/);
    const vram = new Uint8Array(16);
    bus.addRamBacked("vram", 0xd0000000, vram);
    expect(deviceMemory.write(0xd0000004, Uint8Array.of(9), 0x18)).toBe(DmaStatus.Ok);
    expect(vram[4]).toBe(9);
    expect(trace.snapshot(TraceKind.DmaWrite)).toHaveLength(1);
  });
});
