/**
 * IOMMU: one domain per requester id (PCI `bus << 8 | devfn`, or a platform id), I/O page tables
 * in simulated RAM (the CPU entry format, 4 levels over 48-bit IOVAs), and an IOTLB tagged by
 * domain. A translation fault is logged (requester, address, direction) to the trace and to
 * {@link Iommu.faults}, and the access is aborted. On boards without an IOMMU, IOVA = PA.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { Clock } from "./clock.js";
import { DeviceMemoryPort, DmaStatus } from "./device-port.js";
import { Access, PageTable, PteFlag, pagingProfiles } from "./pagetable.js";
import type { AllocTablePage } from "./pagetable.js";
import { LEAF_ENTRIES, LEAF_SPAN, LeafTable } from "./leaf-table.js";
import { SparseRam } from "./ram.js";
import { TraceKind, TraceRing } from "./trace.js";
import { BOARD, CLOCK, DEVICE_MEMORY, RAM, TRACE } from "./tokens.js";

/** Returned by {@link Iommu.translate} when the access faulted. @public */
export const IOMMU_FAULT = -1;

/** Why the IOMMU refused an access ("injected": a device-level fault injected by the testbench). @public */
export type IommuFaultCause = "no-domain" | "not-present" | "read-only" | "out-of-range" | "injected";

/** A logged IOMMU fault. @public */
export interface IommuFaultRecord {
  readonly time: number;
  readonly requester: number;
  readonly iova: number;
  readonly len: number;
  /** "write" = device writes memory (DMA_FROM_DEVICE); "read" = device reads memory. */
  readonly direction: "read" | "write";
  readonly cause: IommuFaultCause;
}

const PAGE = 4096;

/**
 * The IOMMU.
 * @public
 */
@injectable()
export class Iommu {
  /** False on boards without an IOMMU: translation is the identity. */
  readonly enabled: boolean;
  /** Every fault so far, oldest first. */
  readonly faults: IommuFaultRecord[] = [];
  hits = 0;
  misses = 0;
  private readonly pt: PageTable;
  private readonly roots: number[] = [];
  private readonly domainOf: (number | undefined)[] = [];
  private readonly sets: number;
  private readonly ways: number;
  private readonly tag: Float64Array;
  private readonly dom: Int32Array;
  private readonly pa: Float64Array;
  private readonly writable: Uint8Array;
  private readonly victim: Uint8Array;
  /** Physical address of each page of the transfer in progress (grown on demand). */
  private pageBuf = new Float64Array(16);
  // Walk cache (as VT-d caches paging structures): the last-level table of the last IOTLB miss,
  // so that misses on neighbouring IOVAs read one entry instead of walking from the root. Its
  // entries are always read from RAM; any map, unmap or flush forgets it.
  private readonly leaf: LeafTable;
  private leafDomain = -1;
  private leafRegion = -1;

  constructor(
    @inject(BOARD) board: BoardConfig,
    @inject(RAM) ram: SparseRam,
    @inject(DEVICE_MEMORY) private readonly port: DeviceMemoryPort,
    @inject(TRACE) private readonly trace: TraceRing,
    @inject(CLOCK) private readonly clock: Clock,
  ) {
    this.enabled = board.iommu;
    this.leaf = new LeafTable(ram, pagingProfiles.io48);
    this.pt = new PageTable(pagingProfiles.io48, ram);
    this.sets = board.iotlb.sets;
    this.ways = board.iotlb.ways;
    if ((this.sets & (this.sets - 1)) !== 0 || this.sets < 1 || this.ways < 1) throw new RangeError("IOTLB sets must be a power of two, ways ≥ 1");
    const n = this.sets * this.ways;
    this.tag = new Float64Array(n).fill(-0.5);
    this.dom = new Int32Array(n);
    this.pa = new Float64Array(n);
    this.writable = new Uint8Array(n);
    this.victim = new Uint8Array(this.sets);
  }

