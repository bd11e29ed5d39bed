/**
 * The memory-management slice of the kernel facade (`KernelMemory`): page allocator, slab and
 * kmalloc, vmalloc, mempool, address conversions, kmap, and `k.mem` (kernel loads and stores
 * through the MMU and cache, KASAN-checked, page faults turned into oopses).
 *
 * Every method takes the calling {@link Owner} first; `api(owner)` binds them. Allocations are
 * recorded in the leak ledger, fallible calls ask the fault injector, sleeping GFP flags go
 * through `might_sleep`.
 */
import { inject, injectable } from "../../soc/di.js";
import type { KernelVA, PhysAddr } from "../../../sdk/address.js";
import type { Kernel } from "../../../sdk/index.js";
import type { KernelMemoryAccess } from "../../../sdk/kernel/memory.js";
import { __GFP_DIRECT_RECLAIM, __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO, GFP_KERNEL, SLAB_PANIC, SLAB_RED_ZONE } from "../../../sdk/kernel/types.js";
import type { Gfp, KmemCache, Mempool, Page } from "../../../sdk/kernel/types.js";
import { PageFault } from "../../soc/pagetable.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { isNull, kernelBug, kernelPageFaultOops, nullDeref } from "../oops.js";
import type { CallSite } from "../stack.js";
import { captureSite, siteFrames } from "../stack.js";
import { KERNEL_CORE, KERNEL_MM } from "../tokens.js";
import { MAX_ORDER, PageKind, ZoneId } from "./buddy.js";
import { gfpMaySleep } from "./gfp.js";
import { POISON_PA } from "./layout.js";
import { MempoolImpl } from "./mempool.js";
import type { MemoryManager } from "./mm.js";
import { KMALLOC_MAX_CACHE_SIZE, KmemCacheImpl, ObjState, ZERO_SIZE_PTR } from "./slab.js";
import type { Slab, SlabHit } from "./slab.js";

const PAGE = 4096;
/** memcpy and memset work in pieces of at most this many bytes (memcpy's scratch buffer). */
const MEM_CHUNK = 1 << 20;

const asPage = (pfn: number): Page => pfn as unknown as Page;
const pfnOf = (p: Page): number => p as unknown as number;
const asCache = (c: KmemCache): KmemCacheImpl => c as unknown as KmemCacheImpl;
const asPool = (p: Mempool): MempoolImpl => p as unknown as MempoolImpl;
const va = (n: number): KernelVA => n as KernelVA;

/** @public */
@injectable()
export class MmApi implements KernelApiPart {
  private readonly hit: SlabHit = { slab: null as unknown as Slab, obj: 0, off: 0 };
  private scratch = new Uint8Array(PAGE);
  /** Sites of large kmallocs by head pfn (rare path). */
  private readonly largeSites = new Map<number, { alloc?: CallSite; free?: CallSite }>();

  constructor(
    @inject(KERNEL_MM) readonly mm: MemoryManager,
    @inject(KERNEL_CORE) readonly core: KernelCore,
  ) {}

