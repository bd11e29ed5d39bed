/**
 * The device-model plugin contract. A device declares what it is (bus identity, regions, IRQs,
 * DMA channels) as data, and gets a {@link DeviceContext} with everything it may touch: its DMA
 * port, its interrupt lines, the simulated clock, a seeded RNG and a logger. It never sees kernel
 * internals, and all its DMA goes through the context (bus master enable, addressing limit, IOMMU,
 * coherency and the live-mapping cross-check all apply).
 */

import type { DmaAddr } from "./address.js";
import type { AccessSize, RegisterMap } from "./registers.js";

/**
 * The guest-facing side of a register block, as the bus sees it. Every `RegisterFile<T>` is one.
 * @public
 */
export interface GuestRegisters {
  readonly map: RegisterMap;
  guestRead(offset: number, size: AccessSize): number;
  guestWrite(offset: number, size: AccessSize, data: number): number;
  nameAt(offset: number): string | undefined;
}

/**
 * How accesses to a region are served.
 * - `registers`: a register block (a {@link RegisterFile}); the bus decodes offsets, checks sizes, applies access modes.
 * - `ram`: a byte array the device owns (e.g. VRAM), accessed directly with no per-access dispatch.
 * - `handler`: raw read/write callbacks for regions that are not register-shaped (e.g. a FIFO).
 * @public
 */
export type RegionImpl =
  | { readonly kind: "registers"; readonly file: GuestRegisters }
  | { readonly kind: "ram"; readonly backing: Uint8Array }
  | {
      readonly kind: "handler";
      /** Access sizes the guest may use. */
      readonly sizes: readonly AccessSize[];
      read(offset: number, size: AccessSize): number;
      write(offset: number, size: AccessSize, value: number): void;
    };

/** A PCI base address register and what serves it. @public */
export interface PciBarDecl {
  readonly index: 0 | 1 | 2 | 3 | 4 | 5;
  /** Size in bytes, a power of two (≥ 16 for memory, ≥ 4 for I/O). */
  readonly size: number;
  readonly space: "mem" | "io";
  readonly prefetchable?: boolean;
  /** 64-bit memory BAR (occupies this index and the next). */
  readonly is64?: boolean;
  readonly impl: RegionImpl;
}

/** PCI identity as in config space. @public */
export interface PciIdentity {
  readonly vendor: number;
  readonly device: number;
  readonly revision: number;
  /** 24-bit class code: base class, subclass, programming interface (e.g. 0x038000). */
  readonly classCode: number;
  readonly subsystemVendor?: number;
  readonly subsystemDevice?: number;
}

/** A PCI function: identity, BARs, interrupt capabilities. @public */
export interface PciDeviceDecl {
  readonly bus: "pci";
  readonly identity: PciIdentity;
  readonly bars: readonly PciBarDecl[];
  /** MSI capability: how many vectors (power of two, 1..32), 64-bit address, per-vector masking. */
  readonly msi?: { readonly vectors: number; readonly is64: boolean; readonly perVectorMask: boolean };
  /** MSI-X capability: how many vectors. */
  readonly msix?: { readonly vectors: number };
  /** Legacy INTx pin (1 = INTA .. 4 = INTD); 0 or absent means none. */
  readonly intxPin?: 0 | 1 | 2 | 3 | 4;
}

/** A memory-mapped window of a platform or ISA device. @public */
export interface MmioWindowDecl {
  readonly base: number;
  readonly size: number;
  readonly name: string;
  readonly impl: RegionImpl;
}

/** A range in the I/O port space. @public */
export interface PortRangeDecl {
  readonly base: number;
  readonly size: number;
  readonly name: string;
  readonly impl: RegionImpl;
}

/** A platform device: compatible strings, MMIO windows, IRQ lines. @public */
export interface PlatformDeviceDecl {
  readonly bus: "platform";
  /** Compatible strings, most specific first (as in a device tree). */
  readonly compatible: readonly string[];
  readonly mmio: readonly MmioWindowDecl[];
  /** Interrupt lines this device drives. */
  readonly irqs: readonly number[];
}

