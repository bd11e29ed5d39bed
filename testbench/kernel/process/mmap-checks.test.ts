import { describe, expect, it } from "vitest";
import type { MiscDevice, VmFault } from "../../../sdk/index.js";
import { GFP_KERNEL, MISC_DYNAMIC_MINOR } from "../../../sdk/index.js";
import { MemType } from "../../soc/pagetable.js";
import { hexVa } from "./mmap-checks.js";
import { bootProcKit } from "./test-kit.js";
import { MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from "./uapi.js";

const PAGE = 4096;

describe("detector 11 (mmap)", () => {
  it("reports a fault handler that returns a page outside its object, and not one inside", async () => {
    const kit = bootProcKit();
    const k = kit.facade("strayfault");
    const own = k.alloc_pages(GFP_KERNEL, 0)!;
    const other = kit.facade("someone-else").alloc_pages(GFP_KERNEL, 0)!;
    const misc: MiscDevice = {
      minor: MISC_DYNAMIC_MINOR,
      name: "strayfault",
      fops: {
        mmap(_k, _f, vma) {
          vma.vm_ops = {
            fault(vmf: VmFault) {
              vmf.page = vmf.pgoff === 0 ? own : other;
              return 0;
            },
          };
          return 0;
        },
      },
    };
    k.misc_register(misc);
    const p = kit.procs.spawn("t");
    const fd = await p.open("/dev/strayfault", O_RDWR);
    const va = await p.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p.load32(va);
    expect(kit.core.reports("mmap")).toHaveLength(0);
    p.load32(va + PAGE);
    const r = kit.core.reports("mmap");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^mmap: strayfault: vm_ops->fault page exposes 1 page\(s\) outside the driver's buffers and BARs/);
  });

  it("reports a cached user mapping of memory the kernel maps uncached, on a non-coherent board only", async () => {
    for (const coherent of [false, true]) {
      const kit = bootProcKit("pc", { coherent });
      const k = kit.facade("coh");
      // What dma_alloc_coherent leaves behind on a non-coherent board: pages, an uncached kernel
      // mapping, a "dma-coherent" ledger entry at that address.
      const pfn = kit.mm.allocBlock(GFP_KERNEL, 0);
      const cpuAddr = kit.mm.vm.mapPhys(pfn * PAGE, PAGE, MemType.Uncached, "dma-coherent")!;
      kit.core.ledger.add("dma-coherent", "coh", "dma_alloc_coherent 4096 bytes", kit.core.site(), 0, cpuAddr, PAGE);
      k.misc_register({
        minor: MISC_DYNAMIC_MINOR,
        name: "coh",
        fops: { mmap: (k, _f, vma) => k.remap_pfn_range(vma, vma.vm_start, pfn, PAGE, vma.vm_page_prot) },
      });
      const p = kit.procs.spawn("t");
      const fd = await p.open("/dev/coh", O_RDWR);
      expect(await p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)).toBeGreaterThan(0);
      const r = kit.core.reports("mmap");
      if (coherent) expect(r).toHaveLength(0);
      else {
        expect(r).toHaveLength(1);
        expect(r[0]!.title).toMatch(/maps dma-coherent memory write-back \(cached\) into user space while the kernel maps it uncached on a non-coherent board/);
      }
    }
  });
});

describe("hexVa", () => {
  it("prints like toString(16) padded to 8 digits, also above 2^32", () => {
    for (const a of [0, 0x1000, 0xffffffff, 2 ** 32, 0x7f1234567000, 0x7ffffffff000 + 0xfff, 2 ** 53 - 1, 2 ** 53, -4096, 0x1234 + 0.5, 2 ** 40 + 0.5]) {
      expect(hexVa(a)).toBe(a.toString(16).padStart(8, "0"));
    }
  });
});
