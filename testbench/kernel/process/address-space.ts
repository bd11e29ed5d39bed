/**
 * A process address space (`struct mm_struct`): its own page tables over the shared kernel half,
 * an ASID, the sorted VMA list, the user PTEs it installed (with whether each holds a page
 * reference), demand paging, copy-on-write and the page-fault handler.
 *
 * Fault rules (checked in this order): a user access at or above TASK_SIZE → SIGSEGV
 * (SEGV_MAPERR, "user access to kernel address"); no VMA → SIGSEGV (SEGV_MAPERR, "no mapping");
 * a write to a VMA without VM_WRITE, or any access to a VMA without VM_READ → SIGSEGV
 * (SEGV_ACCERR); otherwise anonymous memory is demand paged (first read maps the shared zero
 * page read-only, first write allocates a zeroed page), a write to a read-only PTE of a private
 * mapping copies the page (COW), a file VMA calls `vm_ops.fault`, and a fault it cannot serve
 * (VM_FAULT_SIGBUS, or no fault handler) → SIGBUS (BUS_ADRERR). A VMA orphaned by its driver's
 * unbind (see orphan.ts) → SIGBUS (BUS_ADRERR) naming the driver and file.
 */
import type { PgProt } from "../../../sdk/index.js";
import { GFP_HIGHUSER, VM_EXEC, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_READ, VM_SHARED, VM_WRITE, __GFP_ZERO } from "../../../sdk/index.js";
import type { DataCache } from "../../soc/dcache.js";
import type { Mmu } from "../../soc/mmu.js";
import { PteFlag } from "../../soc/pagetable.js";
import type { SparseRam } from "../../soc/ram.js";
import type { Tlb } from "../../soc/tlb.js";
import type { UserMmBackend } from "./backend.js";
import { pageOf, pfnOf } from "./backend.js";
import { BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, type SignalInfo } from "./signal.js";
import { FAULT_FLAG_WRITE, VM_MAYSHARE } from "./uapi.js";
import type { Vma } from "./vma.js";

const PAGE = 4096;
/** VM_FAULT_SIGSEGV. */
const VM_FAULT_SIGSEGV = 0x40;
/** VM_FAULT_ERROR without SIGSEGV/OOM (those are told apart). */
const VM_FAULT_BUS_ERRORS = VM_FAULT_SIGBUS | 0x10 | 0x20 | 0x800;

/** One user PTE as the address space tracks it. @internal */
export interface UserPte {
  pfn: number;
  /** The mapping holds a page reference (anon pages, vm_insert_page, fault pages). */
  counted: boolean;
  /** An anonymous page only this mapping uses: writable when the VMA is. */
  exclusive: boolean;
}

/** The struct vm_fault handed to a driver. @internal */
export interface DriverVmFault {
  readonly vma: Vma;
  readonly address: number;
  readonly pgoff: number;
  readonly flags: number;
  page: import("../../../sdk/index.js").Page | null;
}

/** What the address space needs from around it. @internal */
export interface AddressSpaceDeps {
  readonly mmu: Mmu;
  readonly tlb: Tlb;
  readonly ram: SparseRam;
  readonly dcache: DataCache;
  readonly mm: UserMmBackend;
  /** pfn of the shared zero page. */
  readonly zeroPfn: number;
  /** Call `vma.vm_ops.fault(vmf)` guarded (a driver exception becomes an oops and VM_FAULT_SIGBUS). */
  callFault(vma: Vma, vmf: DriverVmFault): number;
  /** Called when a fault handler hands back a page (detector 11). */
  checkFaultPage(vma: Vma, pfn: number): void;
  /** A warning with the driver named (bad fault return). */
  warn(vma: Vma, text: string): void;
}

/** `vm_get_page_prot`: the PgProt of VM flags (a PTE flag word; private mappings map read-only). @internal */
export function vmPageProt(flags: number): PgProt {
  let p = PteFlag.Present | PteFlag.User | PteFlag.MtWriteBack;
  if ((flags & VM_WRITE) !== 0 && (flags & VM_SHARED) !== 0) p |= PteFlag.Write;
  if ((flags & VM_EXEC) === 0) p |= PteFlag.Nx;
  return p as PgProt;
}

