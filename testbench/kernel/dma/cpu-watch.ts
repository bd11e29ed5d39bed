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

const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;

/** The flag table: two levels (pfn >> 10, pfn & 1023) so sparse high RAM costs nothing. @internal */
export class PfnFlags {
  private readonly dir: (Uint8Array | undefined)[] = [];
  /** Reference counts per flag bit, by pfn: two-level typed tables like the flags (no Map). */
  private readonly counts: (Int32Array | undefined)[][] = [[], [], []];
  /** Pages with any flag set. */
  flagged = 0;

  get(pfn: number): number {
    const l2 = this.dir[Math.floor(pfn / L2_SIZE)];
    return l2 === undefined ? 0 : l2[pfn & (L2_SIZE - 1)]!;
  }

  /** Add (delta 1) or drop (delta -1) a reference of `bit` on pfns `[first, last]`. */
  adjust(first: number, last: number, bit: number, delta: number): void {
    const k = bit === 1 ? 0 : bit === 2 ? 1 : 2;
    const counts = this.counts[k]!;
    for (let pfn = first; pfn <= last; pfn++) {
      const hi = Math.floor(pfn / L2_SIZE);
      let l2 = counts[hi];
      if (l2 === undefined) {
        if (delta <= 0) {
          this.set(pfn, bit, false);
          continue;
        }
        l2 = counts[hi] = new Int32Array(L2_SIZE);
      }
      const i = pfn & (L2_SIZE - 1);
      const n = l2[i]! + delta;
      if (n <= 0) {
        l2[i] = 0;
        this.set(pfn, bit, false);
      } else {
        l2[i] = n;
        this.set(pfn, bit, true);
      }
    }
  }

  /** Drop `bit` on one pfn regardless of its count. */
  clear(pfn: number, bit: number): void {
    const k = bit === 1 ? 0 : bit === 2 ? 1 : 2;
    const l2 = this.counts[k]![Math.floor(pfn / L2_SIZE)];
    if (l2 !== undefined) l2[pfn & (L2_SIZE - 1)] = 0;
    this.set(pfn, bit, false);
  }

  private set(pfn: number, bit: number, on: boolean): void {
    const hi = Math.floor(pfn / L2_SIZE);
    let l2 = this.dir[hi];
    if (l2 === undefined) {
      if (!on) return;
      l2 = this.dir[hi] = new Uint8Array(L2_SIZE);
    }
    const i = pfn & (L2_SIZE - 1);
    const before = l2[i]!;
    const after = on ? before | bit : before & ~bit;
    if (before === after) return;
    l2[i] = after;
    if (before === 0) this.flagged++;
    else if (after === 0) this.flagged--;
  }
}