  api(o: Owner): Partial<Kernel> {
    const m = this;
    return {
      mem: this.accessor(o),
      memset: (s, c, n) => va(m.memset(o, s, c, n)),
      memcpy: (d, s, n) => va(m.memcpy(o, d, s, n)),
      kmalloc: (size, flags) => m.kmalloc(o, size, flags) as KernelVA | null,
      kzalloc: (size, flags) => m.kmalloc(o, size, flags | __GFP_ZERO) as KernelVA | null,
      kcalloc: (n, size, flags) => m.kmallocArray(o, n, size, flags | __GFP_ZERO) as KernelVA | null,
      kmalloc_array: (n, size, flags) => m.kmallocArray(o, n, size, flags) as KernelVA | null,
      krealloc: (p, size, flags) => m.krealloc(o, p, size, flags) as KernelVA | null,
      kfree: (p) => m.kfree(o, p),
      ksize: (p) => m.ksize(o, p),
      kmem_cache_create: (name, size, align, flags, ctor) => m.kmemCacheCreate(o, name, size, align, flags, ctor as ((obj: number) => void) | null) as KmemCache | null,
      kmem_cache_alloc: (c, flags) => m.kmemCacheAlloc(o, asCache(c), flags) as KernelVA | null,
      kmem_cache_zalloc: (c, flags) => m.kmemCacheAlloc(o, asCache(c), flags | __GFP_ZERO) as KernelVA | null,
      kmem_cache_free: (c, obj) => m.kmemCacheFree(o, asCache(c), obj),
      kmem_cache_destroy: (c) => m.kmemCacheDestroy(o, isNull(c) ? null : asCache(c)),
      vmalloc: (size) => m.vmalloc(o, size, false) as KernelVA | null,
      vzalloc: (size) => m.vmalloc(o, size, true) as KernelVA | null,
      vfree: (p) => m.vfree(o, p),
      vmalloc_to_page: (p) => {
        const pfn = m.mm.vm.pfnAt(p);
        return pfn < 0 ? null : asPage(pfn);
      },
      is_vmalloc_addr: (p) => p >= m.mm.layout.vmallocStart && p < m.mm.layout.vmallocEnd,
      alloc_pages: (flags, order) => m.allocPages(o, flags, order),
      alloc_page: (flags) => m.allocPages(o, flags, 0),
      __free_pages: (p, order) => m.freePages(o, pfnOf(p), order),
      __free_page: (p) => m.freePages(o, pfnOf(p), 0),
      __get_free_pages: (flags, order) => m.getFreePages(o, flags, order),
      __get_free_page: (flags) => m.getFreePages(o, flags, 0),
      get_zeroed_page: (flags) => m.getFreePages(o, flags | __GFP_ZERO, 0),
      free_pages: (p, order) => m.freePagesAddr(o, p, order),
      free_page: (p) => m.freePagesAddr(o, p, 0),
      page_address: (p) => m.pageAddress(pfnOf(p)),
      virt_to_page: (p) => asPage(Math.floor(m.virtToPhys(o, p, "virt_to_page") / PAGE)),
      page_to_pfn: (p) => pfnOf(p),
      pfn_to_page: (pfn) => asPage(pfn),
      page_to_phys: (p) => (pfnOf(p) * PAGE) as PhysAddr,
      get_page: (p) => m.mm.pageGet(pfnOf(p)),
      put_page: (p) => m.putPage(o, pfnOf(p)),
      page_count: (p) => m.mm.pageCount(pfnOf(p)),
      PageHighMem: (p) => m.mm.pfnValid(pfnOf(p)) && !m.mm.isLowmemPfn(pfnOf(p)),
      virt_to_phys: (p) => m.virtToPhys(o, p, "virt_to_phys") as PhysAddr,
      __pa: (p) => m.virtToPhys(o, p, "__pa") as PhysAddr,
      phys_to_virt: (p) => va(m.physToVirt(o, p, "phys_to_virt")),
      __va: (p) => va(m.physToVirt(o, p, "__va")),
      virt_addr_valid: (p) => m.mm.isLinear(p),
      kmap: (p) => va(m.kmap(o, pfnOf(p))),
      kunmap: (p) => m.kunmap(o, pfnOf(p)),
      kmap_local_page: (p) => va(m.kmapLocal(o, pfnOf(p))),
      kunmap_local: (p) => m.kunmapLocal(o, p),
      mempool_create_kmalloc_pool: (minNr, size) => m.mempoolCreate(o, minNr, size, null) as Mempool | null,
      mempool_create_slab_pool: (minNr, c) => {
        if (isNull(c)) throw nullDeref(m.core, "mempool_create_slab_pool", "struct kmem_cache", c, m.core.site(), o.driver);
        return m.mempoolCreate(o, minNr, asCache(c).objectSize, asCache(c)) as Mempool | null;
      },
      mempool_alloc: (pool, flags) => m.mempoolAlloc(o, asPool(pool), flags) as KernelVA | null,
      mempool_free: (el, pool) => m.mempoolFree(o, el, asPool(pool)),
      mempool_destroy: (pool) => m.mempoolDestroy(o, isNull(pool) ? null : asPool(pool)),
    };
  }

  // ---- k.mem ---------------------------------------------------------------------------------

  /**
   * The DMA layer's watch hook (set by it at boot): called before a CPU access while some page is
   * watched (CPU ownership of streaming buffers, stale device-written lines, weak ordering).
   */
  dmaWatch: { readonly cpuWatchActive: boolean; cpuAccess(va: number, len: number, write: boolean): void } | null = null;

  /** Kernel memory accessors for one owner: KASAN check, then the CPU access; faults → oops. */
  accessor(o: Owner): KernelMemoryAccess {
    const self = this;
    const cpu = this.mm.cpu;
    const kasan = this.mm.kasan;
    const det = this.core.detectors;
    const d = o.driver;
    const fault = (e: unknown): unknown => this.fault(e, o);
    return {
      read8(a) {
        if (det.kasan) kasan.checkAccess(a, 1, false, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 1, false);
        try { return cpu.load8(a); } catch (e) { throw fault(e); }
      },
      read16(a) {
        if (det.kasan) kasan.checkAccess(a, 2, false, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 2, false);
        try { return cpu.load16(a); } catch (e) { throw fault(e); }
      },
      read32(a) {
        if (det.kasan) kasan.checkAccess(a, 4, false, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 4, false);
        try { return cpu.load32(a); } catch (e) { throw fault(e); }
      },
      read64(a) {
        if (det.kasan) kasan.checkAccess(a, 8, false, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 8, false);
        try { return cpu.load64(a); } catch (e) { throw fault(e); }
      },
      write8(a, v) {
        if (det.kasan) kasan.checkAccess(a, 1, true, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 1, true);
        try { cpu.store8(a, v & 0xff); } catch (e) { throw fault(e); }
      },
      write16(a, v) {
        if (det.kasan) kasan.checkAccess(a, 2, true, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 2, true);
        try { cpu.store16(a, v & 0xffff); } catch (e) { throw fault(e); }
      },
      write32(a, v) {
        if (det.kasan) kasan.checkAccess(a, 4, true, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 4, true);
        try { cpu.store32(a, v >>> 0); } catch (e) { throw fault(e); }
      },
      write64(a, v) {
        if (det.kasan) kasan.checkAccess(a, 8, true, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, 8, true);
        try { cpu.store64(a, v); } catch (e) { throw fault(e); }
      },
      read(a, dst) {
        if (dst.length === 0) return;
        if (det.kasan) kasan.checkAccess(a, dst.length, false, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, dst.length, false);
        try { cpu.readBytes(a, dst); } catch (e) { throw fault(e); }
      },
      write(a, src) {
        if (src.length === 0) return;
        if (det.kasan) kasan.checkAccess(a, src.length, true, d);
        const w = self.dmaWatch;
        if (w !== null && w.cpuWatchActive) w.cpuAccess(a, src.length, true);
        try { cpu.writeBytes(a, src); } catch (e) { throw fault(e); }
      },
    };
  }

