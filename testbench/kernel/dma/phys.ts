/**
 * Physical memory as the CPU sees it, without a virtual mapping: RAM overlaid with every valid
 * data-cache line (a clean line can still differ from RAM when a device wrote behind it). The
 * swiotlb copies and coherent-buffer zeroing go through here, so on a non-coherent board they
 * land where a real `memcpy` through the linear map would (dirty lines until cleaned).
 */
import type { DataCache } from "../../soc/dcache.js";
import type { SparseRam } from "../../soc/ram.js";

/** CPU-view physical copies. @internal */
export class CpuPhys {
  private readonly scratch = new Uint8Array(4096);
  constructor(
    private readonly ram: SparseRam,
    private readonly dcache: DataCache,
  ) {}

  /** Read `[pa, pa+dst.length)` as a CPU load would see it. */
  read(pa: number, dst: Uint8Array): void {
    this.ram.read(pa, dst);
    const dc = this.dcache;
    const ls = dc.lineSize;
    const first = Math.floor(pa / ls);
    const last = Math.floor((pa + dst.length - 1) / ls);
    for (let line = first; line <= last; line++) {
      const i = dc.peek(line);
      if (i < 0) continue;
      const base = line * ls;
      const from = Math.max(base, pa);
      const to = Math.min(base + ls, pa + dst.length);
      const src = i * ls + (from - base);
      dst.set(dc.data.subarray(src, src + (to - from)), from - pa);
    }
  }

  /** Write `src` at `pa` as a CPU store would: cached lines are updated (and dirtied), the rest goes to RAM. */
  write(pa: number, src: Uint8Array): void {
    const dc = this.dcache;
    const ls = dc.lineSize;
    const first = Math.floor(pa / ls);
    const last = Math.floor((pa + src.length - 1) / ls);
    let runStart = -1;
    for (let line = first; line <= last + 1; line++) {
      const i = line <= last ? dc.peek(line) : -2;
      const base = line * ls;
      if (i === -1) {
        if (runStart < 0) runStart = Math.max(base, pa);
        continue;
      }
      if (runStart >= 0) {
        const end = Math.min(base, pa + src.length);
        this.ram.write(runStart, src.subarray(runStart - pa, end - pa));
        runStart = -1;
      }
      if (i < 0) continue;
      const from = Math.max(base, pa);
      const to = Math.min(base + ls, pa + src.length);
      dc.data.set(src.subarray(from - pa, to - pa), i * ls + (from - base));
      dc.dirty[i] = 1;
    }
  }

  /** memcpy between physical ranges, CPU view on both sides. */
  copy(dstPa: number, srcPa: number, len: number): void {
    const buf = this.scratch;
    for (let done = 0; done < len; ) {
      const n = Math.min(buf.length, len - done);
      const part = n === buf.length ? buf : buf.subarray(0, n);
      this.read(srcPa + done, part);
      this.write(dstPa + done, part);
      done += n;
    }
  }

  /** Zero a range for a fresh DMA buffer: drop (after writing back) cached lines, then clear RAM. */
  zeroFresh(pa: number, len: number): void {
    this.dcache.cleanInvalidate(pa, len);
    this.ram.fill(pa, len, 0);
  }
}
