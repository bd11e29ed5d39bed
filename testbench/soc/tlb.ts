/**
 * Set-associative TLB with ASID tags and global entries. Besides the translation, each entry
 * caches the resolved backing of the page (RAM slab view + offset, device memory view, or MMIO
 * region), so a hit goes straight to the bytes. Entries are 4 KiB; huge pages fill one entry per
 * 4 KiB page touched. A stale entry is used until it is flushed, as on hardware.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import type { BusRegion } from "./bus.js";
import { SOURCE_CPU, TraceKind, TraceRing } from "./trace.js";
import { BOARD, TRACE } from "./tokens.js";

/** Entry attribute bits (the `attr` array). @internal */
export const TlbAttr = {
  KernelRead: 0x1,
  KernelWrite: 0x2,
  UserRead: 0x4,
  UserWrite: 0x8,
  KernelExec: 0x10,
  UserExec: 0x20,
  /** Backing kind, bits 8..9 (written as literals so that their types are too). */
  KindShift: 8,
  KindCached: 0x000,
  KindDirect: 0x100,
  KindIo: 0x200,
  KindMask: 0x300,
} as const;

/** Largest ASID (ASIDs are 16-bit; 0xffff tags global entries in the lookup key). @public */
export const MAX_ASID = 0xfffe;
/** Lookup key of an entry: vpn * 2^16 + (global ? 0xffff : asid), exact for |vpn| < 2^36. */
const KEY_SCALE = 65536;
const KEY_GLOBAL = 0xffff;
/**
 * Tag of invalid entries: never equal to a key (keys are integers). Not NaN: storing NaN into a
 * Float64Array costs far more than storing a number in V8.
 */
const NO_KEY = 0.5;
/** The invalid-entry tag of the key arrays (for callers that scan a set themselves). @internal */
export const TLB_NO_KEY = NO_KEY;
// Plain numeric copies for insert (module-level numbers fold; object property loads do not).
const KIND_MASK = TlbAttr.KindMask, KIND_CACHED = TlbAttr.KindCached, KIND_IO = TlbAttr.KindIo;
const A_KR = TlbAttr.KernelRead, A_KW = TlbAttr.KernelWrite, A_UR = TlbAttr.UserRead, A_UW = TlbAttr.UserWrite;

/** A linked hit counter (see {@link Tlb.addHitSource}). @internal */
export interface HitSource {
  count(): number;
  reset(): void;
}

/**
 * The TLB. The entry arrays are public (internal) so the CPU's hit path reads them directly.
 * @public
 */
