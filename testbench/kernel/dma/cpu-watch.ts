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

/** Words per pfn: the flags, then one reference count per flag bit. */
const W = 4;

/**
 * The flag table: two levels (pfn >> 10, pfn & 1023) so sparse high RAM costs nothing. A pfn's
 * flags and reference counts share one cache line (adjusting a page touches one line). @internal
 */
export class PfnFlags {
  private readonly dir: (Int32Array | undefined)[] = [];
  /** Pages with any flag set. */
  flagged = 0;

  get(pfn: number): number {
    const l2 = this.dir[Math.floor(pfn / L2_SIZE)];
    return l2 === undefined ? 0 : l2[(pfn & (L2_SIZE - 1)) * W]!;
  }

  /** Add (delta 1) or drop (delta -1) a reference of `bit` on pfns `[first, last]`. */
  adjust(first: number, last: number, bit: number, delta: number): void {
    const k = bit === 1 ? 1 : bit === 2 ? 2 : 3;
    for (let pfn = first; pfn <= last; pfn++) {
      const hi = Math.floor(pfn / L2_SIZE);
      let l2 = this.dir[hi];
      if (l2 === undefined) {
        if (delta <= 0) continue;
        l2 = this.dir[hi] = new Int32Array(W * L2_SIZE);
      }
      const i = (pfn & (L2_SIZE - 1)) * W;
      const n = l2[i + k]! + delta;
      l2[i + k] = n > 0 ? n : 0;
      this.set(l2, i, bit, n > 0);
    }
  }

  /** Drop `bit` on one pfn regardless of its count. */
  clear(pfn: number, bit: number): void {
    const l2 = this.dir[Math.floor(pfn / L2_SIZE)];
    if (l2 === undefined) return;
    const i = (pfn & (L2_SIZE - 1)) * W;
    l2[i + (bit === 1 ? 1 : bit === 2 ? 2 : 3)] = 0;
    this.set(l2, i, bit, false);
  }

  private set(l2: Int32Array, i: number, bit: number, on: boolean): void {
    const before = l2[i]!;
    const after = on ? before | bit : before & ~bit;
    if (before === after) return;
    l2[i] = after;
    if (before === 0) this.flagged++;
    else if (after === 0) this.flagged--;
  }
}
