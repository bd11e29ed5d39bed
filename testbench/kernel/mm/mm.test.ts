import { describe, expect, it } from "vitest";
import { __GFP_NOWARN, GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_HIGHUSER, GFP_KERNEL } from "../../../sdk/kernel/types.js";
import type { KernelVA, PhysAddr } from "../../../sdk/address.js";
import { renderBuddyinfo } from "../procfs/buddyinfo.js";
import { MAX_ORDER } from "./buddy.js";
import { MemType } from "../../soc/pagetable.js";
import { hexAddr, POISON_PA, x86_32Layout, x86_64Layout, arm32Layout } from "./layout.js";
import { bootMm } from "./test-helpers.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("address-space layouts", () => {
  it("keeps x86_64 kernel addresses as negative doubles printed as 16 hex digits", () => {
    expect(x86_64Layout.pageOffset).toBe(-0x778000000000);
    expect(hexAddr(x86_64Layout.pageOffset)).toBe("ffff888000000000");
    expect(hexAddr(x86_64Layout.vmallocStart)).toBe("ffffc90000000000");
    expect(hexAddr(x86_64Layout.pageOffset + 0x1234)).toBe("ffff888000001234");
    expect(hexAddr(0xc0000000, 32)).toBe("c0000000");
    expect(x86_32Layout.vmallocStart).toBe(0xf8800000);
    expect(x86_32Layout.lowmemMax).toBe(896 * MiB);
    expect(arm32Layout.vectorPage).toBe(0xffff0000);
    expect(arm32Layout.modulesEnd).toBeLessThanOrEqual(arm32Layout.pageOffset);
  });
});

describe("boot", () => {
  it("switches to the kernel root, maps the linear map with 2 MiB pages and stays fast", async () => {
    await bootMm("pc"); // warm up
    const t0 = performance.now();
    const { tb, mm } = await bootMm("pc");
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(50);
    expect(tb.soc.cpu.root).toBe(mm.kernelRoot);
    expect(mm.linearIsHuge(mm.layout.pageOffset + 64 * MiB)).toBe(true);
    // A 4 GiB-RAM board boots with about as many table pages (memblock is not O(RAM) pages).
    const big = await bootMm("pc", { ram: [{ base: 0, size: 0xb0000000 }, { base: 4 * GiB, size: 1 * GiB }] /* a PC leaves a hole below 4 GiB for PCI */ });
    expect(big.mm.bootReserved - Math.ceil((big.mm.ram.size / 4096) * 64 / 4096)).toBeLessThan(64);
    expect(big.tb.soc.ram.touchedPages).toBeLessThan(200);
  });

  it("maps RAM's first byte at PAGE_OFFSET on a board whose RAM starts at 0x80000000", async () => {
    const { k, core } = await bootMm("arm");
    expect(k.__va(0x80000000 as PhysAddr)).toBe(0xc0000000);
    const p = k.kmalloc(64, GFP_KERNEL)!;
    const pa = k.virt_to_phys(p);
    expect(pa).toBeGreaterThanOrEqual(0x80000000);
    expect(k.phys_to_virt(pa)).toBe(p);
    k.mem.write32(p, 0xcafef00d);
    expect(k.mem.read32(k.__va(pa))).toBe(0xcafef00d);
    expect(core.reports()).toHaveLength(0);
  });
});

