/**
 * Test environment for the DMA layer's unit tests: a testbench with memory management, barriers
 * and DMA, a driver's memory + DMA facade, a fake device whose DMA goes through the same checks
 * and IOMMU path as a hosted device's port, and CPU accessors through k.mem (which calls the DMA
 * watch hook).
 */
import type { DmaAddr, Kernel, KernelVA, PciDev } from "../../../sdk/index.js";
import { DmaStatus } from "../../../sdk/index.js";
import type { BoardConfig } from "../../harness/board.js";
import { Testbench } from "../../harness/testbench.js";
import { DmaStatus as SocDmaStatus } from "../../soc/device-port.js";
import type { KernelCore } from "../core.js";
import { Ordering } from "../io/ordering.js";
import type { MemoryManager } from "../mm/mm.js";
import { registerMm } from "../mm/register.js";
import { registerDefault } from "../register.js";
import { DMA_API, KERNEL_MM, MM_API, ORDERING } from "../tokens.js";
import type { DmaApi } from "./dma-api.js";
import { registerDma } from "./register.js";

/** A device as the fake bus sees it. @internal */
export interface FakeDmaDevice {
  readonly dev: PciDev;
  read(addr: DmaAddr | number, dst: Uint8Array): DmaStatus;
  write(addr: DmaAddr | number, src: Uint8Array): DmaStatus;
}

/** What a DMA unit test works with. @internal */
export interface DmaBench {
  tb: Testbench;
  dma: DmaApi;
  mm: MemoryManager;
  core: KernelCore;
  ordering: Ordering;
  /** Memory + DMA facade of driver "drv". */
  k: Kernel;
  /** A PCI device at devfn 0x18 ("0000:00:03.0"). */
  d: FakeDmaDevice;
  /** Another device. */
  device(name: string, devfn: number): FakeDmaDevice;
  /** CPU accesses through k.mem with the DMA watch hook, as the memory path calls it. */
  cpuRead(va: KernelVA | number, len: number): Uint8Array;
  cpuWrite(va: KernelVA | number, bytes: Uint8Array | number[]): void;
  kinds(): string[];
}

/** Boot a DMA bench. @internal */
export async function bootDma(board = "pc", overrides?: Partial<BoardConfig>): Promise<DmaBench> {
  const tb = await Testbench.boot({
    board,
    ...(overrides ? { overrides } : {}),
    register: (c) => {
      registerDefault(c, ORDERING, Ordering);
      registerMm(c);
      registerDma(c);
    },
  });
  const c = tb.container;
  const dma = c.resolve(DMA_API);
  const mm = c.resolve(KERNEL_MM);
  const core = mm.core;
  const ordering = c.resolve(ORDERING);
  const owner = { driver: "drv", device: "0000:00:03.0" };
  const k = { ...c.resolve(MM_API).api(owner), ...dma.api(owner) } as Kernel;
  const device = (name: string, devfn: number): FakeDmaDevice => {
    const dev = { name, bus: "pci", devfn, vendor: 0x1234, device: 0x11, revision: 0, class: 0, irq: 11 } as unknown as PciDev;
    dma.registerDevice(name, { requester: devfn });
    const io = (addr: number, buf: Uint8Array, write: boolean): DmaStatus => {
      const s = dma.detectors.checkAccess(name, addr, buf.length, write);
      if (s !== DmaStatus.OK) return s as DmaStatus;
      const r = write ? tb.soc.iommu.dmaWrite(devfn, addr, buf) : tb.soc.iommu.dmaRead(devfn, addr, buf);
      const st = r === SocDmaStatus.Ok ? DmaStatus.OK : r === SocDmaStatus.IommuFault ? DmaStatus.IOMMU_FAULT : DmaStatus.MASTER_ABORT;
      dma.detectors.afterAccess(name, addr, buf, write, st);
      return st;
    };
    return { dev, read: (a, dst) => io(a, dst, false), write: (a, src) => io(a, src, true) };
  };
  return {
    tb,
    dma,
    mm,
    core,
    ordering,
    k,
    d: device("0000:00:03.0", 0x18),
    device,
    cpuRead(va, len) {
      const out = new Uint8Array(len);
      k.mem.read(va as KernelVA, out);
      return out;
    },
    cpuWrite(va, bytes) {
      const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
      k.mem.write(va as KernelVA, b);
    },
    kinds: () => core.reports().map((r) => r.kind),
  };
}
