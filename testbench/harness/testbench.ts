/**
 * Testbench.boot: a sequence of small steps over one tsyringe child container. Later layers
 * (kernel, devices, drivers) add their own steps after the SoC ones.
 */
import type { DependencyContainer } from "../soc/di.js";
import type { BoardConfig } from "./board.js";
import { createSocContainer } from "../soc/boot.js";
import type { SocBootOptions } from "../soc/boot.js";
import { resolveSoc } from "../soc/register.js";
import type { Soc } from "../soc/register.js";
import type { Driver, Kernel, VirtualDevice } from "../../sdk/index.js";
import { bootDevices } from "../kernel/driver/boot.js";
import type { DeviceRef, DriverCore } from "../kernel/driver/core.js";
import type { Report, ReportKind } from "../checks/report.js";
import type { KernelCore } from "../kernel/core.js";
import type { Owner } from "../kernel/facade.js";
import { bootKernel, buildFacade, registerKernel } from "../kernel/register.js";
import { DEVICE_FAULTS, KERNEL_CORE, PROCESSES } from "../kernel/tokens.js";
import type { DeviceFaults } from "../kernel/bus/device-faults.js";
import type { Process } from "../kernel/process/process.js";

/** Options of {@link Testbench.boot}: board, seed, overrides, register hook, devices and drivers. @public */
export interface BootOptions extends SocBootOptions {
  /** Device models to plug (PCI slots are assigned in this order). */
  readonly devices?: readonly VirtualDevice[];
  /** Drivers to register. */
  readonly drivers?: readonly Driver[];
  /** Bind every device that has a matching driver at boot (default true). */
  readonly bind?: boolean;
}

/**
 * One simulated machine. Owns a child container; `dispose()` tears it down.
 * @public
 */
export class Testbench {
  private disposed = false;

  private constructor(
    readonly board: BoardConfig,
    readonly seed: number,
    /** The testbench's own container. */
    readonly container: DependencyContainer,
    /** The simulated SoC. */
    readonly soc: Soc,
    /** The kernel core: dmesg, reports, context, fault injection, leak ledger. */
    readonly core: KernelCore,
    /** The driver core: plugged devices, registered drivers, bindings. */
    readonly drivers: DriverCore,
  ) {}

  /** Boot a testbench. */
  static async boot(options: BootOptions = {}): Promise<Testbench> {
    const { board, seed, container: c } = createSocContainer(options);
    registerKernel(c);
    const soc = resolveSoc(c);
    const core = c.resolve(KERNEL_CORE);
    bootKernel(c);
    const drivers = await bootDevices(c, options.devices, options.drivers, options.bind ?? true);
    return new Testbench(board, seed, c, soc, core, drivers);
  }

  /** Text listing of the physical memory map and port map. */
  memoryMap(): string {
    return `${this.board.name} (${this.board.profile})\n${this.soc.bus.memoryMap()}`;
  }

  /** The simulated dmesg, as `dmesg` prints it. */
  dmesg(): string {
    return this.core.dmesg.text();
  }

  /** Detector reports so far, optionally of one kind. */
  reports(kind?: ReportKind): readonly Report[] {
    return this.core.reports(kind);
  }

  /**
   * A kernel facade bound to `owner`: what a driver gets in probe, for tests and tools that call
   * the kernel directly (e.g. `tb.facade({ driver: "test" }).kmalloc(64, GFP_KERNEL)`).
   */
  facade(owner: Owner): Kernel {
    return buildFacade(this.container, owner);
  }

  /**
   * Bind `device` (or every unbound device with a matching driver): its probe's return value for
   * one device (-ENODEV when no driver matches or the device was surprise-removed), else 0 or the
   * first error.
   */
  bind(device?: DeviceRef): Promise<number> {
    return this.drivers.bind(device);
  }

  /** Unbind `device` (or every bound device): remove, devres release, leak report. */
  unbind(device?: DeviceRef): Promise<void> {
    return this.drivers.unbind(device);
  }

  /** Unbind every bound device. */
  unbindAll(): Promise<void> {
    return this.drivers.unbindAll();
  }

  /**
   * Device-level fault injection: DMA errors, IOMMU faults, lost, late and spurious interrupts,
   * surprise removal (e.g. `tb.deviceFaults.inject({ device: "0000:00:01.0", kind: "lost-irq" })`).
   */
  get deviceFaults(): DeviceFaults {
    return this.container.resolve(DEVICE_FAULTS);
  }

  /** Start a user process (its own page tables over the shared kernel half). */
  spawn(comm = "test"): Process {
    return this.container.resolve(PROCESSES).spawn(comm);
  }

  /** Dispose the container (idempotent). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.container.dispose();
  }

  /** `await using tb = await Testbench.boot()` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