  /**
   * KASAN's check of a whole kernel range that another kernel path (copy_to_user/copy_from_user)
   * is about to touch on a driver's behalf, as `k.mem` checks its own accesses.
   */
  kasanKernelAccess(o: Owner, va: number, len: number, write: boolean): void {
    if (len > 0 && this.core.detectors.kasan) this.mm.kasan.checkAccess(va, len, write, o.driver);
  }

  /**
   * The DMA CPU watch for the piece of such a range touched next: called per piece, just before
   * it is accessed, so a huge length that faults early is not walked page by page.
   */
  watchKernelAccess(va: number, len: number, write: boolean): void {
    const w = this.dmaWatch;
    if (len > 0 && w !== null && w.cpuWatchActive) w.cpuAccess(va, len, write);
  }

  /** A PageFault in kernel mode becomes an oops; anything else passes through. */
  private fault(e: unknown, o: Owner): unknown {
    if (e instanceof PageFault && !e.user) return kernelPageFaultOops(this.core, e, this.mm.hex, captureSite(), o.driver);
    return e;
  }

  memset(o: Owner, s: number, c: number, n: number): number {
    if (n <= 0) return s;
    // KASAN's memset checks the whole range first and skips a bad one (returning NULL), as Linux's does.
    if (this.core.detectors.kasan && !this.mm.kasan.checkAccess(s, n, true, o.driver)) return 0;
    // In chunks (each watched just before it is written): a huge n fills until the first bad page faults.
    try {
      for (let done = 0; done < n; done += MEM_CHUNK) {
        const len = Math.min(n - done, MEM_CHUNK);
        if (this.dmaWatch !== null && this.dmaWatch.cpuWatchActive) this.dmaWatch.cpuAccess(s + done, len, true);
        this.mm.cpu.fill(s + done, len, c & 0xff);
      }
    } catch (e) {
      throw this.fault(e, o);
    }
    return s;
  }

  memcpy(o: Owner, dest: number, src: number, n: number): number {
    if (n <= 0) return dest;
    // KASAN's memcpy checks both ranges first and skips a bad copy (returning NULL), as Linux's does.
    if (this.core.detectors.kasan && !(this.mm.kasan.checkAccess(src, n, false, o.driver) && this.mm.kasan.checkAccess(dest, n, true, o.driver))) return 0;
    // In chunks (each watched just before it is copied): a huge n copies until the first bad page faults.
    const chunk = Math.min(n, MEM_CHUNK);
    if (this.scratch.length < chunk) this.scratch = new Uint8Array(Math.max(chunk, this.scratch.length * 2));
    try {
      for (let done = 0; done < n; done += MEM_CHUNK) {
        const buf = this.scratch.subarray(0, Math.min(n - done, MEM_CHUNK));
        if (this.dmaWatch !== null && this.dmaWatch.cpuWatchActive) {
          this.dmaWatch.cpuAccess(src + done, buf.length, false);
          this.dmaWatch.cpuAccess(dest + done, buf.length, true);
        }
        this.mm.cpu.readBytes(src + done, buf);
        this.mm.cpu.writeBytes(dest + done, buf);
      }
    } catch (e) {
      throw this.fault(e, o);
    }
    return dest;
  }

  // ---- kmalloc -------------------------------------------------------------------------------

  kmalloc(o: Owner, size: number, gfp: Gfp): number | null {
    const core = this.core;
    const site = core.site();
    if (gfpMaySleep(gfp)) core.mightSleep("kmalloc", site);
    if (size === 0) return ZERO_SIZE_PTR;
    if (!(size > 0) || size !== Math.floor(size)) return null;
    if (core.faults.shouldFail("kmalloc", o.driver, site)) return null;
    return this.kmallocTracked(o, size, gfp, site, true);
  }

  kmallocArray(o: Owner, n: number, size: number, gfp: Gfp): number | null {
    const bytes = n * size;
    if (!(n >= 0 && size >= 0) || bytes >= this.mm.layout.sizeLimit || !Number.isSafeInteger(bytes)) {
      // check_mul_overflow: NULL, no allocation.
      if (gfpMaySleep(gfp)) this.core.mightSleep("kmalloc");
      return null;
    }
    return this.kmalloc(o, bytes, gfp);
  }

