/**
 * Focused regressions for what the kernel-facade fuzz (kernel-facade.fuzz.test.ts) found: each
 * bad call must become an errno, NULL, a report or a KernelOops, never a hang or a host exception.
 */
import { describe, expect, it } from "vitest";
import { vfb } from "../../devices/index.js";
import { addrAdd, EINVAL, ENOMEM, ETIMEDOUT, GFP_KERNEL, MISC_DYNAMIC_MINOR } from "../../sdk/index.js";
import type { Kernel, PciDev } from "../../sdk/index.js";
import { Testbench } from "../../testbench/index.js";
import { KernelOops, NULL_DEREF_TITLE } from "../../testbench/kernel/oops.js";
import { KERNEL_MM } from "../../testbench/kernel/tokens.js";
import { Access, FaultCause, PageFault } from "../../testbench/soc/pagetable.js";

async function rig(): Promise<{ tb: Testbench; k: Kernel; pdev: PciDev }> {
  let bound: { k: Kernel; pdev: PciDev } | undefined;
  const tb = await Testbench.boot({
    board: "pc",
    devices: [vfb()],
    drivers: [{ bus: "pci", name: "fuzz", idTable: [{ vendor: 0x1234, device: 0x1111 }], probe: (k, pdev) => ((bound = { k, pdev }), 0), remove: () => undefined }],
  });
  return { tb, ...bound! };
}

