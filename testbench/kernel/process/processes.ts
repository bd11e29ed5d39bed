/**
 * The process table (`Processes`, token PROCESSES): spawns simulated user processes, owns the
 * shared zero page, runs syscalls on the scheduler pump with the process as the current task,
 * guards every call into driver code (an exception becomes an oops report), and implements the
 * VMA operations shared by syscalls and the kernel API (split, unmap with vm_ops open/close).
 *
 * Oops policy: a driver exception during a syscall is reported (kind "oops"), the syscall returns
 * -EFAULT and the process is killed as Linux does after an oops in process context: its VMAs
 * are unmapped and its files closed, and every later syscall returns -ESRCH. An exception in a
 * `vm_ops->fault` handler is reported and the faulting access gets SIGBUS.
 *
 * Mappings and files left behind by an unbound driver are orphaned (see orphan.ts): no callback
 * of that driver runs for them any more.
 */
import { inject, injectable } from "tsyringe";
import type { Kernel, VmFault } from "../../../sdk/index.js";
import { GFP_KERNEL, VM_FAULT_SIGBUS, __GFP_ZERO } from "../../../sdk/index.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Cpu } from "../../soc/cpu.js";
import type { DataCache } from "../../soc/dcache.js";
import type { Mmu } from "../../soc/mmu.js";
import { PageFault } from "../../soc/pagetable.js";
import type { SparseRam } from "../../soc/ram.js";
import type { Tlb } from "../../soc/tlb.js";
import { BOARD, CPU, DCACHE, MMU, RAM, TLB } from "../../soc/tokens.js";
import type { KernelCore } from "../core.js";
import type { Owner } from "../facade.js";
import { hexAddr } from "../mm/layout.js";
import { kernelPageFaultOops } from "../oops.js";
import type { Scheduler } from "../sched/scheduler.js";
import type { Task } from "../sched/task.js";
import { siteFrames, type CallSite } from "../stack.js";
import { CHAR_DEVICES, KERNEL_CORE, PROCESS_MM_BACKEND, SCHEDULER } from "../tokens.js";
import type { CharDevices } from "../vfs/chrdev.js";
import { AddressSpace, type AddressSpaceDeps } from "./address-space.js";
import type { UserMmBackend } from "./backend.js";
import { MmapChecks, hexVa } from "./mmap-checks.js";
import { fileRevoked } from "./orphan.js";
import { Process } from "./process.js";
import type { OpenFile, Vma } from "./vma.js";

const PAGE = 4096;

/** Where a profile puts user mappings. @public */
export interface UserLayout {
  /** First address mmap searches from (bottom-up, first fit). */
  readonly mmapBase: number;
  /** Start of the `[heap]` (brk) area. */
  readonly heapBase: number;
}

/** @public */
@injectable()
export class Processes {
  private readonly byPid = new Map<number, Process>();
  private readonly byTask = new Map<Task, Process>();
  private nextAsid = 1;
  /** pfn of the shared zero page. */
  readonly zeroPfn: number;
  /** @internal */ readonly checks: MmapChecks;
  readonly layout: UserLayout;

  constructor(
    @inject(KERNEL_CORE) readonly core: KernelCore,
    @inject(BOARD) readonly board: BoardConfig,
    @inject(MMU) readonly mmu: Mmu,
    @inject(TLB) readonly tlb: Tlb,
    @inject(CPU) readonly cpu: Cpu,
    @inject(RAM) readonly ram: SparseRam,
    @inject(DCACHE) readonly dcache: DataCache,
    @inject(PROCESS_MM_BACKEND) readonly mm: UserMmBackend,
    @inject(CHAR_DEVICES) readonly chr: CharDevices,
    @inject(SCHEDULER) readonly sched: Scheduler,
  ) {
    const zero = mm.allocBlock(GFP_KERNEL | __GFP_ZERO, 0);
    if (zero < 0) throw new RangeError("no memory for the zero page");
    this.zeroPfn = zero;
    this.checks = new MmapChecks(core, mmu, mm, board);
    this.layout = mm.layout.pointerBits === 64 ? { mmapBase: 0x7f0000000000, heapBase: 0x555555560000 } : { mmapBase: 0x40000000, heapBase: 0x08100000 };
  }