  /** kmalloc without the may-sleep/fault checks; `track` records a ledger entry. */
  kmallocTracked(o: Owner, size: number, gfp: Gfp, site: CallSite, track: boolean): number | null {
    const mm = this.mm;
    const core = this.core;
    if (size > KMALLOC_MAX_CACHE_SIZE) {
      const pages = Math.ceil(size / PAGE);
      let order = 0;
      // 2 ** order, not 1 << order: a size past 2^43 bytes would wrap the shift and loop forever.
      while (order <= MAX_ORDER && 2 ** order < pages) order++;
      if (order > MAX_ORDER) {
        mm.warnAllocFailure(gfp, order);
        return null;
      }
      const pfn = mm.allocBlock(gfp & ~__GFP_HIGHMEM, order, PageKind.KmallocLarge, ZoneId.Normal);
      if (pfn < 0) return null;
      const idx = pfn - mm.db.basePfn;
      mm.db.reqSize[idx] = size;
      const p = mm.pageVa(pfn)!;
      mm.db.ledgerId[idx] = track ? core.ledger.add("kmalloc", o, `kmalloc (order-${order} pages)`, site, core.now(), p, size) : 0;
      this.largeSites.set(pfn, { alloc: site });
      return p;
    }
    const c = mm.slab.kmallocCache(size, gfp);
    const p = mm.slab.allocObject(c, gfp);
    if (p === null) {
      mm.warnAllocFailure(gfp, c.order);
      return null;
    }
    const s = mm.slab.lastSlab!;
    const obj = mm.slab.lastObj;
    s.req[obj] = size;
    s.allocSite[obj] = site;
    s.freeSite[obj] = undefined;
    s.allocPid[obj] = core.ctx.task.pid;
    s.ledger[obj] = track ? core.ledger.add("kmalloc", o, c.name, site, core.now(), p, size) : 0;
    return p;
  }

  kfree(o: Owner, p: number | null): void {
    if (p === null || (p >= 0 && p <= ZERO_SIZE_PTR)) return; // ZERO_OR_NULL_PTR
    this.freeAny(o, p, null, "kfree");
  }

  /**
   * Free a kmalloc/slab object or a large kmalloc, validating the pointer; bad frees are
   * reported (double-free, invalid-free) and ignored.
   */
  private freeAny(o: Owner, p: number, cache: KmemCacheImpl | null, fn: string): void {
    const mm = this.mm;
    const kasan = mm.kasan;
    if (!(p >= mm.layout.pageOffset && p < mm.linearEnd)) {
      kasan.reportFree("invalid-free", p, null, o.driver, `${fn}() of ${mm.describe(p)} ${mm.hex(p)}`);
      return;
    }
    const pfn = Math.floor(mm.linearToPhys(p) / PAGE);
    const idx = mm.db.indexOf(pfn);
    const kind = idx < 0 ? PageKind.None : mm.db.kind[idx];
    if (kind === PageKind.Slab) {
      const h = this.hit;
      mm.slab.locate(idx, p, h);
      const s = h.slab;
      if (h.off !== 0 || h.obj >= s.cache.perSlab) {
        kasan.reportFree("invalid-free", p, kasan.slabObject(s, Math.min(h.obj, s.cache.perSlab - 1)), o.driver);
        return;
      }
      const st = s.state[h.obj];
      if (st === ObjState.Quarantined || st === ObjState.Freed) {
        kasan.reportFree("double-free", p, kasan.slabObject(s, h.obj), o.driver);
        return;
      }
      if (st !== ObjState.Allocated) {
        kasan.reportFree("invalid-free", p, kasan.slabObject(s, h.obj), o.driver);
        return;
      }
      if (cache !== null && s.cache !== cache) {
        this.core.report({
          kind: "slab",
          title: `cache_from_obj: Wrong slab cache. ${cache.name} but object is from ${s.cache.name}`,
          address: p,
          ...(o.driver ? { driver: o.driver } : {}),
          stack: siteFrames(captureSite()),
        });
      }
      this.freeObject(o, s, h.obj);
      return;
    }
    if (kind === PageKind.KmallocLarge && mm.db.headOff[idx] === 0 && p === mm.pageVa(pfn)) {
      const order = mm.db.order[idx]!;
      this.core.ledger.remove(mm.db.ledgerId[idx]!);
      mm.db.ledgerId[idx] = 0;
      const sites = this.largeSites.get(pfn);
      this.largeSites.delete(pfn);
      void sites;
      mm.freeBlock(pfn, order);
      return;
    }
    if (kind === PageKind.Free) {
      kasan.reportFree("double-free", p, { start: p - (p - mm.layout.pageOffset) % PAGE, size: PAGE, freed: true, belongs: "The buggy address belongs to a free page" }, o.driver);
      return;
    }
    kasan.reportFree("invalid-free", p, null, o.driver, `${fn}() of an address that is not the start of a kmalloc/slab object (${pageKindName(kind)} page)`);
  }

  private freeObject(o: Owner, s: Slab, obj: number): void {
    const core = this.core;
    const c = s.cache;
    core.ledger.remove(s.ledger[obj]!);
    s.ledger[obj] = 0;
    s.freeSite[obj] = core.site();
    s.freePid[obj] = core.ctx.task.pid;
    if ((c.flags & SLAB_RED_ZONE) !== 0 && !this.mm.slab.redzoneIntact(s, obj)) {
      const at = s.va + obj * c.slot;
      core.report({
        kind: "slab",
        title: `BUG ${c.name} (Not tainted): Right Redzone overwritten`,
        text: [
          "=============================================================================",
          `BUG ${c.name} (Not tainted): Right Redzone overwritten`,
          "-----------------------------------------------------------------------------",
          `Object ${this.mm.hex(at)} of size ${c.objectSize}: redzone ${this.mm.hex(at + c.objectSize)} overwritten`,
        ].join("\n"),
        address: at + c.objectSize,
        ...(o.driver ? { driver: o.driver } : {}),
      });
    }
    this.mm.kasan.quarantine(s, obj);
  }

