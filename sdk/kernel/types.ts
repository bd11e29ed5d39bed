/** Constants and handle types shared by the kernel facade groups. */

/** Allocation flags (`gfp_t`). Combine with `|`. @public */
export type Gfp = number;

/** @public */ export const __GFP_DMA = 0x01;
/** @public */ export const __GFP_HIGHMEM = 0x02;
/** @public */ export const __GFP_DMA32 = 0x04;
/** Caller may sleep (direct reclaim). @public */ export const __GFP_DIRECT_RECLAIM = 0x400;
/** Caller may not sleep but may use emergency reserves. @public */ export const __GFP_HIGH = 0x20;
/** Zero the allocation. @public */ export const __GFP_ZERO = 0x100;
/** Do not warn on failure. @public */ export const __GFP_NOWARN = 0x2000;
/** Retry hard, may still fail. @public */ export const __GFP_RETRY_MAYFAIL = 0x4000;
/** Never fail (the kernel loops). @public */ export const __GFP_NOFAIL = 0x8000;
/** Process context, may sleep. @public */ export const GFP_KERNEL = __GFP_DIRECT_RECLAIM | 0x800;
/** Never sleeps; for interrupt handlers and spinlocked sections. @public */ export const GFP_ATOMIC = __GFP_HIGH;
/** Never sleeps, no reserves. @public */ export const GFP_NOWAIT = 0;
/** Zone DMA (below 16 MiB). @public */ export const GFP_DMA = __GFP_DMA;
/** Zone DMA32 (below 4 GiB, 64-bit profiles). @public */ export const GFP_DMA32 = __GFP_DMA32;
/** User pages, may come from highmem. @public */ export const GFP_HIGHUSER = GFP_KERNEL | __GFP_HIGHMEM;
/** User pages. @public */ export const GFP_USER = GFP_KERNEL;

declare const pageBrand: unique symbol;
/** A `struct page`: one physical page frame. Opaque; use `page_to_pfn`, `page_address`, `kmap`. @public */
export interface Page {
  readonly [pageBrand]: true;
}

declare const opaqueBrand: unique symbol;
/** An opaque kernel object handle of kind `K`. @public */
export interface Opaque<K extends string> {
  readonly [opaqueBrand]: K;
}

/** A slab cache (`struct kmem_cache`). @public */
export type KmemCache = Opaque<"kmem_cache">;
/** A memory pool (`mempool_t`). @public */
export type Mempool = Opaque<"mempool">;
/** Saved interrupt state from `spin_lock_irqsave` / `local_irq_save`. @public */
export type IrqFlags = number & { readonly __irqflags: true };

/** @public */ export const SLAB_HWCACHE_ALIGN = 0x2000;
/** @public */ export const SLAB_POISON = 0x800;
/** @public */ export const SLAB_RED_ZONE = 0x400;
/** @public */ export const SLAB_PANIC = 0x40000;
/** @public */ export const SLAB_CACHE_DMA = 0x4000;

/**
 * `ERR_PTR`: an error encoded in a pointer-returning call, as Linux does (the top 4095 values of
 * the address space, i.e. -1 .. -4095, which no valid address uses on any profile).
 * @public
 */
export function ERR_PTR<T extends number>(errno: number): T {
  return errno as T;
}
/** True when `ptr` encodes an errno (see {@link ERR_PTR}). @public */
export function IS_ERR(ptr: number | null | undefined): boolean {
  return typeof ptr === "number" && ptr < 0 && ptr >= -4095;
}
/** The (negative) errno encoded in `ptr`. @public */
export function PTR_ERR(ptr: number): number {
  return ptr;
}
/** True for NULL or an encoded errno. @public */
export function IS_ERR_OR_NULL(ptr: number | null | undefined): boolean {
  return ptr === null || ptr === undefined || ptr === 0 || IS_ERR(ptr);
}
