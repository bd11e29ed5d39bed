/**
 * Streaming DMA records by pfn of their CPU buffer, for the detectors' bookkeeping that runs once
 * per page of every mapping (16k pages for a 64 MiB pinned read). Per page the work is a few
 * typed-array operations on one cache line and no allocation: records get small slot numbers
 * (once per record); per pfn a two-level Int32Array keeps three words side by side, the number of
 * records, the slot of a page held by one record, and a generation stamp that visits each page of
 * a record once (instead of a Set). Only a page shared by several records keeps a list (a Map
 * entry).
 */

const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;
const PAGE = 4096;
/** Words per pfn: records, slot + 1 of a page held by one record, visit stamp. */
const W = 3;

/** What the per-page visitors need of a record. @internal */
export interface PfnRecord {
  /** Physical pieces as [pa, len, pa, len, ...]. */
  readonly cpuRanges: readonly number[];
}

/** @internal */
export class PfnRecords<T extends PfnRecord> {
  /** Per pfn (two-level): [records, slot + 1 when exactly one, visit stamp]. */
  private readonly words: (Int32Array | undefined)[] = [];
  /** Records of a pfn held by several records, oldest first. */
  private readonly multi = new Map<number, T[]>();
  /** Per slot: its record, and a frozen one-element list of it (what {@link PfnRecords.get} returns). */
  private readonly items: (T | undefined)[] = [];
  private readonly solos: (readonly T[] | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly slotOf = new Map<T, number>();
  private gen = 0;

  /** Records holding page `pfn` (undefined when none). */
  get(pfn: number): readonly T[] | undefined {
    const w = this.words[Math.floor(pfn / L2_SIZE)];
    if (w === undefined) return undefined;
    const i = (pfn & (L2_SIZE - 1)) * W;
    const n = w[i]!;
    if (n === 0) return undefined;
    if (n === 1) return this.solos[w[i + 1]! - 1];
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
      // forEachPfn created the table.
      const w = this.words[Math.floor(pfn / L2_SIZE)]!;
      const i = (pfn & (L2_SIZE - 1)) * W;
      const n = w[i]!;
      w[i] = n + 1;
      if (n === 0) w[i + 1] = s + 1;
      else if (n === 1) this.multi.set(pfn, [this.items[w[i + 1]! - 1]!, r]);
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
    const w = this.words[Math.floor(pfn / L2_SIZE)];
    if (w === undefined) return;
    const i = (pfn & (L2_SIZE - 1)) * W;
    const n = w[i]!;
    if (n === 0) return;
    if (n === 1) {
      if (w[i + 1] === slot + 1) {
        w[i] = 0;
        w[i + 1] = 0;
      }
      return;
    }
    const list = this.multi.get(pfn)!;
    const k = list.indexOf(r);
    if (k < 0) return;
    list.splice(k, 1);
    w[i] = n - 1;
    if (n === 2) {
      w[i + 1] = this.slotOf.get(list[0]!)! + 1;
      this.multi.delete(pfn);
    }
  }

  /** Call `fn` for each pfn of `r`'s CPU buffer, each once, in first-seen order (tables made on the way). */
  forEachPfn(r: T, fn: (pfn: number) => void): void {
    const c = r.cpuRanges;
    // One piece covers distinct pages; several may share pages (stamped to visit each once).
    const several = c.length > 2;
    let gen = 0;
    if (several) {
      if (this.gen === 0x7fffffff) {
        for (const w of this.words) if (w) for (let i = 2; i < w.length; i += W) w[i] = 0;
        this.gen = 0;
      }
      gen = ++this.gen;
    }
    for (let k = 0; k < c.length; k += 2) {
      const first = Math.floor(c[k]! / PAGE);
      const last = Math.floor((c[k]! + Math.max(c[k + 1]!, 1) - 1) / PAGE);
      for (let p = first; p <= last; p++) {
        const hi = Math.floor(p / L2_SIZE);
        let w = this.words[hi];
        if (w === undefined) w = this.words[hi] = new Int32Array(W * L2_SIZE);
        if (several) {
          const i = (p & (L2_SIZE - 1)) * W + 2;
          if (w[i] === gen) continue;
          w[i] = gen;
        }
        fn(p);
      }
    }
  }
}
