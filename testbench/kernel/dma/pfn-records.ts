/**
 * Streaming DMA records by pfn of their CPU buffer, for the detectors' bookkeeping that runs once
 * per page of every mapping (16k pages for a 64 MiB pinned read). Per page the work is a few
 * typed-array operations on one cache line and no allocation: records get small slot numbers
 * (once per record); a pfn's words in the detectors' shared table (pfn-words.ts) hold the number
 * of records, the slot of a page held by one record, and a generation stamp that visits each page
 * of a small record once (instead of a Set; a large one is deduplicated through a bitmap over its
 * span). Only a page shared by several records keeps a list (a Map entry).
 */

import { PFN_WORDS, PfnWords, Word } from "./pfn-words.js";

const PAGE = 4096;

/** First pfn of piece `k` (at `c[k]`, length `c[k + 1]`) of a record's CPU ranges. */
function firstPfn(c: readonly number[], k: number): number {
  return Math.floor(c[k]! / PAGE);
}

/** Last pfn of piece `k` (a zero length counts its first page). */
function lastPfn(c: readonly number[], k: number): number {
  return Math.floor((c[k]! + Math.max(c[k + 1]!, 1) - 1) / PAGE);
}

/** What the per-page visitors need of a record. @internal */
export interface PfnRecord {
  /** Physical pieces as [pa, len, pa, len, ...]. */
  readonly cpuRanges: readonly number[];
}

