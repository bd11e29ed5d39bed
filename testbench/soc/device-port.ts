/**
 * The memory side of device DMA (after any IOMMU): bulk reads and writes of physical memory
 * through the bus, with the board's coherency rule. On a coherent board device reads see dirty
 * cache lines and device writes update cached copies; on a non-coherent board the device sees
 * RAM only, so the CPU may read stale lines and the device may miss data still dirty in the cache.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { Bus, RegionKind } from "./bus.js";
import { DataCache } from "./dcache.js";
import { SparseRam } from "./ram.js";
import { TraceKind, TraceRing } from "./trace.js";
import { BOARD, BUS, DCACHE, RAM, TRACE } from "./tokens.js";

/** Outcome of a DMA access. @public */
export const DmaStatus = {
  Ok: 0,
  /** The target is not memory (no region, or MMIO): the access was aborted. */
  BusError: 1,
  /** The IOMMU refused the access: it was aborted. */
  IommuFault: 2,
} as const;
const PAGE = 4096;
/** A DMA status. @public */
export type DmaStatus = (typeof DmaStatus)[keyof typeof DmaStatus];

/**
 * Device-side memory port. Never throws on bad targets: it returns a status.
 * @public
 */
@injectable()
export class DeviceMemoryPort {
  readonly coherent: boolean;
  /** Bytes moved by successful transfers. */
  bytesRead = 0;
  bytesWritten = 0;

  constructor(
    @inject(BOARD) board: BoardConfig,
    @inject(BUS) private readonly bus: Bus,
    @inject(RAM) private readonly ram: SparseRam,
    @inject(DCACHE) private readonly dcache: DataCache,
    @inject(TRACE) private readonly trace: TraceRing,
  ) {
    this.coherent = board.coherent;
  }

  /** Device reads `dst.length` bytes at physical `pa`. */
  read(pa: number, dst: Uint8Array, requester = 0): DmaStatus {
    const r0 = this.bus.lookup(pa);
    if (r0 !== undefined && r0.kind === RegionKind.Ram && pa + dst.length <= r0.end) {
      // The common case: one RAM region holds the whole range.
      this.ram.read(pa, dst);
    } else if (!this.readRegions(pa, dst, requester)) {
      return DmaStatus.BusError;
    }
    if (this.coherent) this.dcache.snoopRead(pa, dst);
    this.bytesRead += dst.length;
    this.trace.record(TraceKind.DmaRead, pa, dst.length, 0, requester);
    return DmaStatus.Ok;
  }

  /** Device read region by region (after checking them all); false when one is not memory. */
  private readRegions(pa: number, dst: Uint8Array, requester: number): boolean {
    if (!this.valid(pa, dst.length, false, requester)) return false;
    let done = 0;
    while (done < dst.length) {
      const a = pa + done;
      const r = this.bus.lookup(a)!;
      const n = Math.min(r.end - a, dst.length - done);
      const part = n === dst.length ? dst : dst.subarray(done, done + n);
      if (r.kind === RegionKind.Ram) this.ram.read(a, part);
      else part.set(r.bytes!.subarray(a - r.base, a - r.base + n));
      done += n;
    }
    return true;
  }

  /** Device writes `src` at physical `pa`. */
  write(pa: number, src: Uint8Array, requester = 0): DmaStatus {
    const r0 = this.bus.lookup(pa);
    if (r0 !== undefined && r0.kind === RegionKind.Ram && pa + src.length <= r0.end) {
      // The common case: one RAM region holds the whole range.
      this.ram.write(pa, src);
    } else if (!this.writeRegions(pa, src, requester)) {
      return DmaStatus.BusError;
    }
    if (this.coherent) this.dcache.snoopWrite(pa, src);
    this.bytesWritten += src.length;
    this.trace.record(TraceKind.DmaWrite, pa, src.length, 0, requester);
    return DmaStatus.Ok;
  }

  /** Device write region by region (after checking them all); false when one is not memory. */
  private writeRegions(pa: number, src: Uint8Array, requester: number): boolean {
    if (!this.valid(pa, src.length, true, requester)) return false;
    let done = 0;
    while (done < src.length) {
      const a = pa + done;
      const r = this.bus.lookup(a)!;
      const n = Math.min(r.end - a, src.length - done);
      const part = n === src.length ? src : src.subarray(done, done + n);
      if (r.kind === RegionKind.Ram) this.ram.write(a, part);
      else r.bytes!.set(part, a - r.base);
      done += n;
    }
    return true;
  }