  /** Create an empty translation domain; returns its id. */
  createDomain(alloc: AllocTablePage): number {
    this.roots.push(this.pt.createRoot(alloc));
    return this.roots.length - 1;
  }

  /** Root table of a domain (for dumps). */
  domainRoot(domain: number): number {
    const r = this.roots[domain];
    if (r === undefined) throw new RangeError(`no IOMMU domain ${domain}`);
    return r;
  }

  /** Attach a requester to a domain (its DMA is translated by that domain from now on). */
  attach(requester: number, domain: number): void {
    this.domainRoot(domain);
    this.domainOf[requester] = domain;
  }

  /** Detach a requester: its DMA faults until attached again. */
  detach(requester: number): void {
    this.domainOf[requester] = undefined;
  }

  /** The domain of a requester, if attached. */
  domainFor(requester: number): number | undefined {
    return this.domainOf[requester];
  }

  /** Map `[iova, iova+size)` to `[pa, pa+size)`; `flags` may hold {@link PteFlag.Write}. No IOTLB flush. */
  map(domain: number, iova: number, pa: number, size: number, flags: number, alloc: AllocTablePage): void {
    this.leafRegion = -1;
    this.pt.map(this.domainRoot(domain), iova, pa, size, (flags & (PteFlag.Write | PteFlag.Huge)) | PteFlag.Present, alloc);
  }

  /**
   * Map `count` consecutive IOVA pages from `iova` to the page frames `frames[0..count)`; `flags`
   * may hold {@link PteFlag.Write}. The same as one {@link Iommu.map} per page. No IOTLB flush.
   * @internal
   */
  mapFrames(domain: number, iova: number, frames: ArrayLike<number>, count: number, flags: number, alloc: AllocTablePage): void {
    this.leafRegion = -1;
    const root = this.domainRoot(domain);
    const f = (flags & PteFlag.Write) | PteFlag.Present;
    let aligned = iova % PAGE === 0 && iova >= 0 && iova + count * PAGE <= 2 ** 48;
    for (let k = 0; k < count && aligned; k++) {
      const f = frames[k]!;
      // Low 12 bits by ToInt32 (exact for integers, 2^32 being a multiple of the page): `%` on a double is a library call.
      aligned = (f & (PAGE - 1)) === 0 && Math.floor(f) === f;
    }
    // The editor throws on a bad range or frame, before writing anything.
    if (!aligned) return this.pt.mapFrames(root, iova, frames, count, f, alloc);
    const leaf = this.leaf;
    for (let k = 0; k < count; ) {
      const v = iova + k * PAGE;
      const first = Math.floor(v / PAGE) % LEAF_ENTRIES;
      const n = Math.min(count - k, LEAF_ENTRIES - first);
      // The first page through the editor (it creates missing tables, splits a huge page), the
      // rest of the run straight into the table it landed in.
      this.pt.map(root, v, frames[k]!, PAGE, f, alloc);
      if (n > 1 && !leaf.find(root, v)) throw new Error(`iommu: no last-level table after mapping 0x${v.toString(16)}`);
      for (let j = 1; j < n; j++) leaf.set(first + j, frames[k + j]!, f);
      k += n;
    }
  }

  /** Unmap `[iova, iova+size)`; returns pages unmapped. No IOTLB flush (call {@link Iommu.flush}). */
  unmap(domain: number, iova: number, size: number, alloc?: AllocTablePage): number {
    this.leafRegion = -1;
    const root = this.domainRoot(domain);
    if (!(iova % PAGE === 0 && size % PAGE === 0 && size > 0 && iova >= 0 && iova + size <= 2 ** 48)) return this.pt.unmap(root, iova, size, alloc);
    const leaf = this.leaf;
    let pages = 0;
    for (let v = iova; v < iova + size; ) {
      const first = Math.floor(v / PAGE) % LEAF_ENTRIES;
      const n = Math.min((iova + size - v) / PAGE, LEAF_ENTRIES - first);
      // Runs in a last-level table are cleared in place; the editor handles the rest (no table,
      // a huge page to clear or split).
      if (leaf.find(root, v)) {
        for (let j = 0; j < n; j++) if (leaf.clear(first + j)) pages++;
      } else {
        pages += this.pt.unmap(root, v, n * PAGE, alloc);
      }
      v += n * PAGE;
    }
    return pages;
  }

