/**
 * The kernel's memory manager: boot (memblock, mem_map, kernel page tables with the linear map in
 * 2 MiB pages, zones, buddy), the page allocator, the linear map, kernel mappings in the vmalloc
 * area, kmap, and the slab / vmalloc / KASAN parts it owns.
 *
 * Internal API for other kernel subsystems (token KERNEL_MM), all addresses as numbers:
 * - `allocBlock(gfp, order, kind = PageKind.Internal): number` — pfn of a 2^order block or -1
 *   (zone from the GFP flags, __GFP_ZERO honoured; no ledger, no fault injection).
 *   `freeBlock(pfn, order): void`.
 * - `allocTablePage(): number` — physical address of a zeroed page for page tables;
 *   `freeTablePage(pa): void`.
 * - `kernelRoot: number` — the kernel page-table root (processes share its kernel half).
 * - `vm.mapPhys(pa, size, memType, label): number | null` — page-granular mapping of physical
 *   memory (ioremap) in the vmalloc area with a guard page; returns the VA of `pa` (offset kept).
 *   `vm.mapPfns(pfns, memType, label): number | null` — map scattered pages contiguously (vmap).
 *   `vm.unmap(va): boolean`.
 * - `mapKernel(va, pa, size, flags)`, `unmapKernel(va, size)` — raw kernel mappings + TLB flush.
 * - Linear map: `isLinear(va)`, `linearToPhys(va)`, `physToLinear(pa): number | null`,
 *   `pageVa(pfn): number | null`, `isLowmemPfn(pfn)`, `pfnValid(pfn)`, `zoneOfPfn(pfn)`.
 * - Page refcounts for user mappings: `pageGet(pfn)`, `pagePut(pfn)` (frees at zero),
 *   `pageCount(pfn)`, `headPfn(pfn)`.
 * - `kasan.checkAccess(va, size, write, driver?)` for kernel paths that touch driver memory.
 * - `hex(addr)`: an address printed as the profile prints pointers.
 */
import { inject, injectable } from "../../soc/di.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Cpu } from "../../soc/cpu.js";
import type { DataCache } from "../../soc/dcache.js";
import type { Mmu } from "../../soc/mmu.js";
import { PteFlag } from "../../soc/pagetable.js";
import type { SparseRam } from "../../soc/ram.js";
import type { Tlb } from "../../soc/tlb.js";
import { BOARD, CPU, DCACHE, MMU, RAM, TLB } from "../../soc/tokens.js";
import { __GFP_NOWARN, __GFP_ZERO } from "../../../sdk/kernel/types.js";
import type { KernelCore } from "../core.js";
import { KERNEL_CORE } from "../tokens.js";
import { renderBuddyinfo } from "../procfs/buddyinfo.js";
import type { BuddyZoneState } from "../procfs/buddyinfo.js";
import { renderSlabinfo } from "../procfs/slabinfo.js";
import type { SlabCacheState } from "../procfs/slabinfo.js";
import { MAX_ORDER, PageDb, PageKind, Zone, ZoneId } from "./buddy.js";
import { gfpString, gfpZone } from "./gfp.js";
import { Kasan } from "./kasan.js";
import { hexAddr, layoutOf } from "./layout.js";
import { PageTableOom } from "./page-table-oom.js";
import type { MemLayout } from "./layout.js";
import { SlabAllocator } from "./slab.js";
import { VmallocSpace } from "./vmalloc.js";

const PAGE = 4096;
const HUGE = 2 * 1024 * 1024;
/** sizeof(struct page): the mem_map reservation made at boot. */
const STRUCT_PAGE = 64;
/** kmap_local slots per CPU (KM_MAX_IDX). */
const KMAP_LOCAL_SLOTS = 16;

