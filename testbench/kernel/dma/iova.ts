/**
 * IOVA space of one IOMMU domain: page-granular ranges handed out top-down below the device's
 * mask (as Linux's allocator does), first fit from the top, so runs are deterministic. Page 0 is
 * never handed out, so a zero handle is never a valid IOVA.
 */

const PAGE = 4096;

/** One domain's IOVA allocator. @internal */
export class IovaSpace {
  /** Allocated ranges as page numbers, sorted by start: [start, end). */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Allocate `pages` pages whose last byte is ≤ `limit`; returns the first page's IOVA or -1. */
  alloc(pages: number, limit: number): number {
    const top = Math.floor((Math.min(limit, 2 ** 48 - 1) + 1) / PAGE); // exclusive page bound
    let hi = top;
    for (let k = this.starts.length - 1; k >= -1; k--) {
      const lo = k >= 0 ? this.ends[k]! : 1;
      if (lo >= hi) {
        if (k >= 0) hi = Math.min(hi, this.starts[k]!);
        continue;
      }
      if (hi - lo >= pages) {
        const start = hi - pages;
        this.starts.splice(k + 1, 0, start);
        this.ends.splice(k + 1, 0, start + pages);
        return start * PAGE;
      }
      if (k >= 0) hi = Math.min(hi, this.starts[k]!);
    }
    return -1;
  }

  /** Free the range starting at `iova`; returns its size in bytes, or 0 if unknown. */
  free(iova: number): number {
    const p = Math.floor(iova / PAGE);
    const k = this.starts.indexOf(p);
    if (k < 0) return 0;
    const bytes = (this.ends[k]! - p) * PAGE;
    this.starts.splice(k, 1);
    this.ends.splice(k, 1);
    return bytes;
  }

  /** Number of live ranges. */
  get size(): number {
    return this.starts.length;
  }
}