  /** Page-table lookup without the IOTLB (for checks and dumps). */
  lookup(domain: number, iova: number): { pa: number; writable: boolean } | null {
    const t = this.pt.lookup(this.domainRoot(domain), iova);
    return t ? { pa: t.pa, writable: (t.flags & PteFlag.Write) !== 0 } : null;
  }

  /** Invalidate IOTLB entries of a domain (all, or those in `[iova, iova+size)`). */
  flush(domain: number, iova?: number, size = PAGE): void {
    this.leafRegion = -1;
    const first = iova === undefined ? -Infinity : Math.floor(iova / PAGE);
    const last = iova === undefined ? Infinity : Math.floor((iova + Math.max(size, 1) - 1) / PAGE);
    if (last - first < this.sets) {
      // A range of fewer pages than sets: only the sets of its pages can hold its entries.
      for (let p = first; p <= last; p++) {
        const start = (p & (this.sets - 1)) * this.ways;
        for (let i = start; i < start + this.ways; i++) if (this.tag[i] === p && this.dom[i] === domain) this.tag[i] = -0.5;
      }
      return;
    }
    for (let i = 0; i < this.tag.length; i++) {
      const t = this.tag[i]!;
      if (this.dom[i] === domain && t >= first && t <= last) this.tag[i] = -0.5;
    }
  }

  /** Invalidate the whole IOTLB. */
  flushAll(): void {
    this.leafRegion = -1;
    this.tag.fill(-0.5);
  }

  /**
   * Translate `[iova, iova+len)` for a device access. Every page of the range is checked; returns
   * the physical address of the first byte (pages need not be physically contiguous: move data
   * with {@link Iommu.dmaRead}/{@link Iommu.dmaWrite}), or {@link IOMMU_FAULT} after logging.
   */
  translate(requester: number, iova: number, len: number, write: boolean): number {
    if (!this.enabled) return iova;
    return this.translatePages(requester, iova, len, write) > 0 ? this.pageBuf[0]! : IOMMU_FAULT;
  }

  /** Device reads memory at `iova` into `dst` (page by page through the IOMMU). */
  dmaRead(requester: number, iova: number, dst: Uint8Array): DmaStatus {
    return this.transfer(requester, iova, dst, false);
  }

  /** Device writes `src` to memory at `iova`. */
  dmaWrite(requester: number, iova: number, src: Uint8Array): DmaStatus {
    return this.transfer(requester, iova, src, true);
  }

  private transfer(requester: number, iova: number, buf: Uint8Array, write: boolean): DmaStatus {
    if (!this.enabled) return write ? this.port.write(iova, buf, requester) : this.port.read(iova, buf, requester);
    // Translate every page once, first: a fault aborts the whole access.
    const pages = this.translatePages(requester, iova, buf.length, write);
    if (pages < 0) return DmaStatus.IommuFault;
    const pas = this.pageBuf;
    if (pages === 1) return write ? this.port.write(pas[0]!, buf, requester) : this.port.read(pas[0]!, buf, requester);
    // Page k of the IOVA range is piece k of the buffer (IOVA and PA share the page offset).
    return write ? this.port.writePages(pas, buf, requester) : this.port.readPages(pas, buf, requester);
  }