@injectable()
export class Tlb {
  readonly sets: number;
  readonly ways: number;
  /** Counters [hits, misses, walks, flushes] in a typed array so hot paths bump them cheaply. @internal */
  readonly stats = new Float64Array(4);
  private readonly hitSources: HitSource[] = [];
  /** Lookups that hit (including those counted by linked sources such as the CPU's fast path). */
  get hits(): number {
    let h = this.stats[0]!;
    for (const s of this.hitSources) h += s.count();
    return h;
  }
  /**
   * Link a counter of TLB hits taken outside {@link Tlb.probe} (the CPU's flattened fast path
   * counts its hits once, in the data cache's access clock, to save an increment per access).
   * @internal
   */
  addHitSource(source: HitSource): void {
    this.hitSources.push(source);
  }
  /** Lookups that missed. */
  get misses(): number {
    return this.stats[1]!;
  }
  /** Page-table walks performed to fill entries. */
  get walks(): number {
    return this.stats[2]!;
  }
  /** Flush operations. */
  get flushes(): number {
    return this.stats[3]!;
  }
  /**
   * Bumped by every flush (never reset): the CPU's paging-structure cache is dropped when it
   * changes, as INVLPG and CR3 writes drop x86's. @internal
   */
  epoch = 0;
  /** Reset the counters. */
  resetCounters(): void {
    this.stats.fill(0);
    for (const s of this.hitSources) s.reset();
  }
  /** @internal */ readonly setMask: number;
  /**
   * Lookup key vpn * 2^16 + (global ? 0xffff : asid), NO_KEY (0.5) when invalid: one compare per way, and
   * vpn/ASID are recovered from it for flushes (exact for |vpn| < 2^36). @internal
   */
  readonly key: Float64Array;
  /** {@link TlbAttr} bits. @internal */ readonly attr: Int32Array;
  /**
   * Fast-path keys: per access class [kernel read, kernel write, user read, user write], the
   * entry's key when it maps cached memory with that permission, else NO_KEY. The CPU's hit path
   * compares against the array of its current mode and access, so a match needs no attribute
   * check. Kept in step with `key` by insert and every flush. @internal
   */
  readonly fastKey: readonly Float64Array[];
  private readonly fk0: Float64Array;
  private readonly fk1: Float64Array;
  private readonly fk2: Float64Array;
  private readonly fk3: Float64Array;
  /**
   * I/O keys: the entry's key when it maps an MMIO region (KindIo with a region), else NO_KEY.
   * The CPU's slow path finds device registers with one compare per way and then checks `attr`.
   * @internal
   */
  readonly ioKey: Float64Array;
  /** Physical address of the 4 KiB page. @internal */ readonly pageBase: Float64Array;
  /**
   * Data view of the backing (RAM slab or device memory), null for I/O, and for cached RAM
   * entries whose slab the CPU looks up when it first fills a line. @internal
   */
  readonly view: (DataView | null)[];
  /** Byte offset of the page inside `view`, or of the page inside the MMIO region. @internal */ readonly viewBase: Float64Array;
  /** MMIO region of I/O entries (null: no region, bus error path). @internal */ readonly region: (BusRegion | null)[];
  private readonly victim: Uint8Array;
  /**
   * Per set, with at most 8 ways: byte c has bit w set when way w is invalid or not fast for
   * access class c (see {@link Tlb.fastKey}). With its class's byte clear, every way is valid and
   * fast for the class, so a lookup whose fast keys matched none matches no entry and finds no
   * free way: the CPU's miss path takes the victim without scanning. All ones with more ways.
   * @internal
   */
  readonly slowWays: Int32Array;
  /** {@link Tlb.slowWays} of an empty set. */
  private readonly emptyWays: number;

  constructor(@inject(BOARD) board: BoardConfig, @inject(TRACE) private readonly trace: TraceRing) {
    this.sets = board.tlb.sets;
    this.ways = board.tlb.ways;
    if ((this.sets & (this.sets - 1)) !== 0 || this.sets < 1 || this.ways < 1) throw new RangeError("TLB sets must be a power of two, ways ≥ 1");
    this.setMask = this.sets - 1;
    const n = this.sets * this.ways;
    this.key = new Float64Array(n).fill(NO_KEY);
    this.fk0 = new Float64Array(n).fill(NO_KEY);
    this.fk1 = new Float64Array(n).fill(NO_KEY);
    this.fk2 = new Float64Array(n).fill(NO_KEY);
    this.fk3 = new Float64Array(n).fill(NO_KEY);
    this.fastKey = [this.fk0, this.fk1, this.fk2, this.fk3];
    this.ioKey = new Float64Array(n).fill(NO_KEY);
    this.attr = new Int32Array(n);
    this.pageBase = new Float64Array(n);
    this.viewBase = new Float64Array(n);
    this.view = new Array<DataView | null>(n).fill(null);
    this.region = new Array<BusRegion | null>(n).fill(null);
    this.victim = new Uint8Array(this.sets);
    this.emptyWays = this.ways <= 8 ? ((1 << this.ways) - 1) * 0x01010101 : -1;
    this.slowWays = new Int32Array(this.sets).fill(this.emptyWays);
  }

