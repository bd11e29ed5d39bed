import { describe, expect, it } from "vitest";
import type { KernelVA } from "../../../sdk/address.js";
import { __GFP_ZERO, GFP_ATOMIC, GFP_DMA, GFP_KERNEL, SLAB_HWCACHE_ALIGN, SLAB_PANIC, SLAB_POISON, SLAB_RED_ZONE } from "../../../sdk/kernel/types.js";
import type { FaultKind } from "../../checks/fault-inject.js";
import { KernelOops } from "../oops.js";
import { renderSlabinfo } from "../procfs/slabinfo.js";
import { ZERO_SIZE_PTR } from "./slab.js";
import { bootMm } from "./test-helpers.js";
import type { MmBench } from "./test-helpers.js";

const MiB = 1024 * 1024;

describe("kmalloc", () => {
  it("uses the Linux size classes, -dma caches for GFP_DMA, pages above 8k", async () => {
    const { k, mm } = await bootMm("pc");
    const cacheOf = (p: KernelVA): string => {
      const idx = mm.db.indexOf(Math.floor(k.virt_to_phys(p) / 4096));
      const s = mm.slab.slabById[mm.db.slab[idx]! - 1];
      return s ? s.cache.name : "pages";
    };
    const classes: [number, string][] = [
      [1, "kmalloc-8"], [8, "kmalloc-8"], [9, "kmalloc-16"], [33, "kmalloc-64"], [65, "kmalloc-96"], [96, "kmalloc-96"],
      [97, "kmalloc-128"], [129, "kmalloc-192"], [193, "kmalloc-256"], [257, "kmalloc-512"], [1000, "kmalloc-1k"],
      [2048, "kmalloc-2k"], [4000, "kmalloc-4k"], [8192, "kmalloc-8k"], [8193, "pages"],
    ];
    for (const [size, name] of classes) expect([size, cacheOf(k.kmalloc(size, GFP_KERNEL)!)]).toEqual([size, name]);
    const d = k.kmalloc(200, GFP_KERNEL | GFP_DMA)!;
    expect(cacheOf(d)).toBe("dma-kmalloc-256");
    expect(k.ksize(k.kmalloc(100, GFP_KERNEL)!)).toBe(128);
    expect(k.ksize(k.kmalloc(10000, GFP_KERNEL)!)).toBe(16384);
  });

  it("kmalloc(0) is ZERO_SIZE_PTR, kfree(NULL) and kfree(ZERO_SIZE_PTR) are no-ops", async () => {
    const { k, core } = await bootMm("pc");
    expect(k.kmalloc(0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    k.kfree(null);
    k.kfree(ZERO_SIZE_PTR as KernelVA);
    expect(core.reports()).toHaveLength(0);
    expect(() => k.mem.read8(ZERO_SIZE_PTR as KernelVA)).toThrow(KernelOops);
    expect(core.reports("oops")[0]!.title).toBe("BUG: kernel NULL pointer dereference, address: 0000000000000010");
  });

  it("kzalloc zeroes, kcalloc overflows to NULL, kmalloc_array, krealloc keeps the contents", async () => {
    const { k, core } = await bootMm("pc");
    const dirty = k.kmalloc(64, GFP_KERNEL)!;
    k.memset(dirty, 0xaa, 64);
    k.kfree(dirty);
    const z = k.kzalloc(64, GFP_KERNEL)!;
    for (let i = 0; i < 64; i += 4) expect(k.mem.read32((z + i) as KernelVA)).toBe(0);
    expect(k.kcalloc(2 ** 40, 2 ** 30, GFP_KERNEL)).toBeNull();
    expect(k.kmalloc_array(2 ** 33, 2 ** 32, GFP_KERNEL)).toBeNull();
    const c = k.kcalloc(10, 12, GFP_KERNEL)!;
    expect(k.mem.read32((c + 116) as KernelVA)).toBe(0);
    const a = k.kmalloc_array(4, 16, GFP_KERNEL)!;
    for (let i = 0; i < 64; i++) k.mem.write8((a + i) as KernelVA, i);
    const b = k.krealloc(a, 1000, GFP_KERNEL)!;
    expect(b).not.toBe(a);
    for (let i = 0; i < 64; i++) expect(k.mem.read8((b + i) as KernelVA)).toBe(i);
    k.mem.write8((b + 999) as KernelVA, 1);
    const shrunk = k.krealloc(b, 10, GFP_KERNEL)!;
    expect(shrunk).toBe(b);
    expect(k.krealloc(shrunk, 0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(core.reports()).toHaveLength(0);
  });
});

describe("kmem_cache", () => {
  it("creates caches with alignment and constructors, reports destroy with live objects", async () => {
    const { k, core, mm } = await bootMm("pc");
    let ctorCalls = 0;
    const c = k.kmem_cache_create("vdtb_desc", 40, 0, SLAB_HWCACHE_ALIGN, (obj) => {
      ctorCalls++;
      k.mem.write32(obj, 0x5a5a5a5a);
    })!;
    const o1 = k.kmem_cache_alloc(c, GFP_KERNEL)!;
    expect(Math.abs(o1 % 64)).toBe(0);
    expect(ctorCalls).toBeGreaterThan(1);
    expect(k.mem.read32(o1)).toBe(0x5a5a5a5a);
    const o2 = k.kmem_cache_zalloc(c, GFP_KERNEL)!;
    expect(k.mem.read32(o2)).toBe(0);
    k.kmem_cache_free(c, o1);
    k.kmem_cache_destroy(c);
    const r = core.reports("slab");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe("kmem_cache_destroy vdtb_desc: Slab cache still has objects");
    expect(mm.procSlabinfo()).toContain("vdtb_desc");
    k.kmem_cache_free(c, o2);
    k.kmem_cache_destroy(c);
    expect(core.reports("slab")).toHaveLength(1);
    expect(mm.procSlabinfo()).not.toContain("vdtb_desc");
    k.kmem_cache_destroy(null);
  });

  it("SLAB_PANIC turns a failed creation into a panic", async () => {
    const { k } = await bootMm("pc");
    expect(k.kmem_cache_create("bad", 0, 0, 0, null)).toBeNull();
    expect(() => k.kmem_cache_create("bad", 0, 0, SLAB_PANIC, null)).toThrow(/Kernel panic - not syncing: kmem_cache_create: Failed to create slab 'bad'/);
  });

  it("SLAB_POISON catches a write after free, SLAB_RED_ZONE an overrun, with KASAN off", async () => {
    const { k, core } = await bootMm("pc");
    core.detectors.kasan = false;
    const pc = k.kmem_cache_create("poisoned", 32, 0, SLAB_POISON, null)!;
    const a = k.kmem_cache_alloc(pc, GFP_KERNEL)!;
    k.kmem_cache_free(pc, a);
    k.mem.write8((a + 3) as KernelVA, 1); // use after free, no KASAN to see it
    const again = k.kmem_cache_alloc(pc, GFP_KERNEL)!;
    expect(again).toBe(a);
    expect(core.reports("slab").map((r) => r.title)).toEqual(["BUG poisoned (Not tainted): Poison overwritten"]);
    const rz = k.kmem_cache_create("redzoned", 24, 0, SLAB_RED_ZONE, null)!;
    const b = k.kmem_cache_alloc(rz, GFP_KERNEL)!;
    k.mem.write8((b + 24) as KernelVA, 0); // one past the end
    k.kmem_cache_free(rz, b);
    expect(core.reports("slab").map((r) => r.title)[1]).toBe("BUG redzoned (Not tainted): Right Redzone overwritten");
    // Correct use of both caches is silent.
    const c = k.kmem_cache_alloc(rz, GFP_KERNEL)!;
    k.mem.write8((c + 23) as KernelVA, 0);
    k.kmem_cache_free(rz, c);
    expect(core.reports()).toHaveLength(2);
  });
});

describe("/proc/slabinfo", () => {
  it("renders version 2.1 (golden)", () => {
    const text = renderSlabinfo([{ name: "kmalloc-64", activeObjs: 1234, numObjs: 1280, objSize: 64, objPerSlab: 64, pagesPerSlab: 1, activeSlabs: 20, numSlabs: 20 }]);
    expect(text).toBe(
      "slabinfo - version: 2.1\n" +
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n" +
        "kmalloc-64          1234   1280     64   64    1 : tunables    0    0    0 : slabdata     20     20      0\n",
    );
  });

  it("lists newest caches first and counts objects", async () => {
    const { k, mm } = await bootMm("pc");
    const c = k.kmem_cache_create("vdtb_req", 200, 0, 0, null)!;
    for (let i = 0; i < 3; i++) k.kmem_cache_alloc(c, GFP_KERNEL);
    const lines = mm.procSlabinfo().split("\n");
    expect(lines[2]).toMatch(/^vdtb_req +3 +\d+ +200 +\d+ +\d+ : tunables +0 +0 +0 : slabdata +1 +1 +0$/);
    expect(lines.some((l) => l.startsWith("kmalloc-8 "))).toBe(true);
    expect(lines.some((l) => l.startsWith("kmalloc-96 "))).toBe(true);
    expect(lines.some((l) => l.startsWith("dma-kmalloc-8k "))).toBe(true);
  });
});

describe("fault injection", () => {
  const points: [FaultKind, string, (m: MmBench) => unknown][] = [
    ["kmalloc", "kmalloc", (m) => m.k.kmalloc(64, GFP_KERNEL)],
    ["kmalloc", "kzalloc", (m) => m.k.kzalloc(64, GFP_KERNEL)],
    ["kmalloc", "kcalloc", (m) => m.k.kcalloc(4, 64, GFP_KERNEL)],
    ["kmalloc", "kmalloc_array", (m) => m.k.kmalloc_array(4, 64, GFP_KERNEL)],
    ["kmalloc", "krealloc", (m) => m.k.krealloc(null, 64, GFP_KERNEL)],
    ["kmalloc", "kmalloc large", (m) => m.k.kmalloc(100000, GFP_KERNEL)],
    ["slab", "kmem_cache_create", (m) => m.k.kmem_cache_create("x", 32, 0, 0, null)],
    ["vmalloc", "vmalloc", (m) => m.k.vmalloc(10000)],
    ["vmalloc", "vzalloc", (m) => m.k.vzalloc(10000)],
    ["page", "alloc_pages", (m) => m.k.alloc_pages(GFP_KERNEL, 2)],
    ["page", "alloc_page", (m) => m.k.alloc_page(GFP_ATOMIC)],
    ["page", "__get_free_pages", (m) => m.k.__get_free_pages(GFP_KERNEL, 1)],
    ["page", "__get_free_page", (m) => m.k.__get_free_page(GFP_KERNEL)],
    ["page", "get_zeroed_page", (m) => m.k.get_zeroed_page(GFP_KERNEL)],
    ["mempool", "mempool_create_kmalloc_pool", (m) => m.k.mempool_create_kmalloc_pool(2, 64)],
  ];
  for (const [kind, name, call] of points) {
    it(`${name} returns NULL/0 when its ${kind} call is failed`, async () => {
      const m = await bootMm("pc");
      m.core.faults.arm({ nth: 1, kinds: [kind], driver: "drv" });
      const r = call(m);
      expect(r === null || r === 0).toBe(true);
      expect(m.core.faults.injected).toHaveLength(1);
      expect(m.core.ledger.outstanding("drv")).toHaveLength(0);
      m.core.faults.disarm();
      const ok = call(m);
      expect(ok === null || ok === 0).toBe(false);
    });
  }

  it("kmem_cache_alloc fails on its slab call", async () => {
    const m = await bootMm("pc");
    const c = m.k.kmem_cache_create("y", 32, 0, 0, null)!;
    m.core.faults.arm({ nth: 1, kinds: ["slab"] });
    expect(m.k.kmem_cache_alloc(c, GFP_KERNEL)).toBeNull();
    expect(m.k.kmem_cache_alloc(c, GFP_KERNEL)).not.toBeNull();
  });
});

describe("mempool", () => {
  it("hands out the reserve when the allocator fails, refills it on free", async () => {
    const { k, core } = await bootMm("pc");
    const pool = k.mempool_create_kmalloc_pool(2, 128)!;
    core.faults.arm({ nth: 1, times: 3, kinds: ["kmalloc"], driver: "drv" });
    const a = k.mempool_alloc(pool, GFP_KERNEL)!;
    const b = k.mempool_alloc(pool, GFP_ATOMIC)!;
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(k.mempool_alloc(pool, GFP_ATOMIC)).toBeNull(); // reserve empty, allocator failing
    core.faults.disarm();
    const c = k.mempool_alloc(pool, GFP_KERNEL)!;
    k.mem.write32(a, 1);
    k.mempool_free(a, pool);
    k.mempool_free(b, pool);
    k.mempool_free(c, pool);
    core.faults.arm({ nth: 1, times: 10, kinds: ["kmalloc"] });
    expect(k.mempool_alloc(pool, GFP_ATOMIC)).not.toBeNull();
    core.faults.disarm();
    expect(core.ledger.outstanding("drv").map((e) => e.kind)).toEqual(["mempool", "mempool"]);
    k.mempool_destroy(pool);
    expect(core.ledger.outstanding("drv").map((e) => e.kind)).toEqual(["mempool"]); // the element still out
    expect(core.reports()).toHaveLength(0);
  });

  it("slab pools allocate from their cache", async () => {
    const { k, core } = await bootMm("pc");
    const c = k.kmem_cache_create("pooled", 48, 0, 0, null)!;
    const pool = k.mempool_create_slab_pool(1, c)!;
    core.faults.arm({ nth: 1, kinds: ["slab"] });
    const e = k.mempool_alloc(pool, GFP_KERNEL)!;
    expect(e).not.toBeNull();
    k.mempool_free(e, pool);
    k.mempool_destroy(pool);
    k.kmem_cache_destroy(c);
    expect(core.reports()).toHaveLength(0);
    expect(core.ledger.outstanding("drv")).toHaveLength(0);
  });
});

describe("leak ledger", () => {
  it("records every allocation with its owner and removes it on free", async () => {
    const m = await bootMm("pc");
    const { k, core } = m;
    const other = m.as("other");
    const p = k.kmalloc(40, GFP_KERNEL)!;
    const big = k.kmalloc(64 * 1024, GFP_KERNEL)!;
    const v = k.vmalloc(5000)!;
    const pg = k.alloc_pages(GFP_KERNEL, 1)!;
    const gp = k.__get_free_page(GFP_KERNEL);
    const c = k.kmem_cache_create("ledgered", 16, 0, 0, null)!;
    const o = k.kmem_cache_alloc(c, GFP_KERNEL)!;
    const q = other.kmalloc(8, GFP_KERNEL)!;
    const mine = core.ledger.outstanding("drv");
    expect(mine.map((e) => e.kind).sort()).toEqual(["kmalloc", "kmalloc", "kmem-cache", "pages", "pages", "slab", "vmalloc"]);
    expect(mine.find((e) => e.address === p)!.label).toBe("kmalloc-64");
    expect(mine.find((e) => e.address === p)!.size).toBe(40);
    expect(mine.find((e) => e.address === p)!.site.stack).toMatch(/slab\.test\.ts/);
    expect(core.ledger.outstanding("other")).toHaveLength(1);
    k.kfree(p);
    k.kfree(big);
    k.vfree(v);
    k.__free_pages(pg, 1);
    k.free_page(gp);
    k.kmem_cache_free(c, o);
    k.kmem_cache_destroy(c);
    other.kfree(q);
    expect(core.ledger.outstanding("drv")).toHaveLength(0);
    expect(core.ledger.outstanding("other")).toHaveLength(0);
    expect(core.reports()).toHaveLength(0);
  });

  it("get_page keeps a page alive until the last put_page", async () => {
    const { k, core, mm } = await bootMm("pc");
    const pg = k.alloc_page(GFP_KERNEL | __GFP_ZERO)!;
    k.get_page(pg);
    expect(k.page_count(pg)).toBe(2);
    k.__free_page(pg);
    expect(k.page_count(pg)).toBe(1);
    expect(core.ledger.outstanding("drv")).toHaveLength(1);
    k.put_page(pg);
    expect(mm.db.kind[mm.db.indexOf(k.page_to_pfn(pg))]).toBe(2); // free
    expect(core.ledger.outstanding("drv")).toHaveLength(0);
    expect(core.reports()).toHaveLength(0);
    expect(MiB).toBeGreaterThan(0);
  });

  it("get_page / put_page on a tail page count on the head; tail pages never hold a count", async () => {
    const { k, core, mm } = await bootMm("pc");
    const head = k.alloc_pages(GFP_KERNEL, 2)!;
    const pfn = k.page_to_pfn(head);
    const tail = k.pfn_to_page(pfn + 3);
    const db = mm.db;
    k.get_page(tail);
    k.get_page(head);
    expect(k.page_count(tail)).toBe(3);
    expect(k.page_count(head)).toBe(3);
    expect(db.refcount[db.indexOf(pfn + 3)]).toBe(0);
    k.put_page(tail);
    k.put_page(head);
    expect(k.page_count(head)).toBe(1);
    expect(db.refcount[db.indexOf(pfn + 3)]).toBe(0);
    // The last reference goes through a tail page too: the whole block is freed.
    k.put_page(tail);
    expect(db.kind[db.indexOf(pfn)]).toBe(2); // free
    expect(db.kind[db.indexOf(pfn + 3)]).toBe(2);
    expect(core.reports()).toHaveLength(0);
  });
});