  ksize(o: Owner, p: number): number {
    const mm = this.mm;
    if (p === null || (p >= 0 && p <= ZERO_SIZE_PTR)) return 0;
    if (!(p >= mm.layout.pageOffset && p < mm.linearEnd)) return 0;
    const pfn = Math.floor(mm.linearToPhys(p) / PAGE);
    const idx = mm.db.indexOf(pfn);
    if (idx < 0) return 0;
    if (mm.db.kind[idx] === PageKind.Slab) {
      const h = this.hit;
      mm.slab.locate(idx, p, h);
      if (h.off !== 0 || h.slab.state[h.obj] !== ObjState.Allocated) return 0;
      // ksize() hands the whole slot to the caller: KASAN stops guarding the tail.
      h.slab.req[h.obj] = h.slab.cache.objectSize;
      return h.slab.cache.objectSize;
    }
    if (mm.db.kind[idx] === PageKind.KmallocLarge && mm.db.headOff[idx] === 0) {
      const bytes = PAGE << mm.db.order[idx]!;
      mm.db.reqSize[idx] = bytes;
      return bytes;
    }
    void o;
    return 0;
  }

  krealloc(o: Owner, p: number | null, newSize: number, gfp: Gfp): number | null {
    if (p === null || (p >= 0 && p <= ZERO_SIZE_PTR)) return this.kmalloc(o, newSize, gfp);
    if (newSize === 0) {
      this.kfree(o, p);
      return ZERO_SIZE_PTR;
    }
    const mm = this.mm;
    const old = this.objectInfo(p);
    if (old === null) {
      mm.kasan.reportFree("invalid-free", p, null, o.driver, `krealloc() of ${mm.describe(p)} ${mm.hex(p)}`);
      return null;
    }
    if (newSize <= old.slot && old.slab) {
      // Fits in place: move the KASAN boundary.
      const { slab, obj } = old.slab;
      if ((gfp & __GFP_ZERO) !== 0 && newSize > slab.req[obj]!) mm.cpu.fill(p + slab.req[obj]!, newSize - slab.req[obj]!, 0);
      slab.req[obj] = newSize;
      return p;
    }
    const n = this.kmalloc(o, newSize, gfp);
    if (n === null) return null;
    this.memcpy(o, n, p, Math.min(old.req, newSize));
    this.kfree(o, p);
    return n;
  }

  private objectInfo(p: number): { req: number; slot: number; slab?: { slab: Slab; obj: number } } | null {
    const mm = this.mm;
    if (!(p >= mm.layout.pageOffset && p < mm.linearEnd)) return null;
    const pfn = Math.floor(mm.linearToPhys(p) / PAGE);
    const idx = mm.db.indexOf(pfn);
    if (idx < 0) return null;
    if (mm.db.kind[idx] === PageKind.Slab) {
      const h = this.hit;
      mm.slab.locate(idx, p, h);
      if (h.off !== 0 || h.slab.state[h.obj] !== ObjState.Allocated) return null;
      return { req: h.slab.req[h.obj]!, slot: h.slab.cache.objectSize, slab: { slab: h.slab, obj: h.obj } };
    }
    if (mm.db.kind[idx] === PageKind.KmallocLarge && mm.db.headOff[idx] === 0) return { req: mm.db.reqSize[idx]!, slot: mm.db.reqSize[idx]! };
    return null;
  }

  // ---- kmem_cache ------------------------------------------------------------------------------

  kmemCacheCreate(o: Owner, name: string, size: number, align: number, flags: number, ctor: ((obj: number) => void) | null): KmemCacheImpl | null {
    const core = this.core;
    const site = core.site();
    core.mightSleep("kmem_cache_create", site);
    // An alignment past the largest slab (MAX_ORDER pages) leaves no slab order: Linux fails the create.
    const bad = !(size > 0 && size <= (PAGE << MAX_ORDER) && Number.isInteger(size)) || !(align >= 0 && align <= (PAGE << MAX_ORDER) && Number.isInteger(align) && (align & (align - 1)) === 0);
    if (bad || core.faults.shouldFail("slab", o.driver, site)) {
      if ((flags & SLAB_PANIC) !== 0) {
        throw kernelBug(core, `Kernel panic - not syncing: kmem_cache_create: Failed to create slab '${name}'. Error ${bad ? -22 : -12}`, [], site, o.driver);
      }
      return null;
    }
    const c = this.mm.slab.createCache(name, size, align, flags, ctor, o.driver);
    c.ledgerId = core.ledger.add("kmem-cache", o, `kmem_cache ${name}`, site, core.now());
    return c;
  }

  kmemCacheAlloc(o: Owner, c: KmemCacheImpl, gfp: Gfp): number | null {
    const core = this.core;
    const site = core.site();
    if (isNull(c)) throw nullDeref(core, "kmem_cache_alloc", "struct kmem_cache", c, site, o.driver);
    if (gfpMaySleep(gfp)) core.mightSleep("kmem_cache_alloc", site);
    if (c.destroyed) {
      core.report({ kind: "slab", title: `kmem_cache_alloc: cache ${c.name} used after kmem_cache_destroy`, stack: siteFrames(site), ...(o.driver ? { driver: o.driver } : {}) });
      return null;
    }
    if (core.faults.shouldFail("slab", o.driver, site)) return null;
    return this.cacheAllocTracked(o, c, gfp, site, true);
  }