/** @public */
export class AddressSpace {
  /** Root page table (physical address). */
  readonly root: number;
  /** VMAs sorted by start. */
  readonly vmas: Vma[] = [];
  /** Installed user PTEs by virtual page number. @internal */
  readonly ptes = new Map<number, UserPte>();
  /** Page-table pages this address space allocated (freed at exit). */
  private readonly tables: number[] = [];
  private readonly alloc = (): number => {
    const pa = this.d.mm.allocTablePage();
    if (pa < 0) throw new RangeError("out of memory for page tables");
    this.tables.push(pa);
    return pa;
  };
  /** Faults served (tests look at these). */
  readonly stats = { faults: 0, zeroMaps: 0, anonAllocs: 0, cowCopies: 0, driverFaults: 0 };

  constructor(
    private readonly d: AddressSpaceDeps,
    readonly asid: number,
    readonly taskSize: number,
  ) {
    this.root = d.mmu.createRoot(this.alloc, d.mm.kernelRoot);
  }

  /** Copy the kernel half's top-level entries again (the kernel may have added tables since). */
  syncKernelHalf(): void {
    const ram = this.d.ram;
    const from = this.d.mm.kernelRoot;
    const n = 1 << this.d.mmu.profile.bits[0]!;
    for (let i = this.d.mmu.profile.kernelTopIndex; i < n; i++) {
      const at = i * 8;
      if (ram.read32(this.root + at) !== ram.read32(from + at) || ram.read32(this.root + at + 4) !== ram.read32(from + at + 4)) {
        ram.write32(this.root + at, ram.read32(from + at));
        ram.write32(this.root + at + 4, ram.read32(from + at + 4));
      }
    }
  }

  /** The VMA containing `va`, or undefined. */
  find(va: number): Vma | undefined {
    const v = this.vmas;
    let lo = 0, hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid]!;
      if (va < m.vm_start) hi = mid - 1;
      else if (va >= m.vm_end) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** Insert a VMA keeping the order. */
  insert(vma: Vma): void {
    let i = 0;
    while (i < this.vmas.length && this.vmas[i]!.vm_start < vma.vm_start) i++;
    this.vmas.splice(i, 0, vma);
  }

  remove(vma: Vma): void {
    const i = this.vmas.indexOf(vma);
    if (i >= 0) this.vmas.splice(i, 1);
  }

  /** True when no VMA overlaps `[start, end)`. */
  isFree(start: number, end: number): boolean {
    for (const v of this.vmas) if (v.vm_start < end && v.vm_end > start) return false;
    return true;
  }

  /** Lowest free gap of `len` bytes at or above `from` (below TASK_SIZE), or -1. */
  findGap(from: number, len: number): number {
    let a = from;
    for (const v of this.vmas) {
      if (v.vm_end <= a) continue;
      if (v.vm_start >= a + len) break;
      a = v.vm_end;
    }
    return a + len <= this.taskSize ? a : -1;
  }

  // ---- PTEs ---------------------------------------------------------------------------------

  /** PTE flags for a page of `vma` mapped with `prot` (writable only when allowed). */
  pteFlags(vma: Vma, prot: number, exclusive: boolean): number {
    const writable = (vma.vm_flags & VM_WRITE) !== 0 && ((vma.vm_flags & VM_SHARED) !== 0 || exclusive);
    return ((prot & (PteFlag.MtMask | PteFlag.Nx)) | PteFlag.User | (writable ? PteFlag.Write : 0)) >>> 0;
  }

  /** Install (or replace) the PTE of the page at `va`. Drops the reference of a replaced counted page. */
  mapPage(vma: Vma, va: number, pfn: number, prot: number, counted: boolean, exclusive: boolean): void {
    const vpn = Math.floor(va / PAGE);
    this.dropPte(vpn);
    this.d.mmu.map(this.root, vpn * PAGE, pfn * PAGE, PAGE, this.pteFlags(vma, prot, exclusive), this.alloc);
    this.ptes.set(vpn, { pfn, counted, exclusive });
    this.d.tlb.flushRange(vpn * PAGE, PAGE, this.asid);
  }

  /** Remove the PTEs of `[start, end)`, dropping page references. */
  unmapRange(start: number, end: number): void {
    for (let a = start; a < end; a += PAGE) this.dropPte(Math.floor(a / PAGE));
    if (end > start) this.d.tlb.flushRange(start, end - start, this.asid);
  }

