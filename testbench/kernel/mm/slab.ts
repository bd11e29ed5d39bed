/**
 * SLUB-like slab allocator: kmem_caches of fixed-size objects carved from buddy blocks, the
 * kmalloc size classes (kmalloc-8 .. kmalloc-8k with -96 and -192, and dma-kmalloc-*), large
 * kmalloc from the page allocator, and the KASAN bookkeeping per object (state, requested size,
 * allocation and free sites).
 *
 * Object layout in a slab: `[object (objectSize rounded to align)] [redzone]` repeated; the
 * redzone is what KASAN reports out-of-bounds accesses into, and with SLAB_RED_ZONE it is
 * filled with a pattern that is checked on free.
 */
import {
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGHMEM,
  __GFP_ZERO,
  SLAB_CACHE_DMA,
  SLAB_HWCACHE_ALIGN,
  SLAB_POISON,
  SLAB_RED_ZONE,
} from "../../../sdk/kernel/types.js";
import type { CallSite } from "../stack.js";
import { PageKind, ZoneId } from "./buddy.js";
import type { MemoryManager } from "./mm.js";

const PAGE = 4096;

/** Object states (KASAN's view of a slot). @internal */
export const ObjState = { Unused: 0, Allocated: 1, Quarantined: 2, Freed: 3 } as const;

/** SLUB's poison and red-zone patterns. @internal */
export const POISON_FREE = 0x6b;
/** @internal */ export const POISON_END = 0xa5;
/** @internal */ export const RED_ACTIVE = 0xcc;

/** kmalloc size classes, as Linux has them. @public */
export const KMALLOC_SIZES: readonly number[] = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
/** Largest kmalloc served by a cache; above it kmalloc uses the page allocator. @public */
export const KMALLOC_MAX_CACHE_SIZE = 8192;
/** ZERO_SIZE_PTR: what kmalloc(0) returns. @public */
export const ZERO_SIZE_PTR = 16;

function className(size: number): string {
  return size >= 1024 ? `${size / 1024}k` : String(size);
}

/** KASAN redzone after an object of `size` bytes (bigger objects get bigger redzones). */
function redzoneFor(size: number): number {
  if (size <= 64 - 16) return 16;
  if (size <= 128 - 32) return 32;
  if (size <= 512 - 64) return 64;
  if (size <= 4096 - 128) return 128;
  return 256;
}

/** One slab: 2^order pages of objects. @internal */
export class Slab {
  inPartial = -1;
  nfree: number;
  readonly free: Uint16Array;
  readonly state: Uint8Array;
  /** Requested bytes per object (the KASAN boundary). */
  readonly req: Float64Array;
  readonly ledger: Int32Array;
  readonly allocPid: Int32Array;
  readonly freePid: Int32Array;
  readonly allocSite: (CallSite | undefined)[];
  readonly freeSite: (CallSite | undefined)[];
  constructor(
    readonly id: number,
    readonly cache: KmemCacheImpl,
    readonly pfn: number,
    /** Linear address of the first object. */
    readonly va: number,
  ) {
    const n = cache.perSlab;
    this.nfree = n;
    this.free = new Uint16Array(n);
    // Hand out low addresses first: the stack top is object 0.
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.state = new Uint8Array(n);
    this.req = new Float64Array(n);
    this.ledger = new Int32Array(n);
    this.allocPid = new Int32Array(n);
    this.freePid = new Int32Array(n);
    this.allocSite = new Array<CallSite | undefined>(n);
    this.freeSite = new Array<CallSite | undefined>(n);
  }
}

/** A kmem_cache. The facade's `KmemCache` handle is this object. @public */
export class KmemCacheImpl {
  /** Distance between objects (object + redzone, aligned). */
  readonly slot: number;
  /** Object bytes rounded to the alignment (usable size). */
  readonly usable: number;
  readonly order: number;
  readonly perSlab: number;
  readonly zone: ZoneId;
  readonly partial: Slab[] = [];
  slabs = 0;
  active = 0;
  destroyed = false;
  /** Ledger id of a driver-created cache. */
  ledgerId = 0;

  constructor(
    readonly name: string,
    /** object_size: what the creator asked for. */
    readonly objectSize: number,
    readonly align: number,
    readonly flags: number,
    readonly ctor: ((obj: number) => void) | null,
    readonly kmalloc: boolean,
    readonly owner: string,
    lineSize: number,
  ) {
    let a = Math.max(align, 8);
    if ((flags & SLAB_HWCACHE_ALIGN) !== 0) {
      let line = lineSize;
      while (line / 2 >= objectSize && line > 8) line /= 2;
      a = Math.max(a, line);
    }
    this.usable = Math.ceil(objectSize / a) * a;
    this.slot = Math.ceil((this.usable + redzoneFor(objectSize)) / a) * a;
    let order = 0;
    while (order < 3 && ((PAGE << order) / this.slot < 8 || (PAGE << order) % this.slot > (PAGE << order) / 16)) order++;
    while ((PAGE << order) < this.slot) order++;
    this.order = order;
    this.perSlab = Math.min(65535, Math.floor((PAGE << order) / this.slot));
    this.zone = (flags & SLAB_CACHE_DMA) !== 0 ? ZoneId.DMA : ZoneId.Normal;
  }

