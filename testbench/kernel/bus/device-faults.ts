/**
 * Device-level fault injection: what the hardware does wrong, as opposed to the kernel calls the
 * fail-nth injector fails. A plan names a device and a kind; counted plans fire on the device's
 * nth matching event (DMA access or interrupt), so a run with the same seed and plans replays
 * exactly. Kinds:
 *
 * - `dma-read-error` / `dma-write-error`: the nth DMA read (write) returns
 *   `DmaStatus.INJECTED_ERROR`, no data moved, before any other check.
 * - `iommu-fault`: the nth DMA access is refused as an IOMMU translation fault, logged in
 *   {@link Iommu.faults}, the trace and dmesg (DMAR wording) with requester, address and
 *   direction. It is not a driver bug, so it is not a detector report. Only on a board with an
 *   IOMMU: without one, `inject` refuses the plan.
 * - `lost-irq`: the nth interrupt the device raises never reaches the controller (a level line
 *   stays low until the device lowers and raises it again).
 * - `completion-timeout`: the nth interrupt reaches the controller `delayNs` late (default 10 s
 *   simulated), so the driver's completion wait times out first; withdrawn if the device lowers
 *   a level line meanwhile.
 * - `spurious-irq`: right away, one interrupt on the device's line (or its MSI `vector`) while the
 *   device asserts nothing; handlers should return IRQ_NONE, and Linux's spurious (nobody cared)
 *   accounting applies.
 * - `surprise-removal`: hot-unplug, right away or at the device's nth DMA access (that access
 *   aborts). The device stops answering: MMIO and port reads return all ones and writes are
 *   dropped, PCI config space reads all ones, DMA master-aborts, no more interrupts (asserted
 *   lines are released), ISA DMA requests reach no controller (asserted DREQs drop). Then the driver core unbinds it as Linux's removal does (remove(),
 *   devres, the leak check); {@link DeviceFaults.settled} waits for that. A removed device is
 *   gone from the bus: binding it again fails with -ENODEV.
 */
import { inject, injectable } from "../../soc/di.js";
import type { Bus, MmioHandler } from "../../soc/bus.js";
import type { Clock } from "../../soc/clock.js";
import type { InterruptController } from "../../soc/irq.js";
import type { Iommu } from "../../soc/iommu.js";
import { TraceKind } from "../../soc/trace.js";
import type { TraceRing } from "../../soc/trace.js";
import { BUS, CLOCK, IOMMU, IRQ, TRACE } from "../../soc/tokens.js";
import { DmaStatus } from "../../../sdk/index.js";
import type { IrqPort, VirtualDevice } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import { DEVICE_HOST, KERNEL_CORE } from "../tokens.js";
import type { DeviceHost, HostedDevice } from "./device-host.js";

/** Kinds of device-level faults. @public */
export type DeviceFaultKind = "dma-read-error" | "dma-write-error" | "iommu-fault" | "lost-irq" | "completion-timeout" | "spurious-irq" | "surprise-removal";

/** A device-level fault to inject. @public */
export interface DeviceFaultPlan {
  /** Device name (`0000:00:01.0`, `isa-stream.0`), or the model instance. */
  readonly device: string | VirtualDevice;
  /** What goes wrong. */
  readonly kind: DeviceFaultKind;
  /**
   * Fire on the device's nth matching event, counted from when the plan is injected (1-based;
   * default 1): DMA reads, DMA writes, DMA accesses (`iommu-fault`, `surprise-removal`) or raised
   * interrupts (`lost-irq`, `completion-timeout`). `spurious-irq` ignores it; `surprise-removal`
   * without it happens right away.
   */
  readonly nth?: number;
  /** How many consecutive matching events fault from the nth on (default 1). */
  readonly times?: number;
  /** `spurious-irq`: the device's interrupt index (declared line, or MSI/MSI-X vector). Default 0. */
  readonly vector?: number;
  /** `completion-timeout`: how late the interrupt arrives, in simulated ns (default 10 s). */
  readonly delayNs?: number;
}

/** One fault that fired. @public */
export interface InjectedDeviceFault {
  /** Simulated ns when it fired. */
  readonly time: number;
  /** Device name. */
  readonly device: string;
  readonly kind: DeviceFaultKind;
  /** The event number it fired on (0 for immediate kinds). */
  readonly n: number;
  /** DMA faults: bus address and length. */
  readonly addr?: number;
  readonly len?: number;
}

