/**
 * MMIO accessors (`readl`, `writel`, ... `memcpy_fromio`, `readl_poll_timeout`), barriers and port
 * I/O. Every MMIO access is a CPU load or store at the ioremapped address, so it goes through the
 * MMU and TLB to the device's bus region like a real one. Faults become an oops with the driver's
 * stack; an access the device refuses (wrong size, no register) is reported besides the
 * guest-error trace record; port I/O to ports nobody requested is reported.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD, BUS, CLOCK, CPU, TRACE } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Bus } from "../../soc/bus.js";
import { BusError } from "../../soc/bus.js";
import type { Clock } from "../../soc/clock.js";
import type { Cpu } from "../../soc/cpu.js";
import { PageFault } from "../../soc/pagetable.js";
import { TraceKind } from "../../soc/trace.js";
import type { TraceRing } from "../../soc/trace.js";
import { ETIMEDOUT, formatAddr } from "../../../sdk/index.js";
import type { IoMem, IoPort, Kernel, KernelVA } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { kernelBug, kernelPageFaultOops, KernelOops, nullDeref, SOFT_LOCKUP_NS, softLockup } from "../oops.js";
import type { Scheduler } from "../sched/scheduler.js";
import type { CallSite } from "../stack.js";
import { IO_RESOURCES, KERNEL_CORE, ORDERING, SCHEDULER } from "../tokens.js";
import type { Ordering } from "./ordering.js";
import type { IoResources } from "./resources.js";

/** `ioport_map` cookies live at port + PIO_OFFSET, below PIO_RESERVED (as x86's lib/iomap.c). @public */
export const PIO_OFFSET = 0x10000;
/** @public */
export const PIO_RESERVED = 0x40000;

/**
 * Bus time charged per access of a bulk MMIO helper for its soft-lockup bound: vdtb performs
 * memcpy_fromio/memcpy_toio/memset_io as one bus access per 4 bytes (bytes at unaligned ends), and
 * an uncached PCI access takes at least ~100 ns.
 */
const MMIO_ACCESS_NS = 100;

/** True when an `IoMem` value is an `ioport_map` cookie. @internal */
export function isPioCookie(addr: number): boolean {
  return addr >= PIO_OFFSET && addr < PIO_RESERVED;
}

