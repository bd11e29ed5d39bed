/**
 * Direct access to one last-level table of a page-table tree in simulated RAM (the entry format
 * of pagetable.ts, any profile: the last level always holds 512 entries of 4 KiB pages). Code that
 * visits runs of consecutive addresses (the IOMMU's walk cache and its run-wise map and unmap,
 * pin_user_pages) locates the table once per 2 MiB and then reads or writes one entry per page
 * instead of walking from the root each time. Entries are always read from and written to RAM;
 * only the table's location is remembered, so a caller must find it again after the upper
 * levels may have changed.
 */
import type { PagingProfile } from "./pagetable.js";
import type { SparseRam } from "./ram.js";

const PAGE = 4096;
const F_P = 0x1, F_W = 0x2, F_PS = 0x80;
/** Entries per last-level table. */
export const LEAF_ENTRIES = 512;
/** Address span of one last-level table. */
export const LEAF_SPAN = LEAF_ENTRIES * PAGE;

/** One located last-level table. @internal */
export class LeafTable {
  private view: DataView | null = null;
  private base = 0;
  /** Bytes covered by an entry of each upper level, and its index mask. */
  private readonly spans: number[] = [];
  private readonly masks: number[] = [];
  /** Whether every level above allows writes (W is effective only if set at all levels). */
  upperWrite = false;

  constructor(
    private readonly ram: SparseRam,
    profile: PagingProfile,
  ) {
    const bits = profile.bits;
    if (bits[bits.length - 1] !== 9) throw new RangeError(`${profile.name}: the last level must hold 512 entries`);
    let shift = 12 + 9;
    for (let l = bits.length - 2; l >= 0; l--) {
      this.spans.unshift(2 ** shift);
      this.masks.unshift((1 << bits[l]!) - 1);
      shift += bits[l]!;
    }
  }

  /**
   * Walk the upper levels from `root` for address `a` and remember its last-level table; false
   * when there is none (an entry not present, a huge leaf, a table outside RAM).
   */
  find(root: number, a: number): boolean {
    let table = root;
    let allowW = F_W;
    for (let l = 0; l < this.spans.length; l++) {
      const id = this.ram.pageId(table / PAGE, false);
      if (id < 0) return false;
      const dv = this.ram.slabView(id);
      const at = this.ram.slabOffset(id) + (Math.floor(a / this.spans[l]!) & this.masks[l]!) * 8;
      const lo = dv.getUint32(at, true);
      if ((lo & F_P) === 0 || (lo & F_PS) !== 0) return false;
      allowW &= lo;
      table = ((lo >>> 12) + (dv.getUint32(at + 4, true) & 0xfffff) * 1048576) * PAGE;
    }
    const id = this.ram.pageId(table / PAGE, false);
    if (id < 0) return false;
    this.view = this.ram.slabView(id);
    this.base = this.ram.slabOffset(id);
    this.upperWrite = allowW !== 0;
    return true;
  }

  /** Low word of entry `i` (bit 0 present, bit 1 writable). */
  low(i: number): number {
    return this.view!.getUint32(this.base + i * 8, true);
  }

  /** Frame address of entry `i` whose low word is `lo`. */
  frame(i: number, lo: number): number {
    return ((lo >>> 12) + (this.view!.getUint32(this.base + i * 8 + 4, true) & 0xfffff) * 1048576) * PAGE;
  }

  /** Write entry `i`: page-aligned `frame`, low flag bits `flags` (present added), NX clear. */
  set(i: number, frame: number, flags: number): void {
    const pfn = frame / PAGE;
    const pfnHi = Math.floor(pfn / 1048576);
    const at = this.base + i * 8;
    this.view!.setUint32(at, ((pfn - pfnHi * 1048576) * PAGE + ((flags & 0x1ff) | F_P)) >>> 0, true);
    this.view!.setUint32(at + 4, pfnHi >>> 0, true);
  }

  /** Clear entry `i` if present; returns whether it was. */
  clear(i: number): boolean {
    const at = this.base + i * 8;
    if ((this.view!.getUint32(at, true) & F_P) === 0) return false;
    this.view!.setUint32(at, 0, true);
    this.view!.setUint32(at + 4, 0, true);
    return true;
  }
}