/** Per-device counters. @public */
export interface DeviceFaultCounters {
  /** DMA accesses seen since a plan was first injected for the device. */
  dmaAccesses: number;
  /** Interrupts the device raised since then (a level line counts once per assertion). */
  irqsRaised: number;
  /** DMA reads failed with `INJECTED_ERROR`. */
  dmaReadErrors: number;
  /** DMA writes failed with `INJECTED_ERROR`. */
  dmaWriteErrors: number;
  /** DMA accesses refused as injected IOMMU faults. */
  iommuFaults: number;
  /** Interrupts dropped. */
  lostIrqs: number;
  /** Interrupts delivered late (`completion-timeout`). */
  delayedIrqs: number;
  /** Spurious interrupts injected. */
  spuriousIrqs: number;
  /** True once surprise-removed. */
  removed: boolean;
}

interface ArmedPlan {
  readonly plan: DeviceFaultPlan;
  readonly first: number;
  readonly last: number;
  count: number;
}

/** The per-device state behind the DMA and IRQ hooks. */
class DeviceFaultState {
  readonly plans: ArmedPlan[] = [];
  readonly counters: DeviceFaultCounters = {
    dmaAccesses: 0,
    irqsRaised: 0,
    dmaReadErrors: 0,
    dmaWriteErrors: 0,
    iommuFaults: 0,
    lostIrqs: 0,
    delayedIrqs: 0,
    spuriousIrqs: 0,
    removed: false,
  };
  /** Level/INTx mode: vectors the device asserts (as seen by the gate). */
  readonly up = new Set<number>();
  /** Vectors whose current assertion was lost (dropped until the device lowers them). */
  readonly lost = new Set<number>();
  /** Pending delayed raises per vector (clock event ids). */
  readonly delayed = new Map<number, number>();

  constructor(readonly h: HostedDevice) {}

  /** The armed plan of one of `kinds` that fires on this event, counting every matching plan. */
  fire(kinds: readonly DeviceFaultKind[]): ArmedPlan | undefined {
    let hit: ArmedPlan | undefined;
    for (const a of this.plans) {
      if (!kinds.includes(a.plan.kind)) continue;
      const n = ++a.count;
      if (hit === undefined && n >= a.first && n <= a.last) hit = a;
    }
    return hit;
  }
}

const READ_KINDS: readonly DeviceFaultKind[] = ["dma-read-error", "iommu-fault", "surprise-removal"];
const WRITE_KINDS: readonly DeviceFaultKind[] = ["dma-write-error", "iommu-fault", "surprise-removal"];
const IRQ_KINDS: readonly DeviceFaultKind[] = ["lost-irq", "completion-timeout"];
const KINDS: readonly DeviceFaultKind[] = ["dma-read-error", "dma-write-error", "iommu-fault", "lost-irq", "completion-timeout", "spurious-irq", "surprise-removal"];

const ALL_ONES_HANDLER: MmioHandler = {
  read: (_offset: number, size: number) => (size >= 8 ? 18446744073709551615 : 2 ** (size * 8) - 1),
  write: () => undefined,
};

function rid(requester: number): string {
  return requester < 0x10000 ? `${(requester >> 8).toString(16).padStart(2, "0")}:${((requester >> 3) & 31).toString(16).padStart(2, "0")}.${requester & 7}` : String(requester);
}

/**
 * Device-level fault injection for one testbench (`tb.deviceFaults`).
 * @public
 */
@injectable()
export class DeviceFaults {
  /** Every fault that fired, oldest first. */
  readonly injected: InjectedDeviceFault[] = [];
  /**
   * How a surprise-removed device is unbound (wired to the driver core at registration); null
   * when the testbench has no driver core.
   */
  unbind: ((h: HostedDevice) => Promise<void>) | null = null;
  private readonly states = new Map<HostedDevice, DeviceFaultState>();
  private readonly removals: Promise<void>[] = [];

  constructor(
    @inject(DEVICE_HOST) private readonly host: DeviceHost,
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(IRQ) private readonly irqc: InterruptController,
    @inject(IOMMU) private readonly iommu: Iommu,
    @inject(BUS) private readonly bus: Bus,
    @inject(TRACE) private readonly trace: TraceRing,
  ) {}

