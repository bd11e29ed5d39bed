/**
 * `struct vm_area_struct` as the testbench keeps it: the driver-visible fields of the SDK's
 * VmArea plus the bookkeeping the address space needs (owner driver, name, ledger entry).
 */
import type { File, PgProt, UserVA, VmArea, VmOperations } from "../../../sdk/index.js";
import { VM_READ, VM_SHARED, VM_WRITE, VM_EXEC } from "../../../sdk/index.js";
import type { Owner } from "../facade.js";
import type { CharNode } from "../vfs/chrdev.js";
import { VM_MAYSHARE } from "./uapi.js";
import type { AddressSpace } from "./address-space.js";

/** An open file description: the driver's `struct file` plus what the VFS tracks. @internal */
export interface OpenFile {
  readonly file: File;
  readonly node: CharNode;
  /** References: fds pointing at it plus VMAs mapping it. `release` runs when it drops to 0. */
  refs: number;
  /** The node's driver was a live binding at open (its fops return -ENODEV once it is gone). */
  readonly boundAtOpen: boolean;
}

/** A VMA. @public */
export class Vma implements VmArea {
  vm_start: UserVA;
  vm_end: UserVA;
  vm_pgoff: number;
  vm_flags: number;
  vm_page_prot: PgProt;
  vm_ops: VmOperations | null = null;
  vm_private_data: unknown = null;
  readonly vm_file: File | null;
  /** The open file it maps (null for anonymous memory). @internal */
  readonly open: OpenFile | null;
  /** The driver whose mmap fop set it up (for leak attribution and detector 11). */
  readonly owner: Owner | null;
  /** Name shown in /proc/<pid>/maps for anonymous VMAs (`[heap]`), or null. */
  name: string | null;
  /** Ledger entry (kind "vma") while mapped. @internal */
  ledgerId = 0;
  /** False once unmapped (a driver keeping a pointer to it must not map into it). */
  live = true;
  /** True while the driver's mmap fop runs. @internal */
  settingUp = false;
  /** The address space it belongs to (set before the driver's mmap runs). @internal */
  space: AddressSpace | null = null;
  /**
   * Set when the driver that mapped it was unbound while the VMA was still mapped: its PTEs were
   * zapped and every access now gets SIGBUS with this text; no vm_ops callback runs any more.
   */
  orphaned: string | null = null;

  constructor(start: number, end: number, pgoff: number, flags: number, prot: PgProt, open: OpenFile | null, owner: Owner | null, name: string | null = null) {
    this.vm_start = start as UserVA;
    this.vm_end = end as UserVA;
    this.vm_pgoff = pgoff;
    this.vm_flags = flags;
    this.vm_page_prot = prot;
    this.open = open;
    this.vm_file = open ? open.file : null;
    this.owner = owner;
    this.name = name;
  }

  /** True for anonymous memory. */
  get anonymous(): boolean {
    return this.open === null;
  }

  /** A private writable mapping (`is_cow_mapping`). */
  get cow(): boolean {
    return (this.vm_flags & (VM_SHARED | VM_MAYSHARE)) === 0 && (this.vm_flags & 0x20) !== 0;
  }

  /** A copy for a split (the caller adjusts bounds and pgoff). */
  clone(): Vma {
    const v = new Vma(this.vm_start, this.vm_end, this.vm_pgoff, this.vm_flags, this.vm_page_prot, this.open, this.owner, this.name);
    v.vm_ops = this.vm_ops;
    v.vm_private_data = this.vm_private_data;
    v.space = this.space;
    v.orphaned = this.orphaned;
    v.live = this.live;
    return v;
  }

  /** `rwxs`/`rwxp` as /proc/<pid>/maps prints it. */
  perms(): string {
    const f = this.vm_flags;
    return (f & VM_READ ? "r" : "-") + (f & VM_WRITE ? "w" : "-") + (f & VM_EXEC ? "x" : "-") + (f & VM_MAYSHARE ? "s" : "p");
  }
}
