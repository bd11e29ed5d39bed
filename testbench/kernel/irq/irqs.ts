/**
 * The IRQ subsystem: Linux IRQ numbers and descriptors over the interrupt controller's lines and
 * MSI vectors, request_irq/free_irq (shared lines, dev_id), devm_request_irq, enable/disable depth,
 * and dispatch: the controller's CPU-side delivery callback runs every handler of the IRQ in
 * hardirq context, counts it for /proc/interrupts, runs note_interrupt (nobody cared) and ends the
 * interrupt (EOI for level lines).
 *
 * Internal API for bus code (PCI, ISA, platform):
 * - `allocateForLine(line, { name, trigger })` → Linux IRQ number for a controller line. Line IRQs
 *   are identity-mapped (IRQ n = line n, like x86 GSIs); calling again for the same line returns
 *   the same number (a shared INTx line). Default trigger: edge below 16 (ISA), level above.
 * - `allocateMsi(requester, count, { hwirqBase, aligned })` → {@link MsiAllocation}: `count`
 *   consecutive IRQ numbers from 256 up, each wired to a free CPU vector; program the device with
 *   `address` and `data(i)` (x86 format: the vector in the low byte). `aligned` (plain MSI with
 *   several vectors) takes a naturally aligned power-of-two vector block, since the device ORs the
 *   vector index into the low data bits.
 * - `release(irq)` frees a descriptor (MSI: its vector too).
 * A device then raises its line (`InterruptController.raise/lower/pulse`) or sends `msi(address,
 * data)`; the controller delivers from a clock event; handlers run here.
 *
 * Unrequested lines stay unmasked so the testbench sees interrupts nobody asked for: the first
 * one on a line without handlers is reported, counted (ERR in /proc/interrupts) and the line is
 * masked (Linux keeps such lines masked, so the device's interrupt would be lost). Detector 12
 * (a handler freed while its device can still raise it) is detected when the device actually
 * raises the line after the last free_irq; a device that could but does not interrupt during the
 * run is not reported.
 */
import { inject, injectable } from "../../soc/di.js";
import type { InterruptController, Trigger } from "../../soc/irq.js";
import { IRQ_LINES } from "../../soc/irq.js";
import { BOARD, IRQ } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import {
  EBUSY,
  EINVAL,
  ENOMEM,
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_SHARED,
  type Device,
  type IrqHandler,
  type KernelDriverCore,
} from "../../../sdk/index.js";
import type { LedgerEntry } from "../../checks/ledger.js";
import type { KernelCore } from "../core.js";
import type { Devres, DevresEntry } from "../driver/devres.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { siteFrames, type CallSite } from "../stack.js";
import type { SyncSubsystem } from "../sync/sync.js";
import { isNull, nullDeref } from "../oops.js";
import { DEVRES, KERNEL_CORE, SYNC } from "../tokens.js";
import { IrqDesc, type IrqAction } from "./desc.js";
import { defaultNobodyCared, noteInterrupt, type NobodyCaredConfig } from "./spurious.js";

/** MSI vectors wired to Linux IRQs. @public */
export interface MsiAllocation {
  readonly firstIrq: number;
  readonly count: number;
  /** CPU vector of each IRQ. */
  readonly vectors: readonly number[];
  /** MSI address to program (x86: 0xfee00000, destination CPU 0). */
  readonly address: number;
  /** MSI data for vector `i` (the vector number in the low byte). */
  data(i: number): number;
}

/** Options of {@link IrqSubsystem.allocateForLine}. @public */
export interface LineIrqOptions {
  /** Who uses the line (for reports). */
  readonly name?: string;
  readonly trigger?: Trigger;
}

/** Options of {@link IrqSubsystem.allocateMsi}. @public */
export interface MsiOptions {
  /** hwirq of the first vector in /proc/interrupts (Linux PCI: requester id << 11). Default 0. */
  readonly hwirqBase?: number;
  /** Plain MSI with several vectors: an aligned power-of-two vector block. */
  readonly aligned?: boolean;
}

