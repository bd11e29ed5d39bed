/**
 * The platform-device part of the facade: resources from the device's MMIO windows and IRQ lines,
 * and `devm_platform_ioremap_resource`.
 */
import { inject, injectable } from "../../soc/di.js";
import { ENXIO, IORESOURCE_IRQ, IORESOURCE_MEM } from "../../../sdk/index.js";
import type { IoMem, Kernel, PlatformDev, Resource } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import type { IoRemapper } from "../io/ioremap.js";
import { kernelBug } from "../oops.js";
import { DEVICE_HOST, IOREMAP, KERNEL_CORE } from "../tokens.js";
import type { DeviceHost, HostedDevice } from "./device-host.js";

/** @public */
@injectable()
export class PlatformApi implements KernelApiPart {
  /** IRQ resources are created once per device and index, so callers get stable objects. */
  private readonly irqResources = new WeakMap<HostedDevice, Resource[]>();

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(DEVICE_HOST) private readonly host: DeviceHost,
    @inject(IOREMAP) private readonly ioremap: IoRemapper,
  ) {}

  private hosted(owner: Owner, pdev: PlatformDev): HostedDevice {
    const h = pdev ? this.host.of(pdev) : undefined;
    if (!h || h.decl.bus === "pci") throw kernelBug(this.core, `BUG: ${String((pdev as { name?: string } | null)?.name ?? pdev)} is not a platform device`, [], this.core.site(), owner.driver);
    return h;
  }

  /** `platform_get_resource(pdev, IORESOURCE_MEM | IORESOURCE_IRQ, num)`. */
  getResource(owner: Owner, pdev: PlatformDev, type: number, num: number): Resource | null {
    const h = this.hosted(owner, pdev);
    if (type & IORESOURCE_MEM) return h.windows[num]?.resource ?? null;
    if (type & IORESOURCE_IRQ) {
      let list = this.irqResources.get(h);
      if (!list) {
        list = h.irqs.map((irq, i) => Object.freeze({ start: irq, end: irq, name: `${h.name} irq${i}`, flags: IORESOURCE_IRQ }));
        this.irqResources.set(h, list);
      }
      return list[num] ?? null;
    }
    return null;
  }

  /** `platform_get_irq`: the IRQ number, or -ENXIO with the kernel's error line. */
  getIrq(owner: Owner, pdev: PlatformDev, num: number): number {
    const h = this.hosted(owner, pdev);
    const irq = h.irqs[num];
    if (irq === undefined) {
      this.core.dmesg.log("err", `${owner.driver} ${h.name}: error -ENXIO: IRQ index ${num} not found`);
      return -ENXIO;
    }
    return irq;
  }

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    return {
      platform_get_resource: (pdev: PlatformDev, type: number, num: number) => this.getResource(owner, pdev, type, num),
      platform_get_irq: (pdev: PlatformDev, num: number) => this.getIrq(owner, pdev, num),
      devm_platform_ioremap_resource: (pdev: PlatformDev, index: number) =>
        this.ioremap.devmMapResource(owner, pdev, this.getResource(owner, pdev, IORESOURCE_MEM, index), core.site()) as IoMem,
    };
  }
}