/** @internal */
export class PfnRecords<T extends PfnRecord> {
  constructor(private readonly words: PfnWords = new PfnWords()) {}
  /** Records of a pfn held by several records, oldest first. */
  private readonly multi = new Map<number, T[]>();
  /** Per slot: its record, and a frozen one-element list of it (what {@link PfnRecords.get} returns). */
  private readonly items: (T | undefined)[] = [];
  private readonly solos: (readonly T[] | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly slotOf = new Map<T, number>();
  private gen = 0;
  /** The pfns {@link PfnRecords.collect} found (reused, grown on demand). */
  private pfns = new Float64Array(64);
  /** Page bitmap of {@link PfnRecords.collect} (reused, grown on demand). */
  private bits = new Int32Array(64);

  /** Records holding page `pfn` (undefined when none). */
  get(pfn: number): readonly T[] | undefined {
    const w = this.words.table(pfn);
    if (w === undefined) return undefined;
    const i = PfnWords.at(pfn);
    const n = w[i + Word.Records]!;
    if (n === 0) return undefined;
    if (n === 1) return this.solos[w[i + Word.Solo]! - 1];
    return this.multi.get(pfn);
  }

  /** Index every page of `r`, calling `each(pfn)` per page (each once). */
  add(r: T, each: (pfn: number) => void): void {
    let slot = this.slotOf.get(r);
    if (slot === undefined) {
      slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.items.length;
      this.items[slot] = r;
      this.solos[slot] = Object.freeze([r]);
      this.slotOf.set(r, slot);
    }
    // Plain loops over the collected pfns: a closure per call would make every per-page call
    // site polymorphic.
    const count = this.collect(r);
    const pfns = this.pfns;
    for (let k = 0; k < count; k++) {
      const pfn = pfns[k]!;
      const w = this.words.table(pfn)!;
      const i = PfnWords.at(pfn);
      const n = w[i + Word.Records]!;
      w[i + Word.Records] = n + 1;
      if (n === 0) w[i + Word.Solo] = slot + 1;
      else if (n === 1) this.multi.set(pfn, [this.items[w[i + Word.Solo]! - 1]!, r]);
      else this.multi.get(pfn)!.push(r);
      each(pfn);
    }
  }

  /** Drop every page of `r`, calling `each(pfn)` per page (each once). */
  remove(r: T, each: (pfn: number) => void): void {
    const slot = this.slotOf.get(r);
    const count = this.collect(r);
    const pfns = this.pfns;
    for (let k = 0; k < count; k++) {
      if (slot !== undefined) this.drop(pfns[k]!, r, slot);
      each(pfns[k]!);
    }
    if (slot !== undefined) {
      this.slotOf.delete(r);
      this.items[slot] = undefined;
      this.solos[slot] = undefined;
      this.freeSlots.push(slot);
    }
  }

  private drop(pfn: number, r: T, slot: number): void {
    const w = this.words.table(pfn);
    if (w === undefined) return;
    const i = PfnWords.at(pfn);
    const n = w[i + Word.Records]!;
    if (n === 0) return;
    if (n === 1) {
      if (w[i + Word.Solo] === slot + 1) {
        w[i + Word.Records] = 0;
        w[i + Word.Solo] = 0;
      }
      return;
    }
    const list = this.multi.get(pfn)!;
    const k = list.indexOf(r);
    if (k < 0) return;
    list.splice(k, 1);
    w[i + Word.Records] = n - 1;
    if (n === 2) {
      w[i + Word.Solo] = this.slotOf.get(list[0]!)! + 1;
      this.multi.delete(pfn);
    }
  }

  /** Call `fn` for each pfn of `r`'s CPU buffer, each once. */
  forEachPfn(r: T, fn: (pfn: number) => void): void {
    const count = this.collect(r);
    const pfns = this.pfns;
    for (let k = 0; k < count; k++) fn(pfns[k]!);
  }

  /**
   * The distinct pfns of `r`'s CPU buffer into {@link PfnRecords.pfns}, their tables made on the
   * way; returns how many. The callers' callbacks never collect again while they run, so the
   * buffer is shared.
   */
  private collect(r: T): number {
    const c = r.cpuRanges;
    // The span of the pages: when it is not much larger than their number, a bitmap over it
    // dedups them and yields them in ascending order, so the passes over them walk the per-pfn
    // words sequentially (the host prefetches those; in first-seen order each page of a 64 MiB
    // mapping costs a cache miss once the device has streamed the data through the cache).
    let lo = Infinity;
    let hi = -Infinity;
    let pages = 0;
    for (let k = 0; k < c.length; k += 2) {
      const first = firstPfn(c, k);
      const last = lastPfn(c, k);
      if (first < lo) lo = first;
      if (last > hi) hi = last;
      pages += last - first + 1;
    }
    if (pages > 64 && hi - lo < 64 * pages && lo >= 0 && hi < 2 ** 52) return this.collectSorted(c, lo, hi);
    return this.collectStamped(c);
  }

  /** {@link PfnRecords.collect} through a bitmap of `[lo, hi]`: ascending. */
  private collectSorted(c: readonly number[], lo: number, hi: number): number {
    const words = Math.floor((hi - lo) / 32) + 1;
    if (this.bits.length < words) this.bits = new Int32Array(Math.max(words, 2 * this.bits.length));
    const bits = this.bits;
    bits.fill(0, 0, words);
    for (let k = 0; k < c.length; k += 2) {
      const first = firstPfn(c, k) - lo;
      const last = lastPfn(c, k) - lo;
      for (let p = first; p <= last; p++) bits[p >> 5] |= 1 << (p & 31);
    }
    let count = 0;
    for (let w = 0; w < words; w++) {
      let v = bits[w]!;
      while (v !== 0) {
        const b = 31 - Math.clz32(v & -v);
        v &= v - 1;
        const p = lo + w * 32 + b;
        if (count === this.pfns.length) this.growPfns();
        this.pfns[count++] = p;
        this.words.tableFor(p);
      }
    }
    return count;
  }

  /** {@link PfnRecords.collect} in first-seen order, stamping each page's words to visit it once. */
  private collectStamped(c: readonly number[]): number {
    // One piece covers distinct pages; several may share pages (stamped to visit each once).
    const several = c.length > 2;
    let gen = 0;
    if (several) {
      if (this.gen === 0x7fffffff) {
        for (const w of this.words.tables()) if (w) for (let i = Word.Stamp; i < w.length; i += PFN_WORDS) w[i] = 0;
        this.gen = 0;
      }
      gen = ++this.gen;
    }
    let count = 0;
    for (let k = 0; k < c.length; k += 2) {
      const first = firstPfn(c, k);
      const last = lastPfn(c, k);
      for (let p = first; p <= last; p++) {
        const w = this.words.tableFor(p);
        if (several) {
          const i = PfnWords.at(p) + Word.Stamp;
          if (w[i] === gen) continue;
          w[i] = gen;
        }
        if (count === this.pfns.length) this.growPfns();
        this.pfns[count++] = p;
      }
    }
    return count;
  }

  private growPfns(): void {
    const grown = new Float64Array(2 * this.pfns.length);
    grown.set(this.pfns);
    this.pfns = grown;
  }
}
