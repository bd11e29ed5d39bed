/**
 * The vmalloc area: virtually contiguous mappings of physically scattered pages (vmalloc, vmap)
 * or of device memory (ioremap), each followed by an unmapped guard page. Address ranges are
 * handed out next-fit so a freed range is not reused at once (a late access faults).
 *
 * The area's page → mapping table doubles as KASAN's shadow for the vmalloc area.
 */
import { __GFP_HIGHMEM, __GFP_NOWARN, GFP_KERNEL } from "../../../sdk/kernel/types.js";
import { MemType, PteFlag } from "../../soc/pagetable.js";
import type { CallSite } from "../stack.js";
import { PageKind } from "./buddy.js";
import type { MemoryManager } from "./mm.js";
import { PageTableOom } from "./page-table-oom.js";

const PAGE = 4096;
/** Managed part of the vmalloc area on 64-bit (its shadow table is one entry per page). */
const WINDOW_64 = 4 * 1024 * 1024 * 1024;
const CHUNK = 4096;

/** One mapping in the vmalloc area. @public */
export interface VmArea {
  readonly id: number;
  /** First mapped byte (page aligned). */
  readonly start: number;
  /** Mapped pages (the guard page follows). */
  readonly pages: number;
  /** Requested bytes (vmalloc: the KASAN boundary). */
  readonly size: number;
  readonly kind: "vmalloc" | "vmap" | "ioremap";
  /** Backing pfns (vmalloc/vmap) — for ioremap, the first pfn of the physical range. */
  readonly pfns: number[];
  readonly label: string;
  freed: boolean;
  ledgerId: number;
  allocSite?: CallSite | undefined;
  freeSite?: CallSite | undefined;
}

/** @public */
export class VmallocSpace {
  readonly start: number;
  readonly end: number;
  private readonly pagesTotal: number;
  /**
   * Per page of the window: area id + 1 (mapped page or its guard), 0 = never used. Chunks of
   * 4096 pages are allocated on first use, so a 4 GiB window costs nothing at boot.
   */
  private readonly areaChunks: (Int32Array | undefined)[];
  private readonly areas: VmArea[] = [];
  /** Free page ranges, sorted: [start0, len0, start1, len1, ...] in page indices. */
  private free: number[];
  private cursor = 0;

  constructor(private readonly mm: MemoryManager) {
    const L = mm.layout;
    this.start = L.vmallocStart;
    this.end = L.pointerBits === 64 ? L.vmallocStart + WINDOW_64 : L.vmallocEnd;
    this.pagesTotal = Math.floor((this.end - this.start) / PAGE);
    this.areaChunks = new Array<Int32Array | undefined>(Math.ceil(this.pagesTotal / CHUNK));
    this.free = [0, this.pagesTotal];
  }

