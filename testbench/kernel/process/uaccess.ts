/**
 * User-memory access from kernel code (the KernelUser slice, part 1): copy_to_user,
 * copy_from_user, clear_user, get_user, put_user, access_ok, get_user_pages and the pin_user_pages
 * family. They act on the current process (the one whose syscall is running). User pages are
 * faulted in through the process's fault handler; an address that cannot be served makes the
 * copy stop there and return the bytes NOT copied (never an oops). Kernel-side addresses go
 * through the checks `k.mem` applies (KASAN, the DMA CPU-ownership watch; over the whole kernel
 * range before copying, as Linux's instrumented copies do) and then the CPU in kernel mode, so a
 * bad kernel pointer is an oops.
 *
 * Pins: each pinned page holds a page reference (so it survives munmap); each pin call holds one
 * ledger entry ("pinned-pages", the call's range) of the pinning driver until its last page is
 * unpinned. Plain get_user_pages references are the caller's to put_page and are not in the ledger.
 */
import { inject, injectable } from "tsyringe";
import type { Kernel, KernelVA, Page, UserVA } from "../../../sdk/index.js";
import { FOLL_WRITE, VM_IO, VM_PFNMAP } from "../../../sdk/index.js";
import { EFAULT, ENOMEM } from "../../../sdk/errno.js";
import { Access, PageFault } from "../../soc/pagetable.js";
import { LEAF_ENTRIES, LEAF_SPAN, LeafTable } from "../../soc/leaf-table.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { hexAddr } from "../mm/layout.js";
import { kernelPageFaultOops } from "../oops.js";
import type { CallSite } from "../stack.js";
import type { MmApi } from "../mm/api.js";
import { MM_API, PROCESSES } from "../tokens.js";
import { pageOf, pfnOf } from "./backend.js";
import { hexVa } from "./mmap-checks.js";
import { PfnBits, PinTable } from "./pins.js";
import type { Process } from "./process.js";
import type { Processes } from "./processes.js";
import type { Vma } from "./vma.js";

const PAGE = 4096;

/** @public */
@injectable()
export class UserAccess implements KernelApiPart {
  /** Live pins and their ledger ids, per pfn (a page can be pinned several times). */
  private readonly pins = new PinTable();
  /** Pages still pinned by each pin call in the ledger, by ledger id. */
  private readonly pinCalls = new Map<number, number>();
  /** Pfns marked dirty (set_page_dirty_lock, unpin_user_pages_dirty_lock). */
  readonly dirtied = new PfnBits();
  private readonly chunk = new Uint8Array(PAGE);
  /** The user page-table leaf of the page gup is at (consecutive pages read one entry each). */
  private leaf: LeafTable | undefined;

  constructor(
    @inject(PROCESSES) private readonly sys: Processes,
    @inject(MM_API) private readonly kmem: MmApi,
  ) {}

  api(owner: Owner): Partial<Kernel> {
    const core = this.sys.core;
    return {
      copy_to_user: (to: UserVA, from: KernelVA, n: number) => this.copy(owner, to, from, n, true, core.site()),
      copy_from_user: (to: KernelVA, from: UserVA, n: number) => this.copy(owner, from, to, n, false, core.site()),
      clear_user: (to: UserVA, n: number) => this.clearUser(owner, to, n),
      get_user: (ptr: UserVA, size: 1 | 2 | 4 | 8) => this.getUser(owner, ptr, size),
      put_user: (value: number, ptr: UserVA, size: 1 | 2 | 4 | 8) => this.putUser(owner, value, ptr, size),
      access_ok: (addr: UserVA, size: number) => this.accessOk(addr, size),
      get_user_pages: (start: UserVA, nr: number, flags: number, pages: Page[]) => this.gup(owner, start, nr, flags, pages, false, core.site()),
      pin_user_pages: (start: UserVA, nr: number, flags: number, pages: Page[]) => this.gup(owner, start, nr, flags, pages, true, core.site()),
      pin_user_pages_fast: (start: UserVA, nr: number, flags: number, pages: Page[]) => this.gup(owner, start, nr, flags, pages, true, core.site()),
      unpin_user_pages: (pages: readonly Page[], n: number) => this.unpin(owner, pages, n, false),
      unpin_user_pages_dirty_lock: (pages: readonly Page[], n: number, dirty: boolean) => this.unpin(owner, pages, n, dirty),
      set_page_dirty_lock: (page: Page) => void this.dirtied.add(pfnOf(page)),
    };
  }

  /** Number of live pins of a pfn. */
  pinCount(pfn: number): number {
    return this.pins.count(pfn);
  }

  private current(owner: Owner, what: string): Process | null {
    const p = this.sys.current();
    if (!p) {
      this.sys.core.report({ kind: "warn", title: `WARNING: ${owner.driver}: ${what} called outside a user process's syscall (no current->mm)`, driver: owner.driver }, this.sys.core.site());
    }
    return p;
  }

