import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import { Access, FaultCause, PageTable, PteFlag, pagingProfiles } from "./pagetable.js";
import type { Mmu } from "./mmu.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

/** Bump allocator of zeroed table pages starting at `start`. */
function bump(start: number): () => number {
  let next = start;
  return () => {
    const p = next;
    next += 4096;
    return p;
  };
}

const KERNEL64 = -0x778000000000; // ffff888000000000

describe("page tables, x86_64 (4 levels, 48-bit canonical)", () => {
  async function setup(): Promise<{ mmu: Mmu; root: number; alloc: () => number }> {
    tb = await bootSoc({ board: "pc" });
    const alloc = bump(0x1000000);
    return { mmu: tb.soc.mmu, root: tb.soc.mmu.createRoot(alloc), alloc };
  }

  it("maps kernel-half (negative) and user addresses and walks them in RAM", async () => {
    const { mmu, root, alloc } = await setup();
    mmu.map(root, KERNEL64, 0x200000, 0x3000, PteFlag.Write | PteFlag.Global, alloc);
    mmu.map(root, 0x400000, 0x500000, 0x1000, PteFlag.User | PteFlag.Nx, alloc);
    expect(mmu.lookup(root, KERNEL64 + 0x1234)).toEqual({ pa: 0x201234, flags: expect.any(Number), pageSize: 4096 });
    expect(mmu.lookup(root, KERNEL64 + 0x2fff)!.pa).toBe(0x202fff);
    expect(mmu.lookup(root, KERNEL64 + 0x3000)).toBeNull();
    const u = mmu.lookup(root, 0x400010)!;
    expect(u.pa).toBe(0x500010);
    expect(u.flags & (PteFlag.User | PteFlag.Write | PteFlag.Nx)).toBe(PteFlag.User | PteFlag.Nx);
    // 4 levels: top table + one table per level for each half = 1 + 3 + 3 pages.
    expect(tb!.soc.ram.touchedPages).toBe(7);
    // The top-level entry of the kernel half is index 273 (0xffff888000000000 >> 39 & 511).
    expect(tb!.soc.ram.read32(root + 273 * 8) & PteFlag.Present).toBe(1);
  });

  it("reports each fault cause", async () => {
    const { mmu, root, alloc } = await setup();
    mmu.map(root, KERNEL64, 0x200000, 0x1000, 0, alloc); // read-only kernel page
    mmu.map(root, 0x400000, 0x500000, 0x1000, PteFlag.User | PteFlag.Write | PteFlag.Nx, alloc);
    expect(mmu.walk(root, KERNEL64 + 0x1000, Access.Read, false)).toEqual({ fault: FaultCause.NotPresent });
    expect(mmu.walk(root, KERNEL64, Access.Write, false)).toEqual({ fault: FaultCause.Protection });
    expect(mmu.walk(root, KERNEL64, Access.Read, true)).toEqual({ fault: FaultCause.UserSupervisor });
    expect(mmu.walk(root, 0x400000, Access.Exec, true)).toEqual({ fault: FaultCause.Nx });
    expect(mmu.walk(root, 0x400000, Access.Write, true)).toMatchObject({ pa: 0x500000 });
    expect(mmu.walk(root, 2 ** 47, Access.Read, false)).toEqual({ fault: FaultCause.NonCanonical });
    expect(mmu.walk(root, -(2 ** 47) - 4096, Access.Read, false)).toEqual({ fault: FaultCause.NonCanonical });
  });

  it("uses 2 MiB leaves when asked and aligned, and splits them on partial unmap", async () => {
    const { mmu, root, alloc } = await setup();
    const before = tb!.soc.ram.touchedPages;
    mmu.map(root, KERNEL64, 0, 4 * 1024 * 1024 + 0x1000, PteFlag.Write | PteFlag.Huge, alloc);
    // two huge leaves + one 4 KiB page (one extra last-level table)
    const t = mmu.lookup(root, KERNEL64 + 0x3fffff)!;
    expect(t).toMatchObject({ pa: 0x3fffff, pageSize: 2 * 1024 * 1024 });
    expect(mmu.lookup(root, KERNEL64 + 0x400000)!.pageSize).toBe(4096);
    expect(tb!.soc.ram.touchedPages - before).toBe(4);
    expect(() => mmu.unmap(root, KERNEL64 + 0x1000, 0x1000)).toThrow(/splits a huge page/);
    expect(mmu.unmap(root, KERNEL64 + 0x1000, 0x1000, alloc)).toBe(1);
    expect(mmu.lookup(root, KERNEL64 + 0x1000)).toBeNull();
    expect(mmu.lookup(root, KERNEL64 + 0x2000)).toMatchObject({ pa: 0x2000, pageSize: 4096 });
    expect(mmu.unmap(root, KERNEL64 + 0x200000, 0x200000)).toBe(512);
    expect(mmu.lookup(root, KERNEL64 + 0x300000)).toBeNull();
  });

  it("protect changes flags and keeps frames; A/D bits are set by access walks", async () => {
    const { mmu, root, alloc } = await setup();
    mmu.map(root, 0x10000, 0x80000, 0x2000, PteFlag.User | PteFlag.Write, alloc);
    expect(mmu.protect(root, 0x10000, 0x2000, PteFlag.User | PteFlag.Nx)).toBe(2);
    expect(mmu.walk(root, 0x11000, Access.Write, true)).toEqual({ fault: FaultCause.Protection });
    expect(mmu.lookup(root, 0x11008)!.pa).toBe(0x81008);
    expect(mmu.walkInto(root, 0x10000, Access.Read, true, true)).toBe(0);
    expect(mmu.outFlags & (PteFlag.Accessed | PteFlag.Dirty)).toBe(PteFlag.Accessed);
    mmu.protect(root, 0x10000, 0x1000, PteFlag.User | PteFlag.Write);
    expect(mmu.walkInto(root, 0x10000, Access.Write, true, true)).toBe(0);
    expect(mmu.lookup(root, 0x10000)!.flags & (PteFlag.Accessed | PteFlag.Dirty)).toBe(PteFlag.Accessed | PteFlag.Dirty);
  });

  it("shares the kernel half between roots", async () => {
    const { mmu, root, alloc } = await setup();
    mmu.map(root, KERNEL64, 0x200000, 0x1000, PteFlag.Write, alloc);
    const other = mmu.createRoot(alloc, root);
    mmu.map(other, 0x1000, 0x300000, 0x1000, PteFlag.User, alloc);
    expect(mmu.lookup(other, KERNEL64)!.pa).toBe(0x200000);
    expect(mmu.lookup(root, 0x1000)).toBeNull();
    // A later kernel mapping under the same top-level entry is visible in both.
    mmu.map(root, KERNEL64 + 0x5000, 0x205000, 0x1000, PteFlag.Write, alloc);
    expect(mmu.lookup(other, KERNEL64 + 0x5000)!.pa).toBe(0x205000);
  });

  it("rejects unaligned or out-of-space ranges and non-RAM table pages", async () => {
    const { mmu, root, alloc } = await setup();
    expect(() => mmu.map(root, 0x1001, 0, 0x1000, 0, alloc)).toThrow(RangeError);
    expect(() => mmu.map(root, 2 ** 47 - 0x1000, 0, 0x2000, 0, alloc)).toThrow(/outside/);
    expect(() => mmu.map(root, 0x1000, 0, 0x1000, 0, () => 0xf0000000)).toThrow(/not a page of RAM/);
  });

  it("treats a corrupted table entry pointing outside RAM as a kernel fault in every editor", async () => {
    const { mmu, root, alloc } = await setup();
    const ram = tb!.soc.ram;
    mmu.map(root, 0x400000, 0x300000, 0x1000, PteFlag.Write, alloc);
    ram.write32(root, 0xfffff067); // level-0 entry for va 0: present, frame far beyond RAM
    ram.write32(root + 4, 0x000fffff);
    const fault = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    for (const edit of [() => mmu.unmap(root, 0x400000, 0x1000), () => mmu.protect(root, 0x400000, 0x1000, 0), () => mmu.map(root, 0x401000, 0x301000, 0x1000, PteFlag.Write, alloc)]) {
      expect(fault(edit)).toMatchObject({ cause: FaultCause.NotPresent, user: false });
    }
    expect(mmu.walk(root, 0x400000, Access.Read, false)).toEqual({ fault: FaultCause.NotPresent }); // the hardware walk agrees
  });
});

