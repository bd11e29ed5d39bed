/**
 * Weak ordering (detector 8): on a board with `weakOrdering`, CPU stores to coherent DMA memory
 * sit in a store buffer until a barrier (mb, wmb, dma_wmb, or the implicit wmb of a non-relaxed
 * writel). The stores reach memory at once for the CPU (store forwarding), but a device read of a
 * byte with a pending store sees the old value: the buffer keeps the bytes as they were before
 * the store and patches them into what the device reads. The first relaxed MMIO write after a
 * pending store is remembered so the diagnosis can name the doorbell.
 */
import type { CallSite } from "../stack.js";

/** One buffered store. @internal */
export interface PendingStore {
  readonly pa: number;
  /** The bytes before the store (what the device still sees). */
  readonly old: Uint8Array;
  /** Kernel VA of the store when known. */
  readonly va: number | undefined;
  readonly site: CallSite;
  /** A relaxed MMIO write (doorbell) happened after this store, before any barrier. */
  doorbellRelaxed: boolean;
}

/** The store buffer. @internal */
export class StoreBuffer {
  readonly pending: PendingStore[] = [];
  /** Stores drained by barriers so far. */
  drained = 0;

  constructor(readonly enabled: boolean) {}

  /** Record a store of `len` bytes at `pa`, given what the device sees there now. */
  capture(pa: number, before: Uint8Array, va: number | undefined, site: CallSite): void {
    if (!this.enabled) return;
    this.pending.push({ pa, old: before, va, site, doorbellRelaxed: false });
    if (this.pending.length > 65536) this.pending.splice(0, this.pending.length - 65536);
  }

  /** A barrier: everything pending becomes visible. */
  barrier(): void {
    // Setting an array's length is a runtime call even when it is already 0: skip the empty case.
    if (this.pending.length === 0) return;
    this.drained += this.pending.length;
    this.pending.length = 0;
  }

  /** An MMIO write; a relaxed one does not order the pending stores. */
  mmioWrite(relaxed: boolean): void {
    if (this.pending.length === 0) return;
    if (!relaxed) return this.barrier();
    for (const p of this.pending) p.doorbellRelaxed = true;
  }

  /**
   * A device read `dst` from physical `pa`: put back the old bytes of pending stores (oldest
   * wins, as it is what memory held). Returns the oldest store hit, or undefined.
   */
  patch(pa: number, dst: Uint8Array): PendingStore | undefined {
    let hit: PendingStore | undefined;
    const end = pa + dst.length;
    for (let k = this.pending.length - 1; k >= 0; k--) {
      const p = this.pending[k]!;
      const pEnd = p.pa + p.old.length;
      if (p.pa >= end || pEnd <= pa) continue;
      const from = Math.max(p.pa, pa);
      const to = Math.min(pEnd, end);
      dst.set(p.old.subarray(from - p.pa, to - p.pa), from - pa);
      hit = p;
    }
    return hit;
  }
}
