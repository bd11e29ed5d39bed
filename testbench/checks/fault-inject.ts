/**
 * Fault injection, Linux's fail-nth made systematic: every fallible kernel call asks
 * {@link FaultInjector.shouldFail} with its kind and caller; a plan fails the Nth matching call
 * (and optionally the following ones), reproducibly.
 */
import type { CallSite } from "../kernel/stack.js";

/** Kinds of fallible calls. @public */
export type FaultKind =
  | "kmalloc"
  | "slab"
  | "vmalloc"
  | "page"
  | "mempool"
  | "dma-alloc"
  | "dma-map"
  | "dma-pool"
  | "ioremap"
  | "region"
  | "irq"
  | "iommu-map"
  | "pin-user-pages"
  | "chrdev"
  | "pci"
  | "isa-dma"
  | "devres";

/** What to fail. @public */
export interface FaultPlan {
  /** Fail the nth matching call (1-based). */
  readonly nth: number;
  /** How many consecutive matching calls fail from the nth on (default 1). */
  readonly times?: number;
  /** Only these kinds count (default: all). */
  readonly kinds?: readonly FaultKind[];
  /** Only calls made by this driver count (default: any). */
  readonly driver?: string;
}

/** A call that was failed on purpose. @public */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly driver: string;
  readonly n: number;
  readonly site?: CallSite;
}

/** @public */
export class FaultInjector {
  private plan: FaultPlan | null = null;
  private count = 0;
  /** Injected failures since the plan was set. */
  readonly injected: InjectedFault[] = [];

  /** Arm a plan; resets the call counter. */
  arm(plan: FaultPlan): void {
    if (!(plan.nth >= 1)) throw new RangeError(`fault plan nth must be ≥ 1 (got ${plan.nth})`);
    this.plan = plan;
    this.count = 0;
    this.injected.length = 0;
  }

  disarm(): void {
    this.plan = null;
  }

  /** Matching fallible calls seen since the plan was armed. */
  get calls(): number {
    return this.count;
  }

  /** Should this call fail? Counts the call when it matches the plan. */
  shouldFail(kind: FaultKind, driver: string, site?: CallSite): boolean {
    const p = this.plan;
    if (!p) return false;
    if (p.driver !== undefined && p.driver !== driver) return false;
    if (p.kinds && !p.kinds.includes(kind)) return false;
    const n = ++this.count;
    if (n < p.nth || n >= p.nth + (p.times ?? 1)) return false;
    this.injected.push({ kind, driver, n, ...(site ? { site } : {}) });
    return true;
  }
}
