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
