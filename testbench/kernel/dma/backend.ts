/**
 * What the DMA layer needs from its neighbours, as structural subsets so this folder compiles
 * against exactly the internal API it uses: the memory manager (token KERNEL_MM, mm/mm.ts) and,
 * for dma_mmap_coherent, the process layer's remap_pfn_range.
 */
import type { Page, PgProt, UserVA, VmArea } from "../../../sdk/index.js";
import type { MemType } from "../../soc/pagetable.js";
import type { ZoneId } from "../mm/buddy.js";
import type { Owner } from "../facade.js";

/** The memory-manager calls the DMA layer uses. @internal */
export interface DmaMmBackend {
  readonly layout: {
    readonly pointerBits: 32 | 64;
    readonly vmallocStart: number;
    readonly vmallocEnd: number;
    readonly zoneDmaLimit: number;
    readonly zoneDma32Limit: number;
  };
  readonly ramStart: number;
  readonly ramEnd: number;
  /** pfn of a 2^order block (zone from the GFP flags, capped at maxZone, falling back lower), or -1. */
  allocBlock(gfp: number, order: number, kind?: number, maxZone?: ZoneId): number;
  freeBlock(pfn: number, order: number): void;
  zoneOfPfn(pfn: number): { readonly id: number } | undefined;
  allocTablePage(): number;
  isLinear(va: number): boolean;
  linearToPhys(va: number): number;
  physToLinear(pa: number): number | null;
  pfnValid(pfn: number): boolean;
  readonly vm: {
    mapPfns(pfns: readonly number[], memType: MemType, label?: string): number | null;
    unmap(va: number): boolean;
    pfnAt(va: number): number;
  };
  hex(addr: number): string;
}

/** The process layer's user-mapping calls dma_mmap_coherent needs. @internal */
export interface DmaUserMapper {
  remap_pfn_range(owner: Owner, vma: VmArea, addr: UserVA, pfn: number, size: number, prot: PgProt): number;
}

/** pfn → page handle (mm's convention: the handle is the pfn). @internal */
export function pageOf(pfn: number): Page {
  return pfn as unknown as Page;
}
/** page handle → pfn. @internal */
export function pfnOf(page: Page): number {
  return page as unknown as number;
}
