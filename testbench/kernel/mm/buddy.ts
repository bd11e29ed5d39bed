/**
 * `struct page` as typed arrays indexed by `pfn - basePfn`, and the per-zone buddy allocator
 * (orders 0..MAX_ORDER, split on allocation, coalescing with the buddy on free).
 *
 * A `Page` handle is the pfn itself (branded). pfn 0 is never handed out (it is reserved at
 * boot), so a valid page is always truthy and `page_to_pfn` is the identity.
 */

/** Largest buddy order (MAX_PAGE_ORDER): blocks of 1024 pages. @public */
export const MAX_ORDER = 10;
/** Number of orders shown in /proc/buddyinfo. @public */
export const NR_ORDERS = MAX_ORDER + 1;

/** What a page is used for (`PageKind`, one byte per page). @public */
export const PageKind = {
  /** Not RAM (a hole between banks). */
  None: 0,
  /** Reserved at boot (pfn 0, memblock allocations). */
  Reserved: 1,
  /** Free in the buddy allocator. */
  Free: 2,
  /** `alloc_pages` by a driver. */
  Pages: 3,
  Slab: 4,
  /** kmalloc larger than the biggest size class. */
  KmallocLarge: 5,
  /** Backing page of a vmalloc area. */
  Vmalloc: 6,
  /** Kernel page-table page. */
  PageTable: 7,
  /** Allocated by another kernel subsystem through the internal API (DMA, swiotlb...). */
  Internal: 8,
} as const;
/** @public */
export type PageKind = (typeof PageKind)[keyof typeof PageKind];

/** Zone indices. @public */
export const ZoneId = { DMA: 0, DMA32: 1, Normal: 2, HighMem: 3 } as const;
/** @public */
export type ZoneId = (typeof ZoneId)[keyof typeof ZoneId];
/** Names as /proc/buddyinfo prints them. @public */
export const zoneNames = ["DMA", "DMA32", "Normal", "HighMem"] as const;

/** Per-page metadata (the mem_map). @public */
export class PageDb {
  /** pfn of index 0. */
  readonly basePfn: number;
  /** Number of pfns covered (RAM span, holes included). */
  readonly count: number;
  /** {@link PageKind}. */
  readonly kind: Uint8Array;
  /** Reference count of a head page of an allocation; tail pages always hold 0. */
  readonly refcount: Int32Array;
  /** Allocation order of a head page. */
  readonly order: Uint8Array;
  /** Order + 1 of a free block's head page in the buddy lists, 0 otherwise. */
  readonly freeOrder: Uint8Array;
  /** Offset from an allocated page back to its head page (0 for the head). */
  readonly headOff: Int32Array;
  /** Free-list links (indices, -1 = none). */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Slab id + 1 of slab pages (0 otherwise). */
  readonly slab: Int32Array;
  /** Requested bytes of a large kmalloc (head page). */
  readonly reqSize: Int32Array;
  /** Ledger id of a driver allocation (head page). */
  readonly ledgerId: Int32Array;
  /** pkmap slot + 1 of a kmapped highmem page, 0 when not mapped. */
  readonly pkmapSlot: Int16Array;

  constructor(basePfn: number, count: number) {
    this.basePfn = basePfn;
    this.count = count;
    this.kind = new Uint8Array(count);
    this.refcount = new Int32Array(count);
    this.order = new Uint8Array(count);
    this.freeOrder = new Uint8Array(count);
    this.headOff = new Int32Array(count);
    this.next = new Int32Array(count);
    this.prev = new Int32Array(count);
    this.slab = new Int32Array(count);
    this.reqSize = new Int32Array(count);
    this.ledgerId = new Int32Array(count);
    this.pkmapSlot = new Int16Array(count);
  }

  /** Index of `pfn`, or -1 outside the span. */
  indexOf(pfn: number): number {
    const i = pfn - this.basePfn;
    return i >= 0 && i < this.count ? i : -1;
  }

  /** Mark `[idx, idx+n)` as `kind` and link every page to the head `idx`. */
  setRange(idx: number, n: number, kind: PageKind): void {
    this.kind.fill(kind, idx, idx + n);
    for (let i = 0; i < n; i++) this.headOff[idx + i] = i;
  }
}

/** One zone: a pfn range with its buddy free lists. @public */
export class Zone {
  /** Free-list heads per order (page index, -1 = empty). */
  readonly heads = new Int32Array(NR_ORDERS).fill(-1);
  /** Free blocks per order (the /proc/buddyinfo columns). */
  readonly nrFree = new Float64Array(NR_ORDERS);
  /** Pages in RAM in this zone (present_pages). */
  present = 0;
  /** Pages managed by the buddy allocator (present minus boot reservations). */
  managed = 0;
  freePages = 0;

  constructor(
    readonly id: ZoneId,
    /** First and last+1 pfn of the zone. */
    readonly startPfn: number,
    readonly endPfn: number,
    private readonly db: PageDb,
  ) {}

  get name(): string {
    return zoneNames[this.id];
  }

  /** Give a run of pages to the allocator in the largest aligned blocks (boot, O(blocks)). */
  addFreeRange(startPfn: number, endPfn: number): void {
    let pfn = startPfn;
    while (pfn < endPfn) {
      let order = MAX_ORDER;
      while (order > 0 && (pfn % (1 << order) !== 0 || pfn + (1 << order) > endPfn)) order--;
      const idx = pfn - this.db.basePfn;
      this.db.kind.fill(PageKind.Free, idx, idx + (1 << order));
      this.push(idx, order);
      this.managed += 1 << order;
      this.freePages += 1 << order;
      pfn += 1 << order;
    }
  }

  /** Take a block of `order`, splitting a larger one; returns the head page index or -1. */
  alloc(order: number): number {
    let o = order;
    while (o <= MAX_ORDER && this.heads[o] === -1) o++;
    if (o > MAX_ORDER) return -1;
    const idx = this.heads[o]!;
    this.unlink(idx, o);
    // Split: keep the lower half, give the upper halves back.
    while (o > order) {
      o--;
      this.push(idx + (1 << o), o);
    }
    this.freePages -= 1 << order;
    this.db.kind.fill(PageKind.Reserved, idx, idx + (1 << order));
    return idx;
  }

  /** Return a block, merging with free buddies of the same order. */
  free(idx: number, order: number): void {
    const db = this.db;
    db.kind.fill(PageKind.Free, idx, idx + (1 << order));
    this.freePages += 1 << order;
    let pfn = idx + db.basePfn;
    let o = order;
    while (o < MAX_ORDER) {
      const buddyPfn = pfn ^ (1 << o);
      if (buddyPfn < this.startPfn || buddyPfn + (1 << o) > this.endPfn) break;
      const b = buddyPfn - db.basePfn;
      if (db.freeOrder[b] !== o + 1) break;
      this.unlink(b, o);
      pfn = Math.min(pfn, buddyPfn);
      o++;
    }
    this.push(pfn - db.basePfn, o);
  }

  private push(idx: number, order: number): void {
    const db = this.db;
    const h = this.heads[order]!;
    db.next[idx] = h;
    db.prev[idx] = -1;
    if (h !== -1) db.prev[h] = idx;
    this.heads[order] = idx;
    db.freeOrder[idx] = order + 1;
    this.nrFree[order]!++;
  }

  private unlink(idx: number, order: number): void {
    const db = this.db;
    const n = db.next[idx]!;
    const p = db.prev[idx]!;
    if (p === -1) this.heads[order] = n;
    else db.next[p] = n;
    if (n !== -1) db.prev[n] = p;
    db.freeOrder[idx] = 0;
    this.nrFree[order]!--;
  }
}
