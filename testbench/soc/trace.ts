/**
 * Trace ring: a fixed-capacity ring of bus-level records kept in typed arrays (plus a side array
 * for optional register names), so an append costs a handful of stores and no allocation.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { Clock } from "./clock.js";
import { BOARD, CLOCK } from "./tokens.js";

/** Kinds of trace records. @public */
export const TraceKind = {
  MmioRead: 1,
  MmioWrite: 2,
  DmaRead: 3,
  DmaWrite: 4,
  Irq: 5,
  Fault: 6,
  GuestError: 7,
  Tlb: 8,
  Cache: 9,
  PioRead: 10,
  PioWrite: 11,
  IommuFault: 12,
  Msi: 13,
} as const;
/** A trace record kind. @public */
export type TraceKind = (typeof TraceKind)[keyof typeof TraceKind];

const kindNames: Record<number, string> = {
  1: "mmio-read", 2: "mmio-write", 3: "dma-read", 4: "dma-write", 5: "irq", 6: "fault",
  7: "guest-error", 8: "tlb", 9: "cache", 10: "pio-read", 11: "pio-write", 12: "iommu-fault", 13: "msi",
};

/** Name of a trace kind (`"mmio-read"`, ...). @public */
export function traceKindName(kind: number): string {
  return kindNames[kind] ?? `kind-${kind}`;
}

/** A trace record as returned by {@link TraceRing.snapshot}. @public */
export interface TraceRecord {
  /** Sequence number since boot (0-based). */
  readonly seq: number;
  /** Simulated time in ns. */
  readonly time: number;
  readonly kind: TraceKind;
  readonly addr: number;
  readonly size: number;
  readonly value: number;
  /** Requester id of a device, -1 for the CPU. */
  readonly source: number;
  /** Register name or a short note. */
  readonly name?: string | undefined;
}

/** Something that names the registers of a region by offset (an MMIO handler). @internal */
export interface RegisterNamer {
  registerName?(offset: number): string | undefined;
}

/** Source id of CPU-initiated records. @public */
export const SOURCE_CPU = -1;

/**
 * The trace ring. Records TLB and cache events only when {@link TraceRing.tlbEvents} /
 * {@link TraceRing.cacheEvents} are set.
 * @public
 */
@injectable()
export class TraceRing {
  /** Record TLB fills and flushes. */
  tlbEvents = false;
  /** Record cache fills, write-backs and maintenance. */
  cacheEvents = false;
  /** Records appended since boot (may exceed capacity). */
  count = 0;
  readonly capacity: number;
  private readonly mask: number;
  /**
   * Records as two strided columns (four slots each), so an append touches two small contiguous
   * runs: `num` holds time, addr, value, name offset; `int` holds kind, size, source, namer id.
   */
  private readonly num: Float64Array;
  private readonly int: Int32Array;
  private readonly names: (string | undefined)[];
  /**
   * Register names are resolved when read: per record a namer id (0: none, then `names` holds an
   * optional literal name) and the offset to name, so the MMIO hot path stores two numbers.
   */
  private readonly namers: RegisterNamer[] = [{}];

  constructor(@inject(BOARD) board: BoardConfig, @inject(CLOCK) private readonly clock: Clock) {
    let cap = 1;
    while (cap < Math.max(1, board.traceCapacity)) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.num = new Float64Array(cap * 4);
    this.int = new Int32Array(cap * 4);
    this.names = [];
  }

  /** Id under which records name their register through `namer` (0 when it names none). @internal */
  namerId(namer: RegisterNamer): number {
    if (typeof namer.registerName !== "function") return 0;
    this.namers.push(namer);
    return this.namers.length - 1;
  }

  /**
   * Append a record whose name is `namers[namerId].registerName(offset)`, resolved only when the
   * trace is read (names are fixed per namer and offset). @internal
   */
  recordNamed(kind: TraceKind, addr: number, size: number, value: number, source: number, namerId: number, offset: number): void {
    const i = this.count & this.mask;
    this.count++;
    const j = i << 2;
    const num = this.num;
    const int = this.int;
    num[j] = this.clock.now;
    num[j + 1] = addr;
    num[j + 2] = value;
    num[j + 3] = offset;
    int[j] = kind;
    int[j + 1] = size;
    int[j + 2] = source;
    int[j + 3] = namerId; // a nonzero id: names[i] is not read, so it need not be cleared
  }

  /** Append one record at the current simulated time. */
  record(kind: TraceKind, addr: number, size: number, value: number, source: number, name?: string): void {
    const i = this.count & this.mask;
    this.count++;
    const j = i << 2;
    const num = this.num;
    const int = this.int;
    num[j] = this.clock.now;
    num[j + 1] = addr;
    num[j + 2] = value;
    int[j] = kind;
    int[j + 1] = size;
    int[j + 2] = source;
    int[j + 3] = 0;
    if (name !== undefined || this.names.length > i) this.names[i] = name;
  }

  /** Number of records currently held. */
  get length(): number {
    return this.count < this.capacity ? this.count : this.capacity;
  }

  /** Forget every record (the sequence counter restarts). */
  clear(): void {
    this.count = 0;
    this.names.length = 0;
  }

  /** Iterate the held records, oldest first. */
  *[Symbol.iterator](): IterableIterator<TraceRecord> {
    const first = this.count - this.length;
    for (let seq = first; seq < this.count; seq++) yield this.at(seq);
  }

  /** The held records, oldest first (optionally only one kind). */
  snapshot(kind?: TraceKind): TraceRecord[] {
    const out: TraceRecord[] = [];
    for (const r of this) if (kind === undefined || r.kind === kind) out.push(r);
    return out;
  }

  /**
   * Deterministic FNV-1a (32-bit) hash over every field of the held records, as hex. Two runs
   * with the same seed and workload produce the same hash.
   */
  hash(): string {
    let h = 0x811c9dc5;
    const mix = (v: number): void => {
      // Hash a double exactly: its two 32-bit halves (numbers here are integers below 2^53, or negative).
      const hi = Math.floor(v / 4294967296);
      const lo = v - hi * 4294967296;
      h = Math.imul(h ^ (lo >>> 0), 0x01000193);
      h = Math.imul(h ^ (hi | 0), 0x01000193);
    };
    const first = this.count - this.length;
    for (let seq = first; seq < this.count; seq++) {
      const i = seq & this.mask;
      const j = i << 2;
      mix(this.num[j]!); mix(this.int[j]!); mix(this.num[j + 1]!); mix(this.int[j + 1]!);
      mix(this.num[j + 2]!); mix(this.int[j + 2]!);
      const n = this.nameOf(i);
      if (n !== undefined) for (let k = 0; k < n.length; k++) h = Math.imul(h ^ n.charCodeAt(k), 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, "0");
  }

  private at(seq: number): TraceRecord {
    const i = seq & this.mask;
    const j = i << 2;
    const num = this.num;
    const int = this.int;
    return {
      seq, time: num[j]!, kind: int[j] as TraceKind, addr: num[j + 1]!, size: int[j + 1]!,
      value: num[j + 2]!, source: int[j + 2]!, name: this.nameOf(i),
    };
  }

  private nameOf(i: number): string | undefined {
    const id = this.int[(i << 2) + 3]!;
    return id === 0 ? this.names[i] : this.namers[id]!.registerName!(this.num[(i << 2) + 3]!);
  }
}
