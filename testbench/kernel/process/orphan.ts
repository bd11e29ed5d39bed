/**
 * User mappings and open files of a device whose driver was unbound while they lived.
 *
 * Linux zaps the mappings of a removed device (`unmap_mapping_range`), so the next access faults
 * and, the device being gone, gets SIGBUS; the VMA itself stays until munmap (it still shows in
 * /proc/<pid>/maps). Here the "vma" leak reclaimer does that after the leak report names the VMA:
 * its PTEs are removed (page references dropped, the process's TLB entries for the range flushed)
 * and the VMA is marked orphaned. From then on no callback of the unbound driver runs for it:
 *
 * - a fault gets SIGBUS (BUS_ADRERR) naming the driver and the file instead of `vm_ops->fault`;
 * - a split (partial munmap, mprotect) skips `vm_ops->open`;
 * - munmap skips `vm_ops->close`. Linux would still call it (the open file pins the module),
 *   but the testbench reclaims everything an unbound driver held right after its leak report,
 *   so a later close would run against state that is already freed and report double frees the
 *   driver did not commit.
 *
 * File operations on an fd opened while its driver was bound return -ENODEV once the binding is
 * gone (and `release` is skipped, for the same reason as `close`), as fbdev and sysfs do for a
 * removed device. A driver is not asked to guard its fops against a finished `remove` here.
 */
import type { LedgerEntry } from "../../checks/ledger.js";
import type { Processes } from "./processes.js";
import type { OpenFile, Vma } from "./vma.js";

/** The SIGBUS text for accesses to an orphaned VMA. @internal */
export function deviceGoneCause(driver: string, vma: Vma): string {
  return `device gone: driver ${driver} was unbound while ${vma.open?.node.path ?? "the device"} was still mapped`;
}

/**
 * The "vma" leak reclaimer: zap and orphan the VMA behind ledger entry `entry` (in whichever
 * process maps it). False when no live VMA carries that entry.
 * @internal
 */
export function reclaimLeakedVma(sys: Processes, entry: LedgerEntry): boolean {
  for (const p of sys.list()) {
    const v = p.mm.vmas.find((x) => x.ledgerId === entry.id && x.orphaned === null);
    if (!v) continue;
    // The PTEs go first: drops the references counted PTEs hold, flushes this ASID's range.
    p.mm.unmapRange(v.vm_start, v.vm_end);
    v.orphaned = deviceGoneCause(entry.owner, v);
    v.live = false;
    v.ledgerId = 0;
    return true;
  }
  return false;
}

/** True when `of` was opened on a bound driver whose binding has since gone. @internal */
export function fileRevoked(sys: Processes, of: OpenFile): boolean {
  return of.boundAtOpen && !sys.ownerBound(of.node.owner);
}
