/**
 * A simulated user process: syscalls as async methods returning Linux values (negative errno on
 * failure), and user-mode memory helpers that run through the CPU in the process's address space
 * with page faults served by the kernel (a fault it cannot serve throws {@link UserSignal}).
 *
 * fds start at 3 (0..2 are taken by the absent stdio and give -EBADF). A signal from a user
 * access is thrown into the test and recorded in `signals`; the process stays alive (as if it
 * caught the signal and jumped out of the access). An oops in driver code kills it (see
 * processes.ts).
 */
import type { File, UserVA } from "../../../sdk/index.js";
import { pageAlignUp } from "../../../sdk/index.js";
import {
  EACCES, EBADF, EFAULT, EINVAL, EMFILE, ENODEV, ENOENT, ENOMEM, ENOTTY, ESPIPE, ESRCH,
} from "../../../sdk/errno.js";
import { VM_EXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE } from "../../../sdk/index.js";
import { Access, PageFault, PteFlag } from "../../soc/pagetable.js";
import type { Task } from "../sched/task.js";
import type { Cpu } from "../../soc/cpu.js";
import type { AddressSpace } from "./address-space.js";
import { vmPageProt } from "./address-space.js";
import type { Processes } from "./processes.js";
import { UserSignal, type SignalInfo } from "./signal.js";
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY,
  PROT_EXEC, PROT_READ, PROT_WRITE, VM_MAYEXEC, VM_MAYSHARE,
} from "./uapi.js";
import { fileRevoked } from "./orphan.js";
import { Vma, type OpenFile } from "./vma.js";

const PAGE = 4096;
const FIRST_FD = 3;
const MAX_FDS = 1024;
/** Faults in a row at one address before giving up (a handler that never installs the page). */
const MAX_FAULT_RETRIES = 16;

/** @public */
export class Process {
  /** Open files by fd. @internal */
  readonly fds = new Map<number, OpenFile>();
  /** Signals delivered so far. */
  readonly signals: SignalInfo[] = [];
  /** @internal */ oopsed = false;
  private dead: string | null = null;
  /** `dead === null`, as a flag the user-access fast paths test. */
  private live = true;
  /** The CPU and this process's ASID, cached for the user-access fast paths (both fixed). */
  private readonly ucpu: Cpu;
  private readonly uasid: number;
  private brkEnd = 0;
  private lastFaultAddr = NaN;
  private sameFaults = 0;

  constructor(
    private readonly sys: Processes,
    /** The scheduler task (pid, comm) the syscalls run as. @internal */
    readonly task: Task,
    /** The address space. */
    readonly mm: AddressSpace,
  ) {
    this.ucpu = sys.cpu;
    this.uasid = mm.asid;
  }

  get pid(): number {
    return this.task.pid;
  }
  get comm(): string {
    return this.task.comm;
  }
  /** The ASID tagging this process's TLB entries. */
  get asid(): number {
    return this.mm.asid;
  }
  /** False once killed or exited. */
  get alive(): boolean {
    return this.dead === null;
  }
  /** Why the process died, or null. */
  get deathCause(): string | null {
    return this.dead;
  }
  /** @internal */
  markDead(why: string): void {
    if (this.dead === null) {
      this.dead = why;
      this.live = false;
    }
  }

  // ---- syscalls -----------------------------------------------------------------------------

  /** `open(path, flags)`: an fd or -ENOENT, or the driver's open error. */
  open(path: string, flags: number): Promise<number> {
    return this.syscall(async () => {
      const node = this.sys.chr.lookup(path);
      if (!node) return -ENOENT;
      let fd = FIRST_FD;
      while (this.fds.has(fd)) fd++;
      if (fd >= MAX_FDS) return -EMFILE;
      const file: File = { private_data: node.misc ?? null, f_pos: 0, f_flags: flags, inode: node.inode };
      const of: OpenFile = { file, node, refs: 1, boundAtOpen: this.sys.ownerBound(node.owner) };
      const openFop = node.fops.open;
      if (openFop) {
        const k = this.sys.facadeOf(node.owner);
        const r = await this.sys.callDriver(this, node.owner, "open", () => openFop.call(node.fops, k, node.inode, file), -EFAULT);
        if (r < 0) return r;
      }
      this.fds.set(fd, of);
      return fd;
    });
  }