  /** Index of the entry translating `vpn` for `asid` (or a global one), or -1. Counts a hit or miss. */
  probe(vpn: number, asid: number): number {
    const keys = this.key;
    const k = vpn * KEY_SCALE + asid;
    const kg = vpn * KEY_SCALE + KEY_GLOBAL;
    const start = (vpn & this.setMask) * this.ways;
    const end = start + this.ways;
    for (let i = start; i < end; i++) {
      const t = keys[i];
      if (t === k || t === kg) {
        this.stats[0]++;
        return i;
      }
    }
    this.stats[1]++;
    return -1;
  }

  /**
   * Install an entry with its backing: reuse the entry this translation already has (a
   * permission upgrade), else an invalid way, else the set's round-robin victim. Returns its index.
   * @internal
   */
  insert(vpn: number, asid: number, global: boolean, attr: number, pageBase: number, view: DataView | null, viewBase: number, region: BusRegion | null): number {
    const k = vpn * KEY_SCALE + asid;
    const kg = vpn * KEY_SCALE + KEY_GLOBAL;
    const slot = this.slotFor(vpn, k, kg);
    this.fill(slot, vpn * 4096, global ? KEY_GLOBAL : asid, attr, pageBase, view, viewBase, region);
    return slot;
  }

  /**
   * The way an insert of page `vpn` (keys `k`, `kg`) takes: the entry this translation already
   * has, else an invalid way, else the set's round-robin victim (advanced). @internal
   */
  slotFor(vpn: number, k: number, kg: number): number {
    const keys = this.key;
    const set = vpn & this.setMask;
    const start = set * this.ways;
    const end = start + this.ways;
    let free = -1;
    for (let i = start; i < end; i++) {
      const t = keys[i]!;
      if (t === k || t === kg) return i;
      if (free < 0 && t === NO_KEY) free = i;
    }
    return free >= 0 ? free : this.victimOf(set, start);
  }

  /** Round-robin victim way of `set` (first entry `start`), advancing the pointer. @internal */
  victimOf(set: number, start: number): number {
    const v = this.victim[set]!;
    this.victim[set] = v + 1 === this.ways ? 0 : v + 1;
    return start + v;
  }

  /**
   * Note in {@link Tlb.slowWays} that way `way` of `set` now holds a valid entry, not fast for the
   * access classes c whose bits `1 << 8 * c` are set in `slow` (the CPU's miss path does the same).
   */
  private markWay(set: number, way: number, slow: number): void {
    if (this.ways <= 8) this.slowWays[set] = (this.slowWays[set]! & ~(0x01010101 << way)) | (slow << way);
  }

  /**
   * Write entry `slot` (chosen by {@link Tlb.slotFor} or a caller's own scan) for the page of `va`
   * with ASID tag `tag` (0xffff: global). Takes the caller's `va` rather than vpn or key so that a
   * non-inlined call boxes no new heap numbers. @internal
   */
  fill(slot: number, va: number, tag: number, attr: number, pageBase: number, view: DataView | null, viewBase: number, region: BusRegion | null): void {
    const vpn = Math.floor(va * (1 / 4096));
    const key = vpn * KEY_SCALE + tag;
    this.key[slot] = key;
    this.attr[slot] = attr;
    // An entry is fast for a class when it maps cached memory with that permission.
    let slow = 0x01010101;
    if ((attr & KIND_MASK) === KIND_CACHED) {
      this.fk0[slot] = (attr & A_KR) !== 0 ? key : NO_KEY;
      this.fk1[slot] = (attr & A_KW) !== 0 ? key : NO_KEY;
      this.fk2[slot] = (attr & A_UR) !== 0 ? key : NO_KEY;
      this.fk3[slot] = (attr & A_UW) !== 0 ? key : NO_KEY;
      this.ioKey[slot] = NO_KEY;
      slow = ((attr & A_KR) !== 0 ? 0 : 0x1) | ((attr & A_KW) !== 0 ? 0 : 0x100) | ((attr & A_UR) !== 0 ? 0 : 0x10000) | ((attr & A_UW) !== 0 ? 0 : 0x1000000);
    } else {
      this.fk0[slot] = this.fk1[slot] = this.fk2[slot] = this.fk3[slot] = NO_KEY;
      this.ioKey[slot] = region !== null && (attr & KIND_MASK) === KIND_IO ? key : NO_KEY;
    }
    this.pageBase[slot] = pageBase;
    this.view[slot] = view;
    this.viewBase[slot] = viewBase;
    this.region[slot] = region;
    const set = Math.floor(slot / this.ways);
    this.markWay(set, slot - set * this.ways, slow);
    if (this.trace.tlbEvents) this.trace.record(TraceKind.Tlb, vpn * 4096, 4096, pageBase, SOURCE_CPU, "fill");
  }