  /**
   * Physical address of each page of `[iova, iova+len)` into {@link Iommu.pageBuf} (the first
   * keeps `iova`'s offset) through the IOTLB, walking the domain's tables on a miss; returns the
   * number of pages, or {@link IOMMU_FAULT} after logging the first page that faults (the pages
   * before it stay in the IOTLB).
   */
  private translatePages(requester: number, iova: number, len: number, write: boolean): number {
    const domain = this.domainOf[requester];
    if (domain === undefined) return this.fault(requester, iova, len, write, "no-domain");
    const firstPage = Math.floor(iova / PAGE);
    const pages = Math.floor((iova + Math.max(len, 1) - 1) / PAGE) - firstPage + 1;
    // Pages below 2^48 (none when the access starts outside): the first one past faults.
    const inRange = iova >= 0 && iova < 2 ** 48 ? Math.min(pages, 2 ** 36 - firstPage) : 0;
    let pas = this.pageBuf;
    const tag = this.tag;
    const dom = this.dom;
    const mask = this.sets - 1;
    const ways = this.ways;
    for (let k = 0; k < inRange; k++) {
      const page = firstPage + k;
      const start = (page & mask) * ways;
      let found = -1;
      for (let i = start; i < start + ways; i++) {
        if (tag[i] === page && dom[i] === domain) {
          found = i;
          break;
        }
      }
      let base: number;
      if (found >= 0 && (!write || this.writable[found] !== 0)) {
        this.hits++;
        base = this.pa[found]!;
      } else {
        this.misses++;
        base = this.leafEntry(domain, page * PAGE, write);
        let writable = this.leafWritable;
        if (base < 0) {
          const c = this.pt.walkInto(this.roots[domain]!, page * PAGE, write ? Access.Write : Access.Read, false, false);
          if (c !== 0) return this.fault(requester, iova, len, write, write && c === 2 ? "read-only" : "not-present");
          base = this.pt.outPageBase;
          writable = (this.pt.outFlags & PteFlag.Write) !== 0;
        }
        let slot = found;
        if (slot < 0) {
          const set = page & mask;
          const v = this.victim[set]!;
          slot = start + v;
          this.victim[set] = v + 1 === ways ? 0 : v + 1;
        }
        tag[slot] = page;
        dom[slot] = domain;
        this.pa[slot] = base;
        this.writable[slot] = writable ? 1 : 0;
      }
      // Grown as pages translate: a bogus length from a device model faults before it costs memory.
      if (k === pas.length) {
        const grown = new Float64Array(2 * k);
        grown.set(pas);
        this.pageBuf = pas = grown;
      }
      pas[k] = k === 0 ? base + (iova - firstPage * PAGE) : base;
    }
    return inRange >= pages ? pages : this.fault(requester, iova, len, write, "out-of-range");
  }

  /** Writability of the page {@link Iommu.leafEntry} last found. */
  private leafWritable = false;

  /**
   * Page base for `a` through the cached last-level table (locating it first when `a` is in
   * another 2 MiB region), or -1 when the full walk must decide (no table, a huge page, a fault).
   */
  private leafEntry(domain: number, a: number, write: boolean): number {
    const region = Math.floor(a / LEAF_SPAN);
    const leaf = this.leaf;
    if (region !== this.leafRegion || domain !== this.leafDomain) {
      this.leafRegion = -1;
      if (!leaf.find(this.roots[domain]!, a)) return -1;
      this.leafRegion = region;
      this.leafDomain = domain;
    }
    const i = Math.floor(a / PAGE) - region * LEAF_ENTRIES;
    const lo = leaf.low(i);
    if ((lo & PteFlag.Present) === 0) return -1;
    const w = leaf.upperWrite && (lo & PteFlag.Write) !== 0;
    if (write && !w) return -1;
    this.leafWritable = w;
    return leaf.frame(i, lo);
  }

  private fault(requester: number, iova: number, len: number, write: boolean, cause: IommuFaultCause): number {
    this.faults.push({ time: this.clock.now, requester, iova, len, direction: write ? "write" : "read", cause });
    this.trace.record(TraceKind.IommuFault, iova, len, write ? 1 : 0, requester, cause);
    return IOMMU_FAULT;
  }
}
