/**
 * Registration of the DMA mapping layer: DMA_API (the KernelDma facade slice, its detectors and
 * hooks), its view of the memory manager (DMA_MM → KERNEL_MM) and of the process layer's
 * remap_pfn_range (DMA_USER_MAPPER → MMAP_API's slice for the calling driver). When DMA_API is
 * first resolved it links itself to the device host (DMA access checks, requester ids), the
 * driver core's leak reclaimers and the memory facade's CPU-access watch, when those are registered.
 */
import { instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "../../soc/di.js";
import { KERNEL_API_PART } from "../facade.js";
import { DEVICE_HOST, DMA_API, DMA_MM, DMA_USER_MAPPER, KERNEL_MM, LEAK_RECLAIMERS, MM_API, MMAP_API } from "../tokens.js";
import type { DmaUserMapper } from "./backend.js";
import { DmaApi } from "./dma-api.js";
import { linkDeviceHost, linkReclaimers } from "./link.js";

/** Register the DMA layer (needs KERNEL_CORE, KERNEL_MM, DEVRES and ORDERING registered too). @internal */
export function registerDma(c: DependencyContainer): void {
  if (!c.isRegistered(DMA_MM, false)) c.register(DMA_MM, { useToken: KERNEL_MM });
  if (!c.isRegistered(DMA_USER_MAPPER, false)) {
    c.register(DMA_USER_MAPPER, {
      useFactory: (dc): DmaUserMapper => ({
        remap_pfn_range: (owner, vma, addr, pfn, size, prot) => {
          if (!dc.isRegistered(MMAP_API, true)) return -6; // -ENXIO: no process layer
          return dc.resolve(MMAP_API).api(owner).remap_pfn_range!(vma, addr, pfn, size, prot);
        },
      }),
    });
  }
  if (c.isRegistered(DMA_API, false)) return;
  c.register(DMA_API, {
    useFactory: instanceCachingFactory<DmaApi>((dc) => {
      const dma = dc.resolve(DmaApi);
      if (dc.isRegistered(DEVICE_HOST, true)) linkDeviceHost(dma, dc.resolve(DEVICE_HOST));
      if (dc.isRegistered(LEAK_RECLAIMERS, true)) linkReclaimers(dma, dc.resolve(LEAK_RECLAIMERS));
      // k.mem, memcpy and memset consult the DMA watch before CPU accesses to watched pages.
      if (dc.isRegistered(MM_API, true)) dc.resolve(MM_API).dmaWatch = dma;
      return dma;
    }),
  });
  c.register(KERNEL_API_PART, { useToken: DMA_API });
}
