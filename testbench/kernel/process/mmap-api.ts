/**
 * Driver-side mmap helpers (the KernelUser slice, part 2): remap_pfn_range, io_remap_pfn_range,
 * remap_vmalloc_range, vm_insert_page, vmf_insert_pfn, pgprot_noncached, pgprot_writecombine.
 *
 * `PgProt` is a page-table flag word (soc/pagetable.ts PteFlag): Present, User, Write (shared
 * writable mappings only; private ones map read-only and copy on write), the memory type and NX.
 * Every mapping is checked by detector 11 (mmap-checks.ts).
 */
import { inject, injectable } from "tsyringe";
import type { Kernel, KernelVA, Page, PgProt, UserVA, VmArea, VmFaultT } from "../../../sdk/index.js";
import {
  pageAlignUp, VM_DONTDUMP, VM_DONTEXPAND, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_IO, VM_MIXEDMAP, VM_PFNMAP,
} from "../../../sdk/index.js";
import { EFAULT, EINVAL } from "../../../sdk/errno.js";
import { PteFlag } from "../../soc/pagetable.js";
import type { KernelApiPart, Owner } from "../facade.js";
import type { CallSite } from "../stack.js";
import { PROCESSES } from "../tokens.js";
import { pfnOf } from "./backend.js";
import { hexVa } from "./mmap-checks.js";
import type { Processes } from "./processes.js";
import { Vma } from "./vma.js";

const PAGE = 4096;

/** @public */
@injectable()
export class MmapApi implements KernelApiPart {
  constructor(@inject(PROCESSES) private readonly sys: Processes) {}

  api(owner: Owner): Partial<Kernel> {
    const core = this.sys.core;
    return {
      remap_pfn_range: (vma: VmArea, addr: UserVA, pfn: number, size: number, prot: PgProt) => this.remapPfnRange(owner, vma, addr, pfn, size, prot, "remap_pfn_range", core.site()),
      io_remap_pfn_range: (vma: VmArea, addr: UserVA, pfn: number, size: number, prot: PgProt) => this.remapPfnRange(owner, vma, addr, pfn, size, prot, "io_remap_pfn_range", core.site()),
      remap_vmalloc_range: (vma: VmArea, addr: KernelVA, pgoff: number) => this.remapVmalloc(owner, vma, addr, pgoff, core.site()),
      vmf_insert_pfn: (vma: VmArea, addr: UserVA, pfn: number) => this.insertPfn(owner, vma, addr, pfn, core.site()),
      vm_insert_page: (vma: VmArea, addr: UserVA, page: Page) => this.insertPage(owner, vma, addr, page, core.site()),
      pgprot_noncached: (prot: PgProt) => ((prot & ~PteFlag.MtMask) | PteFlag.MtUncached) as PgProt,
      pgprot_writecombine: (prot: PgProt) => ((prot & ~PteFlag.MtMask) | PteFlag.MtWriteCombining) as PgProt,
    };
  }

  /** The testbench VMA behind a driver's VmArea, or null (reported). */
  private vmaOf(owner: Owner, vma: VmArea, what: string, site: CallSite): Vma | null {
    if (vma instanceof Vma && vma.live && vma.space) return vma;
    this.sys.core.report({ kind: "mmap", title: `mmap: ${owner.driver}: ${what} on a vma that is not mapped (already unmapped, or not from mmap)`, driver: owner.driver }, site);
    return null;
  }

  private remapPfnRange(owner: Owner, vma: VmArea, addr: number, pfn: number, size: number, prot: number, what: string, site: CallSite): number {
    const v = this.vmaOf(owner, vma, what, site);
    if (!v) return -EINVAL;
    const len = pageAlignUp(size);
    if (!(pfn >= 0) || len <= 0) return -EINVAL;
    if (this.sys.checks.checkRange(owner.driver, v, what, addr, len, site)) return -EINVAL;
    if (v.cow) {
      // A private writable mapping must be remapped whole; vm_pgoff then becomes the pfn.
      if (addr !== v.vm_start || addr + len !== v.vm_end) return -EINVAL;
      v.vm_pgoff = pfn;
    }
    v.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
    const n = len / PAGE;
    this.sys.checks.checkPfns(owner.driver, v, what, pfn, n, prot, site);
    for (let i = 0; i < n; i++) v.space!.mapPage(v, addr + i * PAGE, pfn + i, prot, false, false);
    return 0;
  }

