/**
 * The physical address space and the I/O port space. Regions live in a flattened table sorted by
 * base (parallel arrays, rebuilt on every topology change); lookups are a binary search. MMIO and
 * port accesses are checked and dispatched in one place ({@link Bus.mmioRead} /
 * {@link Bus.mmioWrite}), which the CPU reaches directly with the region it cached in its TLB.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { SparseRam } from "./ram.js";
import { SOURCE_CPU, TraceKind, TraceRing } from "./trace.js";
import { BOARD, RAM, TRACE } from "./tokens.js";

/** What backs a bus region. @public */
export const RegionKind = {
  /** Board RAM (sparse pages in {@link SparseRam}). */
  Ram: 0,
  /** Memory owned by a device and accessed directly (e.g. framebuffer VRAM). */
  RamBacked: 1,
  /** Device registers: every access calls the handler. */
  Mmio: 2,
} as const;
/** A region kind. @public */
export type RegionKind = (typeof RegionKind)[keyof typeof RegionKind];

/** Access sizes in bytes. @public */
export type AccessSize = 1 | 2 | 4 | 8;

/**
 * Register-access handler of an MMIO or port region. Offsets are relative to the region base.
 * `registerName` (optional) names the register at an offset for the trace.
 * @public
 */
export interface MmioHandler {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
  registerName?(offset: number): string | undefined;
}

/** A bus error, thrown instead of reading all ones on boards with `strictBus`. @public */
export class BusError extends Error {
  constructor(
    readonly addr: number,
    readonly size: number,
    readonly write: boolean,
    readonly reason: string,
    readonly space: "mem" | "io" = "mem",
  ) {
    super(`bus error: ${write ? "write" : "read"} of ${size} byte(s) at ${space === "io" ? "port " : ""}0x${addr.toString(16)}: ${reason}`);
    this.name = "BusError";
  }
}

/** A region of the physical address space or of the port space. @public */
export class BusRegion {
  /** Bitmask of allowed access sizes (bit n set = size n allowed, for n in 1, 2, 4, 8). */
  readonly sizeMask: number;
  /** @internal */
  view: DataView | null;
  /** Last byte address + 1 (kept in step with `base`). */
  end: number;
  /** The trace's register-namer id of the handler (-1 until first traced). @internal */
  traceNamer = -1;
  constructor(
    readonly kind: RegionKind,
    readonly name: string,
    public base: number,
    readonly size: number,
    /** MMIO/port handler, or null for memory regions. */
    readonly handler: MmioHandler | null,
    /** Directly accessed bytes of a RAM-backed region, or null. */
    readonly bytes: Uint8Array | null,
    sizes: readonly AccessSize[],
  ) {
    let m = 0;
    for (const s of sizes) m |= s;
    this.sizeMask = m;
    this.view = bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
    this.end = base + size;
  }
  /** Set the base (and end): only the bus moves regions. @internal */
  relocate(base: number): void {
    this.base = base;
    this.end = base + this.size;
  }
}

const ALL_SIZES: readonly AccessSize[] = [1, 2, 4, 8];

/** A flattened, sorted view of a set of regions. */
class RangeTable {
  regions: BusRegion[] = [];
  private bases = new Float64Array(0);
  private ends = new Float64Array(0);

  add(r: BusRegion, what: string): void {
    for (const o of this.regions) {
      if (r.base < o.end && o.base < r.end) {
        throw new RangeError(`${what} "${r.name}" [${hex(r.base)}-${hex(r.end - 1)}] overlaps "${o.name}" [${hex(o.base)}-${hex(o.end - 1)}]`);
      }
    }
    this.regions.push(r);
    this.rebuild();
  }

  remove(r: BusRegion): boolean {
    const i = this.regions.indexOf(r);
    if (i < 0) return false;
    this.regions.splice(i, 1);
    this.rebuild();
    return true;
  }

  rebuild(): void {
    this.regions.sort((a, b) => a.base - b.base);
    const n = this.regions.length;
    this.bases = new Float64Array(n);
    this.ends = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.bases[i] = this.regions[i]!.base;
      this.ends[i] = this.regions[i]!.end;
    }
  }

  find(addr: number): BusRegion | undefined {
    const b = this.bases;
    let lo = 0, hi = b.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid]! <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && addr < this.ends[hi]! ? this.regions[hi] : undefined;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function allOnes(size: number): number {
  return size >= 8 ? 18446744073709551615 : 2 ** (size * 8) - 1;
}

/**
 * The physical address space (RAM, RAM-backed device memory, MMIO) and, on boards with
 * `ioPorts`, the port space. Bad accesses are guest errors in the trace and read all ones, or
 * throw {@link BusError} with `board.strictBus`.
 * @public
 */
@injectable()
export class Bus {
  /** Bumped on every topology change. */
  generation = 0;
  /** Guest errors seen (bad address or access size). */
  guestErrors = 0;
  private readonly mem = new RangeTable();
  private readonly io = new RangeTable();
  private readonly listeners: (() => void)[] = [];
  private readonly strict: boolean;
  private readonly hasPorts: boolean;

