/** Registration of device hosting and the buses: PCI host, device host, PCI and platform API. */
import { instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "../../soc/di.js";
import { registerIo } from "../io/register.js";
import { registerApiPart, registerDefault } from "../register.js";
import { DEVICE_FAULTS, DEVICE_HOST, DRIVER_CORE, IRQ_NUMBERS, IRQS, PCI_API, PCI_HOST, PLATFORM_API } from "../tokens.js";
import { DeviceFaults } from "./device-faults.js";
import { DeviceHost } from "./device-host.js";
import { LinearIrqNumbers } from "./irq-numbers.js";
import type { IrqNumbers } from "./irq-numbers.js";
import { PciApi } from "./pci-api.js";
import { PciHost } from "./pci-host.js";
import { PlatformApi } from "./platform-api.js";

const done = new WeakSet<DependencyContainer>();

/**
 * Register the buses (and the I/O subsystem they need). IRQ numbers come from the IRQ subsystem
 * when it is registered, else from {@link LinearIrqNumbers}.
 * @internal
 */
export function registerBus(c: DependencyContainer): void {
  registerIo(c);
  if (done.has(c)) return;
  done.add(c);
  if (!c.isRegistered(IRQ_NUMBERS, false)) {
    c.register(IRQ_NUMBERS, {
      useFactory: instanceCachingFactory<IrqNumbers>((cc) => (cc.isRegistered(IRQS, true) ? cc.resolve(IRQS) : cc.resolve(LinearIrqNumbers))),
    });
  }
  registerDefault(c, PCI_HOST, PciHost);
  registerDefault(c, DEVICE_HOST, DeviceHost);
  if (!c.isRegistered(DEVICE_FAULTS, false)) {
    c.register(DEVICE_FAULTS, {
      useFactory: instanceCachingFactory<DeviceFaults>((cc) => {
        const f = cc.resolve(DeviceFaults);
        // A surprise-removed device is unbound by the driver core, when there is one.
        if (cc.isRegistered(DRIVER_CORE, true)) f.unbind = (h) => cc.resolve(DRIVER_CORE).unbind(h);
        return f;
      }),
    });
  }
  registerApiPart(c, PCI_API, PciApi);
  registerApiPart(c, PLATFORM_API, PlatformApi);
}