  private cacheAllocTracked(o: Owner, c: KmemCacheImpl, gfp: Gfp, site: CallSite, track: boolean): number | null {
    const mm = this.mm;
    const core = this.core;
    const p = mm.slab.allocObject(c, gfp);
    if (p === null) {
      mm.warnAllocFailure(gfp, c.order);
      return null;
    }
    const s = mm.slab.lastSlab!;
    const obj = mm.slab.lastObj;
    s.req[obj] = c.objectSize;
    s.allocSite[obj] = site;
    s.freeSite[obj] = undefined;
    s.allocPid[obj] = core.ctx.task.pid;
    s.ledger[obj] = track ? core.ledger.add("slab", o, c.name, site, core.now(), p, c.objectSize) : 0;
    return p;
  }

  kmemCacheFree(o: Owner, c: KmemCacheImpl, p: number): void {
    if (p === null || p === 0) return;
    // cache_from_obj reads the cache's flags before looking at the object.
    if (isNull(c)) throw nullDeref(this.core, "kmem_cache_free", "struct kmem_cache", c, this.core.site(), o.driver);
    this.freeAny(o, p, c, "kmem_cache_free");
  }

  kmemCacheDestroy(o: Owner, c: KmemCacheImpl | null): void {
    if (c === null || c.destroyed) return;
    const core = this.core;
    core.mightSleep("kmem_cache_destroy");
    const live = this.mm.slab.liveObjects(c);
    if (live > 0) {
      const site = captureSite();
      core.report({
        kind: "slab",
        title: `kmem_cache_destroy ${c.name}: Slab cache still has objects`,
        text: [
          "=============================================================================",
          `BUG ${c.name} (Not tainted): Objects remaining in ${c.name} on __kmem_cache_shutdown()`,
          "-----------------------------------------------------------------------------",
          `kmem_cache_destroy ${c.name}: Slab cache still has objects`,
          `${live} object(s) still allocated`,
          "Call Trace:",
          ...siteFrames(site).map((f) => ` ${f}`),
        ].join("\n"),
        stack: siteFrames(site),
        ...(o.driver ? { driver: o.driver } : {}),
        details: { cache: c.name, live },
      });
      return;
    }
    this.mm.slab.dropCache(c);
    core.ledger.remove(c.ledgerId);
    c.ledgerId = 0;
  }

  // ---- vmalloc ---------------------------------------------------------------------------------

  vmalloc(o: Owner, size: number, zero: boolean): number | null {
    const core = this.core;
    const site = core.site();
    core.mightSleep("vmalloc", site);
    if (!(size > 0)) return null;
    if (core.faults.shouldFail("vmalloc", o.driver, site)) return null;
    const a = this.mm.vm.vmalloc(size, GFP_KERNEL);
    if (!a) return null;
    if (zero) for (const pfn of a.pfns) this.mm.zeroPages(pfn, 1);
    a.allocSite = site;
    a.ledgerId = core.ledger.add("vmalloc", o, `vmalloc ${size} bytes`, site, core.now(), a.start, size);
    return a.start;
  }

  vfree(o: Owner, p: number | null): void {
    if (p === null || p === 0) return;
    const mm = this.mm;
    const a = mm.vm.areaAt(p);
    if (!a || a.kind !== "vmalloc") {
      mm.kasan.reportFree("invalid-free", p, null, o.driver, `Trying to vfree() nonexistent vm area (${mm.hex(p)})`);
      return;
    }
    if (a.freed) {
      mm.kasan.reportFree("double-free", p, { start: a.start, size: a.size, freed: true, allocSite: a.allocSite, freeSite: a.freeSite, belongs: `The buggy address belongs to a vmalloc area freed before` }, o.driver);
      return;
    }
    if (p !== a.start) {
      mm.kasan.reportFree("invalid-free", p, { start: a.start, size: a.size, freed: false, allocSite: a.allocSite, belongs: "The buggy address points inside a vmalloc area" }, o.driver, `Trying to vfree() bad address (${mm.hex(p)})`);
      return;
    }
    this.core.ledger.remove(a.ledgerId);
    a.ledgerId = 0;
    a.freeSite = this.core.site();
    mm.vm.unmap(a.start);
  }

  // ---- pages -------------------------------------------------------------------------------------

  allocPages(o: Owner, gfp: Gfp, order: number): Page | null {
    const core = this.core;
    const site = core.site();
    if (gfpMaySleep(gfp)) core.mightSleep("alloc_pages", site);
    if (!Number.isInteger(order)) {
      // Not an order the buddy allocator has (NaN, null, a fraction): fails like one past MAX_ORDER.
      this.mm.warnAllocFailure(gfp, order);
      return null;
    }
    if (core.faults.shouldFail("page", o.driver, site)) return null;
    const pfn = this.mm.allocBlock(gfp, order, PageKind.Pages);
    if (pfn < 0) return null;
    const idx = pfn - this.mm.db.basePfn;
    this.mm.db.ledgerId[idx] = core.ledger.add("pages", o, `order-${order} page block`, site, core.now(), pfn * PAGE, PAGE << order);
    return asPage(pfn);
  }

