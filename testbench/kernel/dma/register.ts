/**
 * Registration of the DMA mapping layer: DMA_API (the KernelDma facade slice, its detectors and
 * hooks), its view of the memory manager (DMA_MM → KERNEL_MM) and of the process layer's
 * remap_pfn_range (DMA_USER_MAPPER → MMAP_API's slice for the calling driver).
 */
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart } from "../register.js";
import { DMA_API, DMA_MM, DMA_USER_MAPPER, KERNEL_MM, MMAP_API } from "../tokens.js";
import type { DmaUserMapper } from "./backend.js";
import { DmaApi } from "./dma-api.js";

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
  registerApiPart(c, DMA_API, DmaApi);
}
