/**
 * KASAN: every report kind is produced by a buggy fixture access and not by the correct access
 * next to it (the last valid byte is always accessed too).
 */
import { describe, expect, it } from "vitest";
import type { KernelVA } from "../../../sdk/address.js";
import { GFP_KERNEL } from "../../../sdk/kernel/types.js";
import { KernelOops } from "../oops.js";
import { bootMm } from "./test-helpers.js";
import type { MmBench } from "./test-helpers.js";

const at = (p: number, off: number): KernelVA => (p + off) as KernelVA;

// Fixture "drivers": each a named function so the report names it.
function probeReadsPastKmalloc(m: MmBench, p: KernelVA): number {
  return m.k.mem.read32(at(p, 40));
}
function probeWritesLastByte(m: MmBench, p: KernelVA): void {
  m.k.mem.write8(at(p, 39), 0xff);
}
function removeUsesAfterFree(m: MmBench, p: KernelVA): number {
  return m.k.mem.read16(at(p, 8));
}
function removeFreesTwice(m: MmBench, p: KernelVA): void {
  m.k.kfree(p);
}
function probeFreesInside(m: MmBench, p: KernelVA): void {
  m.k.kfree(at(p, 8));
}

function kasanTitles(m: MmBench): string[] {
  return m.core.reports("kasan").map((r) => r.title);
}