  /** Arm a plan (counted kinds) or inject right away (`spurious-irq`, `surprise-removal` without `nth`). */
  inject(plan: DeviceFaultPlan): void {
    if (!KINDS.includes(plan.kind)) throw new RangeError(`unknown device fault kind ${String(plan.kind)}`);
    const h = this.host.find(plan.device);
    if (!h) throw new RangeError(`no such device: ${typeof plan.device === "string" ? plan.device : plan.device.model}`);
    const nth = plan.nth ?? 1;
    const times = plan.times ?? 1;
    if (!(Number.isInteger(nth) && nth >= 1)) throw new RangeError(`device fault nth must be an integer ≥ 1 (got ${plan.nth})`);
    if (!(Number.isInteger(times) && times >= 1)) throw new RangeError(`device fault times must be an integer ≥ 1 (got ${plan.times})`);
    // Without an IOMMU there is no translation to fail: a DMAR fault would be a fiction.
    if (plan.kind === "iommu-fault" && !this.iommu.enabled) {
      throw new RangeError(`iommu-fault on ${h.name}: the board has no IOMMU (boot with overrides: { iommu: true })`);
    }
    const st = this.state(h);
    if (plan.kind === "spurious-irq") return this.spurious(st, plan.vector ?? 0);
    if (plan.kind === "surprise-removal" && plan.nth === undefined) return this.remove(st, 0);
    st.plans.push({ plan, first: nth, last: nth + times - 1, count: 0 });
  }

  /** Drop every armed plan (removed devices stay removed). */
  clear(): void {
    for (const st of this.states.values()) st.plans.length = 0;
  }

  /** Counters of a device (zeros when nothing was ever armed for it). */
  counters(device: string | VirtualDevice): Readonly<DeviceFaultCounters> {
    const h = this.host.find(device);
    if (!h) throw new RangeError(`no such device: ${typeof device === "string" ? device : device.model}`);
    return this.state(h).counters;
  }

  /** True once the device was surprise-removed. */
  isRemoved(device: string | VirtualDevice): boolean {
    const h = this.host.find(device);
    return h !== undefined && (this.states.get(h)?.counters.removed ?? false);
  }

  /** Resolves when every surprise removal so far has been unbound by the driver core. */
  async settled(): Promise<void> {
    for (let i = 0; i < this.removals.length; i++) await this.removals[i];
  }

  private state(h: HostedDevice): DeviceFaultState {
    let st = this.states.get(h);
    if (st) return st;
    st = new DeviceFaultState(h);
    this.states.set(h, st);
    const s = st;
    h.dma.fault = (addr, len, write) => this.dma(s, addr, len, write);
    h.irqGate.hook = { raise: (v, port) => this.raise(s, v, port), lower: (v, port) => this.lower(s, v, port) };
    return st;
  }

  private record(st: DeviceFaultState, kind: DeviceFaultKind, n: number, addr?: number, len?: number): void {
    this.injected.push({ time: this.clock.now, device: st.h.name, kind, n, ...(addr !== undefined ? { addr, len: len ?? 0 } : {}) });
  }

  // ---- DMA ----

  private dma(st: DeviceFaultState, addr: number, len: number, write: boolean): DmaStatus {
    if (st.counters.removed) return DmaStatus.MASTER_ABORT;
    st.counters.dmaAccesses++;
    const a = st.fire(write ? WRITE_KINDS : READ_KINDS);
    if (!a) return DmaStatus.OK;
    const kind = a.plan.kind;
    if (kind === "surprise-removal") {
      this.remove(st, a.count, addr, len);
      return DmaStatus.MASTER_ABORT;
    }
    this.record(st, kind, a.count, addr, len);
    if (kind === "iommu-fault") {
      st.counters.iommuFaults++;
      this.iommu.faults.push({ time: this.clock.now, requester: st.h.requester, iova: addr, len, direction: write ? "write" : "read", cause: "injected" });
      this.trace.record(TraceKind.IommuFault, addr, len, write ? 1 : 0, st.h.requester, "injected");
      this.core.dmesg.log(
        "err",
        `DMAR: [DMA ${write ? "Write" : "Read"} NO_PASID] Request device [${rid(st.h.requester)}] fault addr 0x${addr.toString(16)} [fault reason 0x06] PTE ${write ? "Write" : "Read"} access is not set (injected)`,
      );
      return DmaStatus.IOMMU_FAULT;
    }
    if (write) st.counters.dmaWriteErrors++;
    else st.counters.dmaReadErrors++;
    this.trace.record(TraceKind.GuestError, addr, len, write ? 1 : 0, st.h.requester, `${st.h.name}: injected DMA ${write ? "write" : "read"} error`);
    return DmaStatus.INJECTED_ERROR;
  }

  // ---- interrupts ----

