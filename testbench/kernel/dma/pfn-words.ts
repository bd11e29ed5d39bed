/**
 * Per-pfn words shared by the DMA detectors' page bookkeeping: a two-level table (pfn >> 10,
 * pfn & 1023) of Int32Arrays with {@link PFN_WORDS} words per pfn, 32 bytes, so that everything
 * the detectors keep about one page (records covering it, watch flags, their counts) lies in one
 * cache line. A 64 MiB mapping touches 16k pages: after the device has streamed the data through
 * the host cache, each separate table would cost a miss per page.
 */

const L2_BITS = 10;
/** Pfns per second-level table. @internal */
export const L2_SIZE = 1 << L2_BITS;
/** Words per pfn. @internal */
export const PFN_WORDS = 8;

/**
 * Word offsets inside a pfn's slot: records holding the page, slot + 1 of the single record,
 * visit stamp (pfn-records.ts); watch flags, then one reference count per flag (cpu-watch.ts).
 * @internal
 */
export const Word = { Records: 0, Solo: 1, Stamp: 2, Flags: 3, Count0: 4 } as const;

/** @internal */
export class PfnWords {
  private readonly dir: (Int32Array | undefined)[] = [];

  /** The table holding `pfn`, or undefined when none was made. */
  table(pfn: number): Int32Array | undefined {
    return this.dir[Math.floor(pfn / L2_SIZE)];
  }

  /** The table holding `pfn`, made on first use. */
  tableFor(pfn: number): Int32Array {
    const hi = Math.floor(pfn / L2_SIZE);
    return (this.dir[hi] ??= new Int32Array(PFN_WORDS * L2_SIZE));
  }

  /** Index of `pfn`'s first word in its table. */
  static at(pfn: number): number {
    return (pfn & (L2_SIZE - 1)) * PFN_WORDS;
  }

  /** Every table made so far. */
  tables(): readonly (Int32Array | undefined)[] {
    return this.dir;
  }
}
