/**
 * CPU data cache: set-associative, write-back, write-allocate, LRU. It holds its own copy of
 * each line, so a dirty line differs from RAM until it is written back, and a device write to
 * RAM on a non-coherent board leaves a stale line until it is invalidated. Lines are tagged by
 * physical line number (pa / lineSize); each line remembers its backing bytes for write-back.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { SOURCE_CPU, TraceKind, TraceRing } from "./trace.js";
import { BOARD, TRACE } from "./tokens.js";

/**
 * Tag of invalid lines: never a line number (those are integers ≥ 0) and outside every range
 * scan. Not NaN: storing NaN into a Float64Array is slow in V8.
 * @internal
 */
export const NO_LINE = -0.5;

/** Buckets of the per-page valid-line summary (a power of two; collisions only cost a probe). */
const PAGE_BUCKETS = 4096;
const SUMMARY_PAGE = 4096;

/**
 * The data cache. Tag/data arrays are public (internal) so the CPU's hit path reads them directly.
 * @public
 */
@injectable()
export class DataCache {
  readonly sets: number;
  readonly ways: number;
  readonly lineSize: number;
  /** log2(lineSize). @internal */ readonly lineShift: number;
  /** @internal */ readonly setMask: number;
  /**
   * Counters [accesses, misses, writebacks, accesses made through find/fill] in a typed array so
   * hot paths bump them cheaply. The access count doubles as the LRU clock (a line's stamp is
   * the access number that last used it); accesses minus find/fill ones are the CPU fast path's.
   * @internal
   */
  readonly stats = new Float64Array(4);
  /** Accesses that found their line. */
  get hits(): number {
    return this.stats[0]! - this.base[0]! - this.misses;
  }
  /** Line fills (every miss allocates: write-allocate). */
  get misses(): number {
    return this.stats[1]! - this.base[1]!;
  }
  /** Dirty lines written back to memory (evictions and cleans). */
  get writebacks(): number {
    return this.stats[2]! - this.base[2]!;
  }
  /** Reset the counters (the LRU clock keeps running). */
  resetCounters(): void {
    this.base[0] = this.stats[0]!;
    this.base[1] = this.stats[1]!;
    this.base[2] = this.stats[2]!;
    this.base[3] = this.stats[3]!;
  }
  private readonly base = new Float64Array(4);
  /** Accesses made by the CPU fast path (not through find/fill), since boot. @internal */
  fastAccesses(): number {
    return this.stats[0]! - this.stats[3]!;
  }
  /** Line tags: physical line number, {@link NO_LINE} when invalid. @internal */ readonly tag: Float64Array;
  /** @internal */ readonly dirty: Uint8Array;
  /** LRU stamps. @internal */ readonly stamp: Float64Array;
  /** Line data, line i at byte i * lineSize. @internal */ readonly data: Uint8Array;
  /** @internal */ readonly dataView: DataView;
  private readonly backView: (DataView | null)[];
  private readonly backOff: Float64Array;
  /**
   * Valid lines per physical page, hashed into `PAGE_BUCKETS` buckets: a device access to a
   * page whose bucket is 0 holds no cached line, so snooping skips it without probing the sets.
   */
  private readonly pageLines = new Int32Array(PAGE_BUCKETS);
  /** Lines per 4 KiB page (at least 1). */
  private readonly linesPerPage: number;
  /** Lines {@link DataCache.linesIn} found (at most every line of the cache). */
  private readonly found: Int32Array;

  constructor(@inject(BOARD) board: BoardConfig, @inject(TRACE) private readonly trace: TraceRing) {
    const g = board.dcache;
    this.sets = g.sets;
    this.ways = g.ways;
    this.lineSize = g.lineSize;
    if ((g.sets & (g.sets - 1)) !== 0 || (g.lineSize & (g.lineSize - 1)) !== 0 || g.lineSize < 8 || g.lineSize > 4096 || g.ways < 1) {
      throw new RangeError("dcache: sets and lineSize must be powers of two (8 ≤ lineSize ≤ 4096), ways ≥ 1");
    }
    this.lineShift = Math.log2(g.lineSize);
    this.setMask = g.sets - 1;
    const n = g.sets * g.ways;
    this.tag = new Float64Array(n).fill(NO_LINE);
    this.dirty = new Uint8Array(n);
    this.stamp = new Float64Array(n);
    this.data = new Uint8Array(n * g.lineSize);
    this.dataView = new DataView(this.data.buffer);
    this.backView = new Array<DataView | null>(n).fill(null);
    this.backOff = new Float64Array(n);
    this.linesPerPage = Math.max(1, SUMMARY_PAGE / g.lineSize);
    this.found = new Int32Array(n);
  }