/** First Linux IRQ number handed out for MSI vectors. @public */
export const MSI_IRQ_BASE = IRQ_LINES;
/** x86 MSI address of CPU 0. @public */
export const MSI_ADDRESS = 0xfee00000;
const FIRST_DEVICE_VECTOR = 0x30;
const LAST_DEVICE_VECTOR = 0xef;

const IRQF_TRIGGER_RISING = 0x1;
const IRQF_TRIGGER_FALLING = 0x2;
const IRQF_TRIGGER_HIGH = 0x4;
const IRQF_TRIGGER_LOW = 0x8;

// One-shot warnings per action.
const WARN_BOGUS = 1;
const WARN_PROMISE = 2;
const WARN_LOCK = 4;
const WARN_IRQS_ON = 8;
const WARN_THREAD = 16;

function triggerOf(flags: number): Trigger | null {
  if (flags & (IRQF_TRIGGER_HIGH | IRQF_TRIGGER_LOW)) return "level";
  if (flags & (IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING)) return "edge";
  return null;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

function handlerName(h: IrqHandler): string {
  return (typeof h === "function" && h.name) || "<anonymous>";
}

/** @public */
@injectable()
export class IrqSubsystem implements KernelApiPart {
  /** The nobody-cared detector's window and threshold (see spurious.ts). */
  readonly nobodyCared: NobodyCaredConfig = defaultNobodyCared();
  /** Interrupts with no descriptor or no handler (ERR in /proc/interrupts). */
  errCount = 0;
  private readonly descs = new Map<number, IrqDesc>();
  private readonly irqOfLine = new Int32Array(IRQ_LINES).fill(-1);
  private readonly vectorIrq = new Int32Array(256).fill(-1);
  private readonly vectorUsed = new Uint8Array(256);
  private readonly noVectorReported = new Uint8Array(256);
  private readonly devmIrqs = new Map<DevresEntry, { irq: number; devId: unknown }>();
  private readonly lineChip: string;
  /** x86 shows "IO-APIC 9-fasteoi"; ARM "GICv2 9 Level". */
  readonly procStyle: "x86" | "arm";

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(IRQ) private readonly irqc: InterruptController,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(SYNC) private readonly sync: SyncSubsystem,
    @inject(BOARD) board: BoardConfig,
  ) {
    this.procStyle = board.profile.startsWith("arm") ? "arm" : "x86";
    this.lineChip = this.procStyle === "arm" ? "GICv2" : "IO-APIC";
    for (let v = 0; v < FIRST_DEVICE_VECTOR; v++) this.vectorUsed[v] = 1;
    for (let v = LAST_DEVICE_VECTOR + 1; v < 256; v++) this.vectorUsed[v] = 1;
    irqc.setDeliver((vector, line) => this.handle(vector, line));
  }

  // ---- allocation (internal API for bus code) ----

  /** The Linux IRQ of controller line `line` (created on first use). */
  allocateForLine(line: number, options: LineIrqOptions = {}): number {
    if (!(line >= 0 && line < IRQ_LINES && Number.isInteger(line))) throw new RangeError(`IRQ line ${line} out of range 0..${IRQ_LINES - 1}`);
    const existing = this.irqOfLine[line]!;
    if (existing >= 0) {
      const d = this.descs.get(existing)!;
      if (options.trigger && d.actions.length === 0 && options.trigger !== d.trigger) {
        d.trigger = options.trigger;
        this.irqc.configure(line, options.trigger);
      }
      return existing;
    }
    const trigger = options.trigger ?? (line < 16 ? "edge" : "level");
    const vector = this.irqc.vectorOf(line);
    if (vector >= 0 && vector < 256) this.vectorUsed[vector] = 1;
    this.irqc.configure(line, trigger);
    const d = new IrqDesc(line, "line", line, line, vector, this.lineChip, trigger, options.name ?? "");
    this.descs.set(line, d);
    this.irqOfLine[line] = line;
    return line;
  }

  /** Allocate `count` MSI IRQs for `requester`; null when vectors or numbers run out. */
  allocateMsi(requester: string, count: number, options: MsiOptions = {}): MsiAllocation | null {
    if (!(count >= 1 && Number.isInteger(count))) throw new RangeError(`MSI count must be a positive integer (got ${count})`);
    const vectors = options.aligned ? this.alignedVectors(count) : this.freeVectors(count);
    if (!vectors) return null;
    let first = MSI_IRQ_BASE;
    for (;;) {
      let ok = true;
      for (let i = 0; i < count; i++) {
        if (this.descs.has(first + i)) {
          ok = false;
          first = first + i + 1;
          break;
        }
      }
      if (ok) break;
    }
    const hwBase = options.hwirqBase ?? 0;
    for (let i = 0; i < count; i++) {
      const v = vectors[i]!;
      this.vectorUsed[v] = 1;
      this.vectorIrq[v] = first + i;
      this.noVectorReported[v] = 0;
      this.descs.set(first + i, new IrqDesc(first + i, "msi", hwBase + i, -1, v, "PCI-MSI", "edge", requester));
    }
    return { firstIrq: first, count, vectors, address: MSI_ADDRESS, data: (i: number) => vectors[i] ?? vectors[0]! };
  }

  /** Free a descriptor (after its handlers were freed). */
  release(irq: number): void {
    const d = this.descs.get(irq);
    if (!d) return;
    if (d.actions.length > 0) {
      this.core.report({
        kind: "irq",
        title: `WARNING: releasing IRQ ${irq} with handlers still installed: ${d.actions.map((a) => a.name).join(", ")}`,
      }, this.core.site());
      for (const a of d.actions) this.core.ledger.remove(a.ledgerId);
    }
    this.descs.delete(irq);
    if (d.kind === "msi") {
      this.vectorIrq[d.vector] = -1;
      this.vectorUsed[d.vector] = 0;
    } else {
      this.irqOfLine[d.line] = -1;
    }
  }

  // The bus code's IrqNumbers interface (testbench/kernel/bus/irq-numbers.ts), served from here.

  /** IrqNumbers.lineIrq: the Linux IRQ of a controller line (default trigger). */
  lineIrq(line: number): number {
    return this.allocateForLine(line);
  }

  /** IrqNumbers.allocMsi: `count` MSI IRQs and their vectors, or null when exhausted. */
  allocMsi(device: string, count: number, aligned: boolean): { readonly irqs: readonly number[]; readonly vectors: readonly number[] } | null {
    const a = this.allocateMsi(device, count, { aligned });
    if (!a) return null;
    const irqs: number[] = [];
    for (let i = 0; i < count; i++) irqs.push(a.firstIrq + i);
    return { irqs, vectors: a.vectors };
  }

  /** IrqNumbers.freeMsi. */
  freeMsi(irqs: readonly number[]): void {
    for (const irq of irqs) if (this.descs.get(irq)?.kind === "msi") this.release(irq);
  }

  /** A descriptor, if allocated. */
  desc(irq: number): IrqDesc | undefined {
    return this.descs.get(irq);
  }

  /** All descriptors in IRQ order. */
  descriptors(): IrqDesc[] {
    return [...this.descs.values()].sort((a, b) => a.irq - b.irq);
  }

  // ---- request / free ----

  requestIrq(owner: Owner, irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown, site: CallSite = this.core.site()): number {
    const core = this.core;
    core.mightSleep("request_irq", site);
    if ((flags & IRQF_SHARED) !== 0 && (devId === null || devId === undefined)) return -EINVAL;
    const d = this.descs.get(irq);
    if (!d || typeof handler !== "function") return -EINVAL;
    if (core.faults.shouldFail("irq", owner.driver, site)) return -ENOMEM;
    const trigger = triggerOf(flags) ?? d.trigger;
    const old = d.actions[0];
    if (old) {
      if ((old.flags & flags & IRQF_SHARED) === 0 || trigger !== d.trigger) {
        core.dmesg.log("err", `genirq: Flags mismatch irq ${irq}. ${hex8(flags)} (${name}) vs. ${hex8(old.flags)} (${old.name})`);
        return -EBUSY;
      }
    } else if (trigger !== d.trigger) {
      d.trigger = trigger;
      if (d.kind === "line") this.irqc.configure(d.line, trigger);
    }
    const action: IrqAction = {
      handler,
      flags,
      name,
      devId,
      owner,
      site,
      ledgerId: core.ledger.add("irq", owner, `irq ${irq} handler ${handlerName(handler)} ("${name}")`, site, core.now()),
      warned: 0,
    };
    d.actions = [...d.actions, action];
    if (!old) {
      // irq_startup: a fresh first handler enables the line.
      d.depth = 0;
      d.spuriousDisabled = false;
      d.unhandled = 0;
      d.window = 0;
      d.lastFree = null;
      d.spuriousReported = false;
      if (d.kind === "line") this.irqc.unmask(d.line);
    }
    return 0;
  }

  freeIrq(owner: Owner, irq: number, devId: unknown, site: CallSite = this.core.site()): string | null {
    const core = this.core;
    core.mightSleep("free_irq", site);
    const d = this.descs.get(irq);
    const i = d ? d.actions.findIndex((a) => a.devId === devId) : -1;
    if (!d || i < 0) {
      core.report({ kind: "irq", title: `Trying to free already-free IRQ ${irq}`, driver: owner.driver, details: { irq } }, site);
      return null;
    }
    if (d.inProgress && core.detectors.contextChecks) {
      core.report({
        kind: "irq",
        title: `BUG: free_irq(${irq}) from its own interrupt handler`,
        text: `BUG: free_irq(${irq}) from its own interrupt handler\n free_irq() waits for running handlers (synchronize_irq), i.e. for itself: *** DEADLOCK ***`,
        driver: owner.driver,
      }, site);
    }
    const action = d.actions[i]!;
    d.actions = d.actions.filter((_, j) => j !== i);
    core.ledger.remove(action.ledgerId);
    if (d.actions.length === 0) {
      d.lastFree = { name: action.name, driver: action.owner.driver, site, time: core.now(), reported: false };
    }
    return action.name;
  }

  /**
   * Reclaimer for leaked "irq" ledger entries (register with the driver core's LeakReclaimers):
   * removes the handler without reports; a line left without handlers is masked, as Linux's
   * irq_shutdown does.
   */
  reclaimLeak(entry: LedgerEntry): boolean {
    if (entry.kind !== "irq") return false;
    for (const d of this.descs.values()) {
      const a = d.actions.find((x) => x.ledgerId === entry.id);
      if (!a) continue;
      d.actions = d.actions.filter((x) => x !== a);
      this.core.ledger.remove(a.ledgerId);
      if (d.actions.length === 0 && d.kind === "line") this.irqc.mask(d.line);
      for (const [e, m] of this.devmIrqs) if (m.irq === d.irq && m.devId === a.devId) this.devmIrqs.delete(e);
      return true;
    }
    return false;
  }

  devmRequestIrq(owner: Owner, dev: Device, irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    const site = this.core.site();
    if (isNull(dev)) throw nullDeref(this.core, "devm_request_irq", "struct device", dev, site, owner.driver);
    const rc = this.requestIrq(owner, irq, handler, flags, name, devId, site);
    if (rc !== 0) {
      this.core.dmesg.log("err", `${dev.name}: error ${rc}: request_irq(${irq}) ${handlerName(handler)} ${name}`);
      return rc;
    }
    const entry = this.devres.add(dev, `devm_request_irq ${irq} ${name}`, () => {
      this.devmIrqs.delete(entry);
      this.freeIrq(owner, irq, devId, site);
    }, site);
    this.devmIrqs.set(entry, { irq, devId });
    return 0;
  }

  devmFreeIrq(owner: Owner, dev: Device, irq: number, devId: unknown): void {
    const site = this.core.site();
    const entry = this.devres.find(dev, (e) => {
      const m = this.devmIrqs.get(e);
      return !!m && m.irq === irq && m.devId === devId;
    });
    if (!entry) {
      this.core.report({ kind: "warn", title: `WARNING: devm_free_irq(${irq}) with no matching devm_request_irq for this dev_id`, driver: owner.driver }, site);
      return;
    }
    this.devres.remove(dev, entry);
    this.devmIrqs.delete(entry);
    this.freeIrq(owner, irq, devId, site);
  }

  // ---- enable / disable ----

  disableIrq(irq: number, sync: boolean): void {
    if (sync) this.core.mightSleep("disable_irq");
    const d = this.descs.get(irq);
    if (!d) return;
    if (d.depth++ === 0 && d.kind === "line") this.irqc.mask(d.line);
    if (sync) this.synchronizeIrq(irq);
  }

  enableIrq(irq: number): void {
    const d = this.descs.get(irq);
    if (!d) return;
    if (d.depth === 0) {
      this.core.report({ kind: "warn", title: `WARNING: Unbalanced enable for IRQ ${irq}`, details: { irq } }, this.core.site());
      return;
    }
    if (--d.depth > 0) return;
    d.spuriousDisabled = false;
    if (d.kind === "line") {
      this.irqc.unmask(d.line);
    } else if (d.pendingWhileDisabled) {
      // Resend the MSI that arrived while disabled (Linux: IRQS_PENDING + resend).
      d.pendingWhileDisabled = false;
      this.irqc.msi(MSI_ADDRESS, d.vector);
    }
  }

  synchronizeIrq(irq: number): void {
    const d = this.descs.get(irq);
    if (d?.inProgress && this.core.detectors.contextChecks) {
      this.core.report({
        kind: "irq",
        title: `BUG: synchronize_irq(${irq}) from its own interrupt handler`,
        text: `BUG: synchronize_irq(${irq}) from its own interrupt handler\n it waits for the running handler, i.e. for itself: *** DEADLOCK ***`,
      }, this.core.site());
    }
  }

  // ---- dispatch ----

  /** The controller's CPU-side delivery: `line` is -1 for MSIs. */
  private handle(vector: number, line: number): void {
    const irq = line >= 0 ? this.irqOfLine[line]! : vector >= 0 && vector < 256 ? this.vectorIrq[vector]! : -1;
    const d = irq >= 0 ? this.descs.get(irq) : undefined;
    if (!d) {
      this.noDescriptor(vector, line);
      return;
    }
    d.count++;
    if (d.depth > 0) {
      d.pendingWhileDisabled = true;
      if (d.kind === "line") {
        this.irqc.mask(d.line);
        this.irqc.eoi(d.line);
      }
      return;
    }
    const actions = d.actions;
    if (actions.length === 0) {
      this.noHandler(d);
      return;
    }
    const core = this.core;
    const ctx = core.ctx;
    const wasLocal = this.irqc.saveLocal();
    const savedIrqsOff = ctx.irqsDisabled;
    ctx.hardirq++;
    ctx.irqsDisabled = true;
    d.inProgress = true;
    let ret = 0;
    try {
      for (let i = 0; i < actions.length; i++) ret |= this.callHandler(d, actions[i]!);
    } finally {
      d.inProgress = false;
      ctx.hardirq--;
      ctx.irqsDisabled = savedIrqsOff;
    }
    if (noteInterrupt(d, ret !== IRQ_NONE, core.now(), this.nobodyCared)) this.reportNobodyCared(d);
    if (d.kind === "line") this.irqc.eoi(d.line);
    this.irqc.restoreLocal(wasLocal);
    this.sync.softirq.kick();
  }

  private callHandler(d: IrqDesc, a: IrqAction): number {
    const core = this.core;
    const ctx = core.ctx;
    const preempt = ctx.preempt;
    let r: unknown;
    let threw = false;
    try {
      r = a.handler(d.irq, a.devId);
    } catch (e) {
      this.handlerThrew(d, a, e);
      r = IRQ_HANDLED;
      threw = true;
    }
    if (ctx.preempt !== preempt) {
      // After an exception the handler's locks are abandoned with it: restore quietly.
      if (!threw && !(a.warned & WARN_LOCK)) {
        a.warned |= WARN_LOCK;
        core.report({ kind: "lock", title: `BUG: irq ${d.irq} handler ${handlerName(a.handler)} returned with preempt_count ${preempt} -> ${ctx.preempt} (spinlock held?)`, driver: a.owner.driver }, a.site);
      }
      ctx.preempt = preempt;
    }
    if (!ctx.irqsDisabled) {
      if (!threw && !(a.warned & WARN_IRQS_ON)) {
        a.warned |= WARN_IRQS_ON;
        core.report({ kind: "warn", title: `WARNING: irq ${d.irq} handler ${handlerName(a.handler)} enabled interrupts`, driver: a.owner.driver }, a.site);
      }
      ctx.irqsDisabled = true;
      this.irqc.disableLocal();
    }
    if (r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function") {
      if (!(a.warned & WARN_PROMISE)) {
        a.warned |= WARN_PROMISE;
        core.report({
          kind: "atomic-sleep",
          title: `BUG: irq ${d.irq} handler ${handlerName(a.handler)} returned a Promise: interrupt handlers run in hardirq context and may not sleep`,
          driver: a.owner.driver,
        }, a.site);
      }
      return IRQ_HANDLED;
    }
    if (r !== IRQ_NONE && r !== IRQ_HANDLED && r !== IRQ_WAKE_THREAD) {
      if (!(a.warned & WARN_BOGUS)) {
        a.warned |= WARN_BOGUS;
        core.report({
          kind: "irq",
          title: `irq event ${d.irq}: bogus return value ${String(r)}`,
          text: `irq event ${d.irq}: bogus return value ${String(r)}\nhandlers:\n[<${handlerName(a.handler)}>] ${handlerName(a.handler)} [${a.owner.driver}]`,
          driver: a.owner.driver,
        }, a.site);
      }
      return IRQ_NONE;
    }
    if (r === IRQ_WAKE_THREAD) {
      if (!(a.warned & WARN_THREAD)) {
        a.warned |= WARN_THREAD;
        core.report({ kind: "irq", title: `IRQ ${d.irq} device ${a.name} returned IRQ_WAKE_THREAD but no thread function available.`, driver: a.owner.driver }, a.site);
      }
      return IRQ_HANDLED;
    }
    return r;
  }

  private handlerThrew(d: IrqDesc, a: IrqAction, e: unknown): void {
    // A KernelOops was reported where it happened; anything else is reported here.
    if (e instanceof Error && e.name === "KernelOops") return;
    const err = e instanceof Error ? e : new Error(String(e));
    this.core.report({
      kind: "oops",
      title: `BUG: exception in irq ${d.irq} handler ${handlerName(a.handler)}: ${err.message}`,
      stack: siteFrames({ stack: err.stack ?? "" }),
      driver: a.owner.driver,
      details: { irq: d.irq, action: a.name },
    });
  }

  private reportNobodyCared(d: IrqDesc): void {
    const title = `irq ${d.irq}: nobody cared (try booting with the "irqpoll" option)`;
    const task = this.core.ctx.task;
    const handlers = d.actions.map((a) => `[<${handlerName(a.handler)}>] ${handlerName(a.handler)} [${a.owner.driver}]`);
    this.core.report({
      kind: "irq",
      title,
      text: [title, `CPU: 0 PID: ${task.pid} Comm: ${task.comm}`, "handlers:", ...handlers, `Disabling IRQ #${d.irq}`].join("\n"),
      details: { irq: d.irq, handlers: d.actions.map((a) => a.name), window: this.nobodyCared.window, threshold: this.nobodyCared.threshold },
    });
    d.spuriousDisabled = true;
    if (d.depth++ === 0 && d.kind === "line") this.irqc.mask(d.line);
  }

  private noDescriptor(vector: number, line: number): void {
    this.errCount++;
    if (line >= 0) {
      this.irqc.mask(line);
      this.irqc.eoi(line);
    }
    const v = vector & 0xff;
    if (this.noVectorReported[v]) return;
    this.noVectorReported[v] = 1;
    this.core.report({
      kind: "irq",
      title: `__common_interrupt: 0.${vector} No irq handler for vector`,
      text: `__common_interrupt: 0.${vector} No irq handler for vector\n ${line >= 0 ? `line ${line} has no Linux IRQ (never allocated); masked` : "MSI vector not allocated"}`,
      details: { vector, line },
    });
  }

  private noHandler(d: IrqDesc): void {
    this.errCount++;
    const asserted = d.kind === "line" && this.irqc.isPending(d.line);
    if (d.kind === "line") {
      this.irqc.mask(d.line);
      this.irqc.eoi(d.line);
    }
    const f = d.lastFree;
    if (f && !f.reported) {
      f.reported = true;
      const title = `irq ${d.irq}: interrupt after its last handler was freed`;
      this.core.report({
        kind: "irq",
        title,
        text: [
          title,
          ` handler "${f.name}" of ${f.driver} was freed at ${siteFrames(f.site, 1)[0] ?? "?"} but the device still ${asserted ? "asserts the line" : "raises it"}`,
          " quiesce the device (disable its interrupt sources) before free_irq()",
        ].join("\n"),
        driver: f.driver,
        details: { irq: d.irq, freedAt: f.time, asserted },
        stack: siteFrames(f.site),
      });
      return;
    }
    if (f || d.spuriousReported) return;
    d.spuriousReported = true;
    this.core.report({
      kind: "irq",
      title: `unexpected IRQ trap at vector ${d.vector.toString(16).padStart(2, "0")}`,
      text: `unexpected IRQ trap at vector ${d.vector.toString(16).padStart(2, "0")}\n irq ${d.irq} (${d.chip} ${d.hwirq}) has no handler: counted as spurious (ERR) and ${d.kind === "line" ? "masked" : "dropped"}`,
      details: { irq: d.irq, vector: d.vector },
    });
  }

  private freeVectors(count: number): number[] | null {
    const out: number[] = [];
    for (let v = LAST_DEVICE_VECTOR; v >= FIRST_DEVICE_VECTOR && out.length < count; v--) if (!this.vectorUsed[v]) out.push(v);
    return out.length === count ? out.sort((a, b) => a - b) : null;
  }

  private alignedVectors(count: number): number[] | null {
    let size = 1;
    while (size < count) size <<= 1;
    for (let base = (LAST_DEVICE_VECTOR + 1 - size) & ~(size - 1); base >= FIRST_DEVICE_VECTOR; base -= size) {
      let free = true;
      for (let i = 0; i < size; i++) if (this.vectorUsed[base + i]) free = false;
      if (!free) continue;
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(base + i);
      return out;
    }
    return null;
  }

  // ---- facade ----

  api(owner: Owner): Partial<KernelDriverCore> {
    return {
      request_irq: (irq, handler, flags, name, devId) => this.requestIrq(owner, irq, handler, flags, name, devId),
      devm_request_irq: (dev, irq, handler, flags, name, devId) => this.devmRequestIrq(owner, dev, irq, handler, flags, name, devId),
      free_irq: (irq, devId) => this.freeIrq(owner, irq, devId),
      devm_free_irq: (dev, irq, devId) => this.devmFreeIrq(owner, dev, irq, devId),
      enable_irq: (irq) => this.enableIrq(irq),
      disable_irq: (irq) => this.disableIrq(irq, true),
      disable_irq_nosync: (irq) => this.disableIrq(irq, false),
      synchronize_irq: (irq) => this.synchronizeIrq(irq),
    };
  }
}