  /** `close(fd)`: the last reference (fd or mapping) calls `release`. */
  close(fd: number): Promise<number> {
    return this.syscall(async () => {
      const of = this.fds.get(fd);
      if (!of) return -EBADF;
      this.fds.delete(fd);
      await this.sys.putFile(this, of);
      return 0;
    });
  }

  /** `read(fd, buf, count)`. */
  read(fd: number, buf: number, count: number): Promise<number> {
    return this.rw(fd, buf, count, false);
  }

  /** `write(fd, buf, count)`. */
  write(fd: number, buf: number, count: number): Promise<number> {
    return this.rw(fd, buf, count, true);
  }

  private rw(fd: number, buf: number, count: number, write: boolean): Promise<number> {
    return this.syscall(async () => {
      const of = this.fds.get(fd);
      if (!of) return -EBADF;
      const mode = of.file.f_flags & O_ACCMODE;
      if (write ? mode === O_RDONLY : mode === O_WRONLY) return -EBADF;
      if (fileRevoked(this.sys, of)) return -ENODEV;
      const fops = of.node.fops;
      const fop = write ? fops.write : fops.read;
      if (!fop) return -EINVAL;
      if (!(count >= 0)) return -EINVAL;
      if (!this.accessOk(buf, count)) return -EFAULT;
      const ppos = { value: of.file.f_pos };
      const k = this.sys.facadeOf(of.node.owner);
      const r = await this.sys.callDriver(this, of.node.owner, write ? "write" : "read", () => fop.call(fops, k, of.file, buf as UserVA, count, ppos), -EFAULT);
      if (r >= 0) of.file.f_pos = ppos.value;
      return r;
    });
  }

  /** `ioctl(fd, cmd, arg)`: -ENOTTY without `unlocked_ioctl`. */
  ioctl(fd: number, cmd: number, arg: number): Promise<number> {
    return this.syscall(async () => {
      const of = this.fds.get(fd);
      if (!of) return -EBADF;
      if (fileRevoked(this.sys, of)) return -ENODEV;
      const fops = of.node.fops;
      const fop = fops.unlocked_ioctl;
      if (!fop) return -ENOTTY;
      const k = this.sys.facadeOf(of.node.owner);
      return this.sys.callDriver(this, of.node.owner, "unlocked_ioctl", () => fop.call(fops, k, of.file, cmd >>> 0, arg), -EFAULT);
    });
  }

  /** `lseek(fd, offset, whence)`: -ESPIPE without `llseek`. */
  lseek(fd: number, offset: number, whence: number): Promise<number> {
    return this.syscall(async () => {
      const of = this.fds.get(fd);
      if (!of) return -EBADF;
      if (!(whence >= 0 && whence <= 4)) return -EINVAL;
      if (fileRevoked(this.sys, of)) return -ENODEV;
      const fops = of.node.fops;
      const fop = fops.llseek;
      if (!fop) return -ESPIPE;
      const k = this.sys.facadeOf(of.node.owner);
      return this.sys.callDriver(this, of.node.owner, "llseek", () => fop.call(fops, k, of.file, offset, whence), -EFAULT);
    });
  }

