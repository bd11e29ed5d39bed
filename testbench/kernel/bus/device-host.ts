/**
 * Device hosting: plugging a {@link VirtualDevice} into the SoC. Its regions go on the bus (PCI
 * BARs through the host bridge, platform/ISA windows at their fixed addresses, ISA ports in the
 * port space) and into /proc/iomem and /proc/ioports; it gets a {@link DeviceContext} (DMA through
 * the IOMMU gated by bus mastering, interrupts, clock, a per-device seeded RNG, a logger into the
 * trace, ISA DMA channels routed to the board's 8237) and the driver-facing device object.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD, BUS, CLOCK, IOMMU, SEED, TRACE } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Bus, BusRegion } from "../../soc/bus.js";
import { Rng } from "../../soc/clock.js";
import type { Clock } from "../../soc/clock.js";
import type { Iommu } from "../../soc/iommu.js";
import { TraceKind } from "../../soc/trace.js";
import type { TraceRing } from "../../soc/trace.js";
import type {
  Device,
  DeviceContext,
  DeviceDecl,
  IsaDev,
  IsaDmaChannelPort,
  IsaDmaController,
  IsaDmaMove,
  MmioWindowDecl,
  PciDev,
  PlatformDev,
  TimerHandle,
  VirtualDevice,
} from "../../../sdk/index.js";
import type { ResourceNode } from "../io/resource-tree.js";
import type { IoResources } from "../io/resources.js";
import { IO_RESOURCES, IRQ_NUMBERS, PCI_HOST } from "../tokens.js";
import { DeviceDmaPort, DmaChecks } from "./dma-port.js";
import type { IrqNumbers } from "./irq-numbers.js";
import { IrqGate } from "./irq-gate.js";
import { LineIrqPort } from "./irq-wires.js";
import type { PciFunction } from "./pci-function.js";
import type { PciHost } from "./pci-host.js";
import { mapRegion, planRegion } from "./region.js";

/** A fixed window of a platform or ISA device, on the bus and in the resource tree. @public */
export interface HostedWindow {
  readonly decl: MmioWindowDecl;
  readonly region: BusRegion;
  readonly resource: ResourceNode;
}

/** The driver-facing PCI device, with the fields the kernel updates. @internal */
export type MutablePciDev = { -readonly [K in keyof PciDev]: PciDev[K] };

/** A plugged device. @public */
export interface HostedDevice {
  readonly id: number;
  readonly name: string;
  readonly model: VirtualDevice;
  readonly decl: DeviceDecl;
  /** What drivers get (`PciDev`, `PlatformDev` or `IsaDev`). */
  readonly dev: Device;
  /** DMA requester id: PCI `bus << 8 | devfn`, else 0x1000 + id. */
  readonly requester: number;
  readonly ctx: DeviceContext;
  readonly dma: DeviceDmaPort;
  /** The device's interrupt outputs (`ctx.irq`), hookable by device-level fault injection. */
  readonly irqGate: IrqGate;
  readonly pci?: PciFunction;
  /** Platform/ISA: MMIO windows and port ranges. */
  readonly windows: readonly HostedWindow[];
  readonly ports: readonly HostedWindow[];
  /** Platform/ISA: Linux IRQ numbers of the declared lines. */
  readonly irqs: readonly number[];
}

/** A line the device model logged. @public */
export interface DeviceLogLine {
  readonly time: number;
  readonly device: string;
  readonly level: "guest-error" | "unimplemented" | "info";
  readonly message: string;
}

const NO_MOVE: IsaDmaMove = Object.freeze({ moved: 0, terminalCount: false });

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** @public */
@injectable()
export class DeviceHost {
  /** Checks every device DMA access passes (the DMA subsystem registers its cross-check here). */
  readonly dmaChecks = new DmaChecks();
  /** Everything device models logged. */
  readonly deviceLog: DeviceLogLine[] = [];
  private readonly hosted: HostedDevice[] = [];
  private readonly byDev = new WeakMap<Device, HostedDevice>();
  private readonly perModel = new Map<string, number>();
  private readonly plugListeners: ((d: HostedDevice) => void)[] = [];
  /** Names of surprise-removed devices: no longer on the bus, never bound again. */
  private readonly removed = new Set<string>();
  /** ISA DMA channels on which each device asserts DREQ, released when it is removed. */
  private readonly dreqUp = new Map<string, Set<number>>();

  constructor(
    @inject(BOARD) private readonly board: BoardConfig,
    @inject(BUS) private readonly bus: Bus,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(TRACE) private readonly trace: TraceRing,
    @inject(IOMMU) private readonly iommu: Iommu,
    @inject(SEED) private readonly seed: number,
    @inject(PCI_HOST) readonly pci: PciHost,
    @inject(IO_RESOURCES) private readonly resources: IoResources,
    @inject(IRQ_NUMBERS) private readonly irqNumbers: IrqNumbers,
  ) {}