/** An ISA device: fixed ports, IRQ lines, DMA channels. @public */
export interface IsaDeviceDecl {
  readonly bus: "isa";
  /** Identifier a driver's id table matches (e.g. "isa-stream"). */
  readonly isaId: string;
  readonly ports: readonly PortRangeDecl[];
  readonly mmio?: readonly MmioWindowDecl[];
  readonly irqs: readonly number[];
  readonly dmaChannels: readonly number[];
}

/** What a device is, per bus. @public */
export type DeviceDecl = PciDeviceDecl | PlatformDeviceDecl | IsaDeviceDecl;

/**
 * Outcome of a device DMA access. Anything but `OK` means the access was aborted and no data moved
 * (reads leave the destination untouched); the device model sets its error status.
 * @public
 */
export const DmaStatus = {
  OK: 0,
  /** Bus mastering is disabled in the PCI command register. */
  BUS_MASTER_DISABLED: 1,
  /** The address is beyond the device's addressing limit (its DMA mask as wired). */
  ADDRESS_LIMIT: 2,
  /** The IOMMU has no translation (or no permission) for the address. */
  IOMMU_FAULT: 3,
  /** Nothing answers at that physical address (master abort). */
  MASTER_ABORT: 4,
  /** Fault injection: the platform reported an error for this transfer. */
  INJECTED_ERROR: 5,
} as const;
/** @public */
export type DmaStatus = (typeof DmaStatus)[keyof typeof DmaStatus];

/** The device's bus-master port. @public */
export interface DmaPort {
  /** Read `dst.length` bytes from bus address `addr` into `dst`. */
  read(addr: DmaAddr, dst: Uint8Array): DmaStatus;
  /** Write `src` to bus address `addr`. */
  write(addr: DmaAddr, src: Uint8Array): DmaStatus;
}

/**
 * The device's interrupt outputs. `vector` indexes the device's declared IRQ lines (platform,
 * ISA) or, on PCI, the MSI/MSI-X vector when enabled (otherwise INTx, which is level-triggered).
 * @public
 */
export interface IrqPort {
  /** Assert (level) or signal (MSI: sends the message) interrupt `vector`. */
  raise(vector?: number): void;
  /** Deassert a level-triggered line. No effect for MSI. */
  lower(vector?: number): void;
}

/** A handle to a scheduled clock event. @public */
export type TimerHandle = number & { readonly __timer: true };