describe("buddy allocator", () => {
  it("splits on allocation and merges back on free (buddyinfo returns to its boot state)", async () => {
    const { k, mm } = await bootMm("pc");
    const before = mm.procBuddyinfo();
    const dma = mm.zones[0]!;
    const free0 = Array.from(dma.nrFree);
    const page = k.alloc_pages(GFP_DMA, 0)!;
    expect(mm.procBuddyinfo()).not.toBe(before);
    expect(k.page_to_phys(page)).toBeLessThan(16 * MiB);
    k.__free_pages(page, 0);
    expect(Array.from(dma.nrFree)).toEqual(free0);
    expect(mm.procBuddyinfo()).toBe(before);
  });

  it("shows fragmentation in /proc/buddyinfo", async () => {
    const { k, mm } = await bootMm("pc");
    const zone = mm.zones[1]!; // DMA32
    const pages = [];
    for (let i = 0; i < 2048; i++) pages.push(k.alloc_page(GFP_KERNEL)!);
    const order0Before = zone.nrFree[0]!;
    for (let i = 0; i < pages.length; i += 2) k.__free_page(pages[i]!);
    expect(zone.nrFree[0]! - order0Before).toBeGreaterThanOrEqual(1000); // no free page has a free buddy
    const line = mm.procBuddyinfo().split("\n").find((l) => l.includes("DMA32"))!;
    expect(Number(line.trim().split(/\s+/)[4])).toBe(zone.nrFree[0]);
    for (let i = 1; i < pages.length; i += 2) k.__free_page(pages[i]!);
    expect(zone.nrFree[0]).toBeLessThanOrEqual(order0Before);
  });

  it("serves GFP_DMA below 16 MiB and GFP_DMA32 below 4 GiB; GFP_KERNEL prefers ZONE_NORMAL", async () => {
    const { k, mm } = await bootMm("pc", { ram: [{ base: 0, size: 0xb0000000 }, { base: 4 * GiB, size: 1 * GiB }] /* a PC leaves a hole below 4 GiB for PCI */ });
    expect(mm.buddyState().map((z) => z.name)).toEqual(["DMA", "DMA32", "Normal"]);
    for (let i = 0; i < 50; i++) {
      expect(k.page_to_phys(k.alloc_pages(GFP_DMA, 2)!)).toBeLessThan(16 * MiB);
      const p32 = k.page_to_phys(k.alloc_pages(GFP_DMA32, 3)!);
      expect(p32).toBeGreaterThanOrEqual(16 * MiB);
      expect(p32).toBeLessThan(4 * GiB);
      expect(k.page_to_phys(k.alloc_page(GFP_KERNEL)!)).toBeGreaterThanOrEqual(4 * GiB);
      const d = k.kmalloc(100, GFP_KERNEL | GFP_DMA)!;
      expect(k.virt_to_phys(d)).toBeLessThan(16 * MiB);
    }
  });

  it("returns NULL and warns when memory runs out, never throws; __GFP_NOWARN is quiet", async () => {
    const { k, core } = await bootMm("pc", { ram: [{ base: 0, size: 64 * MiB }] });
    let n = 0;
    while (k.alloc_pages(GFP_KERNEL, MAX_ORDER) !== null) n++;
    expect(n).toBeGreaterThan(5);
    expect(core.dmesg.grep(/page allocation failure: order:10, mode:0x[0-9a-f]+\(GFP_KERNEL\)/)).toHaveLength(1);
    while (k.alloc_page(GFP_KERNEL | __GFP_NOWARN) !== null) n++;
    expect(core.dmesg.grep("page allocation failure")).toHaveLength(1);
    expect(k.kmalloc(64, GFP_KERNEL | __GFP_NOWARN)).toBeNull();
    expect(k.vmalloc(8192)).toBeNull();
    expect(k.alloc_pages(GFP_KERNEL, MAX_ORDER + 1)).toBeNull();
  });

  it("vmalloc and ioremap return NULL when no page is left for a page table, giving back what they took", async () => {
    const { k, core, mm } = await bootMm("pc", { ram: [{ base: 0, size: 64 * MiB }] });
    const held = [];
    for (let p = k.alloc_page(GFP_KERNEL | __GFP_NOWARN); p !== null; p = k.alloc_page(GFP_KERNEL | __GFP_NOWARN)) held.push(p);
    // Exactly 600 free pages: vmalloc gets its data pages, then the tables for 600 pages need more.
    for (const p of held.splice(held.length - 600)) k.__free_page(p);
    expect(k.vmalloc(600 * 4096)).toBeNull();
    expect(core.dmesg.grep(/vmalloc error: size 2457600, failed to map pages/)).toHaveLength(1);
    let back = 0;
    for (let p = k.alloc_page(GFP_KERNEL | __GFP_NOWARN); p !== null; p = k.alloc_page(GFP_KERNEL | __GFP_NOWARN)) held.push(p), back++;
    expect(back).toBe(600); // the data pages came back
    expect(mm.vm.mapPhys(0xc0000000, 4 * MiB, MemType.Uncached)).toBeNull(); // ioremap: two tables, none left
  });
});