  /** Plugged devices in plug order. */
  devices(): readonly HostedDevice[] {
    return this.hosted;
  }

  /** The hosted device behind a driver-facing device object. */
  of(dev: Device): HostedDevice | undefined {
    return this.byDev.get(dev);
  }

  /** Find by name (`0000:00:01.0`, `isa-stream.0`) or by model instance. */
  find(what: string | VirtualDevice): HostedDevice | undefined {
    return this.hosted.find((h) => (typeof what === "string" ? h.name === what : h.model === what));
  }

  /**
   * Surprise removal, the host's part: the device's ISA DMA channels are cut (its asserted DREQs
   * drop, later requests and transfers reach no controller, as with the card pulled out), and it
   * is marked gone so the driver core does not bind it again.
   */
  markRemoved(h: HostedDevice): void {
    if (this.removed.has(h.name)) return;
    this.removed.add(h.name);
    const up = this.dreqUp.get(h.name);
    if (!up) return;
    for (const ch of up) this.isaController(ch)?.dreq(ch, false);
    this.dreqUp.delete(h.name);
  }

  /** True once the device was surprise-removed. */
  isRemoved(h: HostedDevice): boolean {
    return this.removed.has(h.name);
  }

  /** Call `fn` for every device plugged from now on (the driver core matches drivers). */
  onPlug(fn: (d: HostedDevice) => void): void {
    this.plugListeners.push(fn);
  }

  /** Plug a device: wire its regions, interrupts and DMA, then `attach` it. */
  plug(model: VirtualDevice): HostedDevice {
    const decl = model.describe();
    const id = this.hosted.length;
    const h = decl.bus === "pci" ? this.plugPci(model, decl, id) : this.plugFixed(model, decl, id);
    this.hosted.push(h);
    this.byDev.set(h.dev, h);
    model.attach(h.ctx);
    for (const l of this.plugListeners) l(h);
    return h;
  }

  private plugPci(model: VirtualDevice, decl: DeviceDecl & { bus: "pci" }, id: number): HostedDevice {
    const fn = this.pci.addFunction(decl);
    const requester = fn.devfn; // bus 0
    const dma = new DeviceDmaPort(requester, fn.name, this.iommu, this.trace, this.dmaChecks, fn.state.busMasterEnabled);
    const dev: MutablePciDev = Object.assign(Object.create(null) as object, {
      name: fn.name,
      bus: "pci" as const,
      vendor: decl.identity.vendor,
      device: decl.identity.device,
      revision: decl.identity.revision,
      class: decl.identity.classCode,
      devfn: fn.devfn,
      irq: fn.intxLine >= 0 ? this.irqNumbers.lineIrq(fn.intxLine) : 0,
    }) as MutablePciDev;
    const irqGate = new IrqGate(fn.irqPort);
    const ctx = this.context(fn.name, requester, dma, irqGate, decl, fn);
    return { id, name: fn.name, model, decl, dev: dev as unknown as PciDev, requester, ctx, dma, irqGate, pci: fn, windows: [], ports: [], irqs: [] };
  }

  private plugFixed(model: VirtualDevice, decl: DeviceDecl & { bus: "platform" | "isa" }, id: number): HostedDevice {
    const n = this.perModel.get(model.model) ?? 0;
    this.perModel.set(model.model, n + 1);
    const name = `${model.model}.${n}`;
    const requester = 0x1000 + id;
    const windows: HostedWindow[] = [];
    for (const w of decl.bus === "platform" ? decl.mmio : (decl.mmio ?? [])) {
      const plan = planRegion(this.bus, `${name} ${w.name}`, w.size, w.impl);
      const region = mapRegion(this.bus, `${name} ${w.name}`, w.base, plan);
      windows.push({ decl: w, region, resource: this.resources.insertContainer("mem", w.base, w.size, w.name) });
    }
    const ports: HostedWindow[] = [];
    if (decl.bus === "isa") {
      if (decl.ports.length > 0 && !this.board.ioPorts) throw new RangeError(`${name}: board ${this.board.name} has no I/O port space for ISA ports`);
      for (const p of decl.ports) {
        const plan = planRegion(this.bus, `${name} ${p.name}`, p.size, p.impl, "io");
        const region = mapRegion(this.bus, p.name, p.base, plan, "io");
        // The PC's own DMA controller ranges are reserved by the platform, as x86 does at boot.
        const resource = model.isaDmaController ? this.resources.reserve("io", p.base, p.size, p.name) : this.resources.insertContainer("io", p.base, p.size, p.name);
        ports.push({ decl: { base: p.base, size: p.size, name: p.name, impl: p.impl }, region, resource });
      }
    }
    const irqs = decl.irqs.map((l) => this.irqNumbers.lineIrq(l));
    const dma = new DeviceDmaPort(requester, name, this.iommu, this.trace, this.dmaChecks, null);
    const irqGate = new IrqGate(new LineIrqPort(this.pci.wires, decl.irqs, requester, requester, (m) => this.logGuestError(name, requester, m)));
    const dev =
      decl.bus === "platform"
        ? ({ name, bus: "platform" } as unknown as PlatformDev)
        : ({ name, bus: "isa", ports: ports.map((p) => p.resource), irqs, dmaChannels: [...decl.dmaChannels] } as unknown as IsaDev);
    const ctx = this.context(name, requester, dma, irqGate, decl, undefined);
    return { id, name, model, decl, dev, requester, ctx, dma, irqGate, windows, ports, irqs };
  }