/** @public */
@injectable()
export class IoAccessors implements KernelApiPart {
  private readonly hasPorts: boolean;
  /** Reported (driver, address, size, op) keys, so a polling loop is reported once. */
  private readonly reported = new Set<string>();
  /** The bulk helper call in progress: its refused accesses are reported once for the whole call. */
  private bulk: { readonly op: string; readonly addr: number; readonly count: number } | null = null;

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(CPU) private readonly cpu: Cpu,
    @inject(BUS) private readonly bus: Bus,
    @inject(TRACE) private readonly trace: TraceRing,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(BOARD) board: BoardConfig,
    @inject(IO_RESOURCES) private readonly resources: IoResources,
    @inject(ORDERING) private readonly ordering: Ordering,
    @inject(SCHEDULER) private readonly sched: Scheduler,
  ) {
    this.hasPorts = board.ioPorts;
    this.pointerDigits = board.profile === "x86_64" ? 16 : 8;
  }

  /** Pointers as the profile prints them (%px). */
  private readonly pointerDigits: 8 | 16;

  // ---- MMIO -----------------------------------------------------------------------------

  /** One MMIO load of `size` bytes (8 = two 32-bit loads, low first). */
  read(owner: Owner, addr: number, size: number, op: string): number {
    const bus = this.bus;
    const before = bus.guestErrors;
    let v: number;
    try {
      v = size === 4 ? this.cpu.loadIo32(addr) : size === 1 ? this.cpu.load8(addr) : size === 2 ? this.cpu.load16(addr) : this.cpu.load64(addr);
    } catch (e) {
      throw this.fault(owner, e, op);
    }
    if (bus.guestErrors !== before) this.refused(owner, addr, size, op);
    return v;
  }

  /** One MMIO store; `ordered` runs the write barrier first (non-relaxed forms). */
  write(owner: Owner, value: number, addr: number, size: number, op: string, ordered: boolean): void {
    if (ordered) this.ordering.wmb();
    const bus = this.bus;
    const before = bus.guestErrors;
    try {
      if (size === 4) this.cpu.storeIo32(addr, value >>> 0);
      else if (size === 1) this.cpu.store8(addr, value & 0xff);
      else if (size === 2) this.cpu.store16(addr, value & 0xffff);
      else this.cpu.store64(addr, value);
    } catch (e) {
      throw this.fault(owner, e, op);
    }
    if (bus.guestErrors !== before) this.refused(owner, addr, size, op);
    this.ordering.mmioWrite(!ordered);
  }

  /** A fault during a kernel-mode access: the oops report, as the exception to throw. */
  private fault(owner: Owner, e: unknown, op: string): unknown {
    if (e instanceof KernelOops) return e;
    const site = this.core.site();
    if (e instanceof PageFault) return kernelPageFaultOops(this.core, e, (a) => formatAddr(a, this.pointerDigits), site, owner.driver);
    if (e instanceof BusError) {
      return kernelBug(this.core, `Internal error: synchronous external abort in ${op} at ${e.space === "io" ? "port " : ""}0x${e.addr.toString(16)}`, [e.message], site, owner.driver);
    }
    return e;
  }

  /** The device refused the access (guest error): report it once per place. */
  private refused(owner: Owner, addr: number, size: number, op: string): void {
    const b = this.bulk;
    // A bulk copy to a device that refuses it would otherwise file one report per address.
    const key = b ? `${owner.driver}|${b.addr}|${b.count}|${b.op}` : `${owner.driver}|${addr}|${size}|${op}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    let where = formatAddr(addr, this.pointerDigits);
    let pa = -1;
    try {
      pa = this.cpu.translate(addr);
      const r = this.bus.lookup(pa);
      const reg = r?.handler?.registerName?.(pa - r.base);
      where += ` (phys 0x${pa.toString(16)}${reg ? `, ${reg}` : r ? `, ${r.name}` : ""})`;
    } catch {
      // translate cannot fail right after a successful access; keep the virtual address only.
    }
    const errs = this.trace.snapshot(TraceKind.GuestError);
    const reason = errs.length > 0 ? errs[errs.length - 1]!.name : undefined;
    this.core.report(
      {
        kind: "mmio",
        title: `vdtb: ${op} of ${size} byte${size > 1 ? "s" : ""} at ${where} refused by the device${reason ? `: ${reason}` : ""}`,
        driver: owner.driver,
        ...(owner.device ? { device: owner.device } : {}),
        address: addr,
        size,
        details: { op, ...(pa >= 0 ? { phys: pa } : {}), ...(b ? { start: b.addr, count: b.count } : {}) },
      },
      this.core.site(),
    );
  }

  /**
   * Start a bulk MMIO helper. A count worth more than SOFT_LOCKUP_NS of bus accesses would spin
   * past the soft-lockup watchdog (a huge or garbage count): report that up front instead of
   * looping for hours. A count that merely runs past the mapping faults at its guard page.
   */
  private bulkStart(owner: Owner, op: string, addr: number, count: number): void {
    if (count > (SOFT_LOCKUP_NS / MMIO_ACCESS_NS) * 4) {
      throw softLockup(this.core, `${op}(${formatAddr(addr, this.pointerDigits)}, count ${count}): over ${SOFT_LOCKUP_NS / 1e9}s of MMIO accesses`, this.core.site(), owner.driver);
    }
    this.bulk = { op, addr, count };
  }

  memcpyFromIo(owner: Owner, to: number, from: number, count: number): void {
    this.bulkStart(owner, "memcpy_fromio", from, count);
    try {
      let i = 0;
      while (i < count) {
        if (((from + i) & 3) === 0 && count - i >= 4) {
          const v = this.read(owner, from + i, 4, "memcpy_fromio");
          this.storeMem(owner, to + i, v, 4);
          i += 4;
        } else {
          this.storeMem(owner, to + i, this.read(owner, from + i, 1, "memcpy_fromio"), 1);
          i++;
        }
      }
    } finally {
      this.bulk = null;
    }
  }

  memcpyToIo(owner: Owner, to: number, from: number, count: number): void {
    this.bulkStart(owner, "memcpy_toio", to, count);
    try {
      let i = 0;
      while (i < count) {
        if (((to + i) & 3) === 0 && count - i >= 4) {
          this.write(owner, this.loadMem(owner, from + i, 4), to + i, 4, "memcpy_toio", false);
          i += 4;
        } else {
          this.write(owner, this.loadMem(owner, from + i, 1), to + i, 1, "memcpy_toio", false);
          i++;
        }
      }
    } finally {
      this.bulk = null;
    }
  }

  memsetIo(owner: Owner, addr: number, value: number, count: number): void {
    this.bulkStart(owner, "memset_io", addr, count);
    const b = value & 0xff;
    const word = (b * 0x01010101) >>> 0;
    try {
      let i = 0;
      while (i < count) {
        if (((addr + i) & 3) === 0 && count - i >= 4) {
          this.write(owner, word, addr + i, 4, "memset_io", false);
          i += 4;
        } else {
          this.write(owner, b, addr + i, 1, "memset_io", false);
          i++;
        }
      }
    } finally {
      this.bulk = null;
    }
  }

  private loadMem(owner: Owner, va: number, size: 1 | 4): number {
    try {
      return size === 4 ? this.cpu.load32(va) : this.cpu.load8(va);
    } catch (e) {
      throw this.fault(owner, e, "memory read");
    }
  }

  private storeMem(owner: Owner, va: number, value: number, size: 1 | 2 | 4): void {
    try {
      if (size === 4) this.cpu.store32(va, value);
      else if (size === 2) this.cpu.store16(va, value);
      else this.cpu.store8(va, value);
    } catch (e) {
      throw this.fault(owner, e, "memory write");
    }
  }

  /** `readl_poll_timeout`: sleeps between reads through the scheduler. */
  async pollTimeout(owner: Owner, addr: number, cond: (v: number) => boolean, sleepUs: number, timeoutUs: number, site: CallSite): Promise<number> {
    this.core.mightSleep("readl_poll_timeout", site);
    if (typeof cond !== "function") throw nullDeref(this.core, "readl_poll_timeout", "condition callback", cond, site, owner.driver);
    const deadline = this.clock.now + Math.max(0, timeoutUs) * 1000;
    const stepNs = sleepUs > 0 ? sleepUs * 1000 : 100;
    for (;;) {
      const v = this.read(owner, addr, 4, "readl_poll_timeout");
      if (cond(v)) return 0;
      if (timeoutUs > 0 && this.clock.now >= deadline) return cond(this.read(owner, addr, 4, "readl_poll_timeout")) ? 0 : -ETIMEDOUT;
      await this.sched.block("readl_poll_timeout", site, this.clock.now + stepNs).promise;
    }
  }

  /** `readl_poll_timeout_atomic`: busy-waits, letting simulated time (and devices) advance. */
  pollTimeoutAtomic(owner: Owner, addr: number, cond: (v: number) => boolean, delayUs: number, timeoutUs: number): number {
    if (typeof cond !== "function") throw nullDeref(this.core, "readl_poll_timeout_atomic", "condition callback", cond, this.core.site(), owner.driver);
    const start = this.clock.now;
    const deadline = start + Math.max(0, timeoutUs) * 1000;
    const stepNs = delayUs > 0 ? Math.min(delayUs * 1000, SOFT_LOCKUP_NS) : 100;
    for (;;) {
      const v = this.read(owner, addr, 4, "readl_poll_timeout_atomic");
      if (cond(v)) return 0;
      if (timeoutUs > 0 && this.clock.now >= deadline) return cond(this.read(owner, addr, 4, "readl_poll_timeout_atomic")) ? 0 : -ETIMEDOUT;
      // No timeout (0) or one past the watchdog's: spinning that long is a soft lockup.
      const spun = this.clock.now - start;
      if (spun >= SOFT_LOCKUP_NS) throw softLockup(this.core, `readl_poll_timeout_atomic at ${formatAddr(addr)}, timeout ${timeoutUs} us`, this.core.site(), owner.driver);
      // Past 10 ms (already pathological in atomic context) poll at 1/64 of the time spun, so
      // reaching the watchdog costs hundreds of reads, not hundreds of millions.
      this.clock.advance(spun > 10e6 ? Math.max(stepNs, spun / 64) : stepNs);
    }
  }

  // ---- port I/O -------------------------------------------------------------------------

  /** `in{b,w,l}`. */
  portIn(owner: Owner, port: number, size: number, op: string): number {
    this.checkPort(owner, port, size, op);
    try {
      return this.bus.inPort(port, size);
    } catch (e) {
      throw this.fault(owner, e, op);
    }
  }

  /** `out{b,w,l}`. */
  portOut(owner: Owner, value: number, port: number, size: number, op: string): void {
    this.checkPort(owner, port, size, op);
    try {
      this.bus.outPort(port, size, size === 4 ? value >>> 0 : value & (size === 1 ? 0xff : 0xffff));
    } catch (e) {
      throw this.fault(owner, e, op);
    }
  }

  /**
   * A rep ins/outs of more than SOFT_LOCKUP_NS worth of port cycles (about 1 us each on x86)
   * would spin past the soft-lockup watchdog: report that up front instead of looping for hours.
   */
  private checkStringCount(owner: Owner, port: number, count: number, op: string): void {
    if (count > SOFT_LOCKUP_NS / 1000) throw softLockup(this.core, `${op}(port ${port}, count ${count}): ${SOFT_LOCKUP_NS / 1e9}s of port cycles`, this.core.site(), owner.driver);
  }

  /** `ins{b,w,l}`: `count` items from a port into kernel memory. */
  portIns(owner: Owner, port: number, addr: number, count: number, size: 1 | 2 | 4, op: string): void {
    this.checkStringCount(owner, port, count, op);
    for (let i = 0; i < count; i++) this.storeMem(owner, addr + i * size, this.portIn(owner, port, size, op), size);
  }

  /** `outs{b,w,l}`: `count` items from kernel memory to a port. */
  portOuts(owner: Owner, port: number, addr: number, count: number, size: 1 | 2 | 4, op: string): void {
    this.checkStringCount(owner, port, count, op);
    for (let i = 0; i < count; i++) {
      let v: number;
      try {
        v = size === 4 ? this.cpu.load32(addr + i * size) : size === 2 ? this.cpu.load16(addr + i * size) : this.cpu.load8(addr + i * size);
      } catch (e) {
        throw this.fault(owner, e, op);
      }
      this.portOut(owner, v, port, size, op);
    }
  }

  private checkPort(owner: Owner, port: number, size: number, op: string): void {
    if (!this.hasPorts) {
      throw kernelBug(this.core, `BUG: ${op}(0x${port.toString(16)}) on a board without an I/O port space`, ["Port I/O needs a board with ports (pc, pc32)."], this.core.site(), owner.driver);
    }
    if (owner.driver === "kernel") return;
    const held = this.resources.portHeld;
    for (let p = port; p < port + size && p <= 0xffff; p++) {
      if (held[p]! === 0) {
        const key = `${owner.driver}|port|${p}`;
        if (this.reported.has(key)) return;
        this.reported.add(key);
        this.core.report(
          {
            kind: "mmio",
            title: `vdtb: port I/O to unrequested port 0x${p.toString(16).padStart(4, "0")} (${op} by ${owner.driver}; request_region first)`,
            driver: owner.driver,
            ...(owner.device ? { device: owner.device } : {}),
            address: p,
            size,
            details: { op, check: "port-unrequested" },
          },
          this.core.site(),
        );
        return;
      }
    }
  }

  // ---- facade -----------------------------------------------------------------------------

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    const ord = this.ordering;
    // ioread*/iowrite* accept both ioremap addresses and ioport_map cookies.
    const ioread = (a: number, size: number, op: string): number =>
      isPioCookie(a) ? this.portIn(owner, a - PIO_OFFSET, size, op) : this.read(owner, a, size, op);
    const iowrite = (v: number, a: number, size: number, op: string): void => {
      if (isPioCookie(a)) this.portOut(owner, v, a - PIO_OFFSET, size, op);
      else this.write(owner, v, a, size, op, true);
    };
    return {
      readb: (a: IoMem) => this.read(owner, a, 1, "readb"),
      readw: (a: IoMem) => this.read(owner, a, 2, "readw"),
      readl: (a: IoMem) => this.read(owner, a, 4, "readl"),
      readq: (a: IoMem) => this.read(owner, a, 8, "readq"),
      readb_relaxed: (a: IoMem) => this.read(owner, a, 1, "readb_relaxed"),
      readw_relaxed: (a: IoMem) => this.read(owner, a, 2, "readw_relaxed"),
      readl_relaxed: (a: IoMem) => this.read(owner, a, 4, "readl_relaxed"),
      writeb: (v: number, a: IoMem) => this.write(owner, v, a, 1, "writeb", true),
      writew: (v: number, a: IoMem) => this.write(owner, v, a, 2, "writew", true),
      writel: (v: number, a: IoMem) => this.write(owner, v, a, 4, "writel", true),
      writeq: (v: number, a: IoMem) => this.write(owner, v, a, 8, "writeq", true),
      writeb_relaxed: (v: number, a: IoMem) => this.write(owner, v, a, 1, "writeb_relaxed", false),
      writew_relaxed: (v: number, a: IoMem) => this.write(owner, v, a, 2, "writew_relaxed", false),
      writel_relaxed: (v: number, a: IoMem) => this.write(owner, v, a, 4, "writel_relaxed", false),
      ioread8: (a: IoMem) => ioread(a, 1, "ioread8"),
      ioread16: (a: IoMem) => ioread(a, 2, "ioread16"),
      ioread32: (a: IoMem) => ioread(a, 4, "ioread32"),
      iowrite8: (v: number, a: IoMem) => iowrite(v, a, 1, "iowrite8"),
      iowrite16: (v: number, a: IoMem) => iowrite(v, a, 2, "iowrite16"),
      iowrite32: (v: number, a: IoMem) => iowrite(v, a, 4, "iowrite32"),
      memcpy_fromio: (to: KernelVA, from: IoMem, n: number) => this.memcpyFromIo(owner, to, from, n),
      memcpy_toio: (to: IoMem, from: KernelVA, n: number) => this.memcpyToIo(owner, to, from, n),
      memset_io: (a: IoMem, v: number, n: number) => this.memsetIo(owner, a, v, n),
      readl_poll_timeout: (a: IoMem, cond: (v: number) => boolean, sleepUs: number, timeoutUs: number) =>
        this.pollTimeout(owner, a, cond, sleepUs, timeoutUs, core.site()),
      readl_poll_timeout_atomic: (a: IoMem, cond: (v: number) => boolean, delayUs: number, timeoutUs: number) =>
        this.pollTimeoutAtomic(owner, a, cond, delayUs, timeoutUs),
      mb: () => ord.barrier("mb"),
      rmb: () => ord.barrier("rmb"),
      wmb: () => ord.wmb(),
      dma_wmb: () => ord.barrier("dma_wmb"),
      dma_rmb: () => ord.barrier("dma_rmb"),
      inb: (p: IoPort) => this.portIn(owner, p, 1, "inb"),
      inw: (p: IoPort) => this.portIn(owner, p, 2, "inw"),
      inl: (p: IoPort) => this.portIn(owner, p, 4, "inl"),
      outb: (v: number, p: IoPort) => this.portOut(owner, v, p, 1, "outb"),
      outw: (v: number, p: IoPort) => this.portOut(owner, v, p, 2, "outw"),
      outl: (v: number, p: IoPort) => this.portOut(owner, v, p, 4, "outl"),
      insb: (p: IoPort, a: KernelVA, n: number) => this.portIns(owner, p, a, n, 1, "insb"),
      insw: (p: IoPort, a: KernelVA, n: number) => this.portIns(owner, p, a, n, 2, "insw"),
      insl: (p: IoPort, a: KernelVA, n: number) => this.portIns(owner, p, a, n, 4, "insl"),
      outsb: (p: IoPort, a: KernelVA, n: number) => this.portOuts(owner, p, a, n, 1, "outsb"),
      outsw: (p: IoPort, a: KernelVA, n: number) => this.portOuts(owner, p, a, n, 2, "outsw"),
      outsl: (p: IoPort, a: KernelVA, n: number) => this.portOuts(owner, p, a, n, 4, "outsl"),
    };
  }
}
