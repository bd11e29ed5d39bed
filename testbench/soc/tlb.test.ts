import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import { PteFlag } from "./pagetable.js";
import { TraceKind } from "./trace.js";
import type { BoardConfig } from "../harness/board.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

const KVA = -0x778000000000;

async function setup(overrides?: Partial<BoardConfig>) {
  tb = await bootSoc({ board: "pc", overrides });
  let next = 0x1000000;
  const alloc = (): number => ((next += 4096), next - 4096);
  const { mmu, cpu, tlb } = tb.soc;
  const kernel = mmu.createRoot(alloc);
  mmu.map(kernel, KVA, 0, 0x400000, PteFlag.Write | PteFlag.Global, alloc);
  cpu.switchTo(kernel, 1);
  return { ...tb.soc, kernel, alloc, mmu, cpu, tlb };
}

describe("Tlb", () => {
  it("uses a stale translation until the page is flushed", async () => {
    const { mmu, cpu, tlb, kernel, alloc } = await setup();
    const va = 0x10000;
    mmu.map(kernel, va, 0x100000, 0x1000, PteFlag.Write, alloc);
    mmu.map(kernel, KVA + 0x300000, 0x300000, 0x1000, PteFlag.Write, alloc);
    cpu.store32(KVA + 0x100000, 0x1111);
    cpu.store32(KVA + 0x200000, 0x2222);
    expect(cpu.load32(va)).toBe(0x1111);
    // Remap va to another frame: without a flush the old frame is still used.
    mmu.map(kernel, va, 0x200000, 0x1000, PteFlag.Write, alloc);
    expect(cpu.load32(va)).toBe(0x1111);
    // Unmap: still readable through the stale entry.
    mmu.unmap(kernel, va, 0x1000);
    expect(cpu.load32(va)).toBe(0x1111);
    tlb.flushRange(va);
    expect(() => cpu.load32(va)).toThrow(/not-present/);
    mmu.map(kernel, va, 0x200000, 0x1000, PteFlag.Write, alloc);
    expect(cpu.load32(va)).toBe(0x2222);
  });

  it("keeps a writable stale entry after write-protecting until flushed", async () => {
    const { mmu, cpu, tlb, kernel, alloc } = await setup();
    mmu.map(kernel, 0x20000, 0x120000, 0x1000, PteFlag.Write, alloc);
    cpu.store32(0x20000, 1); // dirty, so the entry caches write permission
    mmu.protect(kernel, 0x20000, 0x1000, 0);
    cpu.store32(0x20000, 2);
    expect(cpu.load32(0x20000)).toBe(2);
    tlb.flushRange(0x20000);
    expect(() => cpu.store32(0x20000, 3)).toThrow(/protection/);
    expect(cpu.load32(0x20000)).toBe(2);
  });

  it("separates address spaces by ASID and keeps global entries across ASID flushes", async () => {
    const { mmu, cpu, tlb, kernel, alloc } = await setup();
    const a = mmu.createRoot(alloc, kernel);
    const b = mmu.createRoot(alloc, kernel);
    mmu.map(a, 0x400000, 0x140000, 0x1000, PteFlag.User | PteFlag.Write, alloc);
    mmu.map(b, 0x400000, 0x150000, 0x1000, PteFlag.User | PteFlag.Write, alloc);
    cpu.switchTo(a, 2);
    cpu.store32(0x400000, 0xaaaa);
    cpu.store32(KVA + 0x8000, 0x6060); // global kernel entry
    cpu.switchTo(b, 3);
    expect(cpu.load32(0x400000)).toBe(0); // not A's entry
    cpu.store32(0x400000, 0xbbbb);
    cpu.switchTo(a, 2);
    expect(cpu.load32(0x400000)).toBe(0xaaaa);
    const walks = tlb.walks;
    expect(cpu.load32(KVA + 0x8000)).toBe(0x6060);
    expect(tlb.walks).toBe(walks); // the global entry was shared
    // Flushing ASID 2 drops A's user entry but keeps the global kernel entry.
    mmu.unmap(a, 0x400000, 0x1000);
    mmu.unmap(kernel, KVA + 0x8000, 0x1000);
    tlb.flushAsid(2);
    expect(() => cpu.load32(0x400000)).toThrow(/not-present/);
    expect(cpu.load32(KVA + 0x8000)).toBe(0x6060); // stale global survives
    cpu.switchTo(b, 3);
    expect(cpu.load32(0x400000)).toBe(0xbbbb); // B's entry (ASID 3) survived
    tlb.flushAll();
    expect(() => cpu.load32(KVA + 0x8000)).toThrow(/not-present/);
    expect(cpu.load32(0x400000)).toBe(0xbbbb);
  });

  it("flushRange without an ASID flushes every address space; flushNonGlobal keeps globals", async () => {
    const { mmu, cpu, tlb, kernel, alloc } = await setup();
    const a = mmu.createRoot(alloc, kernel);
    mmu.map(a, 0x400000, 0x140000, 0x1000, PteFlag.User | PteFlag.Write, alloc);
    cpu.switchTo(a, 5);
    cpu.load32(0x400000);
    cpu.load32(KVA);
    const n = tlb.validEntries;
    tlb.flushNonGlobal();
    expect(tlb.validEntries).toBe(n - 1);
    cpu.load32(0x400000);
    tlb.flushRange(0x400000, 0x1000);
    expect(tlb.validEntries).toBe(n - 1);
    tlb.flushRange(KVA, 0x1000);
    expect(tlb.validEntries).toBe(n - 2);
  });

  it("counts hits, misses and walks, and traces events only when asked", async () => {
    const { cpu, tlb, trace } = await setup();
    tlb.resetCounters();
    cpu.load32(KVA + 0x1000);
    cpu.load32(KVA + 0x1004);
    cpu.load32(KVA + 0x1008);
    expect([tlb.misses, tlb.walks, tlb.hits]).toEqual([1, 1, 2]);
    tb!.soc.dcache.resetCounters(); // must not disturb the TLB's counts
    cpu.load8(KVA + 0x1001); // a hit through probe()
    expect(tlb.hits).toBe(3);
    expect(tb!.soc.dcache.hits).toBe(1);
    tlb.resetCounters();
    cpu.load32(KVA + 0x100c);
    expect([tlb.misses, tlb.hits]).toEqual([0, 1]);
    expect(trace.snapshot(TraceKind.Tlb)).toEqual([]);
    trace.tlbEvents = true;
    cpu.load32(KVA + 0x2000);
    tlb.flushAll();
    expect(trace.snapshot(TraceKind.Tlb).map((r) => r.name)).toEqual(["fill", "flush-all"]);
  });

  it("evicts within a set when more pages than ways map to it", async () => {
    const { cpu, tlb } = await setup();
    const stride = tlb.sets * 4096;
    for (let i = 0; i <= tlb.ways; i++) cpu.load32(KVA + i * stride);
    expect(tlb.validEntries).toBe(tlb.ways);
    const walks = tlb.walks;
    cpu.load32(KVA); // evicted first (round robin)
    expect(tlb.walks).toBe(walks + 1);
  });

  // The CPU's miss path skips its scan of a set whose ways are all valid and fast for the access
  // (kept in a per-set mask up to 8 ways); with more ways it always scans.
  it.each([{ sets: 64, ways: 4 }, { sets: 2, ways: 16 }])("keeps one entry per page and fills a flushed way first ($sets x $ways)", async (geometry) => {
    const { mmu, cpu, tlb, kernel, alloc } = await setup({ tlb: geometry });
    const stride = tlb.sets * 4096;
    const page = (i: number): number => KVA + i * stride;
    for (let i = 0; i <= tlb.ways; i++) cpu.load32(page(i)); // sets the accessed bits, so later walks are the CPU's own
    tlb.flushAll();
    for (let i = 0; i < tlb.ways; i++) cpu.load32(page(i));
    expect(tlb.probe(page(0) / 4096, 1)).toBe(0); // the first invalid way, not the round-robin victim
    expect(tlb.validEntries).toBe(tlb.ways);
    const walks = tlb.walks;
    cpu.load32(page(1) + 0x840); // another line of a page in the TLB: a hit
    expect(tlb.walks).toBe(walks);
    tlb.flushRange(page(1));
    cpu.load32(page(tlb.ways)); // takes the flushed way, not a victim
    for (let i = 0; i < tlb.ways; i++) if (i !== 1) cpu.load32(page(i));
    expect([tlb.walks, tlb.validEntries]).toEqual([walks + 1, tlb.ways]);
    // A read-only page of the same set: its entry is not fast for writes, so a write finds it.
    const ro = tlb.sets * 4096 * 16;
    mmu.map(kernel, ro, 0x140000, 0x1000, 0, alloc);
    expect(cpu.load32(ro)).toBe(0);
    expect(() => cpu.store32(ro, 1)).toThrow(/protection/);
    expect(tlb.validEntries).toBe(tlb.ways);
  });
});
