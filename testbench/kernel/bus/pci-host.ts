/**
 * The PCI host bridge and bus 0: ECAM configuration space (4 KiB per function), the legacy
 * 0xcf8/0xcfc mechanism on boards with ports, enumeration (slots in plug order from 1; slot 0 is
 * the host bridge), BAR assignment inside the board's PCI window (naturally aligned, as firmware
 * does) with the BARs in /proc/iomem under `PCI Bus 0000:00`, and INTx routing.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD, BUS, IRQ } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Bus, MmioHandler } from "../../soc/bus.js";
import type { InterruptController } from "../../soc/irq.js";
import { IORESOURCE_MEM_64, IORESOURCE_PREFETCH } from "../../../sdk/index.js";
import type { PciDeviceDecl } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { ResourceNode } from "../io/resource-tree.js";
import type { IoResources } from "../io/resources.js";
import { IO_RESOURCES, KERNEL_CORE } from "../tokens.js";
import { IrqWires } from "./irq-wires.js";
import { PciFunction } from "./pci-function.js";
import type { PciFunctionHost } from "./pci-function.js";

/** ECAM covers bus 0 only: 32 slots × 8 functions × 4 KiB. */
const ECAM_BUS_SIZE = 0x100000;
/** First I/O port handed to I/O BARs (as PC firmware does). */
const IO_BAR_START = 0xc000;

/** `0000:00:SS.F`. @public */
export function pciName(devfn: number): string {
  return `0000:00:${(devfn >> 3).toString(16).padStart(2, "0")}.${devfn & 7}`;
}

/** @public */
@injectable()
export class PciHost implements PciFunctionHost {
  /** Functions on bus 0 by devfn. */
  readonly functions = new Map<number, PciFunction>();
  readonly wires: IrqWires;
  readonly hasPorts: boolean;
  readonly msiAddress: number;
  /** ECAM base (bus 0 at its start). */
  readonly ecamBase: number;
  /** The `PCI Bus 0000:00` memory window resource. */
  readonly window: ResourceNode;
  /** First INTx line: INTA of slot s uses line base + ((s + pin - 1) mod 4). */
  readonly intxBase: number;
  private nextSlot = 1;
  private memNext: number;
  private ioNext = IO_BAR_START;
  private readonly barResources = new Map<PciFunction, (ResourceNode | undefined)[]>();
  private conf1Address = 0;

  constructor(
    @inject(BOARD) private readonly board: BoardConfig,
    @inject(BUS) readonly bus: Bus,
    @inject(IRQ) readonly ic: InterruptController,
    @inject(IO_RESOURCES) private readonly resources: IoResources,
    @inject(KERNEL_CORE) private readonly core: KernelCore,
  ) {
    this.wires = new IrqWires(ic);
    this.hasPorts = board.ioPorts;
    this.msiAddress = board.ioPorts ? 0xfee00000 : 0x08020040;
    this.intxBase = board.ioPorts ? 16 : 48;
    const win = board.pciWindow;
    this.memNext = win.base;
    this.ecamBase = win.base - 0x10000000;
    bus.addMmio("PCI ECAM bus 00", this.ecamBase, ECAM_BUS_SIZE, this.ecamHandler(), [1, 2, 4]);
    resources.reserve("mem", this.ecamBase, ECAM_BUS_SIZE, board.ioPorts ? "PCI MMCONFIG 0000 [bus 00]" : "PCI ECAM 0000 [bus 00]");
    this.window = resources.insertContainer("mem", win.base, win.size, "PCI Bus 0000:00");
    if (board.ioPorts) {
      resources.insertContainer("io", 0, 0xcf8, "PCI Bus 0000:00");
      bus.addPorts("PCI conf1", 0xcf8, 8, this.conf1Handler(), [1, 2, 4]);
      resources.reserve("io", 0xcf8, 8, "PCI conf1");
      resources.insertContainer("io", 0xd00, 0x10000 - 0xd00, "PCI Bus 0000:00");
    }
    // Slot 0: the host bridge (i440FX's id, as QEMU's pc machine shows).
    this.functions.set(0, new PciFunction({ bus: "pci", identity: { vendor: 0x8086, device: 0x1237, revision: 2, classCode: 0x060000 }, bars: [] }, 0, pciName(0), 0, this));
  }

  guestError(fn: PciFunction, message: string): void {
    this.bus.badAccess(0, 0, false, `${fn.name}: ${message}`);
  }

