import { describe, expect, it } from "vitest";
import type { Device, KernelVA } from "../../../sdk/index.js";
import { GFP_KERNEL, MISC_DYNAMIC_MINOR } from "../../../sdk/index.js";
import { Testbench } from "../../harness/testbench.js";
import { PteFlag } from "../../soc/pagetable.js";
import { MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from "../process/uapi.js";

const PAGE = 4096;

describe("dma_mmap_coherent / dma_mmap_wc", () => {
  for (const [board, wc] of [["arm", false], ["arm", true], ["pc", false]] as const) {
    it(`maps a coherent buffer into a user VMA with the matching memory type (${board}${wc ? ", wc" : ""})`, async () => {
      const tb = await Testbench.boot({ board });
      const k = tb.facade({ driver: "dmm" });
      const dev = { name: "dmm.0", bus: "platform" } as unknown as Device;
      const buf = (wc ? k.dma_alloc_wc : k.dma_alloc_coherent)(dev, 2 * PAGE, GFP_KERNEL)!;
      k.mem.write32(buf.cpu, 0xfeedf00d);
      k.mem.write32((buf.cpu + PAGE) as KernelVA, 0x12345678);
      const misc = {
        minor: MISC_DYNAMIC_MINOR,
        name: "dmm",
        fops: { mmap: (kk: typeof k, _f: unknown, vma: Parameters<typeof k.dma_mmap_coherent>[1]) => (wc ? kk.dma_mmap_wc : kk.dma_mmap_coherent)(dev, vma, buf.cpu, buf.handle, 2 * PAGE) },
      };
      expect(k.misc_register(misc as never)).toBe(0);
      const p = tb.spawn("user");
      const fd = await p.open("/dev/dmm", O_RDWR);
      const va = await p.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      expect(va).toBeGreaterThan(0);
      const word = (a: number) => new DataView(p.readBytes(a, 4).buffer).getUint32(0, true);
      expect(word(va)).toBe(0xfeedf00d);
      expect(word(va + PAGE)).toBe(0x12345678);
      const t = tb.soc.mmu.lookup(p.mm.root, va)!;
      expect(t.flags & PteFlag.MtMask).toBe(board === "pc" ? PteFlag.MtWriteBack : wc ? PteFlag.MtWriteCombining : PteFlag.MtUncached);
      // A VMA larger than the buffer is refused.
      expect(await p.mmap(0, 3 * PAGE, PROT_READ, MAP_SHARED, fd, 0)).toBeLessThan(0);
      expect(tb.reports().filter((r) => r.kind === "mmap" || r.kind.startsWith("dma"))).toEqual([]);
    });
  }

  it("refuses a handle that is not a coherent buffer's, whatever the driver passed, with a report", async () => {
    const tb = await Testbench.boot({ board: "pc" });
    const k = tb.facade({ driver: "dmm" });
    const dev = { name: "dmm.0", bus: "platform" } as unknown as Device;
    const buf = k.dma_alloc_coherent(dev, PAGE, GFP_KERNEL)!;
    const bad = [undefined, "0x1000", buf.handle + PAGE] as unknown as number[];
    let which = 0;
    const misc = {
      minor: MISC_DYNAMIC_MINOR,
      name: "dmm",
      fops: { mmap: (kk: typeof k, _f: unknown, vma: Parameters<typeof k.dma_mmap_coherent>[1]) => kk.dma_mmap_coherent(dev, vma, buf.cpu, bad[which]! as never, PAGE) },
    };
    expect(k.misc_register(misc as never)).toBe(0);
    const p = tb.spawn("user");
    const fd = await p.open("/dev/dmm", O_RDWR);
    for (which = 0; which < bad.length; which++) expect(await p.mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0)).toBeLessThan(0);
    const titles = tb.reports().map((r) => r.title).filter((t) => t.includes("dma_mmap_coherent: no coherent buffer"));
    expect(titles).toHaveLength(3);
    expect(titles[0]).toContain("bus undefined");
    expect(titles[1]).toContain("bus 0x1000");
    expect(titles[2]).toContain(`bus 0x${(buf.handle + PAGE).toString(16)}`);
    await tb.dispose();
  });
});