  constructor(
    @inject(BOARD) board: BoardConfig,
    @inject(RAM) private readonly ram: SparseRam,
    @inject(TRACE) private readonly trace: TraceRing,
  ) {
    this.strict = board.strictBus;
    this.hasPorts = board.ioPorts;
    board.ram.forEach((b, i) => {
      this.mem.add(new BusRegion(RegionKind.Ram, board.ram.length > 1 ? `System RAM ${i}` : "System RAM", b.base, b.size, null, null, ALL_SIZES), "RAM");
    });
    this.mem.rebuild();
  }

  /** Call `fn` after every topology change (add, remove, move). Returns an unsubscribe function. */
  onTopologyChange(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Map device-owned memory accessed directly (no per-access dispatch), e.g. VRAM. */
  addRamBacked(name: string, base: number, bytes: Uint8Array): BusRegion {
    return this.addMem(new BusRegion(RegionKind.RamBacked, name, base, bytes.length, null, bytes, ALL_SIZES));
  }

  /** Map device registers; `sizes` lists the allowed access sizes. */
  addMmio(name: string, base: number, size: number, handler: MmioHandler, sizes: readonly AccessSize[] = [1, 2, 4]): BusRegion {
    return this.addMem(new BusRegion(RegionKind.Mmio, name, base, size, handler, null, sizes));
  }

  /** Remove a region (memory or port). */
  remove(region: BusRegion): void {
    if (this.mem.remove(region) || this.io.remove(region)) this.changed();
  }

  /** Move a region to a new base (PCI BAR assignment). */
  move(region: BusRegion, newBase: number): void {
    const table = this.mem.regions.includes(region) ? this.mem : this.io.regions.includes(region) ? this.io : undefined;
    if (!table) throw new RangeError(`region "${region.name}" is not on the bus`);
    const old = region.base;
    table.remove(region);
    region.relocate(newBase);
    try {
      table.add(region, "region");
    } catch (e) {
      region.relocate(old);
      table.add(region, "region");
      throw e;
    }
    this.changed();
  }

  /** Memory regions, sorted by base. */
  regions(): readonly BusRegion[] {
    return this.mem.regions;
  }

  /** Port regions, sorted by base. */
  portRegions(): readonly BusRegion[] {
    return this.io.regions;
  }

  /** The memory region holding `pa`, or undefined. The MMU caches the result per page. */
  lookup(pa: number): BusRegion | undefined {
    return this.mem.find(pa);
  }

  /** Physical read of 1, 2 or 4 bytes (uncached; RAM, device memory or MMIO). */
  read(pa: number, size: number, source = SOURCE_CPU): number {
    const r = this.mem.find(pa);
    if (r === undefined || pa + size > r.end) return this.badAccess(pa, size, false, r ? "access crosses region end" : "no region", source);
    switch (r.kind) {
      case RegionKind.Ram: {
        if (size === 4) return this.ram.read32(pa);
        const b = new Uint8Array(size);
        this.ram.read(pa, b);
        return size === 1 ? b[0]! : size === 2 ? b[0]! | (b[1]! << 8) : readLE(b, size);
      }
      case RegionKind.RamBacked:
        return readView(r.view!, pa - r.base, size);
      default:
        return this.mmioRead(r, pa - r.base, size, source);
    }
  }

  /** Physical write of 1, 2 or 4 bytes (uncached). */
  write(pa: number, size: number, value: number, source = SOURCE_CPU): void {
    const r = this.mem.find(pa);
    if (r === undefined || pa + size > r.end) {
      this.badAccess(pa, size, true, r ? "access crosses region end" : "no region", source, value);
      return;
    }
    switch (r.kind) {
      case RegionKind.Ram: {
        if (size === 4) return this.ram.write32(pa, value);
        const b = new Uint8Array(size);
        writeLE(b, 0, size, value);
        this.ram.write(pa, b);
        return;
      }
      case RegionKind.RamBacked:
        writeView(r.view!, pa - r.base, size, value);
        return;
      default:
        this.mmioWrite(r, pa - r.base, size, value, source);
    }
  }

  /** The trace's namer id for `r`'s handler, registered on first use. */
  private namerOf(r: BusRegion): number {
    return (r.traceNamer = this.trace.namerId(r.handler!));
  }

  /** The single MMIO read dispatch: size check, handler, trace. */
  mmioRead(r: BusRegion, offset: number, size: number, source = SOURCE_CPU): number {
    if ((r.sizeMask & size) === 0 || offset + size > r.size) {
      return this.badAccess(r.base + offset, size, false, `size ${size} not allowed in "${r.name}"`, source);
    }
    const v = r.handler!.read(offset, size);
    this.trace.recordNamed(TraceKind.MmioRead, r.base + offset, size, v, source, r.traceNamer >= 0 ? r.traceNamer : this.namerOf(r), offset);
    return v;
  }

  /** The single MMIO write dispatch: size check, trace, handler. */
  mmioWrite(r: BusRegion, offset: number, size: number, value: number, source = SOURCE_CPU): void {
    if ((r.sizeMask & size) === 0 || offset + size > r.size) {
      this.badAccess(r.base + offset, size, true, `size ${size} not allowed in "${r.name}"`, source, value);
      return;
    }
    this.trace.recordNamed(TraceKind.MmioWrite, r.base + offset, size, value, source, r.traceNamer >= 0 ? r.traceNamer : this.namerOf(r), offset);
    r.handler!.write(offset, size, value);
  }

  /** Claim an I/O port range (boards with `ioPorts` only). */
  addPorts(name: string, base: number, count: number, handler: MmioHandler, sizes: readonly AccessSize[] = [1, 2, 4]): BusRegion {
    if (!this.hasPorts) throw new RangeError(`board has no I/O port space (claiming "${name}")`);
    if (base < 0 || base + count > 0x10000) throw new RangeError(`port range ${hex(base)}+${count} outside 0..ffff`);
    const r = new BusRegion(RegionKind.Mmio, name, base, count, handler, null, sizes);
    this.io.add(r, "port range");
    this.changed();
    return r;
  }

  /** `in` instruction: read 1, 2 or 4 bytes from a port. */
  inPort(port: number, size: number, source = SOURCE_CPU): number {
    const r = this.hasPorts ? this.io.find(port) : undefined;
    if (r === undefined || (r.sizeMask & size) === 0 || port + size > r.end) {
      return this.badAccess(port, size, false, this.hasPorts ? (r ? `size ${size} not allowed in "${r.name}"` : "no device at port") : "board has no port space", source, 0, "io");
    }
    const v = r.handler!.read(port - r.base, size);
    this.trace.recordNamed(TraceKind.PioRead, port, size, v, source, r.traceNamer >= 0 ? r.traceNamer : this.namerOf(r), port - r.base);
    return v;
  }

  /** `out` instruction: write 1, 2 or 4 bytes to a port. */
  outPort(port: number, size: number, value: number, source = SOURCE_CPU): void {
    const r = this.hasPorts ? this.io.find(port) : undefined;
    if (r === undefined || (r.sizeMask & size) === 0 || port + size > r.end) {
      this.badAccess(port, size, true, this.hasPorts ? (r ? `size ${size} not allowed in "${r.name}"` : "no device at port") : "board has no port space", source, value, "io");
      return;
    }
    this.trace.recordNamed(TraceKind.PioWrite, port, size, value, source, r.traceNamer >= 0 ? r.traceNamer : this.namerOf(r), port - r.base);
    r.handler!.write(port - r.base, size, value);
  }

  /** Report a bad access: a guest error in the trace returning all ones, or a {@link BusError}. */
  badAccess(addr: number, size: number, write: boolean, reason: string, source = SOURCE_CPU, value = 0, space: "mem" | "io" = "mem"): number {
    if (this.strict) throw new BusError(addr, size, write, reason, space);
    this.guestErrors++;
    this.trace.record(TraceKind.GuestError, addr, size, write ? value : allOnes(size), source, `${space === "io" ? "pio" : "mem"} ${write ? "write" : "read"}: ${reason}`);
    return allOnes(size);
  }

  /** Text listing of the memory map (and port map), one region per line. */
  memoryMap(): string {
    const kind = ["ram", "ram-backed", "mmio"];
    const lines = this.mem.regions.map((r) => `${hex(r.base)}-${hex(r.end - 1)} : ${r.name} (${kind[r.kind]})`);
    if (this.io.regions.length > 0) {
      lines.push("I/O ports:");
      for (const r of this.io.regions) lines.push(`  ${r.base.toString(16).padStart(4, "0")}-${(r.end - 1).toString(16).padStart(4, "0")} : ${r.name}`);
    }
    return lines.join("\n");
  }

  private addMem(r: BusRegion): BusRegion {
    if (r.size <= 0) throw new RangeError(`region "${r.name}" has no size`);
    this.mem.add(r, "region");
    this.changed();
    return r;
  }

  private changed(): void {
    this.generation++;
    for (const fn of this.listeners) fn();
  }
}

/** @internal */
export function readView(v: DataView, off: number, size: number): number {
  switch (size) {
    case 1: return v.getUint8(off);
    case 2: return v.getUint16(off, true);
    case 4: return v.getUint32(off, true);
    default: return v.getUint32(off, true) + v.getUint32(off + 4, true) * 4294967296;
  }
}

/** @internal */
export function writeView(v: DataView, off: number, size: number, value: number): void {
  switch (size) {
    case 1: v.setUint8(off, value); return;
    case 2: v.setUint16(off, value, true); return;
    case 4: v.setUint32(off, value >>> 0, true); return;
    default: {
      const hi = Math.floor(value / 4294967296);
      v.setUint32(off, (value - hi * 4294967296) >>> 0, true);
      v.setUint32(off + 4, hi >>> 0, true);
    }
  }
}

function readLE(b: Uint8Array, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
  return v;
}

function writeLE(b: Uint8Array, off: number, size: number, value: number): void {
  let v = value;
  for (let i = 0; i < size; i++) {
    const q = Math.floor(v / 256);
    b[off + i] = v - q * 256;
    v = q;
  }
}