describe("highmem and kmap (pc32, 1 GiB)", () => {
  it("highmem pages have no linear address until kmapped", async () => {
    const { k, mm, core } = await bootMm("pc32");
    expect(mm.buddyState().map((z) => z.name)).toEqual(["DMA", "Normal", "HighMem"]);
    const page = k.alloc_page(GFP_HIGHUSER)!;
    expect(k.PageHighMem(page)).toBe(true);
    expect(k.page_to_phys(page)).toBeGreaterThanOrEqual(896 * MiB);
    expect(k.page_address(page)).toBeNull();
    const v = k.kmap(page);
    expect(v).toBeGreaterThanOrEqual(mm.layout.pkmapBase);
    expect(k.page_address(page)).toBe(v);
    k.mem.write32(v, 0x11223344);
    k.kunmap(page);
    expect(k.page_address(page)).toBeNull();
    const l = k.kmap_local_page(page);
    expect(k.mem.read32(l)).toBe(0x11223344);
    k.kunmap_local(l);
    expect(core.reports()).toHaveLength(0);
    // virt_to_phys on a kmap address is a misuse.
    const again = k.kmap(page);
    expect(k.virt_to_phys(again)).toBe(POISON_PA);
    expect(core.reports("virt")).toHaveLength(1);
    // Lowmem pages are their own kmap.
    const low = k.alloc_page(GFP_KERNEL)!;
    expect(k.PageHighMem(low)).toBe(false);
    expect(k.kmap(low)).toBe(k.page_address(low));
    // x86_64: kmap is page_address.
    const pc = await bootMm("pc");
    const p64 = pc.k.alloc_page(GFP_HIGHUSER)!;
    expect(pc.k.kmap(p64)).toBe(pc.k.page_address(p64));
  });
});

describe("address conversions (CONFIG_DEBUG_VIRTUAL)", () => {
  it("reports virt_to_phys on a vmalloc address and returns a poisoned value", async () => {
    const { k, core, mm } = await bootMm("pc");
    const v = k.vmalloc(3 * 4096)!;
    const pa = k.virt_to_phys(v);
    expect(pa).toBe(POISON_PA);
    const r = core.reports("virt");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe(`virt_to_phys used for non-linear address: ${mm.hex(v)} (vmalloc area ${mm.hex(v)}+3000)`);
    expect(mm.pfnValid(Math.floor(pa / 4096))).toBe(false);
    expect(k.virt_addr_valid(v)).toBe(false);
    expect(k.is_vmalloc_addr(v)).toBe(true);
    // user address and __pa
    k.__pa(0x400000 as KernelVA);
    expect(core.reports("virt")[1]!.title).toContain("(user address)");
    // Linear addresses convert both ways without reports.
    const p = k.kmalloc(32, GFP_KERNEL)!;
    expect(k.__va(k.__pa(p))).toBe(p);
    expect(k.page_address(k.virt_to_page(p))! + (p % 4096 + 4096) % 4096).toBe(p);
    expect(core.reports("virt")).toHaveLength(2);
  });
});

describe("GFP may-sleep checks", () => {
  it("reports GFP_KERNEL in atomic context, not GFP_ATOMIC / GFP_NOWAIT", async () => {
    const { k, core } = await bootMm("pc");
    core.ctx.preempt++; // spin_lock held
    expect(k.kmalloc(32, GFP_ATOMIC)).not.toBeNull();
    expect(k.kmalloc(32, 0)).not.toBeNull();
    expect(k.alloc_page(GFP_ATOMIC)).not.toBeNull();
    expect(core.reports("atomic-sleep")).toHaveLength(0);
    expect(k.kmalloc(32, GFP_KERNEL)).not.toBeNull(); // still succeeds, but is reported
    core.ctx.preempt--;
    const r = core.reports("atomic-sleep");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^BUG: sleeping function called from invalid context at /);
    core.ctx.inHardirq(() => k.vmalloc(4096));
    expect(core.reports("atomic-sleep")).toHaveLength(2);
  });
});

