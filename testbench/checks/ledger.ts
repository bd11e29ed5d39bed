/**
 * The leak ledger: every resource a driver acquires (memory, regions, mappings, IRQs, DMA,
 * char devices, VMAs) is recorded with its owner and call site until released, so that unbind
 * can report exactly what was left and where it came from.
 */
import type { CallSite } from "../kernel/stack.js";

/** Kinds of tracked resources. @public */
export type ResourceKind =
  | "kmalloc"
  | "slab"
  | "kmem-cache"
  | "vmalloc"
  | "pages"
  | "mempool"
  | "mem-region"
  | "io-region"
  | "ioremap"
  | "dma-coherent"
  | "dma-mapping"
  | "dma-pool"
  | "isa-dma"
  | "irq"
  | "chrdev"
  | "misc"
  | "vma"
  | "pinned-pages"
  | "work"
  | "timer";

/** One outstanding resource. @public */
export interface LedgerEntry {
  readonly id: number;
  readonly kind: ResourceKind;
  /** Driver name that acquired it ("kernel" for the testbench itself). */
  readonly owner: string;
  /** What it is, e.g. `kmalloc-64 object at ffff888001234560 (40 bytes)`. */
  readonly label: string;
  readonly address?: number;
  readonly size?: number;
  readonly site: CallSite;
  /** Simulated time of acquisition. */
  readonly time: number;
}

/** @public */
export class LeakLedger {
  private readonly entries = new Map<number, LedgerEntry>();
  private nextId = 1;
  enabled = true;

  /** Record an acquisition; returns the entry id (0 when the ledger is off). */
  add(kind: ResourceKind, owner: string, label: string, site: CallSite, time: number, address?: number, size?: number): number {
    if (!this.enabled) return 0;
    const id = this.nextId++;
    this.entries.set(id, {
      id,
      kind,
      owner,
      label,
      site,
      time,
      ...(address === undefined ? {} : { address }),
      ...(size === undefined ? {} : { size }),
    });
    return id;
  }

  /** Record a release. Unknown or zero ids are ignored. */
  remove(id: number): void {
    if (id) this.entries.delete(id);
  }

  get(id: number): LedgerEntry | undefined {
    return this.entries.get(id);
  }

  /** Outstanding entries of one owner (or all), oldest first. */
  outstanding(owner?: string): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const e of this.entries.values()) if (owner === undefined || e.owner === owner) out.push(e);
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