/** @public */
@injectable()
export class MemoryManager {
  readonly layout: MemLayout;
  /** Lowest and highest+1 physical RAM address. */
  readonly ramStart: number;
  readonly ramEnd: number;
  /** End (exclusive) of the RAM the linear map covers. */
  readonly lowmemEndPa: number;
  readonly linearEnd: number;
  readonly db: PageDb;
  /** Zones by {@link ZoneId}; undefined when the profile has no such zone or it holds no RAM. */
  readonly zones: (Zone | undefined)[] = [undefined, undefined, undefined, undefined];
  readonly kernelRoot: number;
  readonly slab: SlabAllocator;
  readonly vm: VmallocSpace;
  readonly kasan: Kasan;
  /** Pages reserved at boot by memblock (page tables, mem_map). */
  readonly bootReserved: number;
  readonly hex: (addr: number) => string;
  readonly allocTablePage: () => number;

  private memblockTop: number;
  private memblockLow: number;
  private booting = true;
  /** pkmap: pfn per slot (-1 free) and use counts. */
  private readonly pkmapPfn: Float64Array;
  private readonly pkmapCount: Int32Array;
  private pkmapNext = 0;
  private readonly kmapLocalStack: number[] = [];

  constructor(
    @inject(BOARD) readonly board: BoardConfig,
    @inject(RAM) readonly ram: SparseRam,
    @inject(MMU) readonly mmu: Mmu,
    @inject(CPU) readonly cpu: Cpu,
    @inject(TLB) readonly tlb: Tlb,
    @inject(DCACHE) readonly dcache: DataCache,
    @inject(KERNEL_CORE) readonly core: KernelCore,
  ) {
    const layout = (this.layout = layoutOf(board.profile));
    const bits = layout.pointerBits;
    this.hex = (a: number) => hexAddr(a, bits);
    const banks = [...board.ram].sort((a, b) => a.base - b.base);
    if (banks.length === 0) throw new RangeError("board has no RAM");
    this.ramStart = banks[0]!.base;
    this.ramEnd = Math.max(...banks.map((b) => b.base + b.size));
    this.lowmemEndPa = Math.min(this.ramEnd, this.ramStart + layout.lowmemMax);
    this.linearEnd = layout.pageOffset + (this.lowmemEndPa - this.ramStart);
    const basePfn = this.ramStart / PAGE;
    const db = (this.db = new PageDb(basePfn, this.ramEnd / PAGE - basePfn));
    for (const b of banks) db.kind.fill(PageKind.Reserved, b.base / PAGE - basePfn, (b.base + b.size) / PAGE - basePfn);

    // memblock: a top-down bump allocator below the end of lowmem, in the bank that holds it.
    const topBank = banks.filter((b) => b.base < this.lowmemEndPa).pop()!;
    this.memblockTop = this.memblockLow = Math.min(topBank.base + topBank.size, this.lowmemEndPa);
    const ramPages = banks.reduce((n, b) => n + b.size / PAGE, 0);
    this.memblockAlloc(Math.ceil((ramPages * STRUCT_PAGE) / PAGE) * PAGE); // mem_map

    this.allocTablePage = () => this.tablePage();
    const root = (this.kernelRoot = mmu.createRoot(this.allocTablePage));
    const linearFlags = PteFlag.Write | PteFlag.Global | PteFlag.Huge | PteFlag.Nx;
    for (const b of banks) {
      const end = Math.min(b.base + b.size, this.lowmemEndPa);
      if (end <= b.base) continue;
      mmu.map(root, layout.pageOffset + (b.base - this.ramStart), b.base, end - b.base, linearFlags, this.allocTablePage);
    }
    // Pre-populate the upper levels of the areas mapped later, so address spaces created by
    // sharing the kernel half see later vmalloc/ioremap/kmap mappings.
    const scratch = this.ramStart;
    const prepopulate = (va: number): void => {
      mmu.map(root, va, scratch, PAGE, PteFlag.Global, this.allocTablePage);
      mmu.unmap(root, va, PAGE);
    };
    prepopulate(layout.vmallocStart);
    if (layout.pkmapPages > 0) prepopulate(layout.pkmapBase);
    prepopulate(layout.fixmapStart);
    this.pkmapPfn = new Float64Array(layout.pkmapPages).fill(-1);
    this.pkmapCount = new Int32Array(layout.pkmapPages);

    this.setupZones(banks);
    this.bootReserved = (this.memblockTop - this.memblockLow) / PAGE;
    this.booting = false;
    cpu.switchTo(root, 0);

    this.kasan = new Kasan(this);
    this.vm = new VmallocSpace(this);
    this.slab = new SlabAllocator(this);
  }