  accessOk(addr: number, size: number): boolean {
    const p = this.sys.current();
    const limit = p ? p.mm.taskSize : this.sys.mm.layout.taskSize;
    return addr >= 0 && size >= 0 && addr + size <= limit;
  }

  /** Run `fn` with the CPU in `p`'s address space, kernel mode. */
  private inMm<T>(p: Process, fn: () => T): T {
    const cpu = this.sys.cpu;
    const root = cpu.root, asid = cpu.asid, user = cpu.user;
    cpu.switchTo(p.mm.root, p.mm.asid);
    cpu.user = false;
    try {
      return fn();
    } finally {
      cpu.user = user;
      cpu.switchTo(root, asid);
    }
  }

  /** A kernel-side access: a fault there is an oops. */
  private kernelSide<T>(owner: Owner, site: CallSite, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PageFault) throw kernelPageFaultOops(this.sys.core, e, (a) => hexAddr(a, this.sys.mm.layout.pointerBits), site, owner.driver);
      throw e;
    }
  }

  /**
   * A user-side access with fault fix-up: returns false when the page at `va` cannot be served.
   * `fn` must be idempotent (it is retried after a served fault).
   */
  private userSide(p: Process, va: number, write: boolean, fn: () => void): boolean {
    for (let tries = 0; tries < 16; tries++) {
      try {
        fn();
        return true;
      } catch (e) {
        if (!(e instanceof PageFault) || e.user) throw e;
        if (p.mm.fault(e.addr, write, false) !== null) return false;
      }
    }
    return false;
  }

  /** copy_to_user (toUser) / copy_from_user: bytes NOT copied. */
  private copy(owner: Owner, user: number, kernel: number, n: number, toUser: boolean, site: CallSite): number {
    if (n <= 0) return 0;
    const p = this.current(owner, toUser ? "copy_to_user" : "copy_from_user");
    if (!p || !this.accessOk(user, n)) return n;
    this.kmem.kasanKernelAccess(owner, kernel, n, !toUser);
    const cpu = this.sys.cpu;
    const buf = this.chunk;
    return this.inMm(p, () => {
      let done = 0;
      while (done < n) {
        const u = user + done;
        const len = Math.min(n - done, PAGE - (u % PAGE));
        const view = buf.subarray(0, len);
        this.kmem.watchKernelAccess(kernel + done, len, !toUser);
        if (toUser) {
          this.kernelSide(owner, site, () => cpu.readBytes(kernel + done, view));
          if (!this.userSide(p, u, true, () => cpu.writeBytes(u, view))) return n - done;
        } else {
          if (!this.userSide(p, u, false, () => cpu.readBytes(u, view))) return n - done;
          this.kernelSide(owner, site, () => cpu.writeBytes(kernel + done, view));
        }
        done += len;
      }
      return 0;
    });
  }

  private clearUser(owner: Owner, to: number, n: number): number {
    if (n <= 0) return 0;
    const p = this.current(owner, "clear_user");
    if (!p || !this.accessOk(to, n)) return n;
    const cpu = this.sys.cpu;
    return this.inMm(p, () => {
      let done = 0;
      while (done < n) {
        const u = to + done;
        const len = Math.min(n - done, PAGE - (u % PAGE));
        if (!this.userSide(p, u, true, () => cpu.fill(u, len, 0))) return n - done;
        done += len;
      }
      return 0;
    });
  }

  private getUser(owner: Owner, ptr: number, size: 1 | 2 | 4 | 8): { readonly err: number; readonly value: number } {
    const p = this.current(owner, "get_user");
    if (!p || !this.accessOk(ptr, size)) return { err: -EFAULT, value: 0 };
    const cpu = this.sys.cpu;
    let value = 0;
    const ok = this.inMm(p, () =>
      this.userSide(p, ptr, false, () => {
        value = size === 8 ? cpu.load64(ptr) : size === 4 ? cpu.load32(ptr) : size === 2 ? cpu.load16(ptr) : cpu.load8(ptr);
      }),
    );
    return ok ? { err: 0, value } : { err: -EFAULT, value: 0 };
  }

  private putUser(owner: Owner, value: number, ptr: number, size: 1 | 2 | 4 | 8): number {
    const p = this.current(owner, "put_user");
    if (!p || !this.accessOk(ptr, size)) return -EFAULT;
    const cpu = this.sys.cpu;
    const ok = this.inMm(p, () =>
      this.userSide(p, ptr, true, () => {
        if (size === 8) cpu.store64(ptr, value);
        else if (size === 4) cpu.store32(ptr, value >>> 0);
        else if (size === 2) cpu.store16(ptr, value & 0xffff);
        else cpu.store8(ptr, value & 0xff);
      }),
    );
    return ok ? 0 : -EFAULT;
  }

  /**
   * get_user_pages / pin_user_pages: fault each page in (FOLL_WRITE breaks COW so the page is
   * the process's own writable copy), take a reference, fill `pages`. Returns the number of pages
   * (fewer when a page cannot be served) or -EFAULT when the first fails. VM_IO / VM_PFNMAP
   * mappings have no struct pages: -EFAULT.
   */
  private gup(owner: Owner, start: number, nr: number, flags: number, pages: Page[], pin: boolean, site: CallSite): number {
    const what = pin ? "pin_user_pages" : "get_user_pages";
    const p = this.current(owner, what);
    if (!p) return -EFAULT;
    if (pin && this.sys.core.faults.shouldFail("pin-user-pages", owner.driver, site)) return -ENOMEM;
    const write = (flags & FOLL_WRITE) !== 0;
    const base = Math.floor(start / PAGE) * PAGE;
    const limit = p.mm.taskSize;
    const ledger = this.sys.core.ledger;
    const mm = this.sys.mm;
    // The VMA and the last-level table of the previous page, reused while the pages stay inside
    // them and no fault was served (a fault may change the tables).
    let vma: Vma | undefined;
    const leaf = (this.leaf ??= new LeafTable(this.sys.ram, this.sys.mmu.profile));
    let region = -1;
    let got = 0;
    for (; got < nr; got++) {
      const va = base + got * PAGE;
      if (!(va >= 0 && va + PAGE <= limit)) break;
      if (vma === undefined || va >= vma.vm_end || va < vma.vm_start) vma = p.mm.find(va);
      if (!vma || (vma.vm_flags & (VM_IO | VM_PFNMAP)) !== 0) break;
      // A present entry (writable at every level for FOLL_WRITE) is what the walk would find.
      const r = Math.floor(va / LEAF_SPAN);
      if (r !== region) region = leaf.find(p.mm.root, va) ? r : -1;
      let pfn = -1;
      if (region >= 0) {
        const i = Math.floor(va / PAGE) - r * LEAF_ENTRIES;
        const lo = leaf.low(i);
        if ((lo & 1) !== 0 && (!write || (leaf.upperWrite && (lo & 2) !== 0))) pfn = leaf.frame(i, lo) / PAGE;
      }
      if (pfn < 0) {
        const served = p.mm.stats.faults;
        pfn = this.faultIn(p, va, write);
        if (pfn < 0) break;
        if (p.mm.stats.faults !== served) {
          vma = undefined;
          region = -1;
        }
      }
      mm.pageGet(pfn);
      pages[got] = pageOf(pfn);
    }
    if (pin && got > 0) {
      // One ledger entry per call, as a leak report lists one pin per call; it is released when
      // the last of its pages is unpinned. The label is built only when the ledger keeps it.
      let id = 0;
      if (ledger.enabled) {
        id = ledger.add("pinned-pages", owner, `pinned ${got} page${got === 1 ? "" : "s"} at 0x${hexVa(base)}.. by ${owner.driver} (${p.comm}[${p.pid}])`, site, this.sys.core.now(), base, got * PAGE);
        this.pinCalls.set(id, got);
      }
      for (let i = 0; i < got; i++) this.pins.pin(pfnOf(pages[i]!), id);
    }
    return got > 0 ? got : nr === 0 ? 0 : -EFAULT;
  }

  /** The pfn at `va` after making it present (and writable for `write`), or -1. */
  private faultIn(p: Process, va: number, write: boolean): number {
    const mmu = this.sys.mmu;
    for (let tries = 0; tries < 4; tries++) {
      // The user page tables and the address space's PTEs agree: the walk's frame is the pfn.
      if (mmu.walkInto(p.mm.root, va, write ? Access.Write : Access.Read, false, false) === 0) return Math.floor(mmu.outPageBase / PAGE);
      if (p.mm.fault(va, write, false) !== null) return -1;
    }
    return -1;
  }

  private unpin(owner: Owner, pages: readonly Page[], n: number, dirty: boolean): void {
    let lastId = 0;
    let left = 0;
    for (let i = 0; i < n; i++) {
      const page = pages[i];
      if (page === undefined) continue;
      const pfn = pfnOf(page);
      const id = this.pins.unpin(pfn);
      if (id < 0) {
        this.sys.core.report({ kind: "warn", title: `WARNING: ${owner.driver}: unpin_user_pages of pfn 0x${pfn.toString(16)} that is not pinned`, driver: owner.driver }, this.sys.core.site());
        continue;
      }
      if (id !== 0) {
        // Consecutive pages usually come from one pin call: its count is looked up once.
        if (id !== lastId) {
          if (lastId !== 0) this.unpinned(lastId, left);
          lastId = id;
          left = this.pinCalls.get(id)!;
        }
        left--;
      }
      if (dirty) this.dirtied.add(pfn);
      this.sys.mm.pagePut(pfn);
    }
    if (lastId !== 0) this.unpinned(lastId, left);
  }

  /** Store the pages still pinned by pin call `id`; the last one releases its ledger entry. */
  private unpinned(id: number, left: number): void {
    if (left > 0) {
      this.pinCalls.set(id, left);
      return;
    }
    this.pinCalls.delete(id);
    this.sys.core.ledger.remove(id);
  }
}
