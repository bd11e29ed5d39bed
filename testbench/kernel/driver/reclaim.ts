/**
 * Reclaiming what a driver left in the leak ledger: after the leak report at unbind, each entry is
 * handed to the reclaimers registered for its kind (the subsystem that owns that resource frees
 * it), so the next bind starts clean. An entry nobody reclaims is dropped from the ledger.
 */
import { injectable } from "../../soc/di.js";
import type { LedgerEntry, ResourceKind } from "../../checks/ledger.js";

/** Frees the resource behind a ledger entry; true when it recognised and freed it. @public */
export type LeakReclaimer = (entry: LedgerEntry) => boolean;

/** @public */
@injectable()
export class LeakReclaimers {
  private readonly byKind = new Map<ResourceKind, LeakReclaimer[]>();
  private readonly unboundHooks: ((device: string, driver: string) => void)[] = [];

  /**
   * Run `fn` for every device unbound (after remove and devres, before the leak check), so a
   * subsystem can report in its own wording what the device still holds (e.g. DMA-API debug's
   * "pending DMA allocations while released from device").
   */
  onDeviceUnbound(fn: (device: string, driver: string) => void): void {
    this.unboundHooks.push(fn);
  }

  /** Called by the driver core for each device it unbinds. @internal */
  deviceUnbound(device: string, driver: string): void {
    for (const fn of this.unboundHooks) fn(device, driver);
  }

  /** Register a reclaimer for one resource kind (several may share a kind; the first that frees wins). */
  register(kind: ResourceKind, fn: LeakReclaimer): void {
    const list = this.byKind.get(kind) ?? [];
    list.push(fn);
    this.byKind.set(kind, list);
  }

  /** Free one leaked resource; false when no reclaimer knew it. */
  reclaim(entry: LedgerEntry): boolean {
    for (const fn of this.byKind.get(entry.kind) ?? []) {
      if (fn(entry)) return true;
    }
    return false;
  }
}
