/**
 * Focused regressions for what the kernel-facade fuzz (kernel-facade.fuzz.test.ts) found: each
 * bad call must become an errno, NULL, a report or a KernelOops, never a hang or a host exception.
 */
import { describe, expect, it } from "vitest";
import { vfb } from "../../devices/index.js";
import { EINVAL, ENOMEM, ETIMEDOUT, GFP_KERNEL } from "../../sdk/index.js";
import type { Kernel, PciDev } from "../../sdk/index.js";
import { Testbench } from "../../testbench/index.js";
import { KernelOops } from "../../testbench/kernel/oops.js";

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
});
