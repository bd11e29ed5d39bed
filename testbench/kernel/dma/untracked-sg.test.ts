import { afterEach, describe, expect, it } from "vitest";
import { DMA_FROM_DEVICE, DmaStatus, GFP_KERNEL } from "../../../sdk/index.js";
import { bootDma, type DmaBench } from "./test-env.js";

let b: DmaBench | undefined;
afterEach(async () => {
  await b?.tb.dispose();
  b = undefined;
});

describe("sg mappings made with the detectors off", () => {
  it("keep no debug entries, move data, and unmap cleanly after the detectors come back on", async () => {
    for (const iommu of [true, false]) {
      b = await bootDma("pc", { iommu });
      const sgl = b.k.sg_alloc(4);
      for (let i = 0; i < 4; i++) b.k.sg_set_page(sgl[i]!, b.k.alloc_page(GFP_KERNEL)!, 4096, 0);
      b.core.setDetectors(false);
      const n = b.k.dma_map_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(n).toBe(iommu ? 1 : 4);
      expect(b.dma.tracker.entries(b.d.dev.name)).toEqual([]);
      for (let i = 0; i < n; i++) expect(b.d.write(b.k.sg_dma_address(sgl[i]!), new Uint8Array(b.k.sg_dma_len(sgl[i]!)).fill(0x5a))).toBe(DmaStatus.OK);
      b.core.setDetectors(true);
      b.k.dma_sync_sg_for_cpu(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      b.k.dma_unmap_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(b.cpuRead(b.k.page_address(sgl[3]!.page!)!, 4)).toEqual(Uint8Array.from([0x5a, 0x5a, 0x5a, 0x5a]));
      expect(b.core.reports()).toEqual([]);
      // Mapped with the detectors on, unmapped with them off: the entries still go away.
      const m = b.k.dma_map_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(b.dma.tracker.entries(b.d.dev.name)).toHaveLength(m);
      b.core.setDetectors(false);
      b.k.dma_unmap_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(b.dma.tracker.entries(b.d.dev.name)).toEqual([]);
      await b.tb.dispose();
      b = undefined;
    }
  });
});
