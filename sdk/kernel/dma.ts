/** The DMA mapping API. */
import type { DmaAddr, KernelVA } from "../address.js";
import type { Device } from "./driver-core.js";
import type { Gfp, Opaque, Page } from "./types.js";
import type { VmArea } from "./user.js";

/** `enum dma_data_direction`. @public */
export const DMA_BIDIRECTIONAL = 0;
/** @public */ export const DMA_TO_DEVICE = 1;
/** @public */ export const DMA_FROM_DEVICE = 2;
/** @public */ export const DMA_NONE = 3;
/** @public */ export type DmaDirection = 0 | 1 | 2 | 3;

/** What a failed streaming map returns; test it with `dma_mapping_error`. @public */
export const DMA_MAPPING_ERROR = 0xffff_ffff_ffff_f000 as DmaAddr;

/** `DMA_BIT_MASK(n)`: 2^n − 1 (n = 64 rounds to 2^64 in a double, which still compares correctly). @public */
export function DMA_BIT_MASK(n: number): number {
  return 2 ** n - 1;
}

/** A coherent allocation: the CPU address and the bus address the device uses. @public */
export interface CoherentBuffer {
  readonly cpu: KernelVA;
  readonly handle: DmaAddr;
}

/** `struct scatterlist`: one entry of an sg list. @public */
export interface Scatterlist {
  page: Page | null;
  offset: number;
  length: number;
  /** Filled by `dma_map_sg`. */
  dma_address: DmaAddr;
  dma_length: number;
  /** True on the last entry (`sg_is_last`). */
  end: boolean;
}

/** `struct sg_table`. @public */
export interface SgTable {
  sgl: Scatterlist[];
  /** Entries mapped (after `dma_map_sgtable`). */
  nents: number;
  /** Entries allocated. */
  orig_nents: number;
}

/** `struct dma_pool`. @public */
export type DmaPool = Opaque<"dma_pool">;

/** The DMA part of the kernel facade. @public */
export interface KernelDma {
  /** 0, or -EIO when the platform cannot honour the mask. */
  dma_set_mask(dev: Device, mask: number): number;
  dma_set_coherent_mask(dev: Device, mask: number): number;
  dma_set_mask_and_coherent(dev: Device, mask: number): number;
  dma_get_mask(dev: Device): number;
  dma_set_max_seg_size(dev: Device, size: number): number;
  dma_set_seg_boundary(dev: Device, mask: number): number;

  dma_alloc_coherent(dev: Device, size: number, flags: Gfp): CoherentBuffer | null;
  dma_free_coherent(dev: Device, size: number, cpu: KernelVA, handle: DmaAddr): void;
  dmam_alloc_coherent(dev: Device, size: number, flags: Gfp): CoherentBuffer | null;
  dma_alloc_wc(dev: Device, size: number, flags: Gfp): CoherentBuffer | null;
  dma_free_wc(dev: Device, size: number, cpu: KernelVA, handle: DmaAddr): void;
  dma_mmap_coherent(dev: Device, vma: VmArea, cpu: KernelVA, handle: DmaAddr, size: number): number;
  dma_mmap_wc(dev: Device, vma: VmArea, cpu: KernelVA, handle: DmaAddr, size: number): number;

  dma_map_single(dev: Device, ptr: KernelVA, size: number, dir: DmaDirection): DmaAddr;
  dma_unmap_single(dev: Device, addr: DmaAddr, size: number, dir: DmaDirection): void;
  dma_map_page(dev: Device, page: Page, offset: number, size: number, dir: DmaDirection): DmaAddr;
  dma_unmap_page(dev: Device, addr: DmaAddr, size: number, dir: DmaDirection): void;
  /** Non-zero when `addr` is {@link DMA_MAPPING_ERROR}. */
  dma_mapping_error(dev: Device, addr: DmaAddr): number;
  /** Number of DMA segments mapped (may merge entries), 0 on failure. */
  dma_map_sg(dev: Device, sgl: Scatterlist[], nents: number, dir: DmaDirection): number;
  /** `nents` must be the value passed to `dma_map_sg`, not its return value. */
  dma_unmap_sg(dev: Device, sgl: Scatterlist[], nents: number, dir: DmaDirection): void;
  dma_map_sgtable(dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): number;
  dma_unmap_sgtable(dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): void;
  dma_sync_single_for_cpu(dev: Device, addr: DmaAddr, size: number, dir: DmaDirection): void;
  dma_sync_single_for_device(dev: Device, addr: DmaAddr, size: number, dir: DmaDirection): void;
  dma_sync_sg_for_cpu(dev: Device, sgl: Scatterlist[], nents: number, dir: DmaDirection): void;
  dma_sync_sg_for_device(dev: Device, sgl: Scatterlist[], nents: number, dir: DmaDirection): void;

  sg_init_table(sgl: Scatterlist[], nents: number): void;
  /** A fresh array of `nents` zeroed entries (the kernel's `kmalloc_array` of scatterlists). */
  sg_alloc(nents: number): Scatterlist[];
  sg_alloc_table(table: SgTable, nents: number, flags: Gfp): number;
  sg_free_table(table: SgTable): void;
  sg_set_page(sg: Scatterlist, page: Page, len: number, offset: number): void;
  sg_set_buf(sg: Scatterlist, buf: KernelVA, buflen: number): void;
  sg_dma_address(sg: Scatterlist): DmaAddr;
  sg_dma_len(sg: Scatterlist): number;

  dma_pool_create(name: string, dev: Device, size: number, align: number, boundary: number): DmaPool | null;
  dma_pool_alloc(pool: DmaPool, flags: Gfp): CoherentBuffer | null;
  dma_pool_zalloc(pool: DmaPool, flags: Gfp): CoherentBuffer | null;
  dma_pool_free(pool: DmaPool, cpu: KernelVA, handle: DmaAddr): void;
  dma_pool_destroy(pool: DmaPool | null): void;
}