  get numObjs(): number {
    return this.slabs * this.perSlab;
  }
}

/** Result of locating an address in a slab. @internal */
export interface SlabHit {
  slab: Slab;
  obj: number;
  /** Offset of the address inside the object's slot. */
  off: number;
}

/** The slab allocator. @public */
export class SlabAllocator {
  /** Every live cache, newest first (the /proc/slabinfo order). */
  readonly caches: KmemCacheImpl[] = [];
  readonly slabById: (Slab | null)[] = [];
  private readonly freeIds: number[] = [];
  readonly kmallocCaches: KmemCacheImpl[];
  readonly dmaKmallocCaches: KmemCacheImpl[];
  /** size class index by `(size + 7) >> 3` for size ≤ 192. */
  private readonly smallIndex = new Uint8Array(25);

  constructor(private readonly mm: MemoryManager) {
    const line = mm.dcache.lineSize;
    this.kmallocCaches = KMALLOC_SIZES.map((s) => new KmemCacheImpl(`kmalloc-${className(s)}`, s, 8, 0, null, true, "kernel", line));
    this.dmaKmallocCaches = KMALLOC_SIZES.map((s) => new KmemCacheImpl(`dma-kmalloc-${className(s)}`, s, 8, SLAB_CACHE_DMA, null, true, "kernel", line));
    for (let i = KMALLOC_SIZES.length - 1; i >= 0; i--) this.caches.push(this.dmaKmallocCaches[i]!);
    for (let i = KMALLOC_SIZES.length - 1; i >= 0; i--) this.caches.push(this.kmallocCaches[i]!);
    for (let q = 0; q <= 24; q++) {
      const size = q * 8;
      let c = 0;
      while (KMALLOC_SIZES[c]! < size) c++;
      this.smallIndex[q] = c;
    }
  }

  /** The kmalloc cache for `size` (≤ KMALLOC_MAX_CACHE_SIZE) and flags. */
  kmallocCache(size: number, gfp: number): KmemCacheImpl {
    let c: number;
    if (size <= 192) c = this.smallIndex[(size + 7) >> 3]!;
    else {
      c = 7; // 256
      while (KMALLOC_SIZES[c]! < size) c++;
    }
    return (gfp & __GFP_DMA) !== 0 && this.mm.zones[ZoneId.DMA] ? this.dmaKmallocCaches[c]! : this.kmallocCaches[c]!;
  }

  createCache(name: string, size: number, align: number, flags: number, ctor: ((obj: number) => void) | null, owner: string): KmemCacheImpl {
    const c = new KmemCacheImpl(name, size, align, flags, ctor, false, owner, this.mm.dcache.lineSize);
    this.caches.unshift(c);
    return c;
  }

  /** Remove an empty cache from the registry. */
  dropCache(c: KmemCacheImpl): void {
    for (const s of c.partial) this.releaseSlab(s);
    c.partial.length = 0;
    c.destroyed = true;
    const i = this.caches.indexOf(c);
    if (i >= 0) this.caches.splice(i, 1);
  }

  /**
   * Take an object; returns its address and sets `lastSlab`/`lastObj`, or returns null when no
   * memory is left (the caller warns / fails).
   */
  allocObject(c: KmemCacheImpl, gfp: number): number | null {
    let s = c.partial.length > 0 ? c.partial[c.partial.length - 1]! : null;
    if (s === null) {
      s = this.newSlab(c, gfp);
      if (s === null) return null;
    }
    const obj = s.free[--s.nfree]!;
    if (s.nfree === 0) this.unlinkPartial(s);
    const wasFreed = s.state[obj] === ObjState.Freed;
    s.state[obj] = ObjState.Allocated;
    c.active++;
    this.lastSlab = s;
    this.lastObj = obj;
    const va = s.va + obj * c.slot;
    if (wasFreed && (c.flags & SLAB_POISON) !== 0 && c.ctor === null) this.checkPoison(c, va);
    if ((gfp & __GFP_ZERO) !== 0) this.mm.cpu.fill(va, c.objectSize, 0);
    if ((c.flags & SLAB_RED_ZONE) !== 0) this.mm.cpu.fill(va + c.objectSize, c.slot - c.objectSize, RED_ACTIVE);
    return va;
  }
  /** Slab and object index of the last allocation (avoids an allocation per call). */
  lastSlab: Slab | null = null;
  lastObj = 0;

