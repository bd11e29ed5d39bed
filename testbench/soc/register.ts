/**
 * Registration of the SoC components in a testbench's container: the default class for each
 * token, unless the caller registered its own first (how a test swaps in a tiny cache or a
 * faulty bus).
 */
import { Lifecycle } from "./di.js";
import type { DependencyContainer, InjectionToken } from "./di.js";
import { Bus } from "./bus.js";
import { Clock, Rng } from "./clock.js";
import { Cpu } from "./cpu.js";
import { DataCache } from "./dcache.js";
import { DeviceMemoryPort } from "./device-port.js";
import { Iommu } from "./iommu.js";
import { InterruptController } from "./irq.js";
import { Mmu } from "./mmu.js";
import { SparseRam } from "./ram.js";
import { Tlb } from "./tlb.js";
import { TraceRing } from "./trace.js";
import { BUS, CLOCK, CPU, DCACHE, DEVICE_MEMORY, IOMMU, IRQ, MMU, RAM, RNG, TLB, TRACE } from "./tokens.js";

/** Default SoC component classes by token, in dependency order. @internal */
export const socDefaults: readonly (readonly [InjectionToken<unknown>, new (...args: never[]) => unknown])[] = [
  [CLOCK, Clock],
  [RNG, Rng],
  [TRACE, TraceRing],
  [RAM, SparseRam],
  [BUS, Bus],
  [MMU, Mmu],
  [TLB, Tlb],
  [DCACHE, DataCache],
  [CPU, Cpu],
  [DEVICE_MEMORY, DeviceMemoryPort],
  [IOMMU, Iommu],
  [IRQ, InterruptController],
];

/**
 * Register each SoC component as a container singleton unless the container already has its own
 * registration for that token.
 * @internal
 */
export function registerSoc(container: DependencyContainer): void {
  for (const [token, cls] of socDefaults) {
    if (!container.isRegistered(token, false)) {
      container.register(token, { useClass: cls as new (...args: unknown[]) => unknown }, { lifecycle: Lifecycle.ContainerScoped });
    }
  }
}

/** The resolved SoC components. @public */
export interface Soc {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly trace: TraceRing;
  readonly ram: SparseRam;
  readonly bus: Bus;
  readonly mmu: Mmu;
  readonly tlb: Tlb;
  readonly dcache: DataCache;
  readonly cpu: Cpu;
  readonly deviceMemory: DeviceMemoryPort;
  readonly iommu: Iommu;
  readonly irq: InterruptController;
}

/** Resolve every SoC component. @internal */
export function resolveSoc(c: DependencyContainer): Soc {
  return {
    clock: c.resolve(CLOCK),
    rng: c.resolve(RNG),
    trace: c.resolve(TRACE),
    ram: c.resolve(RAM),
    bus: c.resolve(BUS),
    mmu: c.resolve(MMU),
    tlb: c.resolve(TLB),
    dcache: c.resolve(DCACHE),
    cpu: c.resolve(CPU),
    deviceMemory: c.resolve(DEVICE_MEMORY),
    iommu: c.resolve(IOMMU),
    irq: c.resolve(IRQ),
  };
}
