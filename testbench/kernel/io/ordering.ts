/**
 * The single hook every barrier goes through: `mb`, `rmb`, `wmb`, `dma_wmb`, `dma_rmb`, and the
 * implicit `wmb` of a non-relaxed `writel`. Today it only counts; the weak-ordering store buffer
 * (CHECKS.md detector 8) drains here by registering a listener.
 */
import { injectable } from "../../soc/di.js";

/** Barrier kinds. @public */
export type BarrierKind = "mb" | "rmb" | "wmb" | "dma_wmb" | "dma_rmb";

/** Called on every barrier. @public */
export type BarrierListener = (kind: BarrierKind) => void;

/** @public */
@injectable()
export class Ordering {
  /** Barriers executed, by kind. */
  readonly counts: Record<BarrierKind, number> = { mb: 0, rmb: 0, wmb: 0, dma_wmb: 0, dma_rmb: 0 };
  private listeners: BarrierListener[] = [];

  /** A barrier of `kind` was executed by the CPU. */
  barrier(kind: BarrierKind): void {
    switch (kind) {
      case "wmb": return this.wmb();
      case "mb": this.counts.mb++; break;
      case "rmb": this.counts.rmb++; break;
      case "dma_wmb": this.counts.dma_wmb++; break;
      case "dma_rmb": this.counts.dma_rmb++; break;
      default: this.counts[kind]++;
    }
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(kind);
  }

  /**
   * `wmb` (also the implicit one of a non-relaxed `writel`): a named counter and, with no
   * listener, nothing else, so the common path costs a few instructions.
   */
  wmb(): void {
    this.counts.wmb++;
    const ls = this.listeners;
    if (ls.length === 0) return;
    for (let i = 0; i < ls.length; i++) ls[i]!("wmb");
  }

  /**
   * An MMIO store was issued (called by the accessors after any implied barrier); `relaxed` for
   * the `_relaxed` forms, which do not order earlier normal-memory writes. The weak-ordering
   * detector uses it to name a doorbell written with `writel_relaxed`.
   */
  mmioWrite(relaxed: boolean): void {
    const ls = this.mmioListeners;
    if (ls.length === 0) return;
    for (let i = 0; i < ls.length; i++) ls[i]!(relaxed);
  }

  /** Observe MMIO stores. Returns an unsubscribe function. */
  onMmioWrite(fn: (relaxed: boolean) => void): () => void {
    this.mmioListeners = [...this.mmioListeners, fn];
    return () => {
      this.mmioListeners = this.mmioListeners.filter((l) => l !== fn);
    };
  }

  private mmioListeners: ((relaxed: boolean) => void)[] = [];

  /** Observe barriers (the store-buffer model drains on them). Returns an unsubscribe function. */
  onBarrier(fn: BarrierListener): () => void {
    this.listeners = [...this.listeners, fn];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}