describe("/proc/buddyinfo", () => {
  it("renders the kernel's format (golden)", () => {
    const text = renderBuddyinfo([
      { name: "DMA", nrFree: [1, 1, 1, 0, 2, 1, 1, 0, 1, 1, 3] },
      { name: "DMA32", nrFree: [12, 120, 1234, 5, 0, 0, 0, 0, 0, 0, 700] },
    ]);
    expect(text).toBe(
      "Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 \n" +
        "Node 0, zone    DMA32     12    120   1234      5      0      0      0      0      0      0    700 \n",
    );
  });

  it("matches the boot state of the pc board", async () => {
    const { mm } = await bootMm("pc");
    const lines = mm.procBuddyinfo().split("\n");
    expect(lines[0]).toBe("Node 0, zone      DMA      1      1      1      1      1      1      1      1      1      1      3 ");
    expect(lines[1]).toMatch(/^Node 0, zone    DMA32( +\d+ ){11}$/);
  });
});

describe("internal API for ioremap and DMA", () => {
  it("maps physical ranges with a memory type, keeps the page offset, unmaps with a TLB flush", async () => {
    const { mm, tb } = await bootMm("pc");
    const va = mm.vm.mapPhys(0xfebf0010, 0x2000, 1 /* MemType.Uncached */, "ioremap")!;
    expect(((va % 4096) + 4096) % 4096).toBe(0x10);
    const t = tb.soc.mmu.lookup(mm.kernelRoot, va)!;
    expect(t.pa).toBe(0xfebf0010);
    expect(t.flags & 0x18).toBe(0x8); // MT = uncached
    expect(tb.soc.mmu.lookup(mm.kernelRoot, va - 0x10 + 0x2000)).not.toBeNull(); // 3 pages cover 0x10+0x2000
    expect(tb.soc.mmu.lookup(mm.kernelRoot, va - 0x10 + 0x3000)).toBeNull(); // guard page
    expect(mm.vm.unmap(va + 0x1000)).toBe(true);
    expect(tb.soc.mmu.lookup(mm.kernelRoot, va)).toBeNull();
    expect(mm.vm.unmap(va)).toBe(false);
  });

  it("vmaps scattered pages, vmalloc_to_page finds them, table pages and blocks come from the zones", async () => {
    const { mm, k, tb } = await bootMm("pc");
    const pfns = [mm.allocBlock(GFP_KERNEL, 0), mm.allocBlock(GFP_KERNEL, 0)];
    const va = mm.vm.mapPfns(pfns)!;
    tb.soc.cpu.store32(va + 4096, 0xabcd);
    expect(tb.soc.cpu.load32(mm.pageVa(pfns[1]!)!)).toBe(0xabcd);
    const v = k.vmalloc(3 * 4096)!;
    const page = k.vmalloc_to_page(((v as number) + 8192 + 5) as KernelVA)!;
    k.mem.write32(((v as number) + 8192) as KernelVA, 77);
    expect(tb.soc.cpu.load32(mm.pageVa(k.page_to_pfn(page))!)).toBe(77);
    expect(k.vmalloc_to_page(k.kmalloc(8, GFP_KERNEL)!)).toBeNull();
    const table = mm.allocTablePage();
    expect(table % 4096).toBe(0);
    mm.freeTablePage(table);
    const dma = mm.allocBlock(GFP_DMA32 | __GFP_NOWARN, 4);
    expect(dma * 4096).toBeLessThan(4 * GiB);
    mm.freeBlock(dma, 4);
    expect(mm.pfnValid(0)).toBe(true);
    expect(mm.pfnValid(1e9)).toBe(false);
  });
});
