/**
 * The PCI part of the facade: enable/disable, bus mastering, BAR resources and regions, iomap,
 * config-space access (through ECAM, as the kernel does), capabilities, and IRQ vectors (MSI-X,
 * MSI, INTx, in that order of preference).
 */
import { inject, injectable } from "../../soc/di.js";
import { MemType } from "../../soc/pagetable.js";
import {
  EBUSY,
  EINVAL,
  EIO,
  ENOMEM,
  ENOSPC,
  IORESOURCE_IO,
  IORESOURCE_MEM,
  IORESOURCE_MEM_64,
  IORESOURCE_PREFETCH,
  PCI_IRQ_INTX,
  PCI_IRQ_MSI,
  PCI_IRQ_MSIX,
  formatAddr,
} from "../../../sdk/index.js";
import type { IoMem, Kernel, PciDev, PhysAddr } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { Devres } from "../driver/devres.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { PIO_OFFSET, isPioCookie } from "../io/accessors.js";
import type { IoRemapper } from "../io/ioremap.js";
import type { ResourceNode } from "../io/resource-tree.js";
import { formatRange } from "../io/resource-tree.js";
import type { IoResources } from "../io/resources.js";
import { kernelBug } from "../oops.js";
import type { CallSite } from "../stack.js";
import { DEVICE_HOST, DEVRES, IO_RESOURCES, IOREMAP, IRQ_NUMBERS, KERNEL_CORE, LEAK_RECLAIMERS, PCI_HOST } from "../tokens.js";
import type { LeakReclaimers } from "../driver/reclaim.js";
import type { DeviceHost, MutablePciDev } from "./device-host.js";
import type { IrqNumbers } from "./irq-numbers.js";
import { PCI } from "./pci-function.js";
import type { PciFunction } from "./pci-function.js";
import type { PciHost } from "./pci-host.js";

/** Kernel-side state of one PCI device (what `struct pci_dev` tracks). @internal */
export interface PciKernelState {
  enableCnt: number;
  /** Enabled with pcim_enable_device: IRQ vectors are released by devres. */
  managed: boolean;
  /** Regions requested per BAR. */
  readonly regions: (ResourceNode | null)[];
  /** `pcim_iomap_table`. */
  readonly iomapTable: (IoMem | null)[];
  irqType: "msix" | "msi" | "intx" | null;
  irqs: number[];
  irqLedger: number;
}