  // ---- boot ---------------------------------------------------------------------------------

  private memblockAlloc(bytes: number): number {
    const pa = this.memblockLow - bytes;
    if (pa < this.ramStart + PAGE) throw new RangeError("memblock: out of boot memory");
    this.memblockLow = pa;
    return pa;
  }

  private tablePage(): number {
    let pa: number;
    if (this.booting) {
      pa = this.memblockAlloc(PAGE);
    } else {
      const pfn = this.allocBlock(__GFP_NOWARN, 0, PageKind.PageTable, ZoneId.Normal);
      if (pfn < 0) throw new PageTableOom();
      pa = pfn * PAGE;
    }
    // The walker reads RAM directly: drop stale cache lines before zeroing.
    this.dcache.invalidate(pa, PAGE);
    this.ram.fill(pa, PAGE, 0);
    return pa;
  }

  private setupZones(banks: readonly { base: number; size: number }[]): void {
    const L = this.layout;
    const bounds: [ZoneId, number, number][] = [[ZoneId.DMA, 0, L.zoneDmaLimit]];
    if (L.zoneDma32Limit > 0) bounds.push([ZoneId.DMA32, L.zoneDmaLimit, L.zoneDma32Limit]);
    const normalStart = L.zoneDma32Limit > 0 ? L.zoneDma32Limit : L.zoneDmaLimit;
    if (L.highmem) {
      bounds.push([ZoneId.Normal, normalStart, this.lowmemEndPa]);
      bounds.push([ZoneId.HighMem, this.lowmemEndPa, Infinity]);
    } else {
      bounds.push([ZoneId.Normal, normalStart, Infinity]);
    }
    const resStart = this.memblockLow / PAGE;
    const resEnd = this.memblockTop / PAGE;
    for (const [id, lo, hi] of bounds) {
      const startPfn = Math.max(lo, this.ramStart) / PAGE;
      const endPfn = Math.min(hi, this.ramEnd) / PAGE;
      if (endPfn <= startPfn) continue;
      let present = 0;
      for (const b of banks) present += Math.max(0, Math.min(endPfn, (b.base + b.size) / PAGE) - Math.max(startPfn, b.base / PAGE));
      if (present === 0) continue;
      const z = new Zone(id, startPfn, endPfn, this.db);
      z.present = present;
      for (const b of banks) {
        let s = Math.max(startPfn, b.base / PAGE);
        const e = Math.min(endPfn, (b.base + b.size) / PAGE);
        if (s === 0) s = 1; // pfn 0 stays reserved: Page handles are truthy
        // Free [s, e) minus the memblock reservation.
        if (s < Math.min(e, resStart)) z.addFreeRange(s, Math.min(e, resStart));
        if (Math.max(s, resEnd) < e) z.addFreeRange(Math.max(s, resEnd), e);
      }
      this.zones[id] = z;
    }
  }

  // ---- page allocator ------------------------------------------------------------------------

  /** The zone a pfn belongs to, or undefined outside RAM. */
  zoneOfPfn(pfn: number): Zone | undefined {
    for (let i = 0; i < 4; i++) {
      const z = this.zones[i];
      if (z && pfn >= z.startPfn && pfn < z.endPfn) return z;
    }
    return undefined;
  }