  /**
   * Device writes `src` page piece by page piece: piece `k` goes to `pas[k]` (the first piece runs
   * from `pas[0]` to its page end, later ones start at a page and the last may end early). The
   * same as one {@link DeviceMemoryPort.write} per piece, in order, stopping at the first failure;
   * RAM pieces skip the region lookup and bank check while they stay in one RAM region.
   * @internal
   */
  writePages(pas: Float64Array, src: Uint8Array, requester: number): DmaStatus {
    const len = src.length;
    const ram = this.ram;
    const views = this.pageViews(src.buffer);
    let lo = 0;
    let hi = 0; // the RAM region last found, as [lo, hi)
    let done = 0;
    for (let k = 0; done < len; k++) {
      const pa = pas[k]!;
      const pfn = Math.floor(pa / PAGE);
      const off = pa - pfn * PAGE;
      const n = Math.min(PAGE - off, len - done);
      const at = src.byteOffset + done;
      const part = views !== undefined && n === PAGE && at % PAGE === 0 ? (views[at / PAGE] ??= new Uint8Array(src.buffer, at, PAGE)) : src.subarray(done, done + n);
      if (!(pa >= lo && pa + n <= hi)) {
        const r = this.bus.lookup(pa);
        if (r !== undefined && r.kind === RegionKind.Ram && pa + n <= r.end) {
          lo = r.base;
          hi = r.end;
        } else {
          const s = this.write(pa, part, requester);
          if (s !== DmaStatus.Ok) return s;
          done += n;
          continue;
        }
      }
      const id = ram.pageId(pfn, true);
      // Through the slab's bytes: one object per 16 pages stays in the host cache.
      if (id >= 0) ram.slabBytes(id).set(part, ram.slabOffset(id) + off);
      else ram.write(pa, part);
      if (this.coherent) this.dcache.snoopWrite(pa, part);
      this.bytesWritten += n;
      this.trace.record(TraceKind.DmaWrite, pa, n, 0, requester);
      done += n;
    }
    return DmaStatus.Ok;
  }

  /** Device reads into `dst` page piece by page piece (see {@link DeviceMemoryPort.writePages}). @internal */
  readPages(pas: Float64Array, dst: Uint8Array, requester: number): DmaStatus {
    const len = dst.length;
    const ram = this.ram;
    const views = this.pageViews(dst.buffer);
    let lo = 0;
    let hi = 0;
    let done = 0;
    for (let k = 0; done < len; k++) {
      const pa = pas[k]!;
      const pfn = Math.floor(pa / PAGE);
      const off = pa - pfn * PAGE;
      const n = Math.min(PAGE - off, len - done);
      const at = dst.byteOffset + done;
      const part = views !== undefined && n === PAGE && at % PAGE === 0 ? (views[at / PAGE] ??= new Uint8Array(dst.buffer, at, PAGE)) : dst.subarray(done, done + n);
      if (!(pa >= lo && pa + n <= hi)) {
        const r = this.bus.lookup(pa);
        if (r !== undefined && r.kind === RegionKind.Ram && pa + n <= r.end) {
          lo = r.base;
          hi = r.end;
        } else {
          const s = this.read(pa, part, requester);
          if (s !== DmaStatus.Ok) return s;
          done += n;
          continue;
        }
      }
      const id = ram.pageId(pfn, false);
      if (id >= 0) {
        const at = ram.slabOffset(id) + off;
        part.set(ram.slabBytes(id).subarray(at, at + n));
      } else ram.read(pa, part);
      if (this.coherent) this.dcache.snoopRead(pa, part);
      this.bytesRead += n;
      this.trace.record(TraceKind.DmaRead, pa, n, 0, requester);
      done += n;
    }
    return DmaStatus.Ok;
  }

  /**
   * The 4 KiB views of a source buffer by page, made on first use and kept with the buffer: a
   * device's memory streams through here page by page, and a fresh subarray per page is 16k
   * short-lived objects per 64 MiB. Undefined for buffers past 256 MiB (the list stays a dense
   * array).
   */
  private pageViews(buffer: ArrayBufferLike): (Uint8Array | undefined)[] | undefined {
    let views = this.views.get(buffer);
    if (views === undefined) {
      const pages = Math.floor(buffer.byteLength / PAGE);
      if (pages > 65536) return undefined;
      this.views.set(buffer, (views = new Array<Uint8Array | undefined>(pages)));
    }
    return views;
  }
  /** Page views by source buffer (see {@link DeviceMemoryPort.pageViews}). */
  private readonly views = new WeakMap<ArrayBufferLike, (Uint8Array | undefined)[]>();

  /** Every byte of the range must be RAM or device memory; otherwise log and abort. */
  private valid(pa: number, len: number, write: boolean, requester: number): boolean {
    let a = pa;
    const end = pa + len;
    while (a < end) {
      const r = this.bus.lookup(a);
      if (r === undefined || r.kind === RegionKind.Mmio) {
        this.bus.guestErrors++;
        this.trace.record(TraceKind.GuestError, a, len, write ? 1 : 0, requester, `dma ${write ? "write" : "read"}: ${r ? `target is MMIO "${r.name}"` : "no memory at address"}`);
        return false;
      }
      a = r.end;
    }
    return true;
  }
}