/** @public */
@injectable()
export class PciApi implements KernelApiPart {
  private readonly states = new Map<PciFunction, PciKernelState>();

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(DEVICE_HOST) private readonly host: DeviceHost,
    @inject(PCI_HOST) private readonly pci: PciHost,
    @inject(IO_RESOURCES) private readonly resources: IoResources,
    @inject(IOREMAP) private readonly ioremap: IoRemapper,
    @inject(IRQ_NUMBERS) private readonly irqNumbers: IrqNumbers,
    @inject(LEAK_RECLAIMERS) reclaimers: LeakReclaimers,
  ) {
    reclaimers.register("irq", (e) => this.reclaimVectors(e.id));
  }

  /** The function behind a `PciDev`, or an oops for anything else. */
  fn(owner: Owner, pdev: PciDev): PciFunction {
    const h = pdev ? this.host.of(pdev) : undefined;
    if (!h?.pci) throw kernelBug(this.core, `BUG: ${String((pdev as { name?: string } | null)?.name ?? pdev)} is not a PCI device`, [], this.core.site(), owner.driver);
    return h.pci;
  }

  state(fn: PciFunction): PciKernelState {
    let s = this.states.get(fn);
    if (!s) this.states.set(fn, (s = { enableCnt: 0, managed: false, regions: [], iomapTable: [null, null, null, null, null, null], irqType: null, irqs: [], irqLedger: 0 }));
    return s;
  }

  private prefix(owner: Owner, fn: PciFunction): string {
    return `${owner.driver === "kernel" ? "pci" : owner.driver} ${fn.name}: `;
  }

  enable(owner: Owner, pdev: PciDev, managed: boolean, site: CallSite): number {
    const fn = this.fn(owner, pdev);
    if (this.core.faults.shouldFail("pci", owner.driver, site)) return -EIO;
    const s = this.state(fn);
    if (s.enableCnt++ === 0) {
      let bits = 0;
      for (const b of fn.bars) if (b && this.pci.barResource(fn, b.index)) bits |= b.io ? PCI.COMMAND_IO : PCI.COMMAND_MEMORY;
      const cmd = this.pci.configRead(fn.devfn, PCI.COMMAND, 2);
      if ((cmd & bits) !== bits) {
        this.core.dmesg.log("info", `${this.prefix(owner, fn)}enabling device (${hex4(cmd)} -> ${hex4(cmd | bits)})`);
        this.pci.configWrite(fn.devfn, PCI.COMMAND, 2, cmd | bits);
      }
    }
    if (managed) {
      s.managed = true;
      this.devres.add(pdev, "pcim_enable_device", () => {
        s.managed = false;
        this.disable(owner, pdev, site);
      }, site);
    }
    return 0;
  }

  disable(owner: Owner, pdev: PciDev, site: CallSite): void {
    const fn = this.fn(owner, pdev);
    const s = this.state(fn);
    if (s.enableCnt <= 0) {
      this.core.report({ kind: "warn", title: `WARNING: ${fn.name}: disabling already-disabled device`, driver: owner.driver, device: fn.name }, site);
      return;
    }
    if (--s.enableCnt === 0) this.setCommandBits(fn, PCI.COMMAND_MASTER, false);
  }

  private setCommandBits(fn: PciFunction, bits: number, on: boolean): void {
    const cmd = this.pci.configRead(fn.devfn, PCI.COMMAND, 2);
    const next = on ? cmd | bits : cmd & ~bits;
    if (next !== cmd) this.pci.configWrite(fn.devfn, PCI.COMMAND, 2, next);
  }

  resourceStart(owner: Owner, pdev: PciDev, bar: number): number {
    return this.pci.barResource(this.fn(owner, pdev), bar)?.start ?? 0;
  }

  resourceLen(owner: Owner, pdev: PciDev, bar: number): number {
    const r = this.pci.barResource(this.fn(owner, pdev), bar);
    return r ? r.end - r.start + 1 : 0;
  }

  resourceFlags(owner: Owner, pdev: PciDev, bar: number): number {
    const fn = this.fn(owner, pdev);
    const b = fn.bars[bar];
    if (!b) return 0;
    return b.io ? IORESOURCE_IO : IORESOURCE_MEM | (b.prefetchable ? IORESOURCE_PREFETCH : 0) | (b.is64 ? IORESOURCE_MEM_64 : 0);
  }

  requestRegion(owner: Owner, pdev: PciDev, bar: number, name: string, site: CallSite): number {
    const fn = this.fn(owner, pdev);
    const res = this.pci.barResource(fn, bar);
    if (!res) return 0;
    const space = (res.flags & IORESOURCE_IO) !== 0 ? "io" : "mem";
    const node = this.resources.requestRegion(owner, space, res.start, res.end - res.start + 1, name, site);
    if (!node) {
      this.core.dmesg.log("warn", `${this.prefix(owner, fn)}BAR ${bar}: can't reserve ${formatRange(space, res.start, res.end)}`);
      return -EBUSY;
    }
    this.state(fn).regions[bar] = node;
    return 0;
  }

  releaseRegion(owner: Owner, pdev: PciDev, bar: number, site: CallSite): void {
    const fn = this.fn(owner, pdev);
    const res = this.pci.barResource(fn, bar);
    if (!res) return;
    const s = this.state(fn);
    const space = (res.flags & IORESOURCE_IO) !== 0 ? "io" : "mem";
    const node = s.regions[bar];
    s.regions[bar] = null;
    if (node) this.resources.releaseNode(space, node);
    else this.resources.releaseRegion(owner, space, res.start, res.end - res.start + 1, site);
  }

  requestRegions(owner: Owner, pdev: PciDev, name: string, site: CallSite): number {
    const fn = this.fn(owner, pdev);
    const done: number[] = [];
    for (let i = 0; i < 6; i++) {
      if (!this.pci.barResource(fn, i)) continue;
      const r = this.requestRegion(owner, pdev, i, name, site);
      if (r < 0) {
        for (const j of done) this.releaseRegion(owner, pdev, j, site);
        return r;
      }
      done.push(i);
    }
    return 0;
  }

  releaseRegions(owner: Owner, pdev: PciDev, site: CallSite): void {
    const fn = this.fn(owner, pdev);
    for (let i = 0; i < 6; i++) if (this.pci.barResource(fn, i)) this.releaseRegion(owner, pdev, i, site);
  }

  iomap(owner: Owner, pdev: PciDev, bar: number, maxlen: number, site: CallSite): IoMem | null {
    const fn = this.fn(owner, pdev);
    const res = this.pci.barResource(fn, bar);
    if (!res) return null;
    let len = res.end - res.start + 1;
    if (maxlen > 0 && maxlen < len) len = maxlen;
    if ((res.flags & IORESOURCE_IO) !== 0) return (PIO_OFFSET + res.start) as IoMem;
    return this.ioremap.map(owner, res.start, len, MemType.Uncached, site) as IoMem | null;
  }

  iounmap(owner: Owner, pdev: PciDev, addr: IoMem, site: CallSite): void {
    this.fn(owner, pdev);
    if (isPioCookie(addr)) return;
    this.ioremap.unmap(owner, addr, site);
  }

  pcimIomap(owner: Owner, pdev: PciDev, bar: number, maxlen: number, site: CallSite): IoMem | null {
    const fn = this.fn(owner, pdev);
    const va = this.iomap(owner, pdev, bar, maxlen, site);
    if (va === null) return null;
    const s = this.state(fn);
    s.iomapTable[bar] = va;
    this.devres.add(pdev, `pcim_iomap BAR${bar} at ${formatAddr(va)}`, () => {
      if (s.iomapTable[bar] === va) s.iomapTable[bar] = null;
      this.iounmap(owner, pdev, va, site);
    }, site);
    return va;
  }

  pcimIomapRegions(owner: Owner, pdev: PciDev, mask: number, name: string, site: CallSite): number {
    const fn = this.fn(owner, pdev);
    for (let bar = 0; bar < 6; bar++) {
      if (((mask >> bar) & 1) === 0) continue;
      const res = this.pci.barResource(fn, bar);
      if (!res) return -EINVAL;
      const space = (res.flags & IORESOURCE_IO) !== 0 ? "io" : "mem";
      if (!this.resources.devmRequest(owner, pdev, space, res.start, res.end - res.start + 1, name, site)) {
        this.core.dmesg.log("warn", `${this.prefix(owner, fn)}BAR ${bar}: can't reserve ${formatRange(space, res.start, res.end)}`);
        return -EBUSY;
      }
      if (this.pcimIomap(owner, pdev, bar, 0, site) === null) return -ENOMEM;
    }
    return 0;
  }

  findCapability(owner: Owner, pdev: PciDev, cap: number): number {
    const fn = this.fn(owner, pdev);
    if ((this.pci.configRead(fn.devfn, PCI.STATUS, 2) & PCI.STATUS_CAP_LIST) === 0) return 0;
    let at = this.pci.configRead(fn.devfn, PCI.CAPABILITY_LIST, 1) & 0xfc;
    for (let ttl = 48; at >= 0x40 && ttl > 0; ttl--) {
      if (this.pci.configRead(fn.devfn, at, 1) === cap) return at;
      at = this.pci.configRead(fn.devfn, at + 1, 1) & 0xfc;
    }
    return 0;
  }

  /** `pci_alloc_irq_vectors`: MSI-X, then MSI, then INTx, as `flags` allow. */
  allocIrqVectors(owner: Owner, pdev: PciDev, min: number, max: number, flags: number, site: CallSite): number {
    const fn = this.fn(owner, pdev);
    const s = this.state(fn);
    if (!(min >= 1) || max < min) return -EINVAL;
    if (s.irqType !== null && s.irqType !== "intx") {
      this.core.report({ kind: "warn", title: `WARNING: ${fn.name}: pci_alloc_irq_vectors with vectors already allocated`, driver: owner.driver, device: fn.name }, site);
      return -EINVAL;
    }
    if (this.core.faults.shouldFail("irq", owner.driver, site)) return -ENOSPC;
    const dev = pdev as unknown as MutablePciDev;
    if (flags & PCI_IRQ_MSIX && fn.msixCap !== 0) {
      const n = Math.min(max, fn.msixTableSize);
      const block = n >= min ? this.irqNumbers.allocMsi(fn.name, n, false) : null;
      if (block) {
        block.vectors.forEach((v, i) => fn.writeMsixEntry(i, fn.msiAddress, v, false));
        this.pci.configWrite(fn.devfn, fn.msixCap + 2, 2, PCI.MSIX_FLAGS_ENABLE);
        return this.vectorsDone(owner, pdev, s, "msix", [...block.irqs], dev, site);
      }
    }
    if (flags & PCI_IRQ_MSI && fn.msiCap !== 0) {
      const n = Math.min(max, fn.msiCapable);
      const pow = 1 << Math.ceil(Math.log2(Math.max(1, n)));
      const block = n >= min ? this.irqNumbers.allocMsi(fn.name, pow, true) : null;
      if (block) {
        const at = fn.msiCap;
        const is64 = fn.decl.msi?.is64 ?? false;
        this.pci.configWrite(fn.devfn, at + 4, 4, fn.msiAddress >>> 0);
        if (is64) this.pci.configWrite(fn.devfn, at + 8, 4, Math.floor(fn.msiAddress / 4294967296));
        this.pci.configWrite(fn.devfn, at + (is64 ? 0x0c : 0x08), 2, block.vectors[0]!);
        this.pci.configWrite(fn.devfn, at + 2, 2, (Math.log2(pow) << 4) | PCI.MSI_FLAGS_ENABLE);
        const irqs = block.irqs.slice(0, n);
        if (pow > n) this.irqNumbers.freeMsi(block.irqs.slice(n));
        return this.vectorsDone(owner, pdev, s, "msi", irqs, dev, site);
      }
    }
    if (flags & PCI_IRQ_INTX && fn.intxLine >= 0 && min <= 1) {
      s.irqType = "intx";
      s.irqs = [this.irqNumbers.lineIrq(fn.intxLine)];
      dev.irq = s.irqs[0]!;
      return 1;
    }
    return -ENOSPC;
  }

  private vectorsDone(owner: Owner, pdev: PciDev, s: PciKernelState, type: "msix" | "msi", irqs: number[], dev: MutablePciDev, site: CallSite): number {
    s.irqType = type;
    s.irqs = irqs;
    dev.irq = irqs[0]!;
    if (s.managed) {
      this.devres.add(pdev, `pcim ${type} vectors ${irqs.join(",")}`, () => this.freeIrqVectors(owner, pdev), site);
      return irqs.length;
    }
    s.irqLedger = this.core.ledger.add("irq", owner, `${type === "msix" ? "MSI-X" : "MSI"} vectors ${irqs.join(",")} of ${pdev.name} (pci_alloc_irq_vectors)`, site, this.core.now());
    return irqs.length;
  }

  freeIrqVectors(owner: Owner, pdev: PciDev): void {
    const fn = this.fn(owner, pdev);
    const s = this.state(fn);
    if (s.irqType === "msix") this.pci.configWrite(fn.devfn, fn.msixCap + 2, 2, 0);
    else if (s.irqType === "msi") this.pci.configWrite(fn.devfn, fn.msiCap + 2, 2, 0);
    if (s.irqType === "msix" || s.irqType === "msi") this.irqNumbers.freeMsi(s.irqs);
    this.core.ledger.remove(s.irqLedger);
    s.irqLedger = 0;
    s.irqType = null;
    s.irqs = [];
    (pdev as unknown as MutablePciDev).irq = fn.intxLine >= 0 ? this.irqNumbers.lineIrq(fn.intxLine) : 0;
  }

  irqVector(owner: Owner, pdev: PciDev, nr: number): number {
    const fn = this.fn(owner, pdev);
    const s = this.state(fn);
    if (s.irqType === null) return nr === 0 && fn.intxLine >= 0 ? this.irqNumbers.lineIrq(fn.intxLine) : -EINVAL;
    return nr >= 0 && nr < s.irqs.length ? s.irqs[nr]! : -EINVAL;
  }

  /** Free vectors left by a driver (leak reclaim) by ledger id. */
  reclaimVectors(ledgerId: number): boolean {
    for (const [fn, s] of this.states) {
      if (s.irqLedger === ledgerId && ledgerId !== 0) {
        const h = this.host.find(fn.name);
        if (h) this.freeIrqVectors({ driver: "kernel" }, h.dev as PciDev);
        return true;
      }
    }
    return false;
  }

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    const cfgR = (pdev: PciDev, where: number, size: number): number => this.pci.configRead(this.fn(owner, pdev).devfn, where, size);
    const cfgW = (pdev: PciDev, where: number, size: number, value: number): number => {
      this.pci.configWrite(this.fn(owner, pdev).devfn, where, size, value);
      return 0;
    };
    return {
      pci_enable_device: (pdev: PciDev) => this.enable(owner, pdev, false, core.site()),
      pcim_enable_device: (pdev: PciDev) => this.enable(owner, pdev, true, core.site()),
      pci_disable_device: (pdev: PciDev) => this.disable(owner, pdev, core.site()),
      pci_set_master: (pdev: PciDev) => this.setCommandBits(this.fn(owner, pdev), PCI.COMMAND_MASTER, true),
      pci_clear_master: (pdev: PciDev) => this.setCommandBits(this.fn(owner, pdev), PCI.COMMAND_MASTER, false),
      pci_request_regions: (pdev: PciDev, name: string) => this.requestRegions(owner, pdev, name, core.site()),
      pci_release_regions: (pdev: PciDev) => this.releaseRegions(owner, pdev, core.site()),
      pci_request_region: (pdev: PciDev, bar: number, name: string) => this.requestRegion(owner, pdev, bar, name, core.site()),
      pci_release_region: (pdev: PciDev, bar: number) => this.releaseRegion(owner, pdev, bar, core.site()),
      pci_resource_start: (pdev: PciDev, bar: number) => this.resourceStart(owner, pdev, bar) as PhysAddr,
      pci_resource_len: (pdev: PciDev, bar: number) => this.resourceLen(owner, pdev, bar),
      pci_resource_flags: (pdev: PciDev, bar: number) => this.resourceFlags(owner, pdev, bar),
      pci_iomap: (pdev: PciDev, bar: number, maxlen: number) => this.iomap(owner, pdev, bar, maxlen, core.site()),
      pci_iounmap: (pdev: PciDev, addr: IoMem) => this.iounmap(owner, pdev, addr, core.site()),
      pcim_iomap: (pdev: PciDev, bar: number, maxlen: number) => this.pcimIomap(owner, pdev, bar, maxlen, core.site()),
      pcim_iomap_regions: (pdev: PciDev, mask: number, name: string) => this.pcimIomapRegions(owner, pdev, mask, name, core.site()),
      pcim_iomap_table: (pdev: PciDev) => this.state(this.fn(owner, pdev)).iomapTable,
      pci_read_config_byte: (pdev: PciDev, where: number) => cfgR(pdev, where, 1),
      pci_read_config_word: (pdev: PciDev, where: number) => cfgR(pdev, where, 2),
      pci_read_config_dword: (pdev: PciDev, where: number) => cfgR(pdev, where, 4),
      pci_write_config_byte: (pdev: PciDev, where: number, value: number) => cfgW(pdev, where, 1, value),
      pci_write_config_word: (pdev: PciDev, where: number, value: number) => cfgW(pdev, where, 2, value),
      pci_write_config_dword: (pdev: PciDev, where: number, value: number) => cfgW(pdev, where, 4, value),
      pci_find_capability: (pdev: PciDev, cap: number) => this.findCapability(owner, pdev, cap),
      pci_alloc_irq_vectors: (pdev: PciDev, min: number, max: number, flags: number) => this.allocIrqVectors(owner, pdev, min, max, flags, core.site()),
      pci_free_irq_vectors: (pdev: PciDev) => this.freeIrqVectors(owner, pdev),
      pci_irq_vector: (pdev: PciDev, nr: number) => this.irqVector(owner, pdev, nr),
    };
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
