/**
 * The boot step the harness calls for `Testbench.boot({ devices, drivers })`: plug the devices,
 * register the drivers, bind every device that has a matching driver.
 */
import type { DependencyContainer } from "../../soc/di.js";
import type { Driver, VirtualDevice } from "../../../sdk/index.js";
import { DRIVER_CORE } from "../tokens.js";
import type { DriverCore } from "./core.js";

/**
 * Plug `devices` (in order: PCI slots follow it), register `drivers`, then bind unless `bind` is
 * false. Returns the driver core (the harness keeps it for `tb.bind()/unbind()/unbindAll()`).
 * @internal
 */
export async function bootDevices(c: DependencyContainer, devices: readonly VirtualDevice[] = [], drivers: readonly Driver[] = [], bind = true): Promise<DriverCore> {
  const dc = c.resolve(DRIVER_CORE);
  for (const d of devices) dc.plugDevice(d);
  for (const d of drivers) dc.registerDriver(d);
  if (bind && drivers.length > 0) await dc.bind();
  return dc;
}
