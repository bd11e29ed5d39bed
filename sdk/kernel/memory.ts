/** Kernel memory services: page allocator, slab/kmalloc, vmalloc, mempool, kernel memory access. */
import type { KernelVA, PhysAddr } from "../address.js";
import type { MemoryAccessor } from "../struct.js";
import type { Gfp, KmemCache, Mempool, Page } from "./types.js";

/**
 * Kernel-mode access to normal memory at kernel virtual addresses. Every access goes through the
 * simulated MMU, TLB and data cache, so a stale line or an unmapped address behaves as on
 * hardware (the latter is an oops).
 * @public
 */
export interface KernelMemoryAccess extends MemoryAccessor<KernelVA> {
  /** 64-bit read as a number (exact below 2^53). */
  read64(addr: KernelVA): number;
  write64(addr: KernelVA, value: number): void;
  /** Copy `dst.length` bytes from `addr` into `dst`. */
  read(addr: KernelVA, dst: Uint8Array): void;
  /** Copy `src` to `addr`. */
  write(addr: KernelVA, src: Uint8Array): void;
}

/** The memory-management part of the kernel facade. @public */
export interface KernelMemory {
  /** Kernel memory accessors (loads and stores through the MMU and cache). */
  readonly mem: KernelMemoryAccess;
  memset(s: KernelVA, c: number, n: number): KernelVA;
  memcpy(dest: KernelVA, src: KernelVA, n: number): KernelVA;

  /** Physically contiguous memory in the linear map, or null. Size 0 returns ZERO_SIZE_PTR (16). */
  kmalloc(size: number, flags: Gfp): KernelVA | null;
  kzalloc(size: number, flags: Gfp): KernelVA | null;
  kcalloc(n: number, size: number, flags: Gfp): KernelVA | null;
  kmalloc_array(n: number, size: number, flags: Gfp): KernelVA | null;
  krealloc(p: KernelVA | null, newSize: number, flags: Gfp): KernelVA | null;
  kfree(p: KernelVA | null): void;
  ksize(p: KernelVA): number;

  kmem_cache_create(name: string, size: number, align: number, flags: number, ctor: ((obj: KernelVA) => void) | null): KmemCache | null;
  kmem_cache_alloc(cache: KmemCache, flags: Gfp): KernelVA | null;
  kmem_cache_zalloc(cache: KmemCache, flags: Gfp): KernelVA | null;
  kmem_cache_free(cache: KmemCache, obj: KernelVA): void;
  kmem_cache_destroy(cache: KmemCache | null): void;

  /** Virtually contiguous, physically scattered memory in the vmalloc area. */
  vmalloc(size: number): KernelVA | null;
  vzalloc(size: number): KernelVA | null;
  vfree(addr: KernelVA | null): void;
  vmalloc_to_page(addr: KernelVA): Page | null;
  is_vmalloc_addr(addr: KernelVA): boolean;

  alloc_pages(flags: Gfp, order: number): Page | null;
  alloc_page(flags: Gfp): Page | null;
  __free_pages(page: Page, order: number): void;
  __free_page(page: Page): void;
  /** Returns the linear address, or 0 on failure (as Linux's `unsigned long`). */
  __get_free_pages(flags: Gfp, order: number): KernelVA | 0;
  __get_free_page(flags: Gfp): KernelVA | 0;
  get_zeroed_page(flags: Gfp): KernelVA | 0;
  free_pages(addr: KernelVA | 0, order: number): void;
  free_page(addr: KernelVA | 0): void;
  /** Linear address of a page, or null for a highmem page that is not kmapped. */
  page_address(page: Page): KernelVA | null;
  virt_to_page(addr: KernelVA): Page;
  page_to_pfn(page: Page): number;
  pfn_to_page(pfn: number): Page;
  page_to_phys(page: Page): PhysAddr;
  get_page(page: Page): void;
  put_page(page: Page): void;
  page_count(page: Page): number;
  PageHighMem(page: Page): boolean;

  /** Valid only for the linear map; misuse is reported (CONFIG_DEBUG_VIRTUAL). */
  virt_to_phys(addr: KernelVA): PhysAddr;
  phys_to_virt(addr: PhysAddr): KernelVA;
  __pa(addr: KernelVA): PhysAddr;
  __va(addr: PhysAddr): KernelVA;
  virt_addr_valid(addr: KernelVA): boolean;

  kmap(page: Page): KernelVA;
  kunmap(page: Page): void;
  kmap_local_page(page: Page): KernelVA;
  kunmap_local(addr: KernelVA): void;

  mempool_create_kmalloc_pool(minNr: number, size: number): Mempool | null;
  mempool_create_slab_pool(minNr: number, cache: KmemCache): Mempool | null;
  mempool_alloc(pool: Mempool, flags: Gfp): KernelVA | null;
  mempool_free(element: KernelVA | null, pool: Mempool): void;
  mempool_destroy(pool: Mempool | null): void;
}