  /** Re-protect the present PTEs of `[start, end)` after a VMA's flags changed. */
  reprotect(vma: Vma, start: number, end: number): void {
    for (let a = start; a < end; a += PAGE) {
      const vpn = Math.floor(a / PAGE);
      const p = this.ptes.get(vpn);
      if (!p) continue;
      const t = this.d.mmu.lookup(this.root, a);
      const mt = t ? t.flags & PteFlag.MtMask : 0;
      const prot = (vma.vm_page_prot & ~PteFlag.MtMask) | mt;
      this.d.mmu.protect(this.root, a, PAGE, this.pteFlags(vma, prot, p.exclusive), this.alloc);
    }
    if (end > start) this.d.tlb.flushRange(start, end - start, this.asid);
  }

  private dropPte(vpn: number): void {
    const p = this.ptes.get(vpn);
    if (!p) return;
    this.ptes.delete(vpn);
    this.d.mmu.unmap(this.root, vpn * PAGE, PAGE, this.alloc);
    if (p.counted) this.d.mm.pagePut(p.pfn);
  }

  /** The pfn mapped at `va`, or -1. */
  pfnAt(va: number): number {
    const p = this.ptes.get(Math.floor(va / PAGE));
    return p ? p.pfn : -1;
  }

  // ---- faults -------------------------------------------------------------------------------

  /**
   * Serve a fault at `va`. Returns null when the access can be retried, or the signal to deliver.
   * `user` is false for kernel accesses to user memory (copy_to_user, get_user_pages).
   */
  fault(va: number, write: boolean, user: boolean): SignalInfo | null {
    this.stats.faults++;
    const access = write ? "write" : "read";
    if (va < 0 || va >= this.taskSize) {
      return { signal: "SIGSEGV", code: SEGV_MAPERR, addr: va, cause: user ? "user access to kernel address" : "not a user address", access };
    }
    const vma = this.find(va);
    if (!vma) return { signal: "SIGSEGV", code: SEGV_MAPERR, addr: va, cause: "no mapping", access };
    if (write && (vma.vm_flags & VM_WRITE) === 0) return { signal: "SIGSEGV", code: SEGV_ACCERR, addr: va, cause: "write to read-only mapping", access };
    if (!write && (vma.vm_flags & VM_READ) === 0) return { signal: "SIGSEGV", code: SEGV_ACCERR, addr: va, cause: "read from a PROT_NONE mapping", access };
    const pageVa = Math.floor(va / PAGE) * PAGE;
    // The device behind it is gone (its driver was unbound): nothing left to map, ever.
    if (vma.orphaned !== null) return { signal: "SIGBUS", code: BUS_ADRERR, addr: va, cause: vma.orphaned, access };
    const pte = this.ptes.get(pageVa / PAGE);
    if (pte) {
      if (!write) {
        // Present and readable: a stale TLB entry; flushing is enough.
        this.d.tlb.flushRange(pageVa, PAGE, this.asid);
        return null;
      }
      return this.writeProtectFault(vma, pageVa, pte);
    }
    if (vma.anonymous) return this.anonFault(vma, pageVa, write);
    return this.fileFault(vma, pageVa, write, access);
  }

  private anonFault(vma: Vma, pageVa: number, write: boolean): SignalInfo | null {
    if (!write) {
      this.stats.zeroMaps++;
      this.mapPage(vma, pageVa, this.d.zeroPfn, vma.vm_page_prot, false, false);
      return null;
    }
    const pfn = this.d.mm.allocBlock(GFP_HIGHUSER | __GFP_ZERO, 0);
    if (pfn < 0) return { signal: "SIGKILL", code: 0, addr: pageVa, cause: "out of memory", access: "write" };
    this.stats.anonAllocs++;
    this.mapPage(vma, pageVa, pfn, vma.vm_page_prot, true, true);
    return null;
  }

  /** A write to a present read-only PTE of a writable VMA. */
  private writeProtectFault(vma: Vma, pageVa: number, pte: UserPte): SignalInfo | null {
    const t = this.d.mmu.lookup(this.root, pageVa);
    const prot = (vma.vm_page_prot & ~PteFlag.MtMask) | (t ? t.flags & PteFlag.MtMask : 0);
    if ((vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) !== 0 || pte.exclusive) {
      this.mapPage(vma, pageVa, pte.pfn, prot | PteFlag.Write, pte.counted && this.keepRef(pte.pfn), pte.exclusive);
      return null;
    }
    // Copy-on-write: a fresh page with the old contents (the zero page or a file page).
    const pfn = this.d.mm.allocBlock(GFP_HIGHUSER, 0);
    if (pfn < 0) return { signal: "SIGKILL", code: 0, addr: pageVa, cause: "out of memory", access: "write" };
    this.copyPhysPage(pfn, pte.pfn);
    this.stats.cowCopies++;
    this.mapPage(vma, pageVa, pfn, vma.vm_page_prot, true, true);
    return null;
  }