  /** Start a process (`comm` defaults to "test"). */
  spawn(comm = "test"): Process {
    const task = this.sched.newTask(comm);
    const asid = this.nextAsid++;
    let p!: Process;
    const deps: AddressSpaceDeps = {
      mmu: this.mmu,
      tlb: this.tlb,
      ram: this.ram,
      dcache: this.dcache,
      mm: this.mm,
      zeroPfn: this.zeroPfn,
      callFault: (vma, vmf) => this.callFaultHandler(p, vma, vmf),
      checkFaultPage: (vma, pfn) => {
        if (vma.owner) this.checks.checkPfns(vma.owner.driver, vma, "vm_ops->fault page", pfn, 1, vma.vm_page_prot, undefined);
      },
      warn: (vma, text) => this.core.report({ kind: "warn", title: `WARNING: ${vma.owner?.driver ?? "mm"}: ${text}`, ...(vma.owner ? { driver: vma.owner.driver } : {}) }),
    };
    const mm = new AddressSpace(deps, asid, this.mm.layout.taskSize);
    p = new Process(this, task, mm);
    this.byPid.set(task.pid, p);
    this.byTask.set(task, p);
    return p;
  }

  /** A live process by pid. */
  get(pid: number): Process | undefined {
    return this.byPid.get(pid);
  }

  /** Every process, dead ones included, by pid. */
  list(): Process[] {
    return [...this.byPid.values()];
  }

  /** The process whose syscall (or fault) is running, or null (`current->mm` of a kernel thread). */
  current(): Process | null {
    return this.byTask.get(this.sched.current()) ?? this.syncCurrent;
  }
  private syncCurrent: Process | null = null;

  /**
   * Whether `owner` is a live driver binding (the driver core's answer, wired by register.ts).
   * Without a driver core no owner is a binding, so no file is ever revoked.
   * @internal
   */
  ownerBound: (owner: Owner) => boolean = () => false;

  /** The facade a driver's fops get. */
  facadeOf(owner: Owner): Kernel {
    return this.chr.facadeOf(owner);
  }

  // ---- running driver code ------------------------------------------------------------------

  /**
   * Run a syscall body for `p`: the CPU in `p`'s address space (kernel mode), `p` as the current
   * task, driven by the scheduler pump. Restores the CPU afterwards.
   */
  async runSyscall(p: Process, body: () => Promise<number>): Promise<number> {
    const cpu = this.cpu;
    const root = cpu.root, asid = cpu.asid, user = cpu.user;
    p.mm.syncKernelHalf();
    cpu.switchTo(p.mm.root, p.mm.asid);
    cpu.user = false;
    try {
      const r = await this.sched.run(this.sched.runAs(p.task, body));
      if (p.oopsed && p.alive) await this.kill(p, "oops in driver code");
      return p.oopsed ? -14 /* -EFAULT */ : r;
    } finally {
      cpu.switchTo(root, asid);
      cpu.user = user;
    }
  }

