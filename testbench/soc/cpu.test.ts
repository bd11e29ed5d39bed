import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import type { SocBootOptions } from "./boot.js";
import { Access, FaultCause, PageFault, PteFlag } from "./pagetable.js";
import { TraceKind } from "./trace.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

const KVA = -0x778000000000;

async function setup(opts: SocBootOptions = {}) {
  tb = await bootSoc({ board: "pc", ...opts });
  let next = 0x1000000;
  const alloc = (): number => ((next += 4096), next - 4096);
  const { mmu, cpu } = tb.soc;
  const root = mmu.createRoot(alloc);
  mmu.map(root, KVA, 0, 0x800000, PteFlag.Write | PteFlag.Global | PteFlag.Huge, alloc);
  cpu.switchTo(root, 1);
  return { ...tb.soc, root, alloc };
}

describe("Cpu", () => {
  it("loads and stores every width, little-endian, through the cache", async () => {
    const { cpu, ram, dcache } = await setup();
    cpu.store32(KVA + 0x1000, 0x44332211);
    expect(cpu.load8(KVA + 0x1000)).toBe(0x11);
    expect(cpu.load16(KVA + 0x1002)).toBe(0x4433);
    cpu.store8(KVA + 0x1001, 0xaa);
    cpu.store16(KVA + 0x1002, 0xbbcc);
    expect(cpu.load32(KVA + 0x1000)).toBe(0xbbccaa11);
    cpu.store64(KVA + 0x1008, 2 ** 52 + 3);
    expect(cpu.load64(KVA + 0x1008)).toBe(2 ** 52 + 3);
    const parts = [0, 0];
    cpu.load64Parts(KVA + 0x1008, parts);
    expect(parts).toEqual([3, 0x100000]);
    cpu.store64Parts(KVA + 0x1010, 0xffffffff, 0x1f);
    expect(cpu.load64(KVA + 0x1010)).toBe(0x1fffffffff);
    // write-back: RAM still holds zeros until the line is cleaned
    expect(ram.read32(0x1000)).toBe(0);
    dcache.clean(0x1000, 64);
    expect(ram.read32(0x1000)).toBe(0xbbccaa11);
  });

  it("splits accesses that cross a cache line or a page", async () => {
    const { cpu, ram, dcache, mmu, root, alloc } = await setup();
    cpu.store32(KVA + 0x103e, 0xdeadbeef); // crosses a 64-byte line
    expect(cpu.load32(KVA + 0x103e)).toBe(0xdeadbeef);
    expect(cpu.load16(KVA + 0x103f)).toBe(0xadbe);
    // Two virtually adjacent pages on physically distant frames.
    mmu.map(root, 0x10000, 0x300000, 0x1000, PteFlag.Write, alloc);
    mmu.map(root, 0x11000, 0x500000, 0x1000, PteFlag.Write, alloc);
    cpu.store32(0x10ffe, 0x01020304);
    expect(cpu.load32(0x10ffe)).toBe(0x01020304);
    dcache.flushAll();
    expect(ram.read32(0x300ffc) >>> 16).toBe(0x0304);
    expect(ram.read32(0x500000) & 0xffff).toBe(0x0102);
    // A fault on the second page leaves the first one untouched.
    mmu.unmap(root, 0x11000, 0x1000);
    tb!.soc.tlb.flushAll();
    expect(() => cpu.store32(0x10ffe, 0xffffffff)).toThrow(PageFault);
    expect(cpu.load16(0x10ffe)).toBe(0x0304);
  });

  it("throws PageFault with address, access, mode and cause, and traces it", async () => {
    const { cpu, mmu, root, alloc, trace } = await setup();
    mmu.map(root, 0x400000, 0x600000, 0x1000, PteFlag.User | PteFlag.Nx, alloc);
    const fault = (fn: () => unknown): PageFault => {
      try {
        fn();
      } catch (e) {
        if (e instanceof PageFault) return e;
        throw e;
      }
      throw new Error("no fault");
    };
    cpu.user = true;
    let f = fault(() => cpu.load32(KVA));
    expect([f.addr, f.access, f.user, f.cause]).toEqual([KVA, Access.Read, true, FaultCause.UserSupervisor]);
    expect(f.message).toMatch(/user read at ffff888000000000: user-access-to-supervisor/);
    f = fault(() => cpu.store8(0x400000, 1));
    expect([f.accessName, f.causeName]).toEqual(["write", "protection"]);
    f = fault(() => cpu.translate(0x400000, Access.Exec));
    expect(f.cause).toBe(FaultCause.Nx);
    expect(cpu.load32(0x400000)).toBe(0);
    f = fault(() => cpu.load8(0x401000));
    expect(f.cause).toBe(FaultCause.NotPresent);
    cpu.user = false;
    expect(cpu.load32(0x400000)).toBe(0); // kernel may read user pages
    expect(trace.snapshot(TraceKind.Fault).map((r) => [r.addr, r.value])).toEqual([
      [KVA, FaultCause.UserSupervisor],
      [0x400000, FaultCause.Protection],
      [0x400000, FaultCause.Nx],
      [0x401000, FaultCause.NotPresent],
    ]);
  });

  it("sends uncached mappings straight to RAM and MMIO mappings to the handler", async () => {
    const { cpu, ram, mmu, root, alloc, bus, trace, dcache } = await setup();
    mmu.map(root, 0x20000, 0x700000, 0x1000, PteFlag.Write | PteFlag.MtUncached, alloc);
    cpu.store32(0x20010, 0x5555);
    expect(ram.read32(0x700010)).toBe(0x5555);
    expect(dcache.dirtyLines(0x700000, 0x1000)).toBe(0);
    const seen: string[] = [];
    bus.addMmio("dev", 0xfe000000, 0x1000, {
      read: (o, s) => (seen.push(`r${o}/${s}`), 0xabcd0000 + o),
      write: (o, s, v) => void seen.push(`w${o}/${s}=${v}`),
      registerName: (o) => (o === 4 ? "CTRL" : undefined),
    }, [4]);
    mmu.map(root, 0x30000, 0xfe000000, 0x1000, PteFlag.Write | PteFlag.MtUncached, alloc);
    expect(cpu.load32(0x30008)).toBe(0xabcd0008);
    cpu.store32(0x30004, 9);
    expect(cpu.load16(0x30004)).toBe(0xffff); // size 2 not allowed: guest error, all ones
    expect(seen).toEqual(["r8/4", "w4/4=9"]);
    expect(trace.snapshot(TraceKind.MmioWrite)[0]).toMatchObject({ addr: 0xfe000004, value: 9, name: "CTRL" });
    expect(trace.snapshot(TraceKind.GuestError)).toHaveLength(1);
    // Moving the region (BAR reassignment) must not leave the old handler cached in the TLB.
    bus.move(bus.lookup(0xfe000000)!, 0xfe100000);
    expect(cpu.load32(0x30008)).toBe(0xffffffff);
  });

  it("accesses RAM-backed device memory directly", async () => {
    const { cpu, mmu, root, alloc, bus } = await setup();
    const vram = new Uint8Array(0x4000);
    bus.addRamBacked("vram", 0xd0000000, vram);
    mmu.map(root, 0x40000, 0xd0000000, 0x4000, PteFlag.Write | PteFlag.MtWriteCombining, alloc);
    cpu.store32(0x41000, 0x00ff00ff);
    expect(vram[0x1000]).toBe(0xff);
    vram[0x2000] = 7;
    expect(cpu.load8(0x42000)).toBe(7);
    cpu.fill(0x40000, 0x4000, 0x3c);
    expect(vram.every((b) => b === 0x3c)).toBe(true);
  });

  it("copies bulk data page by page through the cache", async () => {
    const { cpu, ram, dcache, mmu, root, alloc } = await setup();
    mmu.map(root, 0x100000, 0x300000, 0x1000, PteFlag.Write, alloc);
    mmu.map(root, 0x101000, 0x200000, 0x2000, PteFlag.Write, alloc);
    const src = Uint8Array.from({ length: 0x2800 }, (_, i) => (i * 7) & 0xff);
    cpu.writeBytes(0x100400, src);
    const back = new Uint8Array(src.length);
    cpu.readBytes(0x100400, back);
    expect(back).toEqual(src);
    dcache.flushAll();
    const phys = new Uint8Array(0xc00);
    ram.read(0x300400, phys);
    expect(phys).toEqual(src.subarray(0, 0xc00));
    ram.read(0x200000, phys);
    expect(phys).toEqual(src.subarray(0xc00, 0x1800));
    cpu.fill(0x100ffe, 4, 0xee);
    expect(cpu.load32(0x100ffe)).toBe(0xeeeeeeee);
  });

  it("floors a non-integer address, also where the access crosses a page (no endless byte split)", async () => {
    const { cpu } = await setup();
    cpu.store32(KVA + 0x1ffe, 0xa1b2c3d4);
    expect(cpu.load32(KVA + 0x1ffe + 0.8)).toBe(0xa1b2c3d4);
    expect(cpu.load16(KVA + 0x1fff + 0.5)).toBe(0xb2c3);
    cpu.store16(KVA + 0x1fff + 0.25, 0x5566);
    expect(cpu.load32(KVA + 0x1ffe)).toBe(0xa15566d4);
  });

  it("rejects ASIDs outside 0..0xfffe", async () => {
    const { cpu, root } = await setup();
    expect(() => cpu.switchTo(root, 0x10000)).toThrow(RangeError);
    expect(() => cpu.switchTo(root, -1)).toThrow(RangeError);
  });

  it("caches upper page-table levels like x86's PDE cache: stale until any TLB flush, kept apart per root", async () => {
    const { cpu, ram, mmu, tlb, root, alloc } = await setup({ overrides: { coherent: true } });
    const va = 0x40000000;
    const va2 = va + 0x1000; // same 2 MiB, so same last-level table
    // va → 0x300000, va2 → 0x301000, va + 0x2000 → 0x302000, already accessed (so the fast walk takes them).
    mmu.map(root, va, 0x300000, 0x3000, PteFlag.Write | PteFlag.Accessed, alloc);
    const other = mmu.createRoot(alloc);
    mmu.map(other, va, 0x500000, 0x2000, PteFlag.Write | PteFlag.Accessed, alloc); // its own table: va2 → 0x501000
    ram.write32(0x301000, 111);
    ram.write32(0x501000, 222);
    expect(cpu.load32(va)).toBe(0); // the first walk sets the accessed bits
    expect(cpu.load32(va + 0x2000)).toBe(0); // a walk over accessed entries caches the path to the last level
    // Point root's level-2 entry (PDE) at the other root's last-level table, without a flush.
    const entry = (table: number, level: number): number => table + (Math.floor(va / 2 ** (39 - 9 * level)) % 512) * 8;
    const down = (table: number, level: number): number => (ram.read32(entry(table, level)) & ~0xfff) >>> 0;
    const pde = entry(down(down(root, 0), 1), 2);
    const otherTable = down(down(down(other, 0), 1), 2);
    ram.write32(pde, (otherTable | (ram.read32(pde) & 0xfff)) >>> 0);
    expect(cpu.load32(va2)).toBe(111); // the cached path still leads to root's own table
    tlb.flushRange(va2); // INVLPG drops the entry and every paging-structure cache entry
    expect(cpu.load32(va2)).toBe(222);
    // Another root with the same addresses never uses root's cached path.
    mmu.map(other, va2, 0x600000, 0x1000, PteFlag.Write, alloc);
    ram.write32(0x600000, 333);
    cpu.switchTo(other, 2);
    expect(cpu.load32(va2)).toBe(333);
  });
});
