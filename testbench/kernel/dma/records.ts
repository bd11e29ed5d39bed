/**
 * Mapping records: the debug tracker's entries (debug.ts) plus what the functional layer and the
 * detectors need to know about a mapping: the physical address the device reaches and the
 * board path it took (direct, bounced, IOMMU).
 */
import type { DmaDebugEntry } from "./debug.js";

/** A live mapping as the DMA layer keeps it. @internal */
export interface DmaRecord extends DmaDebugEntry {
  /** True when the buffer is bounced through swiotlb. */
  readonly bounced: boolean;
  /** Physical address the device actually reaches (the bounce slot when bounced). */
  readonly targetPa: number;
  /** Calling function's name for diagnoses ("dma_map_single", "dma_map_sg", ...). */
  readonly api: string;
  /** Device-side findings already reported for this mapping (bit per kind), to report each once. */
  reported: number;
  /** Set when the detectors dropped the mapping (unmap, free, unbind): later calls ignore it. */
  removed: boolean;
  /**
   * Physical pieces of the CPU buffer behind the mapping, as [pa, len, pa, len, ...]: one piece for
   * single/page mappings, the merged sg entries for an sg segment (an IOMMU segment spans scattered
   * pages, so `paddr + size` is not the buffer).
   */
  readonly cpuRanges: readonly number[];
}

const SCAN_MAX = 32;

/** The pfns of a record's CPU buffer, each once. @internal */
export function recordPfns(r: DmaRecord): number[] {
  const out: number[] = [];
  const c = r.cpuRanges;
  // One piece covers distinct pages; several may share pages (kept once, first-seen order). A
  // short list is searched in place; a Set is built only past SCAN_MAX pages.
  const several = c.length > 2;
  let seen: Set<number> | undefined;
  for (let k = 0; k < c.length; k += 2) {
    const first = Math.floor(c[k]! / 4096);
    const last = Math.floor((c[k]! + Math.max(c[k + 1]!, 1) - 1) / 4096);
    for (let p = first; p <= last; p++) {
      if (several) {
        if (seen === undefined && out.length >= SCAN_MAX) seen = new Set(out);
        if (seen !== undefined) {
          if (seen.has(p)) continue;
          seen.add(p);
        } else if (out.includes(p)) continue;
      }
      out.push(p);
    }
  }
  return out;
}

/** Bits of {@link DmaRecord.reported}. @internal */
export const Reported = {
  Direction: 1,
  CpuOwned: 2,
  StaleRead: 4,
  CpuTouch: 8,
  Ordering: 16,
} as const;