  /**
   * Allocate 2^order pages from the highest zone the flags allow (falling back to lower zones).
   * Returns the first pfn or -1; warns in dmesg on failure unless __GFP_NOWARN. `maxZone` caps
   * the zone (the slab never takes highmem).
   */
  allocBlock(gfp: number, order: number, kind: PageKind = PageKind.Internal, maxZone: ZoneId = ZoneId.HighMem): number {
    if (!(order >= 0 && order <= MAX_ORDER)) {
      this.warnAllocFailure(gfp, order);
      return -1;
    }
    let zid = Math.min(gfpZone(gfp), maxZone);
    let idx = -1;
    for (; zid >= 0; zid--) {
      const z = this.zones[zid];
      if (z && (idx = z.alloc(order)) >= 0) break;
    }
    if (idx < 0) {
      this.warnAllocFailure(gfp, order);
      return -1;
    }
    const db = this.db;
    const n = 1 << order;
    db.setRange(idx, n, kind);
    db.refcount[idx] = 1;
    db.order[idx] = order;
    db.ledgerId[idx] = 0;
    const pfn = idx + db.basePfn;
    if ((gfp & __GFP_ZERO) !== 0) this.zeroPages(pfn, n);
    return pfn;
  }

  /** Return a block to its zone (no checks: callers validate). */
  freeBlock(pfn: number, order: number): void {
    const db = this.db;
    const idx = pfn - db.basePfn;
    const n = 1 << order;
    db.refcount[idx] = 0;
    db.slab.fill(0, idx, idx + n);
    const z = this.zoneOfPfn(pfn)!;
    z.free(idx, order);
  }

  /** Zero whole pages without a linear mapping (highmem too): stale lines are dropped first. */
  zeroPages(pfn: number, n: number): void {
    this.dcache.invalidate(pfn * PAGE, n * PAGE);
    this.ram.fill(pfn * PAGE, n * PAGE, 0);
  }

  freeTablePage(pa: number): void {
    const pfn = pa / PAGE;
    const idx = this.db.indexOf(pfn);
    if (idx >= 0 && this.db.kind[idx] === PageKind.PageTable) this.freeBlock(pfn, 0);
  }

  warnAllocFailure(gfp: number, order: number): void {
    if ((gfp & __GFP_NOWARN) !== 0) return;
    const t = this.core.ctx.task;
    this.core.dmesg.log(
      "warn",
      `${t.comm}: page allocation failure: order:${order}, mode:0x${(gfp >>> 0).toString(16)}(${gfpString(gfp >>> 0)}), nodemask=(null),cpuset=/,mems_allowed=0\n` +
        `CPU: 0 PID: ${t.pid} Comm: ${t.comm}\n` +
        this.showFreeAreas(),
    );
  }

  /** The `show_free_areas` lines of a failure warning: free pages per zone. */
  private showFreeAreas(): string {
    const lines: string[] = [];
    for (const z of this.zones) if (z) lines.push(`Node 0 ${z.name} free:${z.freePages * 4}kB managed:${z.managed * 4}kB`);
    return lines.join("\n");
  }

  pfnValid(pfn: number): boolean {
    const idx = this.db.indexOf(pfn);
    return idx >= 0 && this.db.kind[idx] !== PageKind.None;
  }

  /** Head page of the allocation containing `pfn`. */
  headPfn(pfn: number): number {
    const idx = this.db.indexOf(pfn);
    return idx < 0 ? pfn : pfn - this.db.headOff[idx]!;
  }

  pageCount(pfn: number): number {
    const idx = this.db.indexOf(this.headPfn(pfn));
    return idx < 0 ? 0 : this.db.refcount[idx]!;
  }

