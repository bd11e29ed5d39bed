/**
 * Detector 11 (mmap). What a driver may expose to user space is what it owns, read from the
 * leak ledger: the driver's live memory entries (kmalloc, slab, pages, vmalloc, dma-coherent,
 * dma-pool, mempool, ioremap: `address` is the kernel virtual address, translated page by page
 * through the kernel page tables), its page blocks ("pages": `address` is physical) and its
 * requested physical regions (mem-region: physical, e.g. a BAR taken with pci_request_regions). Reported (kind "mmap"):
 *
 * - `remap_pfn_range` / `io_remap_pfn_range` / `vmf_insert_pfn` / `vm_insert_page` or a fault
 *   handler's page covering a pfn outside every object the driver owns;
 * - a remap that starts outside the VMA or runs past `vm_end`, or an unaligned address;
 * - a write-back (cached) user mapping of memory the kernel maps uncached or write-combining
 *   (coherent DMA buffers, ioremap) on a non-coherent board.
 */
import type { BoardConfig } from "../../harness/board.js";
import type { Mmu } from "../../soc/mmu.js";
import { PteFlag } from "../../soc/pagetable.js";
import type { LedgerEntry, ResourceKind } from "../../checks/ledger.js";
import type { KernelCore } from "../core.js";
import type { CallSite } from "../stack.js";
import type { UserMmBackend } from "./backend.js";
import type { Vma } from "./vma.js";

const PAGE = 4096;
const VIRTUAL_KINDS: ReadonlySet<ResourceKind> = new Set(["kmalloc", "slab", "vmalloc", "dma-coherent", "dma-pool", "mempool", "ioremap"]);

/** One object a driver may map: a pfn interval with its kernel memory type. @internal */
export interface OwnedRange {
  readonly startPfn: number;
  readonly endPfn: number;
  readonly entry: LedgerEntry;
  /** Memory type of the kernel's own mapping (PteFlag Mt bits), or -1 for a physical region. */
  readonly kernelMt: number;
}

const mtNames: Record<number, string> = { [PteFlag.MtWriteBack]: "write-back", [PteFlag.MtUncached]: "uncached", [PteFlag.MtWriteCombining]: "write-combining" };

/** @internal */
export class MmapChecks {
  constructor(
    private readonly core: KernelCore,
    private readonly mmu: Mmu,
    private readonly mm: UserMmBackend,
    private readonly board: BoardConfig,
  ) {}

  /** The pfn ranges `driver` owns right now. */
  ownedRanges(driver: string): OwnedRange[] {
    const out: OwnedRange[] = [];
    for (const e of this.core.ledger.outstanding(driver)) {
      if (e.address === undefined || !e.size) continue;
      if (e.kind === "mem-region" || e.kind === "pages") {
        out.push({ startPfn: Math.floor(e.address / PAGE), endPfn: Math.ceil((e.address + e.size) / PAGE), entry: e, kernelMt: -1 });
        continue;
      }
      if (!VIRTUAL_KINDS.has(e.kind)) continue;
      const first = Math.floor(e.address / PAGE) * PAGE;
      if (this.mmu.lookup(this.mm.kernelRoot, first) === null) {
        // Not a kernel virtual address: a physical one (a page allocation recorded by pa).
        out.push({ startPfn: Math.floor(e.address / PAGE), endPfn: Math.ceil((e.address + e.size) / PAGE), entry: e, kernelMt: -1 });
        continue;
      }
      for (let va = first; va < e.address + e.size; va += PAGE) {
        const t = this.mmu.lookup(this.mm.kernelRoot, va);
        if (!t) continue;
        const pfn = Math.floor(t.pa / PAGE);
        out.push({ startPfn: pfn, endPfn: pfn + 1, entry: e, kernelMt: t.flags & PteFlag.MtMask });
      }
    }
    return out;
  }