  private logGuestError(device: string, requester: number, message: string): void {
    this.deviceLog.push({ time: this.clock.now, device, level: "guest-error", message });
    this.bus.guestErrors++;
    this.trace.record(TraceKind.GuestError, 0, 0, 0, requester, `${device}: ${message}`);
  }

  private context(name: string, requester: number, dma: DeviceDmaPort, irq: DeviceContext["irq"], decl: DeviceDecl, fn: PciFunction | undefined): DeviceContext {
    const clock = this.clock;
    const rng = new Rng((this.seed ^ hashName(name)) >>> 0);
    const channels = decl.bus === "isa" ? decl.dmaChannels : [];
    const ctx: DeviceContext = {
      name,
      dma,
      irq,
      clock: {
        now: () => clock.now,
        schedule: (delayNs: number, cb: () => void) => clock.schedule(delayNs, cb) as TimerHandle,
        cancel: (h: TimerHandle) => void clock.cancel(h),
      },
      rng: { nextU32: () => rng.nextU32(), float: () => rng.float(), int: (n: number) => rng.int(n) },
      log: {
        guestError: (m: string) => this.logGuestError(name, requester, m),
        unimplemented: (m: string) => {
          this.deviceLog.push({ time: clock.now, device: name, level: "unimplemented", message: m });
          this.trace.record(TraceKind.GuestError, 0, 0, 0, requester, `${name}: unimplemented: ${m}`);
        },
        info: (m: string) => void this.deviceLog.push({ time: clock.now, device: name, level: "info", message: m }),
      },
      ...(fn ? { pci: fn.state } : {}),
      isaDma: (channel: number): IsaDmaChannelPort => {
        if (!channels.includes(channel)) throw new RangeError(`${name}: ISA DMA channel ${channel} is not declared by the device`);
        return this.isaChannel(name, requester, channel);
      },
    };
    return ctx;
  }

  /** The controller serving an ISA DMA channel, if the board has one. */
  private isaController(channel: number): IsaDmaController | undefined {
    return this.hosted.find((h) => h.model.isaDmaController?.channels.includes(channel))?.model.isaDmaController;
  }

  /** A client's view of one ISA DMA channel, routed to whichever controller serves it. */
  private isaChannel(name: string, requester: number, channel: number): IsaDmaChannelPort {
    const missing = (): IsaDmaMove => {
      this.logGuestError(name, requester, `ISA DMA channel ${channel}: no DMA controller on this board`);
      return NO_MOVE;
    };
    // A removed card drives nothing: its requests and transfers go nowhere, quietly.
    const transfer = (toDevice: boolean, buf: Uint8Array): IsaDmaMove => {
      if (this.removed.has(name)) return NO_MOVE;
      const c = this.isaController(channel);
      return c ? c.transfer(channel, toDevice, buf) : missing();
    };
    return {
      channel,
      wide: channel >= 5,
      setDreq: (asserted: boolean) => {
        if (this.removed.has(name)) return;
        let up = this.dreqUp.get(name);
        if (!up) this.dreqUp.set(name, (up = new Set()));
        if (asserted) up.add(channel);
        else up.delete(channel);
        const c = this.isaController(channel);
        if (c) c.dreq(channel, asserted);
        else if (asserted) missing();
      },
      readFromMemory: (dst: Uint8Array) => transfer(true, dst),
      writeToMemory: (src: Uint8Array) => transfer(false, src),
    };
  }

  /** `reset()` every device (bus reset). */
  resetAll(): void {
    for (const h of this.hosted) h.model.reset();
  }

  /** Detach every device (teardown). */
  detachAll(): void {
    for (const h of this.hosted) h.model.detach?.();
  }
}