  /** Summary bucket of the page holding physical line `line`. */
  private bucketOf(line: number): number {
    return Math.floor(line / this.linesPerPage) & (PAGE_BUCKETS - 1);
  }

  /** Index of the line holding physical line number `line`, or -1 (counts a hit and updates LRU; misses are counted by fill). */
  find(line: number): number {
    const tags = this.tag;
    const start = (line & this.setMask) * this.ways;
    const end = start + this.ways;
    for (let i = start; i < end; i++) {
      if (tags[i] === line) {
        this.stats[3]++;
        this.stamp[i] = ++this.stats[0]!;
        return i;
      }
    }
    return -1;
  }

  /** Index of the line without touching counters or LRU, or -1. */
  peek(line: number): number {
    const start = (line & this.setMask) * this.ways;
    for (let i = start; i < start + this.ways; i++) if (this.tag[i] === line) return i;
    return -1;
  }

  /**
   * Allocate a line for `line` whose bytes live at `view[offset...]`, evicting the LRU way
   * (written back if dirty). With `load`, the line is filled from memory. Returns its index.
   * @internal
   */
  fill(line: number, view: DataView, offset: number, load: boolean): number {
    const start = (line & this.setMask) * this.ways;
    let v = start;
    for (let i = start; i < start + this.ways; i++) {
      if (this.tag[i] === NO_LINE) {
        v = i;
        break;
      }
      if (this.stamp[i]! < this.stamp[v]!) v = i;
    }
    this.stats[1]++;
    if (this.tag[v] !== NO_LINE) {
      if (this.dirty[v] !== 0) this.writeBack(v);
      this.pageLines[this.bucketOf(this.tag[v]!)]--;
    }
    this.pageLines[this.bucketOf(line)]++;
    this.tag[v] = line;
    this.dirty[v] = 0;
    this.stats[3]++;
    this.stamp[v] = ++this.stats[0]!;
    this.backView[v] = view;
    this.backOff[v] = offset;
    if (load) {
      const d = this.dataView;
      const at = v * this.lineSize;
      for (let k = 0; k < this.lineSize; k += 4) d.setUint32(at + k, view.getUint32(offset + k, true), true);
    }
    if (this.trace.cacheEvents) this.trace.record(TraceKind.Cache, line * this.lineSize, this.lineSize, load ? 1 : 0, SOURCE_CPU, "fill");
    return v;
  }

  /** Write back every dirty line in `[pa, pa+len)` (DMA to device: `dma_sync_*_for_device`). */
  clean(pa: number, len: number): void {
    this.forRange(pa, len, (i) => {
      if (this.dirty[i] !== 0) this.writeBack(i);
    });
    this.note(pa, len, "clean");
  }

  /** Drop every line in `[pa, pa+len)` without writing back (dirty data is lost, as on hardware). */
  invalidate(pa: number, len: number): void {
    this.forRange(pa, len, (i) => this.drop(i));
    this.note(pa, len, "invalidate");
  }

  /** Write back then drop every line in `[pa, pa+len)`. */
  cleanInvalidate(pa: number, len: number): void {
    this.forRange(pa, len, (i) => {
      if (this.dirty[i] !== 0) this.writeBack(i);
      this.drop(i);
    });
    this.note(pa, len, "clean-invalidate");
  }

  /** Write back and drop everything. */
  flushAll(): void {
    for (let i = 0; i < this.tag.length; i++) {
      if (this.tag[i] !== NO_LINE) {
        if (this.dirty[i] !== 0) this.writeBack(i);
        this.drop(i);
      }
    }
    this.note(0, 0, "flush-all");
  }

  /** Number of dirty lines overlapping `[pa, pa+len)`. */
  dirtyLines(pa: number, len: number): number {
    let n = 0;
    this.forRange(pa, len, (i) => {
      if (this.dirty[i] !== 0) n++;
    });
    return n;
  }

  /** Number of valid lines. */
  get validLines(): number {
    let n = 0;
    for (let i = 0; i < this.tag.length; i++) if (this.tag[i] !== NO_LINE) n++;
    return n;
  }

  /** Coherent device read: overlay dirty cached bytes of `[pa, pa+dst.length)` onto `dst`. @internal */
  snoopRead(pa: number, dst: Uint8Array): void {
    if (!this.mayHold(pa, dst.length)) return;
    const ls = this.lineSize;
    const n = this.linesIn(pa, dst.length);
    const found = this.found;
    for (let k = 0; k < n; k++) {
      const i = found[k]!;
      if (this.dirty[i] === 0) continue;
      const lineBase = this.tag[i]! * ls;
      const from = Math.max(lineBase, pa), to = Math.min(lineBase + ls, pa + dst.length);
      const src = i * ls + (from - lineBase);
      dst.set(this.data.subarray(src, src + (to - from)), from - pa);
    }
  }