describe("kernel facade regressions from the fuzz", () => {
  it("kmalloc/krealloc of a size past 2^43 bytes fail with NULL instead of looping forever", async () => {
    const { tb, k } = await rig();
    expect(k.kmalloc(0x7f00_0000_0000, GFP_KERNEL)).toBeNull();
    expect(k.krealloc(null, 0x7f00_0000_0000, GFP_KERNEL)).toBeNull();
    expect(k.kmalloc(Infinity, GFP_KERNEL)).toBeNull();
    await tb.dispose();
  });

  it("dma_alloc_coherent of a huge size fails with NULL instead of looping forever", async () => {
    const { tb, k, pdev } = await rig();
    expect(k.dma_alloc_coherent(pdev, 2 ** 53 - 1, GFP_KERNEL)).toBeNull();
    expect(k.dma_alloc_coherent(pdev, Infinity, GFP_KERNEL)).toBeNull();
    await tb.dispose();
  });

  it("mempool_create with a reserve too big for its element array fails with NULL instead of filling memory", async () => {
    const { tb, k } = await rig();
    expect(k.mempool_create_kmalloc_pool(0xc100_0002, 8)).toBeNull();
    expect(k.mempool_create_kmalloc_pool(Infinity, 8)).toBeNull();
    await tb.dispose();
  });

  it("kmem_cache_free with a NULL cache is a NULL-pointer oops, and the object stays allocated", async () => {
    const { tb, k } = await rig();
    const cache = k.kmem_cache_create("fuzz", 64, 0, 0, null)!;
    const obj = k.kmem_cache_alloc(cache, GFP_KERNEL)!;
    expect(() => k.kmem_cache_free(undefined as never, obj)).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => r.title)).toEqual([NULL_DEREF_TITLE]);
    k.kmem_cache_free(cache, obj); // still a live object of its cache
    k.kmem_cache_destroy(cache);
    expect(tb.reports("oops")).toHaveLength(1);
    await tb.dispose();
  });

  it("an endless busy-wait (ndelay(Infinity), mdelay(1e9)) is a soft-lockup oops, not a hang", async () => {
    const { tb, k } = await rig();
    const before = tb.core.now();
    expect(() => k.ndelay(Infinity)).toThrow(KernelOops);
    expect(() => k.mdelay(1e9)).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => r.title)).toEqual([expect.stringMatching(/^watchdog: BUG: soft lockup - CPU#0 stuck for 20s! /), expect.stringMatching(/soft lockup/)]);
    expect(tb.core.now() - before).toBe(40e9);
    k.udelay(10);
    await tb.dispose();
  });

  it("readl_poll_timeout_atomic without a timeout on a condition that never holds is a soft-lockup oops, quickly", async () => {
    const { tb, k, pdev } = await rig();
    const regs = k.pci_iomap(pdev, 0, 0)!;
    const t0 = performance.now();
    expect(() => k.readl_poll_timeout_atomic(regs, () => false, 0, 0)).toThrow(KernelOops);
    expect(() => k.readl_poll_timeout_atomic(regs, () => false, 1, Infinity)).toThrow(KernelOops);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(tb.reports("oops").map((r) => r.title)).toEqual([expect.stringMatching(/soft lockup/), expect.stringMatching(/soft lockup/)]);
    // A poll with a timeout still times out as before.
    expect(k.readl_poll_timeout_atomic(regs, () => false, 1, 100)).toBe(-ETIMEDOUT);
    await tb.dispose();
  });

  it("sg_alloc / sg_init_table / sg_alloc_table with a bad entry count warn or fail instead of growing an array forever", async () => {
    const { tb, k } = await rig();
    expect(k.sg_alloc(-1)).toEqual([]);
    expect(k.sg_alloc(0x1f7c_0000)).toEqual([]);
    const sgl = k.sg_alloc(2);
    k.sg_init_table(sgl, 0x1f7c_0000);
    k.sg_init_table(sgl, Number.NaN);
    expect(sgl).toHaveLength(2);
    const table = { sgl: [], nents: 0, orig_nents: 0 };
    expect(k.sg_alloc_table(table, 2 ** 32, GFP_KERNEL)).toBe(-ENOMEM);
    expect(k.sg_alloc_table(table, 0.5, GFP_KERNEL)).toBe(-EINVAL);
    expect(tb.reports("warn").map((r) => r.title)).toEqual([
      "WARNING: sg_alloc(-1): not a table size kmalloc_array could hold",
      "WARNING: sg_alloc(528220160): not a table size kmalloc_array could hold",
      "WARNING: sg_init_table(528220160): not a table size kmalloc_array could hold",
      "WARNING: sg_init_table(NaN): not a table size kmalloc_array could hold",
    ]);
    await tb.dispose();
  });

  it("put_page dropping the last reference of a slab or page-table page is an invalid free, not a silent free", async () => {
    const { tb, k } = await rig();
    const obj = k.kmalloc(64, GFP_KERNEL)!;
    const slabPage = k.virt_to_page(obj);
    k.put_page(slabPage);
    expect(k.page_count(slabPage)).toBe(1);
    expect(tb.reports("kasan").map((r) => r.title)).toEqual([expect.stringMatching(/invalid-free/)]);
    expect(tb.reports("kasan")[0]!.text).toMatch(/put_page\(\) drops the last reference of pfn [0-9a-f]+, a slab page the kernel still uses/);
    // The slab still owns its page: allocations keep working.
    for (let i = 0; i < 256; i++) expect(k.kzalloc(64, GFP_KERNEL)).not.toBeNull();
    // An alloc_pages page is still freed by its last put_page.
    const page = k.alloc_page(GFP_KERNEL)!;
    k.put_page(page);
    expect(tb.reports("kasan")).toHaveLength(1);
    await tb.dispose();
  });

  it("undefined or null where an address belongs is reported or oopses, never a TypeError from formatting it", async () => {
    const { tb, k } = await rig();
    const calls: [string, () => unknown][] = [
      ["kfree(undefined)", () => k.kfree(undefined as never)],
      ["vfree(undefined)", () => k.vfree(undefined as never)],
      ["iounmap(undefined)", () => k.iounmap(undefined as never)],
      ["virt_to_phys(undefined)", () => k.virt_to_phys(undefined as never)],
      ["phys_to_virt(undefined)", () => k.phys_to_virt(undefined as never)],
      ["readw(null)", () => k.readw(null as never)],
      ["mem.read32(null)", () => k.mem.read32(null as never)],
      ["mem.write64(undefined)", () => k.mem.write64(undefined as never, 1)],
    ];
    for (const [what, call] of calls) {
      try {
        call();
      } catch (e) {
        expect(e, what).toBeInstanceOf(KernelOops);
      }
    }
    expect(tb.reports().length).toBeGreaterThanOrEqual(calls.length);
    await tb.dispose();
  });

  it("the DMA API with a NULL device oopses (NULL pointer dereference) instead of throwing a TypeError", async () => {
    const { tb, k } = await rig();
    expect(() => k.dma_set_mask(null as never, 0xffffffff)).toThrow(KernelOops);
    expect(() => k.dma_map_single(undefined as never, 0 as never, 64, 1)).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => r.title)).toEqual(Array(2).fill("BUG: kernel NULL pointer dereference, address: 0000000000000000"));
    await tb.dispose();
  });

  it("printk/dev_* with a NULL message or device print (null) / (NULL device *) instead of throwing", async () => {
    const { tb, k, pdev } = await rig();
    k.pr_err(null as never);
    k.dev_info(pdev, undefined as never);
    k.dev_warn(null as never, "no device");
    expect(tb.dmesg()).toContain("(null)");
    expect(tb.dmesg()).toContain("fuzz 0000:00:01.0: (null)");
    expect(tb.dmesg()).toContain("(NULL device *): no device");
    await tb.dispose();
  });
  it("a NULL handle (completion, kmem_cache, mempool, scatterlist, miscdevice) is a NULL-pointer-dereference oops", async () => {
    const { tb, k, pdev } = await rig();
    const calls: [string, () => unknown][] = [
      ["complete", () => k.complete(null as never)],
      ["complete_all", () => k.complete_all(undefined as never)],
      ["reinit_completion", () => k.reinit_completion(null as never)],
      ["try_wait_for_completion", () => k.try_wait_for_completion(null as never)],
      ["completion_done", () => k.completion_done(undefined as never)],
      ["kmem_cache_alloc", () => k.kmem_cache_alloc(null as never, GFP_KERNEL)],
      ["mempool_create_slab_pool", () => k.mempool_create_slab_pool(2, null as never)],
      ["mempool_alloc", () => k.mempool_alloc(undefined as never, GFP_KERNEL)],
      ["mempool_free", () => k.mempool_free(k.kmalloc(8, GFP_KERNEL)!, null as never)],
      ["dma_map_sg", () => k.dma_map_sg(pdev, null as never, 1, 1)],
      ["dma_unmap_sg", () => k.dma_unmap_sg(pdev, undefined as never, 1, 1)],
      ["dma_sync_sg_for_cpu", () => k.dma_sync_sg_for_cpu(pdev, null as never, 1, 1)],
      ["sg_init_table", () => k.sg_init_table(null as never, 1)],
      ["sg_set_buf", () => k.sg_set_buf(null as never, k.kmalloc(8, GFP_KERNEL)!, 8)],
      ["sg_set_page", () => k.sg_set_page(undefined as never, k.alloc_page(GFP_KERNEL)!, 8, 0)],
      ["misc_register", () => k.misc_register(null as never)],
      ["misc_deregister", () => k.misc_deregister(undefined as never)],
    ];
    for (const [fn, call] of calls) expect(call, fn).toThrow(KernelOops);
    const oopses = tb.reports("oops");
    expect(oopses.map((r) => r.title)).toEqual(Array(calls.length).fill(NULL_DEREF_TITLE));
    expect(oopses.map((r) => r.text.split("\n")[2]!.split(":")[0])).toEqual(calls.map(([fn]) => fn));
    // NULL stays a no-op where Linux checks for it, undefined included.
    k.kmem_cache_destroy(null as never);
    k.kmem_cache_destroy(undefined as never);
    k.mempool_destroy(undefined as never);
    k.mempool_free(null as never, null as never);
    k.mempool_free(undefined as never, undefined as never);
    expect(tb.reports("oops")).toHaveLength(calls.length);
    expect(k.misc_register({ minor: MISC_DYNAMIC_MINOR, name: "ok", fops: {} })).toBe(0);
    await tb.dispose();
  });

  it("a NULL struct device outside the DMA mapping calls is a NULL-pointer-dereference oops", async () => {
    const { tb, k } = await rig();
    const calls: [string, () => unknown][] = [
      ["dma_mapping_error", () => k.dma_mapping_error(null as never, 0 as never)],
      ["devm_kfree", () => k.devm_kfree(undefined as never, k.kmalloc(8, GFP_KERNEL)!)],
      ["devm_ioremap_resource", () => k.devm_ioremap_resource(null as never, null as never)],
      ["devm_iounmap", () => k.devm_iounmap(undefined as never, 0 as never)],
      ["devm_request_irq", () => k.devm_request_irq(null as never, 11, () => 1, 0, "x", null)],
      ["dev_name", () => k.dev_name(null as never)],
    ];
    for (const [fn, call] of calls) expect(call, fn).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => [r.title, r.text.split("\n")[2]!.split(":")[0]])).toEqual(calls.map(([fn]) => [NULL_DEREF_TITLE, fn]));
    await tb.dispose();
  });

  it("reports print a null/undefined number instead of failing to format it", async () => {
    const { tb, k, pdev } = await rig();
    k.dma_unmap_single(pdev, undefined as never, 64, 1);
    k.local_irq_restore(null as never);
    const l = k.spin_lock_init("l");
    k.spin_lock_irqsave(l);
    k.spin_unlock_irqrestore(l, undefined as never);
    k.release_region(null as never, 4);
    k.release_mem_region(undefined as never, 4);
    expect(k.request_mem_region(null as never, 16, "x")).toBeNull();
    expect(k.ioremap(null as never, 4096)).toBeNull();
    expect(k.kmalloc(1 << 30, null as never)).toBeNull();
    expect(k.kmalloc(1 << 30, undefined as never)).toBeNull();
    const titles = tb.reports().map((r) => r.title).join("\n");
    expect(titles).toMatch(/undefined/);
    expect(titles).toMatch(/flags null/);
    expect(tb.dmesg()).toMatch(/page allocation failure: order:\d+, mode:0x0\(/);
    expect(tb.reports("oops")).toHaveLength(0);
    await tb.dispose();
  });

  it("bad numbers fail like Linux instead of reaching the hardware model's assertions", async () => {
    const { tb, k } = await rig();
    // alloc_pages with an order that is no order: NULL with the allocation-failure warning.
    expect(k.alloc_pages(GFP_KERNEL, Number.NaN)).toBeNull();
    expect(k.alloc_pages(GFP_KERNEL, null as never)).toBeNull();
    expect(k.alloc_pages(GFP_KERNEL, 0.5)).toBeNull();
    expect(tb.dmesg().match(/page allocation failure/g)).toHaveLength(3);
    // ioremap of a range that ends past 2^52 (or is NaN): NULL.
    expect(k.ioremap(Infinity as never, Infinity)).toBeNull();
    expect(k.ioremap(0xfebf0000 as never, Number.NaN)).toBeNull();
    // memcpy of ~2^64 bytes with KASAN off: copies until the first bad page, which oopses.
    tb.core.detectors.kasan = false;
    const a = k.kmalloc(64, GFP_KERNEL)!;
    expect(() => k.memcpy(a, 0xdead_0000_0000_0000 - 2 ** 64 as never, 0xffff_ffff_ffff_f000)).toThrow(KernelOops);
    expect(() => k.memset(0xdead_0000_0000_0000 - 2 ** 64 as never, 0, Infinity)).toThrow(KernelOops);
    // With KASAN on, an out-of-bounds memcpy/memset is reported and not done (KASAN's memcpy returns NULL).
    tb.core.detectors.kasan = true;
    const b = k.kmalloc(64, GFP_KERNEL)!;
    k.mem.write32(b, 0x1234);
    expect(k.memcpy(b, a, 1 << 20)).toBe(0);
    expect(k.memset(b, 0, 1 << 20)).toBe(0);
    expect(k.mem.read32(b)).toBe(0x1234);
    expect(tb.reports("kasan").length).toBeGreaterThanOrEqual(2);
    // KASAN's range check stops at the end of the linear map (it used to walk 2^52 pages past it):
    // a ~2^64-byte copy out of the last (memblock-reserved) page of RAM to a non-canonical address
    // oopses at once.
    const top = k.phys_to_virt((tb.soc.ram.size - 4096) as never);
    expect(() => k.memcpy(-(2 ** 53) as never, top, 0xffff_ffff_ffff_f000)).toThrow(KernelOops);
    await tb.dispose();
  });

  it("put_page dropping the last reference of a DMA-coherent buffer is refused, so the allocator stays sound", async () => {
    const { tb, k, pdev } = await rig();
    const buf = k.dma_alloc_coherent(pdev, 4096, GFP_KERNEL)!;
    const page = k.virt_to_page(buf.cpu);
    k.put_page(page);
    expect(k.page_count(page)).toBe(1);
    expect(tb.reports("kasan").map((r) => r.text).join("\n")).toMatch(/put_page\(\) drops the last reference of pfn [0-9a-f]+, a kernel-internal page the kernel still uses/);
    k.dma_free_coherent(pdev, 4096, buf.cpu, buf.handle);
    for (let i = 0; i < 512; i++) expect(k.kzalloc(64, GFP_KERNEL)).not.toBeNull();
    await tb.dispose();
  });

  it("a kernel-mode PageFault escaping a facade function is a filed oops (the facade's last line of defence)", async () => {
    const { tb, k } = await rig();
    const mm = tb.container.resolve(KERNEL_MM);
    // A slab whose own zeroing faults (as after a wild write over a page table).
    const fill = mm.slab.allocObject.bind(mm.slab);
    mm.slab.allocObject = () => {
      throw new PageFault(0xffff_8880_0100_0000 - 2 ** 64, Access.Write, false, FaultCause.NotPresent);
    };
    expect(() => k.kzalloc(64, GFP_KERNEL)).toThrow(KernelOops);
    mm.slab.allocObject = fill;
    expect(tb.reports("oops").map((r) => r.title)).toEqual([expect.stringMatching(/^BUG: unable to handle page fault for address: ffff888001000000/)]);
    expect(k.kzalloc(64, GFP_KERNEL)).not.toBeNull();
    await tb.dispose();
  });

  it("mapping through a page-table entry corrupted to point outside RAM is a page fault, not a RAM range assertion", async () => {
    const { tb } = await rig();
    const mm = tb.container.resolve(KERNEL_MM);
    const root = mm.allocTablePage();
    mm.ram.write32(root, 0xffff_f000 | 1);
    mm.ram.write32(root + 4, 0xff);
    expect(() => mm.mmu.map(root, 0x1000, 0x1000, 4096, 0, mm.allocTablePage)).toThrow(PageFault);
    await tb.dispose();
  });
  it("kmem_cache_create with an alignment past the largest slab fails, and a rep ins/outs of 2^32 port cycles is a soft lockup, instead of hanging", async () => {
    const { tb, k } = await rig();
    expect(k.kmem_cache_create("c", 1, 2 ** 63, 0, null)).toBeNull();
    expect(k.kmem_cache_create("c", 1, 8 << 20, 0, null)).toBeNull();
    const buf = k.kmalloc(64, GFP_KERNEL)!;
    expect(() => k.insb(0x80 as never, buf, 0xc000_0000)).toThrow(KernelOops);
    expect(() => k.outsl(0x80 as never, buf, Infinity)).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => r.title)).toEqual([expect.stringMatching(/soft lockup/), expect.stringMatching(/soft lockup/)]);
    k.insb(0x80 as never, buf, 4);
    await tb.dispose();
  });

  it("memcpy_fromio/memcpy_toio/memset_io with a count past the soft-lockup watchdog are a soft-lockup oops up front, instead of hanging", async () => {
    const { tb, k, pdev } = await rig();
    expect(k.pci_enable_device(pdev)).toBe(0);
    const vram = k.pci_iomap(pdev, 0, 0)!;
    const buf = k.kmalloc(64, GFP_KERNEL)!;
    // 1e300 and Infinity would loop for ever; 2^31 bytes is 2^29 uncached accesses (~54 s of bus time).
    expect(() => k.memset_io(vram, 0, 1e300)).toThrow(KernelOops);
    expect(() => k.memcpy_toio(vram, buf, Infinity)).toThrow(KernelOops);
    expect(() => k.memcpy_fromio(buf, vram, 2 ** 31)).toThrow(KernelOops);
    expect(tb.reports("oops").map((r) => r.title)).toEqual([expect.stringMatching(/soft lockup/), expect.stringMatching(/soft lockup/), expect.stringMatching(/soft lockup/)]);
    expect(tb.reports("oops")[2]!.text).toMatch(/memcpy_fromio\(.*, count 2147483648\): over 20s of MMIO accesses/);
    // A count that runs past a small mapping faults at the page after it, as the guard page does.
    expect(() => k.memset_io(addrAdd(vram, k.pci_resource_len(pdev, 0) - 16), 0, 1 << 20)).toThrow(KernelOops);
    expect(tb.reports("oops").at(-1)!.title).toMatch(/unable to handle page fault/);
    k.memset_io(vram, 0xaa, 64);
    k.memcpy_fromio(buf, vram, 64);
    expect(k.mem.read32(addrAdd(buf, 60))).toBe(0xaaaaaaaa);
    await tb.dispose();
  });
  it("a bulk MMIO copy the device refuses (memory decoding off) is reported once per call, not once per address", async () => {
    const { tb, k, pdev } = await rig();
    expect(k.pci_request_regions(pdev, "fuzz")).toBe(0);
    const vram = k.pci_iomap(pdev, 0, 0)!; // no pci_enable_device: the BAR does not decode
    k.memset_io(vram, 0, 4096);
    k.memset_io(vram, 0, 4096); // the same call again: already reported
    const mmio = tb.reports("mmio");
    expect(mmio.map((r) => r.title)).toEqual([expect.stringMatching(/^vdtb: memset_io of 4 bytes at .* refused by the device/)]);
    expect(mmio[0]!.details).toMatchObject({ op: "memset_io", count: 4096 });
    await tb.dispose();
  });
});