  /**
   * `mmap(addr, length, prot, flags, fd, offset)`: the mapping's address, or a negative errno
   * (MAP_FAILED). Without MAP_FIXED, `addr` is a hint; otherwise the lowest free range at or
   * above the profile's mmap base is used.
   */
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): Promise<UserVA> {
    const site = this.sys.core.site();
    return this.syscall(async () => {
      if (!(length > 0) || offset % PAGE !== 0 || offset < 0) return -EINVAL;
      const type = flags & (MAP_SHARED | MAP_PRIVATE);
      if (type === 0) return -EINVAL;
      const shared = (type & MAP_SHARED) !== 0;
      const len = pageAlignUp(length);
      const anon = (flags & MAP_ANONYMOUS) !== 0;
      let of: OpenFile | null = null;
      let vmFlags = (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
      if (shared) vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (!anon) {
        of = this.fds.get(fd) ?? null;
        if (!of) return -EBADF;
        const mode = of.file.f_flags & O_ACCMODE;
        if (mode === O_WRONLY) return -EACCES;
        if (shared && (prot & PROT_WRITE) !== 0 && mode !== O_RDWR) return -EACCES;
        if (shared && mode !== O_RDWR) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
        if (!of.node.fops.mmap || fileRevoked(this.sys, of)) return -ENODEV;
      }
      const taskSize = this.mm.taskSize;
      let start: number;
      if ((flags & MAP_FIXED) !== 0) {
        if (addr % PAGE !== 0) return -EINVAL;
        if (addr < 0 || addr + len > taskSize) return -ENOMEM;
        start = addr;
        await this.sys.unmapRange(this, start, start + len, site);
      } else if (addr > 0 && addr % PAGE === 0 && addr + len <= taskSize && this.mm.isFree(addr, addr + len)) {
        start = addr;
      } else {
        start = this.mm.findGap(this.sys.layout.mmapBase, len);
        if (start < 0) return -ENOMEM;
      }
      const vma = new Vma(start, start + len, anon ? 0 : offset / PAGE, vmFlags, vmPageProt(vmFlags), of, of ? of.node.owner : null);
      vma.space = this.mm;
      if (of) {
        const fops = of.node.fops;
        const mmapFop = fops.mmap!;
        const k = this.sys.facadeOf(of.node.owner);
        vma.settingUp = true;
        const r = await this.sys.callDriver(this, of.node.owner, "mmap", () => mmapFop.call(fops, k, of.file, vma), -EFAULT);
        vma.settingUp = false;
        if (r < 0) {
          this.mm.unmapRange(start, start + len);
          vma.live = false;
          return r;
        }
        of.refs++;
      }
      this.mm.insert(vma);
      this.sys.ledgerVma(vma, site);
      return start;
    }) as Promise<UserVA>;
  }

  /** `munmap(addr, length)`: splits VMAs (vm_ops open for new pieces, close for removed ones). */
  munmap(addr: number, length: number): Promise<number> {
    const site = this.sys.core.site();
    return this.syscall(async () => {
      if (addr % PAGE !== 0 || !(length > 0)) return -EINVAL;
      const end = addr + pageAlignUp(length);
      if (addr < 0 || end > this.mm.taskSize) return -EINVAL;
      await this.sys.unmapRange(this, addr, end, site);
      return 0;
    });
  }

  /** `mprotect(addr, length, prot)`: -ENOMEM when part of the range is unmapped, -EACCES beyond VM_MAY*. */
  mprotect(addr: number, length: number, prot: number): Promise<number> {
    const site = this.sys.core.site();
    return this.syscall(async () => {
      if (addr % PAGE !== 0 || length < 0) return -EINVAL;
      if (length === 0) return 0;
      const end = addr + pageAlignUp(length);
      // The whole range must be mapped, without holes.
      let a = addr;
      const hit: Vma[] = [];
      while (a < end) {
        const v = this.mm.find(a);
        if (!v) return -ENOMEM;
        hit.push(v);
        a = v.vm_end;
      }
      for (const v of hit) {
        if ((prot & PROT_WRITE) !== 0 && (v.vm_flags & VM_MAYWRITE) === 0) return -EACCES;
        if ((prot & PROT_READ) !== 0 && (v.vm_flags & VM_MAYREAD) === 0) return -EACCES;
      }
      const first = this.mm.find(addr)!;
      if (first.vm_start < addr) this.sys.splitVma(this, first, addr, true, site);
      const last = this.mm.find(end - 1)!;
      if (last.vm_end > end) this.sys.splitVma(this, last, end, false, site);
      const bits = (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
      for (const v of this.mm.vmas) {
        if (v.vm_start < addr || v.vm_end > end) continue;
        v.vm_flags = (v.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | bits;
        v.vm_page_prot = ((vmPageProt(v.vm_flags) & ~PteFlag.MtMask) | (v.vm_page_prot & PteFlag.MtMask)) as typeof v.vm_page_prot;
        this.mm.reprotect(v, v.vm_start, v.vm_end);
        this.sys.ledgerVma(v, site);
      }
      return 0;
    });
  }

  /** `brk(addr)`: the new break (or the current one for 0). The heap shows as `[heap]`. */
  brk(addr: number): Promise<number> {
    const site = this.sys.core.site();
    return this.syscall(async () => {
      const base = this.sys.layout.heapBase;
      if (this.brkEnd === 0) this.brkEnd = base;
      if (addr === 0 || addr < base) return this.brkEnd;
      const oldTop = pageAlignUp(this.brkEnd), newTop = pageAlignUp(addr);
      if (newTop > oldTop) {
        if (!this.mm.isFree(oldTop, newTop)) return this.brkEnd;
        const heap = this.mm.find(oldTop - 1);
        if (heap && heap.name === "[heap]") heap.vm_end = newTop as UserVA;
        else {
          const f = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
          const heapVma = new Vma(oldTop, newTop, 0, f, vmPageProt(f), null, null, "[heap]");
          heapVma.space = this.mm;
          this.mm.insert(heapVma);
        }
      } else if (newTop < oldTop) {
        await this.sys.unmapRange(this, newTop, oldTop, site);
      }
      this.brkEnd = addr;
      return addr;
    });
  }

  /** Exit: unmap everything (vm_ops close), close every file (release). */
  async exit(): Promise<void> {
    if (!this.alive) return;
    await this.syscall(async () => {
      this.markDead("exited");
      await this.sys.teardown(this);
      return 0;
    }, true);
  }

  private syscall(body: () => Promise<number>, evenIfDead = false): Promise<number> {
    if (!this.alive && !evenIfDead) return Promise.resolve(-ESRCH);
    return this.sys.runSyscall(this, body);
  }

  /** `access_ok`: the range lies below TASK_SIZE. */
  accessOk(addr: number, size: number): boolean {
    return addr >= 0 && size >= 0 && addr + size <= this.mm.taskSize;
  }

  // ---- user memory ---------------------------------------------------------------------------

  /** Serve a user-mode fault or throw the signal. @internal */
  private userFault(e: unknown): void {
    if (!(e instanceof PageFault)) throw e;
    const write = e.access === Access.Write;
    if (e.addr === this.lastFaultAddr) this.sameFaults++;
    else {
      this.lastFaultAddr = e.addr;
      this.sameFaults = 0;
    }
    let sig: SignalInfo | null;
    if (this.sameFaults >= MAX_FAULT_RETRIES) {
      this.sameFaults = 0;
      sig = { signal: "SIGBUS", code: 2, addr: e.addr, cause: "fault not resolved after retries", access: write ? "write" : "read" };
    } else {
      const cpu = this.sys.cpu;
      cpu.user = false;
      try {
        sig = this.mm.fault(e.addr, write, true);
      } finally {
        cpu.user = true;
      }
    }
    if (sig) {
      this.signals.push(sig);
      throw new UserSignal(sig, `${this.pid} (${this.comm})`);
    }
  }

  private checkAlive(): void {
    if (this.dead !== null) throw new Error(`process ${this.pid} (${this.comm}) is dead: ${this.dead}`);
  }

  /** Load a byte in user mode. */
  load8(va: number): number {
    return this.load(va, 1);
  }
  /** Load 16 bits (little-endian) in user mode. */
  load16(va: number): number {
    return this.load(va, 2);
  }
  /** Load 32 bits (little-endian) in user mode. */
  load32(va: number): number {
    // Tiny so that callers inline it: a TLB hit needs neither the address-space switch nor the
    // mode flip; everything else (a dead process included) takes load().
    if (this.live) {
      const v = this.ucpu.loadUser32(this.uasid, va);
      if (v >= 0) return v;
    }
    return this.load(va, 4);
  }

  private load(va: number, size: 1 | 2 | 4): number {
    this.checkAlive();
    const cpu = this.sys.cpu;
    const root = cpu.root, asid = cpu.asid, user = cpu.user;
    const mine = this.mm.root;
    if (root !== mine || asid !== this.mm.asid) cpu.switchTo(mine, this.mm.asid);
    if (!user) cpu.user = true;
    try {
      for (;;) {
        try {
          return size === 4 ? cpu.load32(va) : size === 2 ? cpu.load16(va) : cpu.load8(va);
        } catch (e) {
          this.userFault(e);
        }
      }
    } finally {
      if (!user) cpu.user = false;
      if (root !== mine || asid !== this.mm.asid) cpu.switchTo(root, asid);
    }
  }

  /** Store a byte in user mode. */
  store8(va: number, value: number): void {
    this.store(va, 1, value);
  }
  /** Store 16 bits (little-endian) in user mode. */
  store16(va: number, value: number): void {
    this.store(va, 2, value);
  }

  /** Store 32 bits (little-endian) in user mode. */
  store32(va: number, value: number): void {
    // Tiny so that callers inline it: a TLB hit needs neither the address-space switch nor the
    // mode flip; everything else (a dead process included) takes store32Slow.
    if (!this.live || !this.ucpu.storeUser32(this.uasid, va, value)) this.store32Slow(va, value);
  }

  /** {@link Process.store32} past a TLB hit: the full path (switch, user mode, fault handling). */
  private store32Slow(va: number, value: number): void {
    this.checkAlive();
    const cpu = this.sys.cpu;
    const root = cpu.root, asid = cpu.asid, user = cpu.user;
    const mine = this.mm.root, myAsid = this.mm.asid;
    const switched = root !== mine || asid !== myAsid;
    if (switched) cpu.switchTo(mine, myAsid);
    if (!user) cpu.user = true;
    try {
      for (;;) {
        try {
          cpu.store32(va, value);
          return;
        } catch (e) {
          this.userFault(e);
        }
      }
    } finally {
      if (!user) cpu.user = false;
      if (switched) cpu.switchTo(root, asid);
    }
  }

  private store(va: number, size: 1 | 2, value: number): void {
    this.withUser(() => (size === 2 ? this.sys.cpu.store16(va, value) : this.sys.cpu.store8(va, value)));
  }

  /** Copy `n` bytes at `va` out of user memory. */
  readBytes(va: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    const cpu = this.sys.cpu;
    // Page by page, so that a served fault resumes at the faulting page instead of restarting.
    let done = 0;
    this.withUser(() => {
      while (done < n) {
        const len = pageChunk(va + done, n - done);
        cpu.readBytes(va + done, out, done, len);
        done += len;
      }
    });
    return out;
  }

  /** Write `bytes` to user memory at `va`. */
  writeBytes(va: number, bytes: Uint8Array): void {
    const cpu = this.sys.cpu;
    let done = 0;
    this.withUser(() => {
      while (done < bytes.length) {
        const len = pageChunk(va + done, bytes.length - done);
        cpu.writeBytes(va + done, bytes, done, len);
        done += len;
      }
    });
  }

  /**
   * Fill user memory: with a byte value (`len` bytes), or with a byte pattern repeated to `len`
   * bytes (default: the pattern once).
   */
  fill(va: number, data: number | Uint8Array, len?: number): void {
    if (typeof data === "number") {
      const n = len ?? 0;
      const cpu = this.sys.cpu;
      let done = 0;
      this.withUser(() => {
        while (done < n) {
          const k = pageChunk(va + done, n - done);
          cpu.fill(va + done, k, data & 0xff);
          done += k;
        }
      });
      return;
    }
    const n = len ?? data.length;
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i += data.length) buf.set(data.subarray(0, Math.min(data.length, n - i)), i);
    this.writeBytes(va, buf);
  }

  /** Run a user-mode access (retried after each served fault; accesses must be idempotent). */
  private withUser(fn: () => void): void {
    this.checkAlive();
    const cpu = this.sys.cpu;
    const root = cpu.root, asid = cpu.asid, user = cpu.user;
    cpu.switchTo(this.mm.root, this.mm.asid);
    cpu.user = true;
    try {
      for (;;) {
        try {
          fn();
          return;
        } catch (e) {
          this.userFault(e);
        }
      }
    } finally {
      cpu.user = user;
      cpu.switchTo(root, asid);
    }
  }
}

/** Bytes from `va` to the end of its page, at most `left`. */
function pageChunk(va: number, left: number): number {
  return Math.min(PAGE - (va - Math.floor(va / PAGE) * PAGE), left);
}