  private remapVmalloc(owner: Owner, vma: VmArea, kaddr: number, pgoff: number, site: CallSite): number {
    const v = this.vmaOf(owner, vma, "remap_vmalloc_range", site);
    if (!v) return -EINVAL;
    const lay = this.sys.mm.layout;
    if (kaddr % PAGE !== 0 || kaddr < lay.vmallocStart || kaddr >= lay.vmallocEnd) return -EINVAL;
    const area = this.sys.core.ledger.outstanding(owner.driver).find((e) => e.kind === "vmalloc" && e.address !== undefined && kaddr >= e.address && kaddr < e.address + (e.size ?? 0));
    const size = v.vm_end - v.vm_start;
    const from = kaddr + pgoff * PAGE;
    if (area && from - area.address! + size > pageAlignUp(area.size ?? 0)) {
      this.sys.core.report({ kind: "mmap", title: `mmap: ${owner.driver}: remap_vmalloc_range: offset 0x${(from - area.address!).toString(16)} + 0x${size.toString(16)} exceeds the vmalloc area of 0x${(area.size ?? 0).toString(16)} bytes`, driver: owner.driver }, site);
      return -EINVAL;
    }
    const pfns: number[] = [];
    for (let off = 0; off < size; off += PAGE) {
      const t = this.sys.mmu.lookup(this.sys.mm.kernelRoot, from + off);
      if (!t) return -EINVAL;
      pfns.push(Math.floor(t.pa / PAGE));
    }
    v.vm_flags |= VM_DONTEXPAND | VM_DONTDUMP | VM_MIXEDMAP;
    for (let i = 0; i < pfns.length; i++) {
      this.sys.mm.pageGet(pfns[i]!);
      v.space!.mapPage(v, v.vm_start + i * PAGE, pfns[i]!, v.vm_page_prot, true, false);
    }
    return 0;
  }

  private insertPage(owner: Owner, vma: VmArea, addr: number, page: Page, site: CallSite): number {
    const v = this.vmaOf(owner, vma, "vm_insert_page", site);
    if (!v) return -EINVAL;
    if (addr < v.vm_start || addr >= v.vm_end || addr % PAGE !== 0) return -EFAULT;
    const pfn = pfnOf(page);
    if (!this.sys.mm.pfnValid(pfn)) return -EINVAL;
    if ((v.vm_flags & VM_PFNMAP) !== 0) {
      this.sys.core.report({ kind: "warn", title: `WARNING: ${owner.driver}: vm_insert_page into a VM_PFNMAP vma ${hexVa(v.vm_start)}-${hexVa(v.vm_end)}`, driver: owner.driver }, site);
      return -EINVAL;
    }
    v.vm_flags |= VM_MIXEDMAP;
    this.sys.checks.checkPfns(owner.driver, v, "vm_insert_page", pfn, 1, v.vm_page_prot, site);
    this.sys.mm.pageGet(pfn);
    v.space!.mapPage(v, addr, pfn, v.vm_page_prot, true, false);
    return 0;
  }

  private insertPfn(owner: Owner, vma: VmArea, addr: number, pfn: number, site: CallSite): VmFaultT {
    const v = this.vmaOf(owner, vma, "vmf_insert_pfn", site);
    if (!v) return VM_FAULT_SIGBUS;
    const kinds = v.vm_flags & (VM_PFNMAP | VM_MIXEDMAP);
    if (kinds !== VM_PFNMAP && kinds !== VM_MIXEDMAP) {
      this.sys.core.report({ kind: "warn", title: `WARNING: ${owner.driver}: vmf_insert_pfn needs exactly one of VM_PFNMAP / VM_MIXEDMAP on the vma (set it in mmap)`, driver: owner.driver }, site);
      return VM_FAULT_SIGBUS;
    }
    const page = Math.floor(addr / PAGE) * PAGE;
    if (page < v.vm_start || page >= v.vm_end) return VM_FAULT_SIGBUS;
    if (v.space!.pfnAt(page) >= 0) return VM_FAULT_NOPAGE;
    this.sys.checks.checkPfns(owner.driver, v, "vmf_insert_pfn (fault handler)", pfn, 1, v.vm_page_prot, site);
    v.space!.mapPage(v, page, pfn, v.vm_page_prot, false, false);
    return VM_FAULT_NOPAGE;
  }
}