  /** Coherent device write: update cached copies of `[pa, pa+src.length)` (dirty state kept). @internal */
  snoopWrite(pa: number, src: Uint8Array): void {
    if (!this.mayHold(pa, src.length)) return;
    const ls = this.lineSize;
    const n = this.linesIn(pa, src.length);
    const found = this.found;
    for (let k = 0; k < n; k++) {
      const i = found[k]!;
      const lineBase = this.tag[i]! * ls;
      const from = Math.max(lineBase, pa), to = Math.min(lineBase + ls, pa + src.length);
      this.data.set(src.subarray(from - pa, to - pa), i * ls + (from - lineBase));
    }
  }

  /**
   * The valid lines overlapping `[pa, pa+len)` into {@link DataCache.found}, as
   * {@link DataCache.forRange} visits them; returns how many. Snoops loop over the result: a
   * closure per snoop made the visitor's call site polymorphic.
   */
  private linesIn(pa: number, len: number): number {
    let n = 0;
    const found = this.found;
    if (len <= 0) return 0;
    const first = Math.floor(pa / this.lineSize);
    const last = Math.floor((pa + len - 1) / this.lineSize);
    if (last - first + 1 > this.tag.length) {
      for (let i = 0; i < this.tag.length; i++) {
        const t = this.tag[i]!;
        if (t >= first && t <= last) found[n++] = i;
      }
      return n;
    }
    const lpp = this.linesPerPage;
    for (let line = first; line <= last; ) {
      const pageEnd = Math.min(last, (Math.floor(line / lpp) + 1) * lpp - 1);
      if (this.pageLines[this.bucketOf(line)] !== 0) {
        for (let l = line; l <= pageEnd; l++) {
          const i = this.peek(l);
          if (i >= 0) found[n++] = i;
        }
      }
      line = pageEnd + 1;
    }
    return n;
  }

  private writeBack(i: number): void {
    const view = this.backView[i]!;
    const off = this.backOff[i]!;
    const d = this.dataView;
    const at = i * this.lineSize;
    for (let k = 0; k < this.lineSize; k += 4) view.setUint32(off + k, d.getUint32(at + k, true), true);
    this.dirty[i] = 0;
    this.stats[2]++;
    if (this.trace.cacheEvents) this.trace.record(TraceKind.Cache, this.tag[i]! * this.lineSize, this.lineSize, 0, SOURCE_CPU, "writeback");
  }

  private drop(i: number): void {
    if (this.tag[i] !== NO_LINE) this.pageLines[this.bucketOf(this.tag[i]!)]--;
    this.tag[i] = NO_LINE;
    this.dirty[i] = 0;
    this.backView[i] = null;
  }

  /** Visit the valid lines overlapping `[pa, pa+len)`. */
  private forRange(pa: number, len: number, fn: (i: number) => void): void {
    if (len <= 0) return;
    const first = Math.floor(pa / this.lineSize);
    const last = Math.floor((pa + len - 1) / this.lineSize);
    if (last - first + 1 > this.tag.length) {
      for (let i = 0; i < this.tag.length; i++) {
        const t = this.tag[i]!;
        if (t >= first && t <= last) fn(i);
      }
      return;
    }
    // Line by line, skipping whole pages that hold no cached line.
    const lpp = this.linesPerPage;
    for (let line = first; line <= last; ) {
      const pageEnd = Math.min(last, (Math.floor(line / lpp) + 1) * lpp - 1);
      if (this.pageLines[this.bucketOf(line)] !== 0) {
        for (let l = line; l <= pageEnd; l++) {
          const i = this.peek(l);
          if (i >= 0) fn(i);
        }
      }
      line = pageEnd + 1;
    }
  }

  /**
   * False when no line of `[pa, pa+len)` can be cached (every page's summary bucket is empty);
   * true otherwise, and for long ranges (not worth the test).
   */
  private mayHold(pa: number, len: number): boolean {
    if (len <= 0) return false;
    const lpp = this.linesPerPage;
    const first = Math.floor(Math.floor(pa / this.lineSize) / lpp);
    const last = Math.floor(Math.floor((pa + len - 1) / this.lineSize) / lpp);
    if (last - first >= 16) return true;
    for (let p = first; p <= last; p++) if (this.pageLines[p & (PAGE_BUCKETS - 1)] !== 0) return true;
    return false;
  }

  private note(pa: number, len: number, what: string): void {
    if (this.trace.cacheEvents) this.trace.record(TraceKind.Cache, pa, len, 0, SOURCE_CPU, what);
  }
}
