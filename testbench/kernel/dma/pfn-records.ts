/**
 * Streaming DMA records by pfn of their CPU buffer, for the detectors' bookkeeping that runs once
 * per page of every mapping (16k pages for a 64 MiB pinned read). Per page the work is a few
 * typed-array operations and no allocation: records get small slot numbers (once per record),
 * a page held by one record stores its slot in a two-level Int32Array table, and only a page
 * shared by several records keeps a list (a Map entry). Pages of a record are visited each once
 * through a generation-stamped typed table instead of a Set.
 */

const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;
const PAGE = 4096;

/** What the per-page visitors need of a record. @internal */
export interface PfnRecord {
  /** Physical pieces as [pa, len, pa, len, ...]. */
  readonly cpuRanges: readonly number[];
}

/** @internal */
export class PfnRecords<T extends PfnRecord> {
  /** Records holding pages of this pfn, by pfn (two-level). */
  private readonly counts: (Int32Array | undefined)[] = [];
  /** Slot + 1 of the record of a pfn held by exactly one record. */
  private readonly one: (Int32Array | undefined)[] = [];
  /** Records of a pfn held by several records, oldest first. */
  private readonly multi = new Map<number, T[]>();
  /** Per slot: its record, and a frozen one-element list of it (what {@link PfnRecords.get} returns). */
  private readonly items: (T | undefined)[] = [];
  private readonly solos: (readonly T[] | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly slotOf = new Map<T, number>();
  /** Generation stamps per pfn for visiting each page of a record once. */
  private readonly stamps: (Int32Array | undefined)[] = [];
  private gen = 0;

  /** Records holding page `pfn` (undefined when none). */
  get(pfn: number): readonly T[] | undefined {
    const hi = Math.floor(pfn / L2_SIZE);
    const c = this.counts[hi];
    if (c === undefined) return undefined;
    const n = c[pfn & (L2_SIZE - 1)]!;
    if (n === 0) return undefined;
    if (n === 1) return this.solos[this.one[hi]![pfn & (L2_SIZE - 1)]! - 1];
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
    const s = slot;
    this.forEachPfn(r, (pfn) => {
      const hi = Math.floor(pfn / L2_SIZE);
      let c = this.counts[hi];
      let one = this.one[hi];
      if (c === undefined || one === undefined) {
        c = this.counts[hi] = new Int32Array(L2_SIZE);
        one = this.one[hi] = new Int32Array(L2_SIZE);
      }
      const i = pfn & (L2_SIZE - 1);
      const n = c[i]!;
      c[i] = n + 1;
      if (n === 0) one[i] = s + 1;
      else if (n === 1) this.multi.set(pfn, [this.items[one[i]! - 1]!, r]);
      else this.multi.get(pfn)!.push(r);
      each(pfn);
    });
  }

  /** Drop every page of `r`, calling `each(pfn)` per page (each once). */
  remove(r: T, each: (pfn: number) => void): void {
    const slot = this.slotOf.get(r);
    this.forEachPfn(r, (pfn) => {
      if (slot !== undefined) this.drop(pfn, r, slot);
      each(pfn);
    });
    if (slot !== undefined) {
      this.slotOf.delete(r);
      this.items[slot] = undefined;
      this.solos[slot] = undefined;
      this.freeSlots.push(slot);
    }
  }

  private drop(pfn: number, r: T, slot: number): void {
    const hi = Math.floor(pfn / L2_SIZE);
    const c = this.counts[hi];
    const one = this.one[hi];
    if (c === undefined || one === undefined) return;
    const i = pfn & (L2_SIZE - 1);
    const n = c[i]!;
    if (n === 0) return;
    if (n === 1) {
      if (one[i] === slot + 1) {
        c[i] = 0;
        one[i] = 0;
      }
      return;
    }
    const list = this.multi.get(pfn)!;
    const k = list.indexOf(r);
    if (k < 0) return;
    list.splice(k, 1);
    c[i] = n - 1;
    if (n === 2) {
      one[i] = this.slotOf.get(list[0]!)! + 1;
      this.multi.delete(pfn);
    }
  }

  /** Call `fn` for each pfn of `r`'s CPU buffer, each once, in first-seen order. */
  forEachPfn(r: T, fn: (pfn: number) => void): void {
    const c = r.cpuRanges;
    // One piece covers distinct pages; several may share pages (stamped to visit each once).
    const several = c.length > 2;
    let gen = 0;
    if (several) {
      if (this.gen === 0x7fffffff) {
        for (const t of this.stamps) t?.fill(0);
        this.gen = 0;
      }
      gen = ++this.gen;
    }
    for (let k = 0; k < c.length; k += 2) {
      const first = Math.floor(c[k]! / PAGE);
      const last = Math.floor((c[k]! + Math.max(c[k + 1]!, 1) - 1) / PAGE);
      for (let p = first; p <= last; p++) {
        if (several) {
          const hi = Math.floor(p / L2_SIZE);
          let t = this.stamps[hi];
          if (t === undefined) t = this.stamps[hi] = new Int32Array(L2_SIZE);
          const i = p & (L2_SIZE - 1);
          if (t[i] === gen) continue;
          t[i] = gen;
        }
        fn(p);
      }
    }
  }
}
