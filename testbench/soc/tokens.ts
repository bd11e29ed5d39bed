/**
 * Injection tokens of the simulated SoC. Each component is a class registered for its token in a
 * testbench's own child container; a test replaces a component by registering another class for
 * the same token before boot (see `Testbench.boot({ register })`).
 */
import type { InjectionToken } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import type { Clock, Rng } from "./clock.js";
import type { TraceRing } from "./trace.js";
import type { SparseRam } from "./ram.js";
import type { Bus } from "./bus.js";
import type { Mmu } from "./mmu.js";
import type { Tlb } from "./tlb.js";
import type { DataCache } from "./dcache.js";
import type { Cpu } from "./cpu.js";
import type { DeviceMemoryPort } from "./device-port.js";
import type { Iommu } from "./iommu.js";
import type { InterruptController } from "./irq.js";

/** The board configuration (a frozen {@link BoardConfig}). @public */
export const BOARD: InjectionToken<BoardConfig> = Symbol("vdtb.board");
/** The boot seed (a 32-bit unsigned number). @public */
export const SEED: InjectionToken<number> = Symbol("vdtb.seed");
/** Simulated time and the event queue. @public */
export const CLOCK: InjectionToken<Clock> = Symbol("vdtb.clock");
/** The seeded PRNG of the simulation. @public */
export const RNG: InjectionToken<Rng> = Symbol("vdtb.rng");
/** The trace ring. @public */
export const TRACE: InjectionToken<TraceRing> = Symbol("vdtb.trace");
/** Physical memory (sparse RAM banks). @public */
export const RAM: InjectionToken<SparseRam> = Symbol("vdtb.ram");
/** The physical address space and the I/O port space. @public */
export const BUS: InjectionToken<Bus> = Symbol("vdtb.bus");
/** Page-table format, walker and editor. @public */
export const MMU: InjectionToken<Mmu> = Symbol("vdtb.mmu");
/** The CPU's translation lookaside buffer. @public */
export const TLB: InjectionToken<Tlb> = Symbol("vdtb.tlb");
/** The CPU's data cache. @public */
export const DCACHE: InjectionToken<DataCache> = Symbol("vdtb.dcache");
/** The CPU access path (loads, stores, bulk copies). @public */
export const CPU: InjectionToken<Cpu> = Symbol("vdtb.cpu");
/** The memory side of device DMA (after any IOMMU). @public */
export const DEVICE_MEMORY: InjectionToken<DeviceMemoryPort> = Symbol("vdtb.deviceMemory");
/** The IOMMU (identity passthrough on boards without one). @public */
export const IOMMU: InjectionToken<Iommu> = Symbol("vdtb.iommu");
/** The interrupt controller. @public */
export const IRQ: InjectionToken<InterruptController> = Symbol("vdtb.irq");