  /** True when each raise is its own message (MSI/MSI-X enabled), not a level on a line. */
  private messageSignalled(st: DeviceFaultState): boolean {
    const fn = st.h.pci;
    return fn !== undefined && (fn.msiEnabled || fn.msixEnabled);
  }

  private raise(st: DeviceFaultState, vector: number, port: IrqPort): void {
    if (st.counters.removed) return;
    const msi = this.messageSignalled(st);
    if (!msi) {
      if (st.up.has(vector)) {
        // Still the same assertion: lost or late stays so, else it is already delivered.
        if (!st.lost.has(vector) && !st.delayed.has(vector)) port.raise(vector);
        return;
      }
      st.up.add(vector);
    }
    st.counters.irqsRaised++;
    const a = st.fire(IRQ_KINDS);
    if (!a) return port.raise(vector);
    this.record(st, a.plan.kind, a.count);
    if (a.plan.kind === "lost-irq") {
      st.counters.lostIrqs++;
      if (!msi) st.lost.add(vector);
      this.trace.record(TraceKind.Irq, vector, 0, 0, st.h.requester, `${st.h.name}: injected lost interrupt`);
      return;
    }
    st.counters.delayedIrqs++;
    const id = this.clock.schedule(a.plan.delayNs ?? 10e9, () => {
      st.delayed.delete(vector);
      if (!st.counters.removed) port.raise(vector);
    });
    if (!msi) st.delayed.set(vector, id);
  }

  private lower(st: DeviceFaultState, vector: number, port: IrqPort): void {
    st.up.delete(vector);
    st.lost.delete(vector);
    const id = st.delayed.get(vector);
    if (id !== undefined) {
      this.clock.cancel(id);
      st.delayed.delete(vector);
    }
    if (!st.counters.removed) port.lower(vector);
  }

  private spurious(st: DeviceFaultState, vector: number): void {
    if (st.counters.removed) return;
    const h = st.h;
    st.counters.spuriousIrqs++;
    this.record(st, "spurious-irq", 0);
    if (h.pci) {
      // A message needs no line: send it through the function's MSI path, bypassing the gate.
      if (this.messageSignalled(st)) return h.pci.irqPort.raise(vector);
      if (h.pci.intxLine < 0) throw new RangeError(`${h.name}: no interrupt line or MSI to inject a spurious interrupt on`);
      return this.irqc.injectSpurious(h.pci.intxLine, h.requester);
    }
    const line = h.decl.bus === "pci" ? undefined : h.decl.irqs[vector];
    if (line === undefined) throw new RangeError(`${h.name}: no declared interrupt ${vector}`);
    this.irqc.injectSpurious(line, h.requester);
  }

  // ---- surprise removal ----

  private remove(st: DeviceFaultState, n: number, addr?: number, len?: number): void {
    if (st.counters.removed) return;
    const h = st.h;
    st.counters.removed = true;
    st.plans.length = 0;
    this.record(st, "surprise-removal", n, addr, len);
    for (const id of st.delayed.values()) this.clock.cancel(id);
    st.delayed.clear();
    // Release every line the device holds, then cut the outputs.
    if (!h.pci) for (const v of st.up) h.irqGate.port.lower(v);
    st.up.clear();
    this.host.markRemoved(h);
    const gone: { base: number; size: number; io: boolean; name: string }[] = [];
    if (h.pci) {
      gone.push(...h.pci.surpriseRemove());
    } else {
      for (const w of [...h.windows, ...h.ports]) {
        const io = h.ports.includes(w);
        gone.push({ base: w.region.base, size: w.region.size, io, name: w.region.name });
        this.bus.remove(w.region);
      }
    }
    // Nothing answers there any more: reads return all ones, writes vanish (quietly, as the
    // driver cannot know yet that the device is gone).
    for (const g of gone) {
      if (g.io) this.bus.addPorts(`${g.name} (removed)`, g.base, g.size, ALL_ONES_HANDLER, [1, 2, 4]);
      else this.bus.addMmio(`${g.name} (removed)`, g.base, g.size, ALL_ONES_HANDLER, [1, 2, 4, 8]);
    }
    this.core.dmesg.log("info", `${h.name}: surprise removal: device no longer present`);
    this.trace.record(TraceKind.GuestError, 0, 0, 0, h.requester, `${h.name}: surprise removal`);
    // The driver core unbinds it once the current device or test code has returned (never from
    // inside the device model's own call).
    const unbind = this.unbind;
    if (unbind) this.removals.push(Promise.resolve().then(() => unbind(h)));
  }
}