/** Simulated time, in nanoseconds. Never use host time in a device. @public */
export interface DeviceClock {
  now(): number;
  /** Run `fn` after `delayNs` of simulated time. */
  schedule(delayNs: number, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

/** A seeded random source, so that jitter replays from the testbench seed. @public */
export interface DeviceRng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/** Logging from a device model into the trace and the testbench log. @public */
export interface DeviceLog {
  /** The guest did something the hardware does not allow (bad register value, bad descriptor). */
  guestError(message: string): void;
  /** The guest used something this model does not implement. */
  unimplemented(message: string): void;
  info(message: string): void;
}

/** PCI-specific state a device may look at. @public */
export interface PciFunctionState {
  /** The command register's bus-master bit (the context's DMA port already enforces it). */
  busMasterEnabled(): boolean;
  /** True when the driver enabled MSI or MSI-X. */
  msiEnabled(): boolean;
  /** Number of MSI vectors the driver enabled (0 when MSI is off). */
  msiVectors(): number;
}

/** Result of moving bytes through an ISA DMA channel. @public */
export interface IsaDmaMove {
  /** Bytes actually moved (0 when the channel is masked or not programmed for this direction). */
  readonly moved: number;
  /** Terminal count was reached during this move. */
  readonly terminalCount: boolean;
}

/**
 * The device side of one ISA DMA channel, as an ISA client (a sound card) sees it. The client
 * holds DREQ while it wants service and moves bytes; the controller supplies addresses, counts
 * and terminal count.
 * @public
 */
export interface IsaDmaChannelPort {
  readonly channel: number;
  /** True for channels 5–7 (16-bit transfers, counts in words). */
  readonly wide: boolean;
  /** Assert or release DREQ. */
  setDreq(asserted: boolean): void;
  /** Memory → device ("read transfer" in 8237 terms): fill `dst` from memory at the current address. */
  readFromMemory(dst: Uint8Array): IsaDmaMove;
  /** Device → memory ("write transfer"): store `src` at the current address. */
  writeToMemory(src: Uint8Array): IsaDmaMove;
}

/**
 * What an ISA DMA controller model (the 8237 pair) implements so the testbench can route client
 * channel operations to it. The controller performs the memory side through its own
 * {@link DeviceContext.dma} port, at physical addresses.
 * @public
 */
export interface IsaDmaController {
  /** Channels this controller serves (0–7 for the PC/AT pair). */
  readonly channels: readonly number[];
  dreq(channel: number, asserted: boolean): void;
  /** Move up to `buf.length` bytes for `channel`; `toDevice` is a memory read (playback). */
  transfer(channel: number, toDevice: boolean, buf: Uint8Array): IsaDmaMove;
  /** Register a callback pulsed when `channel` reaches terminal count. */
  onTerminalCount(channel: number, fn: () => void): void;
  /**
   * Observe every programming access (address, count, page, mode, mask, flip-flop...), seen
   * before it takes effect, so the testbench can check the programming rules the silicon
   * silently breaks (e.g. a channel programmed without the flip-flop cleared first).
   */
  observe?(listener: (event: IsaDmaProgramEvent) => void): void;
}

/** One programming access to an ISA DMA controller, for {@link IsaDmaController.observe}. @public */
export interface IsaDmaProgramEvent {
  /** Channel 0–7, or -1 for a controller-wide access (master clear, all masks). */
  readonly channel: number;
  /** What was accessed, e.g. `address`, `count`, `page`, `mode`, `single-mask`, `clear-flip-flop`. */
  readonly kind: string;
  readonly value: number;
  /** The byte-pointer flip-flop before the access (true = high byte next). */
  readonly flipFlopBefore: boolean;
  readonly port: number;
}

/** Everything a device model may touch. @public */
export interface DeviceContext {
  /** Instance name as the kernel shows it, e.g. `0000:00:03.0` or `isa-stream.0`. */
  readonly name: string;
  readonly dma: DmaPort;
  readonly irq: IrqPort;
  readonly clock: DeviceClock;
  readonly rng: DeviceRng;
  readonly log: DeviceLog;
  /** PCI function state; undefined on other buses. */
  readonly pci?: PciFunctionState;
  /** The ISA DMA channel port for one of the device's declared DMA channels. */
  isaDma(channel: number): IsaDmaChannelPort;
}

/**
 * A virtual device model (a plugin). Lifecycle: constructed with its options (cannot fail),
 * `describe()` once when plugged, `attach(ctx)` once the testbench has wired its regions, `reset()`
 * at bus reset, `detach()` at teardown. A surprise removal does not detach the model: it keeps
 * running, but it no longer answers (register reads return all ones, writes are dropped) and
 * its DMA, interrupts and ISA DMA requests reach nothing.
 * @public
 */
export interface VirtualDevice {
  /** Model name, e.g. `vfb`. */
  readonly model: string;
  describe(): DeviceDecl;
  attach(ctx: DeviceContext): void;
  reset(): void;
  detach?(): void;
  /** Implemented by an ISA DMA controller model; the testbench routes channel traffic to it. */
  readonly isaDmaController?: IsaDmaController;
  /** RGBA pixels of the visible frame, for display devices. */
  snapshot?(): { readonly width: number; readonly height: number; readonly rgba: Uint8Array } | undefined;
}