  /** Give an object back to its slab (after the quarantine). Releases an empty slab. */
  releaseObject(s: Slab, obj: number): void {
    const c = s.cache;
    s.state[obj] = ObjState.Freed;
    if ((c.flags & SLAB_POISON) !== 0 && c.ctor === null) {
      const va = s.va + obj * c.slot;
      this.mm.cpu.fill(va, c.objectSize - 1, POISON_FREE);
      this.mm.cpu.store8(va + c.objectSize - 1, POISON_END);
    }
    s.free[s.nfree++] = obj;
    c.active--;
    if (s.nfree === 1) this.linkPartial(s);
    if (s.nfree === c.perSlab && c.partial.length > 1) {
      this.unlinkPartial(s);
      this.releaseSlab(s);
    }
  }

  /** Locate `va` (a linear address of a slab page `idx`) in its slab. */
  locate(pageIdx: number, va: number, out: SlabHit): boolean {
    const id = this.mm.db.slab[pageIdx]! - 1;
    const s = id >= 0 ? this.slabById[id] : null;
    if (!s) return false;
    const off = va - s.va;
    const obj = Math.floor(off / s.cache.slot);
    out.slab = s;
    out.obj = obj;
    out.off = off - obj * s.cache.slot;
    return true;
  }

  /** Flush one cache's objects out of the quarantine and count what is still live. */
  liveObjects(c: KmemCacheImpl): number {
    this.mm.kasan.flushQuarantine(c);
    return c.active;
  }

  /** Check the red zone of an object on free (SLAB_RED_ZONE). Returns false when overwritten. */
  redzoneIntact(s: Slab, obj: number): boolean {
    const c = s.cache;
    const va = s.va + obj * c.slot;
    for (let a = va + c.objectSize; a < va + c.slot; a++) if (this.mm.cpu.load8(a) !== RED_ACTIVE) return false;
    return true;
  }

  private checkPoison(c: KmemCacheImpl, va: number): void {
    const cpu = this.mm.cpu;
    for (let k = 0; k < c.objectSize; k++) {
      const want = k === c.objectSize - 1 ? POISON_END : POISON_FREE;
      const got = cpu.load8(va + k);
      if (got !== want) {
        const hex = this.mm.hex;
        this.mm.core.report({
          kind: "slab",
          title: `BUG ${c.name} (Not tainted): Poison overwritten`,
          text: [
            "=============================================================================",
            `BUG ${c.name} (Not tainted): Poison overwritten`,
            "-----------------------------------------------------------------------------",
            `0x${hex(va + k)}-0x${hex(va + k)} @offset=${k}. First byte 0x${got.toString(16)} instead of 0x${want.toString(16)}`,
          ].join("\n"),
          address: va + k,
        });
        return;
      }
    }
  }

  private newSlab(c: KmemCacheImpl, gfp: number): Slab | null {
    const mm = this.mm;
    const zgfp = (gfp & ~(__GFP_HIGHMEM | __GFP_DMA32 | __GFP_ZERO)) | (c.zone === ZoneId.DMA ? __GFP_DMA : 0);
    const pfn = mm.allocBlock(zgfp, c.order, PageKind.Slab, ZoneId.Normal);
    if (pfn < 0) return null;
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.slabById.length;
    const s = new Slab(id, c, pfn, mm.pageVa(pfn)!);
    this.slabById[id] = s;
    const db = mm.db;
    const idx = pfn - db.basePfn;
    db.slab.fill(id + 1, idx, idx + (1 << c.order));
    c.slabs++;
    this.linkPartial(s);
    if (c.ctor) {
      // The constructor may touch the object: let KASAN see it as allocated meanwhile.
      for (let i = 0; i < c.perSlab; i++) {
        s.state[i] = ObjState.Allocated;
        s.req[i] = c.objectSize;
        c.ctor(s.va + i * c.slot);
        s.state[i] = ObjState.Unused;
      }
    }
    return s;
  }

  private releaseSlab(s: Slab): void {
    const c = s.cache;
    this.slabById[s.id] = null;
    this.freeIds.push(s.id);
    c.slabs--;
    this.mm.freeBlock(s.pfn, c.order);
  }

  private linkPartial(s: Slab): void {
    const p = s.cache.partial;
    s.inPartial = p.length;
    p.push(s);
  }

  private unlinkPartial(s: Slab): void {
    const p = s.cache.partial;
    const at = s.inPartial;
    if (at < 0) return;
    const last = p.pop()!;
    if (last !== s) {
      p[at] = last;
      last.inPartial = at;
    }
    s.inPartial = -1;
  }
}