  /**
   * Call into a driver (a fop or vm_ops callback) for `p`. An exception is reported as an oops
   * (unless already reported), marks `p` for killing, and yields `onOops`.
   */
  async callDriver<T>(p: Process, owner: Owner | null, what: string, fn: () => T | Promise<T>, onOops: T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.oops(p, owner, what, e);
      return onOops;
    }
  }

  /** Synchronous variant (vm_ops open/close/fault). */
  callDriverSync<T>(p: Process, owner: Owner | null, what: string, fn: () => T, onOops: T): T {
    const saved = this.syncCurrent;
    this.syncCurrent = p;
    try {
      return this.sched.runAs(p.task, fn);
    } catch (e) {
      this.oops(p, owner, what, e);
      return onOops;
    } finally {
      this.syncCurrent = saved;
    }
  }

  private callFaultHandler(p: Process, vma: Vma, vmf: import("./address-space.js").DriverVmFault): number {
    const fault = vma.vm_ops?.fault;
    if (!fault) return VM_FAULT_SIGBUS;
    const cpu = this.cpu;
    const user = cpu.user;
    cpu.user = false;
    try {
      const before = p.oopsed;
      const r = this.callDriverSync(p, vma.owner, "vm_ops->fault", () => fault.call(vma.vm_ops, vmf as unknown as VmFault), VM_FAULT_SIGBUS);
      // A fault-handler oops costs the access, not the process (documented above).
      p.oopsed = before;
      return r;
    } finally {
      cpu.user = user;
    }
  }

  /** Report an exception from driver code as an oops (a KernelOops was reported already). */
  oops(p: Process, owner: Owner | null, what: string, e: unknown): void {
    p.oopsed = true;
    if (e instanceof Error && e.name === "KernelOops") return;
    const driver = owner?.driver;
    if (e instanceof PageFault && !e.user) {
      kernelPageFaultOops(this.core, e, (a) => hexAddr(a, this.mm.layout.pointerBits), { stack: e.stack ?? "" }, driver);
      return;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const frames = siteFrames({ stack: err.stack ?? "" });
    this.core.report({
      kind: "oops",
      title: `Oops: ${err.name}: ${err.message} in ${what}${driver ? ` of ${driver}` : ""}`,
      stack: frames,
      ...(driver ? { driver } : {}),
      details: { call: what, pid: p.pid, comm: p.comm },
    });
  }

  // ---- VMAs ---------------------------------------------------------------------------------

  /** Record a driver VMA in the ledger (detector 11 names it at unbind). */
  ledgerVma(vma: Vma, site: CallSite): void {
    // An orphaned VMA's driver is gone: its entry was reported and reclaimed at unbind.
    if (!vma.owner || vma.orphaned !== null) return;
    this.core.ledger.remove(vma.ledgerId);
    vma.ledgerId = this.core.ledger.add(
      "vma",
      vma.owner,
      `vma ${hexVa(vma.vm_start)}-${hexVa(vma.vm_end)} ${vma.perms()} ${vma.open?.node.path ?? ""} still mapped`,
      site,
      this.core.now(),
      vma.vm_start,
      vma.vm_end - vma.vm_start,
    );
  }

  /**
   * `__split_vma`: `newBelow` makes the new VMA the lower piece `[vm_start, addr)`, else the upper
   * piece `[addr, vm_end)`; the original keeps the other part. The new VMA gets `vm_ops->open`.
   */
  splitVma(p: Process, vma: Vma, addr: number, newBelow: boolean, site: CallSite): Vma {
    const nv = vma.clone();
    if (newBelow) {
      nv.vm_end = addr as typeof nv.vm_end;
      vma.vm_pgoff += (addr - vma.vm_start) / PAGE;
      vma.vm_start = addr as typeof vma.vm_start;
    } else {
      nv.vm_start = addr as typeof nv.vm_start;
      nv.vm_pgoff += (addr - vma.vm_start) / PAGE;
      vma.vm_end = addr as typeof vma.vm_end;
    }
    p.mm.insert(nv);
    if (nv.open) nv.open.refs++;
    this.ledgerVma(vma, site);
    this.ledgerVma(nv, site);
    const open = nv.orphaned === null ? nv.vm_ops?.open : undefined;
    if (open) this.callDriverSync(p, nv.owner, "vm_ops->open", () => open.call(nv.vm_ops, nv), undefined);
    return nv;
  }

  /**
   * Unmap `[start, end)`: split the VMAs at both ends (each new piece gets `open`), drop the
   * PTEs, then `close` every removed VMA and drop its file reference.
   */
  async unmapRange(p: Process, start: number, end: number, site: CallSite): Promise<void> {
    const first = p.mm.find(start);
    if (first && first.vm_start < start) this.splitVma(p, first, start, true, site);
    const last = p.mm.find(end - 1);
    if (last && last.vm_end > end) this.splitVma(p, last, end, false, site);
    const gone = p.mm.vmas.filter((v) => v.vm_start >= start && v.vm_end <= end);
    for (const v of gone) {
      p.mm.remove(v);
      p.mm.unmapRange(v.vm_start, v.vm_end);
    }
    for (const v of gone) await this.closeVma(p, v);
  }

  /** `remove_vma`: vm_ops->close (not for an orphaned VMA, see orphan.ts), ledger, file reference. */
  async closeVma(p: Process, v: Vma): Promise<void> {
    v.live = false;
    const close = v.orphaned === null ? v.vm_ops?.close : undefined;
    if (close) this.callDriverSync(p, v.owner, "vm_ops->close", () => close.call(v.vm_ops, v), undefined);
    this.core.ledger.remove(v.ledgerId);
    v.ledgerId = 0;
    if (v.open) await this.putFile(p, v.open);
  }

  /** `fput`: drop a file reference; the last one calls `release` (unless the driver is gone). */
  async putFile(p: Process, of: OpenFile): Promise<void> {
    if (--of.refs > 0) return;
    if (fileRevoked(this, of)) return;
    const release = of.node.fops.release;
    if (!release) return;
    const k = this.facadeOf(of.node.owner);
    await this.callDriver(p, of.node.owner, "release", () => release.call(of.node.fops, k, of.file.inode, of.file), 0);
  }

  /** Kill `p` (after an oops): unmap everything, close every file. */
  async kill(p: Process, why: string): Promise<void> {
    p.markDead(why);
    await this.teardown(p);
  }

  /** exit_mm + exit_files. */
  async teardown(p: Process): Promise<void> {
    const site = this.core.site();
    for (const v of [...p.mm.vmas]) {
      p.mm.remove(v);
      p.mm.unmapRange(v.vm_start, v.vm_end);
      await this.closeVma(p, v);
    }
    for (const [fd, of] of [...p.fds]) {
      p.fds.delete(fd);
      await this.putFile(p, of);
    }
    p.mm.teardown();
    void site;
  }
}
