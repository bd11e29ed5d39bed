/**
 * swiotlb: bounce buffers below the 32-bit mask. 2 KiB slots (IO_TLB_SHIFT 11) in segments of 128
 * slots (one mapping ≤ 256 KiB). The 64 MiB pool is taken from the page allocator lazily, one
 * 4 MiB area at a time (a mapping never spans areas), and RAM backs a page only when touched, so
 * an unused pool costs nothing. Slot search is first fit from a rotating index, as Linux does.
 *
 * Copies (mainline rules): map always copies original → bounce; sync_for_device copies for
 * TO_DEVICE/BIDIRECTIONAL; sync_for_cpu and unmap copy bounce → original for
 * FROM_DEVICE/BIDIRECTIONAL. Copies go through {@link CpuPhys} (the CPU's view), the caller does
 * the cache maintenance on the bounce address.
 */
import type { CpuPhys } from "./phys.js";

/** Slot size (IO_TLB_SIZE). @public */
export const IO_TLB_SIZE = 2048;
/** Slots per segment (IO_TLB_SEGSIZE). @public */
export const IO_TLB_SEGSIZE = 128;
/** Largest bounced mapping: 256 KiB. @public */
export const SWIOTLB_MAX_MAPPING = IO_TLB_SIZE * IO_TLB_SEGSIZE;
/** Default pool size (IO_TLB_DEFAULT_SIZE). @public */
export const IO_TLB_DEFAULT_SIZE = 64 * 1024 * 1024;
const AREA_ORDER = 10; // 4 MiB areas: the largest buddy block
const AREA_BYTES = 4096 << AREA_ORDER;
const SLOTS_PER_AREA = AREA_BYTES / IO_TLB_SIZE;

/** Where the pool's areas come from. @internal */
export interface SwiotlbBacking {
  /** A 4 MiB physically contiguous block entirely below 4 GiB; its physical address, or -1. */
  allocArea(order: number): number;
}

interface Area {
  readonly pa: number;
  /** Per slot: number of slots of the mapping starting here (0 = free or inside a mapping). */
  readonly len: Uint16Array;
  /** Per slot: 1 when used. */
  readonly used: Uint8Array;
  /** Per slot: original physical address of the mapping's first byte. */
  readonly orig: Float64Array;
  /** Per slot: mapping size in bytes. */
  readonly size: Float64Array;
  next: number;
}

/** The bounce-buffer pool. @internal */
export class Swiotlb {
  private readonly areas: Area[] = [];
  private readonly maxAreas: number;
  usedSlots = 0;

  constructor(
    private readonly backing: SwiotlbBacking,
    private readonly cpu: CpuPhys,
    poolBytes = IO_TLB_DEFAULT_SIZE,
  ) {
    this.maxAreas = Math.max(1, Math.floor(poolBytes / AREA_BYTES));
  }

  /** Total slots of the configured pool (as "total %lu (slots)" reports). */
  get totalSlots(): number {
    return this.maxAreas * SLOTS_PER_AREA;
  }

  /** Bytes of the pool taken from the page allocator so far. */
  get allocatedBytes(): number {
    return this.areas.length * AREA_BYTES;
  }

  /** Physical base and size of the pool's areas (for the boot log / dumps). */
  ranges(): { pa: number; size: number }[] {
    return this.areas.map((a) => ({ pa: a.pa, size: AREA_BYTES }));
  }

  /** True when `pa` is inside the pool. */
  isBounce(pa: number): boolean {
    return this.areaOf(pa) !== undefined;
  }

  /**
   * Bounce `[orig, orig+size)`: reserve slots with their last byte ≤ `limit`, copy original →
   * bounce. Returns the bounce physical address or -1 (pool full or mapping too large).
   */
  map(orig: number, size: number, limit: number): number {
    if (size <= 0 || size > SWIOTLB_MAX_MAPPING) return -1;
    const n = Math.ceil(size / IO_TLB_SIZE);
    const stride = size >= 4096 ? 2 : 1; // page-sized mappings start page aligned
    for (const a of this.areas) {
      const at = this.find(a, n, stride, size, limit);
      if (at >= 0) return this.take(a, at, n, orig, size);
    }
    while (this.areas.length < this.maxAreas) {
      const pa = this.backing.allocArea(AREA_ORDER);
      if (pa < 0) break;
      const a: Area = {
        pa,
        len: new Uint16Array(SLOTS_PER_AREA),
        used: new Uint8Array(SLOTS_PER_AREA),
        orig: new Float64Array(SLOTS_PER_AREA),
        size: new Float64Array(SLOTS_PER_AREA),
        next: 0,
      };
      this.areas.push(a);
      const at = this.find(a, n, stride, size, limit);
      if (at >= 0) return this.take(a, at, n, orig, size);
    }
    return -1;
  }

  /** The mapping starting at bounce address `tlb`: its original address and size, or undefined. */
  lookup(tlb: number): { orig: number; size: number } | undefined {
    const a = this.areaOf(tlb);
    if (!a) return undefined;
    const s = Math.floor((tlb - a.pa) / IO_TLB_SIZE);
    if (a.len[s] === 0) return undefined;
    return { orig: a.orig[s]!, size: a.size[s]! };
  }

  /** Copy original → bounce for `[tlb+off, +len)` of a mapping. */
  toBounce(tlb: number, orig: number, len: number): void {
    this.cpu.copy(tlb, orig, len);
  }

  /** Copy bounce → original. */
  fromBounce(tlb: number, orig: number, len: number): void {
    this.cpu.copy(orig, tlb, len);
  }

  /** Release the slots of the mapping starting at `tlb`. Returns false when no mapping starts there. */
  unmap(tlb: number): boolean {
    const a = this.areaOf(tlb);
    if (!a) return false;
    const s = Math.floor((tlb - a.pa) / IO_TLB_SIZE);
    const n = a.len[s]!;
    if (n === 0) return false;
    a.len[s] = 0;
    a.used.fill(0, s, s + n);
    this.usedSlots -= n;
    return true;
  }

  private areaOf(pa: number): Area | undefined {
    for (const a of this.areas) if (pa >= a.pa && pa < a.pa + AREA_BYTES) return a;
    return undefined;
  }

  private find(a: Area, n: number, stride: number, size: number, limit: number): number {
    const total = SLOTS_PER_AREA;
    let s = Math.ceil(a.next / stride) * stride;
    for (let tried = 0; tried < total; tried += stride, s += stride) {
      if (s + n > total) {
        s = -stride;
        continue;
      }
      // A mapping must stay inside one 128-slot segment.
      if (Math.floor(s / IO_TLB_SEGSIZE) !== Math.floor((s + n - 1) / IO_TLB_SEGSIZE)) continue;
      if (a.pa + s * IO_TLB_SIZE + size - 1 > limit) continue;
      let free = true;
      for (let k = 0; k < n; k++) {
        if (a.used[s + k] !== 0) {
          free = false;
          break;
        }
      }
      if (free) return s;
    }
    return -1;
  }

  private take(a: Area, s: number, n: number, orig: number, size: number): number {
    a.used.fill(1, s, s + n);
    a.len[s] = n;
    a.orig[s] = orig;
    a.size[s] = size;
    a.next = s + n >= SLOTS_PER_AREA ? 0 : s + n;
    this.usedSlots += n;
    const tlb = a.pa + s * IO_TLB_SIZE;
    this.cpu.copy(tlb, orig, size);
    return tlb;
  }
}
