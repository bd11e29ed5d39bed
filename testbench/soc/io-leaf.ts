/**
 * Direct access to one last-level table of the IOMMU's 4-level I/O page tables (the entry format
 * of pagetable.ts): the IOMMU's walk cache and its run-wise map and unmap use it so that
 * neighbouring IOVAs cost one entry read or write instead of a walk from the root each. Entries
 * are always read from and written to RAM; only the table's location is remembered.
 */
import type { SparseRam } from "./ram.js";

const PAGE = 4096;
const F_P = 0x1, F_W = 0x2, F_PS = 0x80;
/** Entries per table. */
export const LEAF_ENTRIES = 512;

/** One located last-level table. @internal */
export class IoLeaf {
  private view: DataView | null = null;
  private base = 0;
  /** Whether every level above allows writes (W is effective only if set at all levels). */
  upperWrite = false;

  constructor(private readonly ram: SparseRam) {}

  /**
   * Walk the three upper levels from `root` for IOVA `a` and remember its last-level table;
   * false when there is none (an entry not present, a huge leaf, a table outside RAM).
   */
  find(root: number, a: number): boolean {
    let table = root;
    let allowW = F_W;
    for (let l = 0; l < 3; l++) {
      const id = this.ram.pageId(table / PAGE, false);
      if (id < 0) return false;
      const dv = this.ram.slabView(id);
      const at = this.ram.slabOffset(id) + (Math.floor(a / 2 ** (39 - 9 * l)) & 511) * 8;
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

  /** Write entry `i`: page-aligned `frame`, low flag bits `flags` (present added). */
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