  pageGet(pfn: number): void {
    const db = this.db;
    const i = db.indexOf(pfn);
    if (i < 0) return;
    // Only head pages hold a count (tail pages stay at 0), so a page with references is a head:
    // a scattered user page costs one cache line, not also its head offset's.
    const c = db.refcount[i]!;
    if (c > 0) {
      db.refcount[i] = c + 1;
      return;
    }
    const off = db.headOff[i]!;
    if (off === 0) db.refcount[i] = c + 1;
    else this.refcountAdd(pfn - off, 1);
  }

  /** Drop a reference; frees the allocation at zero. Returns the new count. */
  pagePut(pfn: number): number {
    const db = this.db;
    const i = db.indexOf(pfn);
    if (i < 0) return 0;
    const had = db.refcount[i]!;
    if (had > 1) return (db.refcount[i] = had - 1); // a head page keeping references (see pageGet)
    const off = db.headOff[i]!;
    if (off !== 0) return this.refcountAdd(pfn - off, -1);
    const c = --db.refcount[i]!;
    if (c === 0) this.freeBlock(pfn, db.order[i]!);
    return c;
  }

  /** Add `delta` to the refcount of head page `head`, freeing at zero; the new count (0 outside). */
  private refcountAdd(head: number, delta: number): number {
    const idx = this.db.indexOf(head);
    if (idx < 0) return 0;
    const c = (this.db.refcount[idx]! += delta);
    if (c === 0 && delta < 0) this.freeBlock(head, this.db.order[idx]!);
    return c;
  }

  // ---- linear map -------------------------------------------------------------------------------

  isLinear(va: number): boolean {
    return va >= this.layout.pageOffset && va < this.linearEnd && this.pfnValid(Math.floor((va - this.layout.pageOffset + this.ramStart) / PAGE));
  }
  linearToPhys(va: number): number {
    return va - this.layout.pageOffset + this.ramStart;
  }
  physToLinear(pa: number): number | null {
    return pa >= this.ramStart && pa < this.lowmemEndPa ? this.layout.pageOffset + (pa - this.ramStart) : null;
  }
  isLowmemPfn(pfn: number): boolean {
    return pfn * PAGE < this.lowmemEndPa;
  }
  /** Linear address of a page, or null for highmem. */
  pageVa(pfn: number): number | null {
    return this.physToLinear(pfn * PAGE);
  }

  // ---- kernel mappings --------------------------------------------------------------------------

  mapKernel(va: number, pa: number, size: number, flags: number): void {
    this.mmu.map(this.kernelRoot, va, pa, size, flags | PteFlag.Global, this.allocTablePage);
    this.tlb.flushRange(va, size);
  }
  unmapKernel(va: number, size: number): void {
    this.mmu.unmap(this.kernelRoot, va, size, this.allocTablePage);
    this.tlb.flushRange(va, size);
  }

  // ---- kmap ---------------------------------------------------------------------------------------

  /** Address of a kmapped highmem page, or null. */
  kmapAddress(pfn: number): number | null {
    const idx = this.db.indexOf(pfn);
    if (idx < 0) return null;
    const slot = this.db.pkmapSlot[idx]!;
    return slot > 0 ? this.layout.pkmapBase + (slot - 1) * PAGE : null;
  }

  /** Map a highmem page in the pkmap area (or bump its count). Returns 0 when every slot is busy. */
  kmapHigh(pfn: number): number {
    const idx = this.db.indexOf(pfn);
    const L = this.layout;
    const slot = this.db.pkmapSlot[idx]!;
    if (slot > 0) {
      this.pkmapCount[slot - 1]!++;
      return L.pkmapBase + (slot - 1) * PAGE;
    }
    for (let k = 0; k < L.pkmapPages; k++) {
      const s = (this.pkmapNext + k) % L.pkmapPages;
      if (this.pkmapCount[s] === 0) {
        this.pkmapNext = s + 1;
        this.pkmapPfn[s] = pfn;
        this.pkmapCount[s] = 1;
        this.db.pkmapSlot[idx] = s + 1;
        const va = L.pkmapBase + s * PAGE;
        this.mapKernel(va, pfn * PAGE, PAGE, PteFlag.Write | PteFlag.Nx);
        return va;
      }
    }
    return 0;
  }

