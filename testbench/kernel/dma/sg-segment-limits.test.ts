/**
 * DMA-API debug's sg segment checks on dma_map_sg, per mapped segment, against the values the
 * driver set with dma_set_max_seg_size / dma_set_seg_boundary (with and without an IOMMU).
 */
import { describe, expect, it } from "vitest";
import { DMA_TO_DEVICE, GFP_KERNEL } from "../../../sdk/index.js";
import { bootDma } from "./test-env.js";

for (const iommu of [false, true]) {
  describe(`sg segment limits (${iommu ? "IOMMU" : "direct"})`, () => {
    it("dma_set_max_seg_size(dev, 4096), one physically contiguous 2-page segment: too long", async () => {
      const b = await bootDma("pc", { iommu });
      const pages = b.k.alloc_pages(GFP_KERNEL, 1)!;
      b.k.dma_set_max_seg_size(b.d.dev, 4096);
      const sgl = b.k.sg_alloc(1);
      b.k.sg_set_page(sgl[0]!, pages, 8192, 0);
      expect(b.k.dma_map_sg(b.d.dev, sgl, 1, DMA_TO_DEVICE)).toBe(1);
      expect(b.core.reports("dma-api").map((r) => r.title)).toEqual([
        "DMA-API: drv 0000:00:03.0: mapping sg segment longer than device claims to support [len=8192] [max=4096]",
      ]);
      b.k.dma_unmap_sg(b.d.dev, sgl, 1, DMA_TO_DEVICE);
      // Two 4 KiB entries are fine: with an IOMMU they are not merged past the limit either.
      b.core.clearReports();
      const two = b.k.sg_alloc(2);
      b.k.sg_set_page(two[0]!, pages, 4096, 0);
      b.k.sg_set_page(two[1]!, b.k.pfn_to_page(b.k.page_to_pfn(pages) + 1), 4096, 0);
      expect(b.k.dma_map_sg(b.d.dev, two, 2, DMA_TO_DEVICE)).toBe(2);
      expect(b.core.reports("dma-api")).toEqual([]);
      b.k.dma_unmap_sg(b.d.dev, two, 2, DMA_TO_DEVICE);
      b.k.__free_pages(pages, 1);
    });

    it("dma_set_seg_boundary(dev, 0xfff), a 4 KiB segment starting mid-page: across the boundary", async () => {
      const b = await bootDma("pc", { iommu });
      const pages = b.k.alloc_pages(GFP_KERNEL, 1)!;
      b.k.dma_set_seg_boundary(b.d.dev, 0xfff);
      const sgl = b.k.sg_alloc(1);
      b.k.sg_set_page(sgl[0]!, pages, 4096, 1024);
      expect(b.k.dma_map_sg(b.d.dev, sgl, 1, DMA_TO_DEVICE)).toBe(1);
      const bus = b.k.sg_dma_address(sgl[0]!);
      const hex = (n: number) => "0x" + n.toString(16).padStart(16, "0");
      expect(b.core.reports("dma-api").map((r) => r.title)).toEqual([
        `DMA-API: drv 0000:00:03.0: mapping sg segment across boundary [start=${hex(bus)}] [end=${hex(bus + 4095)}] [boundary=0x0000000000000fff]`,
      ]);
      b.k.dma_unmap_sg(b.d.dev, sgl, 1, DMA_TO_DEVICE);
      b.k.__free_pages(pages, 1);
    });
  });
}