  private rangeOf(ranges: readonly OwnedRange[], pfn: number): OwnedRange | undefined {
    for (const r of ranges) if (pfn >= r.startPfn && pfn < r.endPfn) return r;
    return undefined;
  }

  /**
   * Check a mapping of `npages` pfns from `pfn` into `vma` by `driver` (`what` names the call).
   * Returns false when a pfn lies outside the driver's objects.
   */
  checkPfns(driver: string, vma: Vma, what: string, pfn: number, npages: number, prot: number, site: CallSite | undefined): boolean {
    const ranges = this.ownedRanges(driver);
    let bad = -1, badCount = 0;
    let uncachedKernel: OwnedRange | undefined;
    for (let i = 0; i < npages; i++) {
      const r = this.rangeOf(ranges, pfn + i);
      if (!r) {
        if (bad < 0) bad = pfn + i;
        badCount++;
      } else if (r.kernelMt > 0 && !uncachedKernel) {
        uncachedKernel = r;
      }
    }
    const path = vma.open?.node.path ?? "anonymous";
    if (bad >= 0) {
      this.core.report({
        kind: "mmap",
        title: `mmap: ${driver}: ${what} exposes ${badCount} page(s) outside the driver's buffers and BARs (first pfn 0x${bad.toString(16)}) in vma ${hexVa(vma.vm_start)}-${hexVa(vma.vm_end)} of ${path}`,
        driver,
        address: bad * PAGE,
        size: badCount * PAGE,
        details: { call: what, pfn, npages, firstBadPfn: bad, badPages: badCount, owned: ranges.map((r) => `${r.entry.kind} ${r.entry.label}`) },
      }, site);
    }
    if (uncachedKernel && !this.board.coherent && (prot & PteFlag.MtMask) === PteFlag.MtWriteBack) {
      this.core.report({
        kind: "mmap",
        title: `mmap: ${driver}: ${what} maps ${uncachedKernel.entry.kind} memory write-back (cached) into user space while the kernel maps it ${mtNames[uncachedKernel.kernelMt] ?? "uncached"} on a non-coherent board (use pgprot_noncached/pgprot_writecombine or dma_mmap_coherent)`,
        driver,
        address: uncachedKernel.startPfn * PAGE,
        details: { call: what, object: uncachedKernel.entry.label, vma: `${hexVa(vma.vm_start)}-${hexVa(vma.vm_end)}` },
      }, site);
    }
    return bad < 0;
  }

  /** A remap's range against its VMA: start outside, past vm_end, unaligned. */
  checkRange(driver: string, vma: Vma, what: string, addr: number, size: number, site: CallSite | undefined): string | null {
    let problem: string | null = null;
    if (addr % PAGE !== 0) problem = `address ${hexVa(addr)} is not page aligned`;
    else if (addr < vma.vm_start || addr >= vma.vm_end) problem = `address ${hexVa(addr)} is outside the vma ${hexVa(vma.vm_start)}-${hexVa(vma.vm_end)}`;
    else if (addr + size > vma.vm_end) problem = `range ${hexVa(addr)}+0x${size.toString(16)} runs past vm_end ${hexVa(vma.vm_end)} (size does not match the vma)`;
    if (problem) {
      this.core.report({ kind: "mmap", title: `mmap: ${driver}: ${what}: ${problem}`, driver, address: addr, size, details: { vm_start: vma.vm_start, vm_end: vma.vm_end, vm_pgoff: vma.vm_pgoff } }, site);
    }
    return problem;
  }
}

/** A user address in hex without 0x, at least 8 digits (as /proc/<pid>/maps). @internal */
export function hexVa(a: number): string {
  // Above 2^32 a double's toString(16) is slow (~300 ns); two 32-bit halves give the same digits.
  if (a >= 4294967296 && a < 9007199254740992 && a === Math.floor(a)) {
    const hi = Math.floor(a / 4294967296);
    return hi.toString(16) + (a - hi * 4294967296).toString(16).padStart(8, "0");
  }
  return a.toString(16).padStart(8, "0");
}