describe("KASAN", () => {
  it("slab-out-of-bounds: one byte past a kmalloc(40), not at its last byte", async () => {
    const m = await bootMm("pc");
    const p = m.k.kmalloc(40, GFP_KERNEL)!;
    probeWritesLastByte(m, p);
    m.k.mem.read32(at(p, 36));
    expect(m.core.reports()).toHaveLength(0);
    probeReadsPastKmalloc(m, p);
    const r = m.core.reports("kasan");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe("BUG: KASAN: slab-out-of-bounds in probeReadsPastKmalloc");
    expect(r[0]!.text).toContain(`Read of size 4 at addr ${m.mm.hex(p + 40)} by task swapper/0/1`);
    expect(r[0]!.text).toContain("Allocated by task 1:");
    expect(r[0]!.text).toContain("which belongs to the cache kmalloc-64 of size 64");
    expect(r[0]!.text).toContain(`The buggy address is located 0 bytes to the right of\n allocated 40-byte region [${m.mm.hex(p)}, ${m.mm.hex(p + 40)})`);
    expect(r[0]!.allocStack?.[0]).toMatch(/kasan\.test\.ts/);
    // A 4-byte access straddling the end is caught too.
    m.k.mem.write32(at(p, 38), 0);
    expect(kasanTitles(m)[1]).toMatch(/^BUG: KASAN: slab-out-of-bounds in /);
    expect(m.core.reports("kasan")[1]!.text).toContain("Write of size 4");
  });

  it("slab-use-after-free, caught even after the same size is allocated again (quarantine)", async () => {
    const m = await bootMm("pc");
    const p = m.k.kmalloc(64, GFP_KERNEL)!;
    m.k.mem.write32(p, 1);
    m.k.kfree(p);
    const q = m.k.kmalloc(64, GFP_KERNEL)!;
    expect(q).not.toBe(p);
    m.k.mem.write32(q, 2);
    expect(m.core.reports()).toHaveLength(0);
    removeUsesAfterFree(m, p);
    const r = m.core.reports("kasan");
    expect(r.map((x) => x.title)).toEqual(["BUG: KASAN: slab-use-after-free in removeUsesAfterFree"]);
    expect(r[0]!.text).toContain("Freed by task 1:");
    expect(r[0]!.text).toContain(`The buggy address is located 8 bytes inside of\n freed 64-byte region`);
    expect(r[0]!.freeStack?.length).toBeGreaterThan(0);
  });

  it("double-free and invalid-free on kmalloc", async () => {
    const m = await bootMm("pc");
    const p = m.k.kmalloc(100, GFP_KERNEL)!;
    probeFreesInside(m, p);
    m.k.kfree(p);
    expect(m.core.reports()).toHaveLength(1);
    removeFreesTwice(m, p);
    expect(kasanTitles(m)).toEqual(["BUG: KASAN: invalid-free in probeFreesInside", "BUG: KASAN: double-free in removeFreesTwice"]);
    // kfree of a stack-like / vmalloc / page address
    const v = m.k.vmalloc(100)!;
    m.k.kfree(v);
    const pg = m.k.__get_free_page(GFP_KERNEL) as KernelVA;
    m.k.kfree(pg);
    expect(kasanTitles(m).slice(2).map((t) => t.split(" in ")[0])).toEqual(["BUG: KASAN: invalid-free", "BUG: KASAN: invalid-free"]);
    // The allocator state survived the bad frees.
    const again = m.k.kmalloc(100, GFP_KERNEL)!;
    m.k.mem.write32(again, 7);
    expect(m.core.reports()).toHaveLength(4);
  });

  it("kmem_cache objects: out-of-bounds, use-after-free, wrong cache", async () => {
    const m = await bootMm("pc");
    const c = m.k.kmem_cache_create("fixture_cache", 24, 0, 0, null)!;
    const o = m.k.kmem_cache_alloc(c, GFP_KERNEL)!;
    m.k.mem.write8(at(o, 23), 1);
    expect(m.core.reports()).toHaveLength(0);
    m.k.mem.write8(at(o, 24), 1);
    m.k.kmem_cache_free(c, o);
    m.k.mem.read8(o);
    m.k.kmem_cache_free(c, o);
    expect(kasanTitles(m).map((t) => t.split(" in ")[0])).toEqual(["BUG: KASAN: slab-out-of-bounds", "BUG: KASAN: slab-use-after-free", "BUG: KASAN: double-free"]);
    const o2 = m.k.kmem_cache_alloc(c, GFP_KERNEL)!;
    m.k.kfree(o2); // kfree of a cache object is fine in Linux
    const other = m.k.kmem_cache_create("other_cache", 24, 0, 0, null)!;
    const o3 = m.k.kmem_cache_alloc(other, GFP_KERNEL)!;
    m.k.kmem_cache_free(c, o3);
    expect(m.core.reports("slab").map((r) => r.title)).toEqual(["cache_from_obj: Wrong slab cache. fixture_cache but object is from other_cache"]);
  });

  it("vmalloc-out-of-bounds past the size and in the guard page; use after vfree; vfree misuse", async () => {
    const m = await bootMm("pc");
    const v = m.k.vmalloc(5000)!;
    m.k.mem.write8(at(v, 4999), 1);
    m.k.mem.read32(at(v, 4096));
    expect(m.core.reports()).toHaveLength(0);
    m.k.mem.read8(at(v, 5000)); // still mapped, past the size
    expect(kasanTitles(m)[0]).toMatch(/^BUG: KASAN: vmalloc-out-of-bounds in /);
    expect(() => m.k.mem.read8(at(v, 8192))).toThrow(KernelOops); // guard page: report, then oops
    expect(kasanTitles(m)).toHaveLength(2);
    expect(m.core.reports("oops")[0]!.title).toBe(`BUG: unable to handle page fault for address: ${m.mm.hex(v + 8192)}`);
    expect(m.core.reports("oops")[0]!.text).toContain("#PF: supervisor read access in kernel mode");
    m.k.vfree(v);
    expect(() => m.k.mem.write8(v, 1)).toThrow(KernelOops);
    expect(kasanTitles(m)).toHaveLength(3);
    m.k.vfree(v);
    m.k.vfree(at(m.k.vmalloc(100)!, 16));
    const titles = kasanTitles(m).slice(3).map((t) => t.split(" in ")[0]);
    expect(titles).toEqual(["BUG: KASAN: double-free", "BUG: KASAN: invalid-free"]);
    expect(m.core.reports("oops")[1]!.text).toContain("#PF: supervisor write access in kernel mode");
  });

  it("page allocations: use-after-free of a freed page, double and invalid __free_pages, large kmalloc", async () => {
    const m = await bootMm("pc");
    const p = m.k.__get_free_pages(GFP_KERNEL, 1) as KernelVA;
    m.k.mem.write32(at(p, 8188), 1);
    expect(m.core.reports()).toHaveLength(0);
    m.k.free_pages(p, 1);
    m.k.mem.read32(p);
    expect(kasanTitles(m)[0]).toMatch(/^BUG: KASAN: use-after-free in /);
    m.k.free_pages(p, 1);
    expect(kasanTitles(m)[1]).toMatch(/^BUG: KASAN: double-free in /);
    const pg = m.k.alloc_pages(GFP_KERNEL, 2)!;
    m.k.__free_pages(pg, 1);
    m.k.__free_page(m.k.pfn_to_page(m.k.page_to_pfn(pg) + 1));
    expect(kasanTitles(m).slice(2).map((t) => t.split(" in ")[0])).toEqual(["BUG: KASAN: invalid-free", "BUG: KASAN: invalid-free"]);
    m.k.__free_pages(pg, 2);
    const big = m.k.kmalloc(10000, GFP_KERNEL)!;
    m.k.mem.write8(at(big, 9999), 1);
    expect(kasanTitles(m)).toHaveLength(4);
    m.k.mem.write8(at(big, 10000), 1);
    expect(kasanTitles(m)[4]).toMatch(/^BUG: KASAN: slab-out-of-bounds in /);
  });

  it("memcpy and memset are checked over the whole range", async () => {
    const m = await bootMm("pc");
    const a = m.k.kmalloc(128, GFP_KERNEL)!;
    const b = m.k.kmalloc(100, GFP_KERNEL)!;
    m.k.memset(a, 0x5a, 128);
    m.k.memcpy(b, a, 100);
    expect(m.k.mem.read32(at(b, 96))).toBe(0x5a5a5a5a);
    expect(m.core.reports()).toHaveLength(0);
    m.k.memcpy(b, a, 101);
    m.k.memset(a, 0, 129);
    const buf = new Uint8Array(101);
    m.k.mem.read(b, buf);
    expect(m.core.reports("kasan").map((r) => r.text.split("\n")[2]!.split(" at ")[0])).toEqual(["Write of size 101", "Write of size 129", "Read of size 101"]);
  });

  it("is silent with detectors off, and NULL dereference is an oops either way", async () => {
    const m = await bootMm("pc");
    m.core.detectors.kasan = false;
    const p = m.k.kmalloc(40, GFP_KERNEL)!;
    m.k.mem.read32(at(p, 40));
    m.k.kfree(p);
    m.k.mem.read32(p);
    expect(m.core.reports()).toHaveLength(0);
    let caught: unknown;
    try {
      m.k.mem.write32(0 as KernelVA, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(KernelOops);
    expect((caught as KernelOops).report.title).toBe("BUG: kernel NULL pointer dereference, address: 0000000000000000");
    expect((caught as KernelOops).report.text).toContain("#PF: error_code(0x0002) - not-present page");
  });

  it("works on the 32-bit profiles too", async () => {
    for (const board of ["pc32", "arm"]) {
      const m = await bootMm(board);
      const p = m.k.kmalloc(17, GFP_KERNEL)!;
      m.k.mem.read8(at(p, 16));
      expect(m.core.reports()).toHaveLength(0);
      m.k.mem.read8(at(p, 17));
      expect(m.core.reports("kasan")[0]!.text).toContain(`Read of size 1 at addr ${(p + 17).toString(16).padStart(8, "0")}`);
    }
  });
});
