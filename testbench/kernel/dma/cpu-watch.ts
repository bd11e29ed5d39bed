/**
 * Per-pfn watch flags the kernel's memory path consults before a CPU access (detectors 3, 4 and
 * 8): a page holding a streaming buffer the device owns, a page with cache lines a device wrote
 * behind, or a coherent DMA page whose stores are buffered (weak ordering). The check on the hot
 * path is one typed-array read behind {@link DmaCpuWatch.active}; the exact byte-range checks run
 * only for flagged pages.
 *
 * Hook for the memory subsystem's `k.mem` path (reads and writes, before the access happens):
 * `if (watch.active && watch.flagsOf(pa / 4096) !== 0) watch.beforeCpuAccess(pa, len, write)`.
 */

/** Flag bits. @internal */
export const Watch = {
  /** A streaming mapping the device owns covers (part of) the page. */
  DeviceOwned: 1,
  /** A device wrote lines of the page that the CPU cache still holds (non-coherent boards). */
  StaleLines: 2,
  /** Coherent DMA memory under the weak-ordering store buffer. */
  Buffered: 4,
} as const;

import { PfnWords, Word } from "./pfn-words.js";

/**
 * The flag table, in the detectors' shared per-pfn words (a pfn's flags and their reference
 * counts lie in one cache line with the pfn's records). @internal
 */
export class PfnFlags {
  /** Pages with any flag set. */
  flagged = 0;

  constructor(private readonly words: PfnWords = new PfnWords()) {}

  get(pfn: number): number {
    const l2 = this.words.table(pfn);
    return l2 === undefined ? 0 : l2[PfnWords.at(pfn) + Word.Flags]!;
  }

  /** Add (delta 1) or drop (delta -1) a reference of `bit` on pfns `[first, last]`. */
  adjust(first: number, last: number, bit: number, delta: number): void {
    const k = Word.Count0 + (bit === 1 ? 0 : bit === 2 ? 1 : 2);
    for (let pfn = first; pfn <= last; pfn++) {
      const l2 = delta > 0 ? this.words.tableFor(pfn) : this.words.table(pfn);
      if (l2 === undefined) continue;
      const i = PfnWords.at(pfn);
      const n = l2[i + k]! + delta;
      l2[i + k] = n > 0 ? n : 0;
      this.set(l2, i, bit, n > 0);
    }
  }

  /** Drop `bit` on one pfn regardless of its count. */
  clear(pfn: number, bit: number): void {
    const l2 = this.words.table(pfn);
    if (l2 === undefined) return;
    const i = PfnWords.at(pfn);
    l2[i + Word.Count0 + (bit === 1 ? 0 : bit === 2 ? 1 : 2)] = 0;
    this.set(l2, i, bit, false);
  }

  private set(l2: Int32Array, i: number, bit: number, on: boolean): void {
    const before = l2[i + Word.Flags]!;
    const after = on ? before | bit : before & ~bit;
    if (before === after) return;
    l2[i + Word.Flags] = after;
    if (before === 0) this.flagged++;
    else if (after === 0) this.flagged--;
  }
}