  /** Flush every entry (global ones too). */
  flushAll(): void {
    this.key.fill(NO_KEY);
    this.fk0.fill(NO_KEY);
    this.fk1.fill(NO_KEY);
    this.fk2.fill(NO_KEY);
    this.fk3.fill(NO_KEY);
    this.ioKey.fill(NO_KEY);
    this.view.fill(null);
    this.region.fill(null);
    this.slowWays.fill(this.emptyWays);
    this.noteFlush(0, 0, "flush-all");
  }

  /** Flush every non-global entry (a page-table base switch without ASIDs). */
  flushNonGlobal(): void {
    for (let i = 0; i < this.key.length; i++) if (this.tagOf(i) !== KEY_GLOBAL) this.drop(i);
    this.noteFlush(0, 0, "flush-non-global");
  }

  /** Flush the non-global entries of one ASID. Global entries survive. */
  flushAsid(asid: number): void {
    for (let i = 0; i < this.key.length; i++) if (this.tagOf(i) === asid) this.drop(i);
    this.noteFlush(0, asid, "flush-asid");
  }

  /**
   * Flush the entries translating `[va, va+size)` (default one page): for `asid` only (plus
   * global entries), or for every ASID when `asid` is omitted.
   */
  flushRange(va: number, size = 4096, asid?: number): void {
    const first = Math.floor(va / 4096);
    const last = Math.floor((va + Math.max(size, 1) - 1) / 4096);
    const match = (i: number): boolean => {
      const t = this.tagOf(i);
      return asid === undefined || t === asid || t === KEY_GLOBAL;
    };
    if (last - first >= this.key.length) {
      for (let i = 0; i < this.key.length; i++) {
        const v = Math.floor(this.key[i]! / KEY_SCALE);
        if (v >= first && v <= last && match(i)) this.drop(i);
      }
    } else {
      for (let vpn = first; vpn <= last; vpn++) {
        const start = (vpn & this.setMask) * this.ways;
        for (let i = start; i < start + this.ways; i++) {
          if (Math.floor(this.key[i]! / KEY_SCALE) === vpn && match(i)) this.drop(i);
        }
      }
    }
    this.noteFlush(va, asid ?? -1, "flush-range");
  }

  /** Number of valid entries. */
  get validEntries(): number {
    let n = 0;
    for (let i = 0; i < this.key.length; i++) if (this.key[i] !== NO_KEY) n++;
    return n;
  }

  /** ASID tag of entry i (0xffff for global); 0.5 when invalid. */
  private tagOf(i: number): number {
    const k = this.key[i]!;
    return k - Math.floor(k / KEY_SCALE) * KEY_SCALE;
  }

  private drop(i: number): void {
    if (this.ways <= 8) {
      const set = Math.floor(i / this.ways);
      this.slowWays[set] = this.slowWays[set]! | (0x01010101 << (i - set * this.ways));
    }
    this.key[i] = NO_KEY;
    this.fk0[i] = this.fk1[i] = this.fk2[i] = this.fk3[i] = this.ioKey[i] = NO_KEY;
    this.view[i] = null;
    this.region[i] = null;
  }

  private noteFlush(addr: number, asid: number, what: string): void {
    this.stats[3]++;
    this.epoch++;
    if (this.trace.tlbEvents) this.trace.record(TraceKind.Tlb, addr, 0, asid, SOURCE_CPU, what);
  }
}