  /** `__free_pages`: drop the allocation's reference; free at zero. Bad frees are reported. */
  freePages(o: Owner, pfn: number, order: number): void {
    const mm = this.mm;
    const idx = typeof pfn === "number" ? mm.db.indexOf(pfn) : -1;
    const kind = idx < 0 ? PageKind.None : mm.db.kind[idx];
    const hexPa = (n: number): number => n * PAGE;
    if (kind === PageKind.Free) {
      mm.kasan.reportFree("double-free", hexPa(pfn), { start: hexPa(pfn), size: PAGE << order, freed: true, belongs: `The buggy page (pfn ${pfn.toString(16)}) is already free` }, o.driver);
      return;
    }
    if (kind !== PageKind.Pages || mm.db.headOff[idx] !== 0) {
      mm.kasan.reportFree("invalid-free", hexPa(pfn), null, o.driver, `__free_pages() of pfn ${Number(pfn).toString(16)}: not the head of an alloc_pages block (${pageKindName(kind)} page)`);
      return;
    }
    if (mm.db.order[idx] !== order) {
      mm.kasan.reportFree("invalid-free", hexPa(pfn), null, o.driver, `__free_pages() of pfn ${pfn.toString(16)} with order ${order}, allocated with order ${mm.db.order[idx]}`);
      return;
    }
    this.putPage(o, pfn);
  }

  putPage(o: Owner, pfn: number): void {
    const mm = this.mm;
    const head = mm.headPfn(pfn);
    const idx = mm.db.indexOf(head);
    if (idx < 0 || mm.db.refcount[idx]! <= 0) {
      mm.kasan.reportFree(idx >= 0 && mm.db.kind[idx] === PageKind.Free ? "double-free" : "invalid-free", pfn * PAGE, null, o.driver, `put_page() of pfn ${Number(pfn).toString(16)} with no reference`);
      return;
    }
    if (mm.db.refcount[idx] === 1) {
      const kind = mm.db.kind[idx]!;
      if (kind !== PageKind.Pages && kind !== PageKind.KmallocLarge) {
        // Freeing it would hand a page the kernel still uses (slab, page table, vmalloc backing,
        // boot reservation, a DMA-coherent buffer, a mapped user page) to the next allocation,
        // which a later free of the owner frees again: Linux's free path reports it as a bad page.
        // (A get_user_pages page whose user mapping is gone is refused too: the testbench has no mapcount.)
        mm.kasan.reportFree("invalid-free", head * PAGE, null, o.driver, `put_page() drops the last reference of pfn ${head.toString(16)}, a ${pageKindName(kind)} page the kernel still uses`);
        return;
      }
      this.core.ledger.remove(mm.db.ledgerId[idx]!);
      mm.db.ledgerId[idx] = 0;
    }
    mm.pagePut(head);
  }

  getFreePages(o: Owner, gfp: Gfp, order: number): KernelVA | 0 {
    const page = this.allocPages(o, gfp & ~__GFP_HIGHMEM, order);
    return page === null ? 0 : va(this.mm.pageVa(pfnOf(page))!);
  }

  freePagesAddr(o: Owner, p: number, order: number): void {
    if (p === 0) return;
    const pa = this.virtToPhys(o, p, "free_pages");
    if (pa === POISON_PA) return;
    this.freePages(o, Math.floor(pa / PAGE), order);
  }

  pageAddress(pfn: number): KernelVA | null {
    const mm = this.mm;
    if (!mm.pfnValid(pfn)) return null;
    const lin = mm.pageVa(pfn);
    if (lin !== null) return va(lin);
    const k = mm.kmapAddress(pfn);
    return k === null ? null : va(k);
  }

  // ---- address conversions -----------------------------------------------------------------------

  virtToPhys(o: Owner, p: number, fn: string): number {
    const mm = this.mm;
    if (mm.isLinear(p)) return mm.linearToPhys(p);
    const site = captureSite();
    const title = `virt_to_phys used for non-linear address: ${mm.hex(p)} (${mm.describe(p)})`;
    this.core.report({
      kind: "virt",
      title,
      text: [`------------[ cut here ]------------`, title, `WARNING: CPU: 0 PID: ${this.core.ctx.task.pid} at ${fn}`, "Call Trace:", ...siteFrames(site).map((f) => ` ${f}`)].join("\n"),
      address: p,
      stack: siteFrames(site),
      ...(o.driver ? { driver: o.driver } : {}),
      details: { call: fn },
    });
    return POISON_PA;
  }

  physToVirt(o: Owner, pa: number, fn: string): number {
    const mm = this.mm;
    const v = mm.physToLinear(pa);
    if (v !== null) return v;
    const site = captureSite();
    const what = pa >= mm.lowmemEndPa && pa < mm.ramEnd ? "highmem" : "non-RAM";
    const title = `${fn} used for non-linear physical address: ${mm.hex(pa)} (${what})`;
    this.core.report({ kind: "virt", title, address: pa, stack: siteFrames(site), ...(o.driver ? { driver: o.driver } : {}), details: { call: fn } });
    return mm.layout.poisonVa;
  }

  // ---- kmap --------------------------------------------------------------------------------------

  kmap(o: Owner, pfn: number): number {
    this.core.mightSleep("kmap");
    return this.kmapWith(o, pfn, (p) => this.mm.kmapHigh(p), "kmap: every pkmap slot is in use (missing kunmap?)");
  }

  /** A lowmem page's linear address, else a highmem mapping from `map` (0 when out of slots). */
  private kmapWith(o: Owner, pfn: number, map: (pfn: number) => number, exhausted: string): number {
    const mm = this.mm;
    const lin = mm.pageVa(pfn);
    if (lin !== null || mm.layout.pkmapPages === 0) return lin ?? mm.layout.poisonVa;
    const v = map(pfn);
    if (v === 0) {
      this.core.report({ kind: "warn", title: exhausted, stack: siteFrames(captureSite()), ...(o.driver ? { driver: o.driver } : {}) });
      return mm.layout.poisonVa;
    }
    return v;
  }

