/** User memory access, pinning, VMAs and the mmap helpers. */
import type { KernelVA, UserVA } from "../address.js";
import type { File } from "./driver-core.js";
import type { Page } from "./types.js";

/** @public */ export const VM_READ = 0x1;
/** @public */ export const VM_WRITE = 0x2;
/** @public */ export const VM_EXEC = 0x4;
/** @public */ export const VM_SHARED = 0x8;
/** @public */ export const VM_MAYREAD = 0x10;
/** @public */ export const VM_MAYWRITE = 0x20;
/** @public */ export const VM_IO = 0x4000;
/** @public */ export const VM_DONTCOPY = 0x20000;
/** @public */ export const VM_DONTEXPAND = 0x40000;
/** @public */ export const VM_PFNMAP = 0x400;
/** @public */ export const VM_MIXEDMAP = 0x10000000;
/** @public */ export const VM_DONTDUMP = 0x4000000;

/** Page protection (`pgprot_t`): protection plus memory type. @public */
export type PgProt = number & { readonly __pgprot: true };

/** `vm_fault_t` codes. @public */
export const VM_FAULT_OOM = 0x1;
/** @public */ export const VM_FAULT_SIGBUS = 0x2;
/** @public */ export const VM_FAULT_NOPAGE = 0x100;
/** @public */ export const VM_FAULT_LOCKED = 0x200;
/** @public */ export type VmFaultT = number;

/** `struct vm_fault`. @public */
export interface VmFault {
  readonly vma: VmArea;
  /** Faulting user address, page aligned. */
  readonly address: UserVA;
  /** Page offset of the fault inside the object (`vm_pgoff` + index). */
  readonly pgoff: number;
  /** Set by a fault handler that returns 0: the page to map (a reference is taken for the mapping). */
  page: Page | null;
}

/** `struct vm_operations_struct`. @public */
export interface VmOperations {
  open?(vma: VmArea): void;
  close?(vma: VmArea): void;
  fault?(vmf: VmFault): VmFaultT;
}

/** `struct vm_area_struct` as a driver's mmap sees it. @public */
export interface VmArea {
  readonly vm_start: UserVA;
  readonly vm_end: UserVA;
  vm_pgoff: number;
  vm_flags: number;
  vm_page_prot: PgProt;
  vm_ops: VmOperations | null;
  vm_private_data: unknown;
  readonly vm_file: File | null;
}

/** `FOLL_*` flags for get_user_pages / pin_user_pages. @public */
export const FOLL_WRITE = 0x1;
/** @public */ export const FOLL_LONGTERM = 0x100;

/** The user-memory and mmap part of the kernel facade. @public */
export interface KernelUser {
  /** Bytes NOT copied (0 on success). */
  copy_to_user(to: UserVA, from: KernelVA, n: number): number;
  copy_from_user(to: KernelVA, from: UserVA, n: number): number;
  /** 0 and the value, or -EFAULT. `size` is 1, 2, 4 or 8 bytes. */
  get_user(ptr: UserVA, size: 1 | 2 | 4 | 8): { readonly err: number; readonly value: number };
  put_user(value: number, ptr: UserVA, size: 1 | 2 | 4 | 8): number;
  clear_user(to: UserVA, n: number): number;
  access_ok(addr: UserVA, size: number): boolean;

  /** Pages pinned (≤ nrPages) or a negative errno; fills `pages`. */
  get_user_pages(start: UserVA, nrPages: number, gupFlags: number, pages: Page[]): number;
  pin_user_pages(start: UserVA, nrPages: number, gupFlags: number, pages: Page[]): number;
  pin_user_pages_fast(start: UserVA, nrPages: number, gupFlags: number, pages: Page[]): number;
  unpin_user_pages(pages: readonly Page[], npages: number): void;
  unpin_user_pages_dirty_lock(pages: readonly Page[], npages: number, makeDirty: boolean): void;
  set_page_dirty_lock(page: Page): void;

  remap_pfn_range(vma: VmArea, addr: UserVA, pfn: number, size: number, prot: PgProt): number;
  io_remap_pfn_range(vma: VmArea, addr: UserVA, pfn: number, size: number, prot: PgProt): number;
  remap_vmalloc_range(vma: VmArea, addr: KernelVA, pgoff: number): number;
  vmf_insert_pfn(vma: VmArea, addr: UserVA, pfn: number): VmFaultT;
  vm_insert_page(vma: VmArea, addr: UserVA, page: Page): number;
  pgprot_noncached(prot: PgProt): PgProt;
  pgprot_writecombine(prot: PgProt): PgProt;
}