describe("page tables, 32-bit profiles (3 levels 2/9/9)", () => {
  for (const board of ["pc32", "arm"] as const) {
    it(`walks 3 levels on ${board}`, async () => {
      tb = await bootSoc({ board });
      const ramBase = tb.board.ram[0]!.base;
      const alloc = bump(ramBase + 0x1000000);
      const { mmu } = tb.soc;
      expect(mmu.levels).toBe(3);
      const root = mmu.createRoot(alloc);
      mmu.map(root, 0xc0000000, ramBase, 0x400000, PteFlag.Write | PteFlag.Global | PteFlag.Huge, alloc);
      mmu.map(root, 0xffff0000, ramBase + 0x7000, 0x1000, PteFlag.Nx, alloc);
      mmu.map(root, 0x8000, ramBase + 0x9000, 0x1000, PteFlag.User | PteFlag.Write, alloc);
      expect(mmu.lookup(root, 0xc0123456)).toMatchObject({ pa: ramBase + 0x123456, pageSize: 0x200000 });
      expect(mmu.lookup(root, 0xffff0004)!.pa).toBe(ramBase + 0x7004);
      expect(mmu.walk(root, 0xffff0000, Access.Exec, false)).toEqual({ fault: FaultCause.Nx });
      expect(mmu.walk(root, 0xc0000000, Access.Read, true)).toEqual({ fault: FaultCause.UserSupervisor });
      expect(mmu.walk(root, 0x8000, Access.Write, true)).toMatchObject({ pa: ramBase + 0x9000 });
      expect(mmu.walk(root, 0x100000000, Access.Read, false)).toEqual({ fault: FaultCause.NonCanonical });
      // top level has 4 entries: 0xc0000000 is entry 3
      expect(tb.soc.ram.read32(root + 3 * 8) & 1).toBe(1);
      expect(tb.soc.ram.read32(root + 4 * 8)).toBe(0);
    });
  }

  it("encodes PFNs above 4 GiB (PAE) in the high word", async () => {
    tb = await bootSoc({ board: "pc32", overrides: { ram: [{ base: 0, size: 0x40000000 }, { base: 0x100000000, size: 0x10000000 }] } });
    const pt = new PageTable(pagingProfiles.x86_32, tb.soc.ram);
    const alloc = bump(0x100000);
    const root = pt.createRoot(alloc);
    pt.map(root, 0xd0000000, 0x100002000, 0x1000, PteFlag.Write | PteFlag.Nx, alloc);
    const t = pt.lookup(root, 0xd0000010)!;
    expect(t.pa).toBe(0x100002010);
    expect(t.flags & PteFlag.Nx).toBe(PteFlag.Nx);
  });
});