  /** mapPage drops the old reference; re-mapping the same counted page needs one more first. */
  private keepRef(pfn: number): boolean {
    this.d.mm.pageGet(pfn);
    return true;
  }

  private fileFault(vma: Vma, pageVa: number, write: boolean, access: "read" | "write"): SignalInfo | null {
    const fault = vma.vm_ops?.fault;
    const sigbus = (cause: string): SignalInfo => ({ signal: "SIGBUS", code: BUS_ADRERR, addr: pageVa, cause, access });
    if (!fault) return sigbus("no page at this offset of the mapping (the driver mapped less than the VMA and has no fault handler)");
    const pgoff = vma.vm_pgoff + (pageVa - vma.vm_start) / PAGE;
    const vmf: DriverVmFault = { vma, address: pageVa, pgoff, flags: write ? FAULT_FLAG_WRITE : 0, page: null };
    this.stats.driverFaults++;
    const ret = this.d.callFault(vma, vmf);
    if ((ret & VM_FAULT_SIGSEGV) !== 0) return { signal: "SIGSEGV", code: SEGV_ACCERR, addr: pageVa, cause: "fault handler returned VM_FAULT_SIGSEGV", access };
    if ((ret & VM_FAULT_OOM) !== 0) return { signal: "SIGKILL", code: 0, addr: pageVa, cause: "fault handler returned VM_FAULT_OOM", access };
    if ((ret & VM_FAULT_BUS_ERRORS) !== 0) return sigbus(`fault handler returned VM_FAULT_SIGBUS (page offset ${pgoff})`);
    if ((ret & VM_FAULT_NOPAGE) !== 0) {
      if (this.ptes.has(pageVa / PAGE)) return null;
      this.d.warn(vma, `fault handler returned VM_FAULT_NOPAGE for ${pageVa.toString(16)} without installing a PTE`);
      return sigbus("fault handler installed no page");
    }
    if (!vmf.page) {
      this.d.warn(vma, `fault handler returned 0 without setting vmf->page`);
      return sigbus("fault handler returned no page");
    }
    const pfn = pfnOf(vmf.page);
    if (!this.d.mm.pfnValid(pfn)) {
      this.d.warn(vma, `fault handler returned a page that is not RAM (pfn ${pfn.toString(16)})`);
      return sigbus("fault handler returned an invalid page");
    }
    this.d.checkFaultPage(vma, pfn);
    if (write && vma.cow) {
      const copy = this.d.mm.allocBlock(GFP_HIGHUSER, 0);
      if (copy < 0) return { signal: "SIGKILL", code: 0, addr: pageVa, cause: "out of memory", access };
      this.copyPhysPage(copy, pfn);
      this.stats.cowCopies++;
      this.mapPage(vma, pageVa, copy, vma.vm_page_prot, true, true);
      return null;
    }
    this.d.mm.pageGet(pfn);
    this.mapPage(vma, pageVa, pfn, vma.vm_page_prot, true, false);
    return null;
  }

  /** copy_user_highpage: a coherent physical page copy (dirty cached bytes included). */
  copyPhysPage(dstPfn: number, srcPfn: number): void {
    const buf = new Uint8Array(PAGE);
    this.d.ram.read(srcPfn * PAGE, buf);
    this.d.dcache.snoopRead(srcPfn * PAGE, buf);
    this.d.dcache.invalidate(dstPfn * PAGE, PAGE);
    this.d.ram.write(dstPfn * PAGE, buf);
  }

  /** Drop every PTE and free the page tables (exit). The VMAs must have been closed already. */
  teardown(): void {
    for (const vpn of [...this.ptes.keys()]) this.dropPte(vpn);
    this.d.tlb.flushAsid(this.asid);
    for (const pa of this.tables) this.d.mm.freeTablePage(pa);
    this.tables.length = 0;
  }
}

export { pageOf };
