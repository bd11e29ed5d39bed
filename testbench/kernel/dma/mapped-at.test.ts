/**
 * DMA findings name where the buffer was mapped: the second stack of a dma-cpu-ownership or
 * stale-cache report is "Mapped at" (the dma_map_* call), not KASAN's "Allocated by".
 */
import { describe, expect, it } from "vitest";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE, GFP_KERNEL } from "../../../sdk/index.js";
import { bootDma } from "./test-env.js";

describe("DMA reports label the mapping stack", () => {
  it("dma-cpu-ownership: Mapped at, with the dma_map_single line", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(256, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 256, DMA_TO_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h)).toBe(0);
    b.cpuWrite(buf, [1, 2, 3, 4]);
    const r = b.core.reports("dma-cpu-ownership")[0]!;
    expect(r.mapStack?.[0]).toMatch(/mapped-at\.test\.ts/);
    expect(r.allocStack).toBeUndefined();
    expect(r.text).toMatch(/\nMapped at:\n .*mapped-at\.test\.ts/);
    expect(r.text).not.toContain("Allocated by");
    b.k.dma_unmap_single(b.d.dev, h, 256, DMA_TO_DEVICE);
    b.k.kfree(buf);
  });

  it("stale-cache: Mapped at", async () => {
    const b = await bootDma("arm");
    const buf = b.k.kmalloc(256, GFP_KERNEL)!;
    b.cpuRead(buf, 64); // the line is now cached
    const h = b.k.dma_map_single(b.d.dev, buf, 256, DMA_FROM_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h)).toBe(0);
    b.d.write(h, new Uint8Array(64).fill(0x5a));
    b.k.dma_unmap_single(b.d.dev, h, 256, DMA_FROM_DEVICE);
    // A correct driver now sees the device's bytes; nothing is stale after unmap.
    expect(Array.from(b.cpuRead(buf, 4))).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
    const h2 = b.k.dma_map_single(b.d.dev, buf, 256, DMA_FROM_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h2)).toBe(0);
    b.d.write(h2, new Uint8Array(64).fill(0x77));
    b.k.dma_sync_single_for_device(b.d.dev, h2, 256, DMA_FROM_DEVICE);
    b.core.clearReports();
    // Reading without sync_for_cpu: ownership (device owns it) and, on arm, a stale line.
    b.cpuRead(buf, 4);
    const all = b.core.reports();
    expect(all.map((r) => r.kind).sort()).toEqual(["dma-cpu-ownership", "stale-cache"]);
    for (const r of all) {
      expect(r.text).toContain("Mapped at:");
      expect(r.text).not.toContain("Allocated by");
      expect(r.mapStack?.[0]).toMatch(/mapped-at\.test\.ts/);
    }
    b.k.dma_unmap_single(b.d.dev, h2, 256, DMA_FROM_DEVICE);
  });
});