  /** Enumerate a new function in the next free slot: assign its BARs and its INTx line. */
  addFunction(decl: PciDeviceDecl): PciFunction {
    if (this.nextSlot > 31) throw new RangeError("PCI bus 0 is full (31 slots)");
    const devfn = this.nextSlot++ << 3;
    const fn = new PciFunction(decl, devfn, pciName(devfn), devfn, this);
    this.functions.set(devfn, fn);
    this.assignBars(fn);
    const pin = decl.intxPin ?? 0;
    if (pin > 0) fn.setInterruptLine(this.intxBase + (((devfn >> 3) + pin - 1) & 3));
    this.core.dmesg.log("info", `pci ${fn.name}: [${hex4(decl.identity.vendor)}:${hex4(decl.identity.device)}] type 00 class 0x${decl.identity.classCode.toString(16).padStart(6, "0")}`);
    return fn;
  }

  /** Largest BAR first, each naturally aligned, memory in the PCI window, I/O from 0xc000. */
  private assignBars(fn: PciFunction): void {
    const list = fn.bars.filter((b) => b !== undefined).sort((a, b) => b.size - a.size || a.index - b.index);
    const res: (ResourceNode | undefined)[] = [];
    const win = this.board.pciWindow;
    for (const b of list) {
      if (b.io) {
        if (!this.hasPorts) continue;
        const base = Math.ceil(this.ioNext / b.size) * b.size;
        if (base + b.size > 0x10000) {
          this.core.dmesg.log("err", `pci ${fn.name}: BAR ${b.index}: no space for [io  size 0x${b.size.toString(16).padStart(4, "0")}]`);
          continue;
        }
        this.ioNext = base + b.size;
        fn.setBarAddress(b.index, base);
        res[b.index] = this.resources.insertContainer("io", base, b.size, fn.name);
        continue;
      }
      const base = Math.ceil(this.memNext / b.size) * b.size;
      if (base + b.size > win.base + win.size) {
        this.core.dmesg.log("err", `pci ${fn.name}: BAR ${b.index}: no space for [mem size 0x${b.size.toString(16).padStart(8, "0")}]`);
        continue;
      }
      this.memNext = base + b.size;
      fn.setBarAddress(b.index, base);
      res[b.index] = this.resources.insertContainer("mem", base, b.size, fn.name, (b.prefetchable ? IORESOURCE_PREFETCH : 0) | (b.is64 ? IORESOURCE_MEM_64 : 0));
    }
    this.barResources.set(fn, res);
  }

  /** The iomem/ioport resource of a BAR (undefined when unassigned). */
  barResource(fn: PciFunction, bar: number): ResourceNode | undefined {
    return this.barResources.get(fn)?.[bar];
  }

  /** Config read through ECAM (what the kernel's pci_read_config_* do). */
  configRead(devfn: number, where: number, size: number): number {
    return this.bus.read(this.ecamBase + devfn * 4096 + where, size);
  }

  /** Config write through ECAM. */
  configWrite(devfn: number, where: number, size: number, value: number): void {
    this.bus.write(this.ecamBase + devfn * 4096 + where, size, value);
  }

  private access(devfn: number, reg: number, size: number, write: boolean, value: number): number {
    const fn = this.functions.get(devfn);
    if (!fn || (reg & (size - 1)) !== 0) return write ? 0 : size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    if (write) {
      fn.write(reg, size, value);
      return 0;
    }
    return fn.read(reg, size);
  }

  private ecamHandler(): MmioHandler {
    return {
      read: (off, size) => this.access(off >> 12, off & 0xfff, size, false, 0),
      write: (off, size, value) => void this.access(off >> 12, off & 0xfff, size, true, value),
      registerName: (off) => `cfg ${pciName(off >> 12)}+0x${(off & 0xfff).toString(16)}`,
    };
  }

  /** 0xcf8: CONFIG_ADDRESS (enable, bus, devfn, register); 0xcfc..0xcff: CONFIG_DATA. */
  private conf1Handler(): MmioHandler {
    return {
      read: (off, size) => {
        if (off < 4) return size === 4 ? this.conf1Address >>> 0 : 0xffffffff >>> (32 - 8 * size);
        const a = this.conf1Address;
        if ((a & 0x80000000) === 0 || ((a >>> 16) & 0xff) !== 0) return 0xffffffff >>> (32 - 8 * size);
        return this.access((a >>> 8) & 0xff, (a & 0xfc) + (off - 4), size, false, 0);
      },
      write: (off, size, value) => {
        if (off < 4) {
          if (size === 4) this.conf1Address = value >>> 0;
          return;
        }
        const a = this.conf1Address;
        if ((a & 0x80000000) === 0 || ((a >>> 16) & 0xff) !== 0) return;
        this.access((a >>> 8) & 0xff, (a & 0xfc) + (off - 4), size, true, value);
      },
      registerName: (off) => (off < 4 ? "CONFIG_ADDRESS" : "CONFIG_DATA"),
    };
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