  /** Drop a kmap reference; returns false when the page was not kmapped. */
  kunmapHigh(pfn: number): boolean {
    const idx = this.db.indexOf(pfn);
    const slot = idx < 0 ? 0 : this.db.pkmapSlot[idx]!;
    if (slot === 0) return false;
    if (--this.pkmapCount[slot - 1]! === 0) {
      this.db.pkmapSlot[idx] = 0;
      this.pkmapPfn[slot - 1] = -1;
      this.unmapKernel(this.layout.pkmapBase + (slot - 1) * PAGE, PAGE);
    }
    return true;
  }

  /** kmap_local: stacked fixmap slots. Returns 0 when the stack is full. */
  kmapLocal(pfn: number): number {
    if (this.kmapLocalStack.length >= KMAP_LOCAL_SLOTS) return 0;
    const va = this.layout.fixmapStart + this.kmapLocalStack.length * PAGE;
    this.kmapLocalStack.push(va);
    this.mapKernel(va, pfn * PAGE, PAGE, PteFlag.Write | PteFlag.Nx);
    return va;
  }

  /** kunmap_local: must be the most recent slot. Returns "ok", "not-mapped" or "out-of-order". */
  kunmapLocal(va: number): "ok" | "not-mapped" | "out-of-order" {
    const base = Math.floor(va / PAGE) * PAGE;
    const at = this.kmapLocalStack.lastIndexOf(base);
    if (at < 0) return "not-mapped";
    const top = at === this.kmapLocalStack.length - 1;
    this.kmapLocalStack.splice(at, 1);
    this.unmapKernel(base, PAGE);
    return top ? "ok" : "out-of-order";
  }

  /** Describe where an address points, for reports (`vmalloc area`, `linear map`...). */
  describe(va: number): string {
    const L = this.layout;
    if (va >= L.pageOffset && va < this.linearEnd) return "linear map";
    if (va >= L.vmallocStart && va < L.vmallocEnd) return this.vm.describe(va);
    if (L.pkmapPages > 0 && va >= L.pkmapBase && va < L.pkmapBase + L.pkmapPages * PAGE) return "pkmap (kmap of a highmem page)";
    if (va >= L.fixmapStart && va < L.fixmapEnd) return "fixmap (kmap_local)";
    if (va >= L.modulesStart && va < L.modulesEnd) return "modules area";
    if (va >= 0 && va < L.taskSize) return "user address";
    return "unmapped kernel address";
  }

  /** Bytes of lowmem a 2^order block spans, for convenience. */
  static orderBytes(order: number): number {
    return PAGE * 2 ** order;
  }

  /** Allocator state for /proc/buddyinfo (populated zones, lowest first). */
  buddyState(): BuddyZoneState[] {
    return this.zones.filter((z): z is Zone => z !== undefined).map((z) => ({ name: z.name, nrFree: Array.from(z.nrFree) }));
  }

  /** Slab state for /proc/slabinfo (newest cache first). */
  slabState(): SlabCacheState[] {
    return this.slab.caches.map((c) => ({
      name: c.name,
      activeObjs: c.active,
      numObjs: c.numObjs,
      objSize: c.objectSize,
      objPerSlab: c.perSlab,
      pagesPerSlab: 1 << c.order,
      activeSlabs: c.slabs,
      numSlabs: c.slabs,
    }));
  }

  procBuddyinfo(): string {
    return renderBuddyinfo(this.buddyState());
  }

  procSlabinfo(): string {
    return renderSlabinfo(this.slabState());
  }

  /** True when a linear map entry of 2 MiB covers `va` (tests). */
  linearIsHuge(va: number): boolean {
    const t = this.mmu.lookup(this.kernelRoot, va);
    return t !== null && t.pageSize === HUGE;
  }
}