  /** Reserve `n` pages (+1 guard); returns the page index or -1. */
  private reserve(n: number): number {
    const want = n + 1;
    const f = this.free;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < f.length; i += 2) {
        let s = f[i]!;
        const len = f[i + 1]!;
        if (pass === 0 && s + len <= this.cursor) continue;
        const from = pass === 0 ? Math.max(s, this.cursor) : s;
        if (s + len - from < want) continue;
        // Split [s, s+len) into [s, from) + taken + rest.
        const rest = s + len - (from + want);
        const pieces: number[] = [];
        if (from > s) pieces.push(s, from - s);
        if (rest > 0) pieces.push(from + want, rest);
        f.splice(i, 2, ...pieces);
        this.cursor = from + want;
        s = from;
        return s;
      }
    }
    return -1;
  }

  private release(first: number, n: number): void {
    const want = n + 1;
    const f = this.free;
    let i = 0;
    while (i < f.length && f[i]! < first) i += 2;
    f.splice(i, 0, first, want);
    // Merge with neighbours.
    if (i + 2 < f.length && f[i]! + f[i + 1]! === f[i + 2]!) {
      f[i + 1]! += f[i + 3]!;
      f.splice(i + 2, 2);
    }
    if (i >= 2 && f[i - 2]! + f[i - 1]! === f[i]!) {
      f[i - 1]! += f[i + 1]!;
      f.splice(i, 2);
    }
  }

  private newArea(first: number, pages: number, size: number, kind: VmArea["kind"], pfns: number[], label: string): VmArea {
    const a: VmArea = { id: this.areas.length, start: this.start + first * PAGE, pages, size, kind, pfns, label, freed: false, ledgerId: 0 };
    this.areas.push(a);
    for (let i = first; i <= first + pages; i++) {
      const c = Math.floor(i / CHUNK);
      const chunk = this.areaChunks[c] ?? (this.areaChunks[c] = new Int32Array(CHUNK));
      chunk[i - c * CHUNK] = a.id + 1;
    }
    return a;
  }

  private areaIdAt(page: number): number {
    const c = Math.floor(page / CHUNK);
    const chunk = this.areaChunks[c];
    return chunk === undefined ? 0 : chunk[page - c * CHUNK]!;
  }

  /** Allocate and map `size` bytes of scattered pages. Null when out of pages or address space. */
  vmalloc(size: number, gfp: number = GFP_KERNEL): VmArea | null {
    const mm = this.mm;
    const n = Math.ceil(size / PAGE);
    if (n <= 0) return null;
    const first = this.reserve(n);
    if (first < 0) {
      mm.core.dmesg.log("warn", `vmalloc error: size ${n * PAGE}, vm_struct allocation failed`);
      return null;
    }
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) {
      const pfn = mm.allocBlock((gfp | __GFP_HIGHMEM | __GFP_NOWARN) & ~0x5 /* no DMA zones */, 0, PageKind.Vmalloc);
      if (pfn < 0) {
        for (const p of pfns) mm.freeBlock(p, 0);
        this.release(first, n);
        mm.core.dmesg.log("warn", `vmalloc error: size ${n * PAGE}, failed to allocate pages`);
        return null;
      }
      pfns.push(pfn);
    }
    const va = this.start + first * PAGE;
    const mapped = this.mapOrUndo(first, n, () => {
      for (let i = 0; i < n; i++) mm.mmu.map(mm.kernelRoot, va + i * PAGE, pfns[i]! * PAGE, PAGE, PteFlag.Write | PteFlag.Global | PteFlag.Nx, mm.allocTablePage);
    });
    if (!mapped) {
      for (const p of pfns) mm.freeBlock(p, 0);
      mm.core.dmesg.log("warn", `vmalloc error: size ${n * PAGE}, failed to map pages`);
      return null;
    }
    return this.newArea(first, n, size, "vmalloc", pfns, "vmalloc");
  }

  /** Map existing pages contiguously (vmap). */
  mapPfns(pfns: readonly number[], memType: MemType = MemType.WriteBack, label = "vmap"): number | null {
    const n = pfns.length;
    if (n === 0) return null;
    const first = this.reserve(n);
    if (first < 0) return null;
    const va = this.start + first * PAGE;
    const flags = PteFlag.Write | PteFlag.Global | PteFlag.Nx | mtFlag(memType);
    const mapped = this.mapOrUndo(first, n, () => {
      for (let i = 0; i < n; i++) this.mm.mmu.map(this.mm.kernelRoot, va + i * PAGE, pfns[i]! * PAGE, PAGE, flags, this.mm.allocTablePage);
    });
    if (!mapped) return null;
    this.newArea(first, n, n * PAGE, "vmap", [...pfns], label);
    return va;
  }

  /** Map `[pa, pa+size)` (ioremap). Returns the address of `pa` (its page offset kept) or null. */
  mapPhys(pa: number, size: number, memType: MemType, label = "ioremap"): number | null {
    if (!(size > 0)) return null;
    const base = Math.floor(pa / PAGE) * PAGE;
    const off = pa - base;
    const n = Math.ceil((off + size) / PAGE);
    const first = this.reserve(n);
    if (first < 0) return null;
    const va = this.start + first * PAGE;
    const mapped = this.mapOrUndo(first, n, () => {
      this.mm.mmu.map(this.mm.kernelRoot, va, base, n * PAGE, PteFlag.Write | PteFlag.Global | PteFlag.Nx | mtFlag(memType), this.mm.allocTablePage);
    });
    if (!mapped) return null;
    this.newArea(first, n, size, "ioremap", [base / PAGE], label);
    return va + off;
  }

  /**
   * Run `map` over the `n` reserved pages from slot `first`, then flush them. When a page table
   * cannot be allocated, unmap what was mapped and give the slots back: false.
   */
  private mapOrUndo(first: number, n: number, map: () => void): boolean {
    const va = this.start + first * PAGE;
    try {
      map();
    } catch (e) {
      if (!(e instanceof PageTableOom)) throw e;
      this.mm.mmu.unmap(this.mm.kernelRoot, va, n * PAGE);
      this.mm.tlb.flushRange(va, (n + 1) * PAGE);
      this.release(first, n);
      return false;
    }
    this.mm.tlb.flushRange(va, (n + 1) * PAGE);
    return true;
  }

  /** The live area containing `va` (guard page included), or the freed one last there. */
  areaAt(va: number): VmArea | undefined {
    if (!(va >= this.start && va < this.end)) return undefined;
    const id = this.areaIdAt(Math.floor((va - this.start) / PAGE));
    return id === 0 ? undefined : this.areas[id - 1];
  }

  /**
   * Unmap the area containing `va` (vmalloc areas only by their first page, as vfree) and flush
   * the TLB. Frees vmalloc pages. False when there is no live mapping there.
   */
  unmap(va: number): boolean {
    const a = this.areaAt(va);
    if (!a || a.freed || va >= a.start + a.pages * PAGE) return false;
    if (a.kind === "vmalloc" && Math.floor((va - a.start) / PAGE) !== 0) return false;
    this.mm.unmapKernel(a.start, a.pages * PAGE);
    if (a.kind === "vmalloc") for (const p of a.pfns) this.mm.freeBlock(p, 0);
    a.freed = true;
    this.release(Math.floor((a.start - this.start) / PAGE), a.pages);
    return true;
  }

  /** The page mapped at `va` (vmalloc/vmap areas), or -1. */
  pfnAt(va: number): number {
    const a = this.areaAt(va);
    if (!a || a.freed || a.kind === "ioremap") return -1;
    const i = Math.floor((va - a.start) / PAGE);
    return i < a.pages ? a.pfns[i]! : -1;
  }

  /** KASAN check of an access in the vmalloc area (vmalloc areas only). */
  checkAccess(va: number, size: number, write: boolean, driver?: string): boolean {
    if (va >= this.end) return true;
    const id = this.areaIdAt(Math.floor((va - this.start) / PAGE));
    if (id === 0) return true;
    const a = this.areas[id - 1]!;
    if (a.kind !== "vmalloc") return true;
    if (!a.freed && va >= a.start && va + size <= a.start + a.size) return true;
    this.mm.kasan.report("vmalloc-out-of-bounds", va, size, write, {
      start: a.start,
      size: a.size,
      freed: a.freed,
      allocSite: a.allocSite,
      freeSite: a.freeSite,
      belongs: `The buggy address belongs to the virtual mapping at [${this.mm.hex(a.start)}, ${this.mm.hex(a.start + a.pages * PAGE)}) created by vmalloc${a.freed ? " (already vfree()d)" : ""}`,
    }, driver);
    return false;
  }

  describe(va: number): string {
    const a = this.areaAt(va);
    if (!a) return "vmalloc area";
    return `${a.freed ? "freed " : ""}${a.kind} area ${this.mm.hex(a.start)}+${(a.pages * PAGE).toString(16)}`;
  }

  /** Live areas (for leak checks and /proc/vmallocinfo-like dumps). */
  liveAreas(): VmArea[] {
    return this.areas.filter((a) => !a.freed);
  }
}

function mtFlag(t: MemType): number {
  return t === MemType.Uncached ? PteFlag.MtUncached : t === MemType.WriteCombining ? PteFlag.MtWriteCombining : PteFlag.MtWriteBack;
}
