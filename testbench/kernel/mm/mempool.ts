/** mempool_t: a reserve of preallocated elements used when the underlying allocator fails. */
import type { KmemCacheImpl } from "./slab.js";

/** A memory pool. The facade's `Mempool` handle is this object. @public */
export class MempoolImpl {
  /** Preallocated elements not handed out. */
  readonly reserve: number[] = [];
  /** Elements handed out: address → ledger id. */
  readonly outstanding = new Map<number, number>();
  ledgerId = 0;
  destroyed = false;
  constructor(
    readonly kind: "kmalloc" | "slab",
    readonly minNr: number,
    /** Element size (kmalloc pools) or the cache's object size. */
    readonly size: number,
    readonly cache: KmemCacheImpl | null,
    readonly owner: string,
  ) {}
}
