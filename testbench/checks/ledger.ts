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

/**
 * Who acquires a resource: the driver and, for a call made through a device's kernel facade, the
 * device (so the leak check at that device's unbind finds what is its own). @public
 */
export interface LedgerOwner {
  /** Driver name ("kernel" for the testbench itself). */
  readonly driver: string;
  /** Device name, when acquired through that device's kernel facade. */
  readonly device?: string;
}

/** One outstanding resource. @public */
export interface LedgerEntry {
  readonly id: number;
  readonly kind: ResourceKind;
  /** Driver name that acquired it ("kernel" for the testbench itself). */
  readonly owner: string;
  /** The device it was acquired for, when the acquirer named one (see {@link LedgerOwner}). */
  readonly device: string | undefined;
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
  // Live entries by id without a Map (a Map's set/delete pair costs hundreds of ns at the churn
  // of a pinned-page DMA): ids are sequential, so entries sit in an array at id - base, released
  // ones as holes. Released slots at the front are skipped (`head`) and sliced off; when holes
  // dominate, the few survivors move to `old` (ascending ids, all below base) and the array
  // starts afresh. Iteration order stays ascending id (acquisition order).
  private slots: (LedgerEntry | undefined)[] = [];
  /** Id of slots[0]; slots.length === nextId - base. */
  private base = 1;
  /** Slots before head are all released. */
  private head = 0;
  /** Released slots at or after head. */
  private holes = 0;
  private readonly old = new Map<number, LedgerEntry>();
  private nextId = 1;
  enabled = true;

  /** Record an acquisition; returns the entry id (0 when the ledger is off). */
  add(kind: ResourceKind, acquirer: string | LedgerOwner, label: string, site: CallSite, time: number, address?: number, size?: number): number {
    if (!this.enabled) return 0;
    const id = this.nextId++;
    const owner = typeof acquirer === "string" ? acquirer : acquirer.driver;
    const device = typeof acquirer === "string" ? undefined : acquirer.device;
    if (address !== undefined && size !== undefined) {
      // The common shape as one literal (same properties, same order): no spread temporaries.
      this.slots.push({ id, kind, owner, device, label, site, time, address, size });
      return id;
    }
    this.slots.push({
      id,
      kind,
      owner,
      device,
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
    if (!id) return;
    const i = id - this.base;
    if (i >= this.head && i < this.slots.length) {
      if (this.slots[i] === undefined) return;
      this.slots[i] = undefined;
      this.holes++;
      while (this.head < this.slots.length && this.slots[this.head] === undefined) {
        this.head++;
        this.holes--;
      }
      this.tidy();
      return;
    }
    this.old.delete(id);
  }

  get(id: number): LedgerEntry | undefined {
    const i = id - this.base;
    if (i >= 0 && i < this.slots.length) return this.slots[i];
    return this.old.get(id);
  }

  /** Outstanding entries of one owner (or all), oldest first. */
  outstanding(owner?: string): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const e of this.old.values()) if (owner === undefined || e.owner === owner) out.push(e);
    const slots = this.slots;
    for (let i = this.head; i < slots.length; i++) {
      const e = slots[i];
      if (e !== undefined && (owner === undefined || e.owner === owner)) out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.old.size + this.slots.length - this.head - this.holes;
  }

  /** Drop released slots: slice off a long released front, or move the survivors out when holes dominate. */
  private tidy(): void {
    const n = this.slots.length;
    if (this.head >= 1024 && this.head * 2 >= n) {
      this.slots = this.slots.slice(this.head);
      this.base += this.head;
      this.head = 0;
    } else if (this.holes >= 1024 && this.holes * 2 >= n - this.head) {
      for (let i = this.head; i < n; i++) {
        const e = this.slots[i];
        if (e !== undefined) this.old.set(e.id, e);
      }
      this.slots = [];
      this.base = this.nextId;
      this.head = 0;
      this.holes = 0;
    }
  }
}