  kunmap(o: Owner, pfn: number): void {
    const mm = this.mm;
    if (mm.pageVa(pfn) !== null || mm.layout.pkmapPages === 0) return;
    if (!mm.kunmapHigh(pfn)) {
      this.core.report({ kind: "warn", title: `kunmap of a page that is not kmapped (pfn ${Number(pfn).toString(16)})`, stack: siteFrames(captureSite()), ...(o.driver ? { driver: o.driver } : {}) });
    }
  }

  kmapLocal(o: Owner, pfn: number): number {
    return this.kmapWith(o, pfn, (p) => this.mm.kmapLocal(p), "kmap_local_page: too many nested kmap_local mappings");
  }

  kunmapLocal(o: Owner, p: number): void {
    const mm = this.mm;
    const L = mm.layout;
    if (!(p >= L.fixmapStart && p < L.fixmapEnd)) return;
    const r = mm.kunmapLocal(p);
    if (r !== "ok") {
      this.core.report({
        kind: "warn",
        title: r === "not-mapped" ? `kunmap_local of an address that is not mapped: ${mm.hex(p)}` : `kunmap_local out of order: ${mm.hex(p)} is not the last kmap_local mapping`,
        stack: siteFrames(captureSite()),
        ...(o.driver ? { driver: o.driver } : {}),
      });
    }
  }

  // ---- mempool -----------------------------------------------------------------------------------

  mempoolCreate(o: Owner, minNr: number, size: number, cache: KmemCacheImpl | null): MempoolImpl | null {
    const core = this.core;
    const site = core.site();
    core.mightSleep("mempool_create", site);
    if (!(minNr >= 0) || !(size > 0)) return null;
    // Linux first kmalloc_array()s the element pointers: a reserve too big for that is -ENOMEM.
    if (minNr * 8 > PAGE << MAX_ORDER) return null;
    if (core.faults.shouldFail("mempool", o.driver, site)) return null;
    const pool = new MempoolImpl(cache ? "slab" : "kmalloc", minNr, size, cache, o.driver);
    for (let i = 0; i < minNr; i++) {
      const el = this.poolAllocUnderlying(o, pool, GFP_KERNEL | __GFP_NOWARN, site, false);
      if (el === null) {
        for (const e of pool.reserve) this.freeAny(o, e, cache, "mempool_destroy");
        return null;
      }
      pool.reserve.push(el);
    }
    pool.ledgerId = core.ledger.add("mempool", o, `mempool (${minNr} x ${size} bytes)`, site, core.now());
    return pool;
  }

  private poolAllocUnderlying(o: Owner, pool: MempoolImpl, gfp: Gfp, site: CallSite, inject: boolean): number | null {
    if (inject && this.core.faults.shouldFail(pool.cache ? "slab" : "kmalloc", o.driver, site)) return null;
    return pool.cache ? this.cacheAllocTracked(o, pool.cache, gfp, site, false) : this.kmallocTracked(o, pool.size, gfp, site, false);
  }

  mempoolAlloc(o: Owner, pool: MempoolImpl, gfp: Gfp): number | null {
    const core = this.core;
    const site = core.site();
    if (isNull(pool)) throw nullDeref(core, "mempool_alloc", "mempool_t", pool, site, o.driver);
    if (gfpMaySleep(gfp)) core.mightSleep("mempool_alloc", site);
    if (pool.destroyed) return null;
    // First the allocator, without sleeping and quietly; then the reserve.
    let el = this.poolAllocUnderlying(o, pool, (gfp & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN, site, true);
    if (el === null) el = pool.reserve.pop() ?? null;
    if (el === null) {
      if (gfpMaySleep(gfp)) core.dmesg.log("warn", `mempool_alloc: reserve of ${pool.minNr} element(s) exhausted; a sleeping allocation would wait here`);
      return null;
    }
    pool.outstanding.set(el, core.ledger.add("mempool", o, `mempool element (${pool.size} bytes)`, site, core.now(), el, pool.size));
    return el;
  }

  mempoolFree(o: Owner, el: number | null, pool: MempoolImpl): void {
    if (isNull(el) || el === 0) return;
    if (isNull(pool)) throw nullDeref(this.core, "mempool_free", "mempool_t", pool, this.core.site(), o.driver);
    const id = pool.outstanding.get(el);
    if (id === undefined) {
      this.mm.kasan.reportFree(pool.reserve.includes(el) ? "double-free" : "invalid-free", el, null, o.driver, `mempool_free() of ${this.mm.hex(el)}: not an element handed out by this pool`);
      return;
    }
    pool.outstanding.delete(el);
    this.core.ledger.remove(id);
    if (pool.reserve.length < pool.minNr && !pool.destroyed) pool.reserve.push(el);
    else this.freeAny(o, el, pool.cache, "mempool_free");
  }

  mempoolDestroy(o: Owner, pool: MempoolImpl | null): void {
    if (pool === null || pool.destroyed) return;
    for (const e of pool.reserve) this.freeAny(o, e, pool.cache, "mempool_destroy");
    pool.reserve.length = 0;
    pool.destroyed = true;
    this.core.ledger.remove(pool.ledgerId);
    pool.ledgerId = 0;
  }
}

function pageKindName(k: number | undefined): string {
  return ["non-RAM", "reserved", "free", "alloc_pages", "slab", "large kmalloc", "vmalloc", "page-table", "kernel-internal"][k ?? 0] ?? "unknown";
}
