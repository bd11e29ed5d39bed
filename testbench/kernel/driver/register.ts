/** Registration of the driver core, the facade factory, leak reclaimers and the printk slice. */
import { instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "../../soc/di.js";
import { registerBus } from "../bus/register.js";
import { PrintkApi } from "../printk-api.js";
import { buildFacade, registerApiPart } from "../register.js";
import { DRIVER_CORE, FACADE_FACTORY, PRINTK_API } from "../tokens.js";
import { DriverCore } from "./core.js";
import { FacadeFactory } from "./facade-factory.js";

const done = new WeakSet<DependencyContainer>();

/** Register the driver core (and the buses, I/O and scheduler it needs). @internal */
export function registerDriverCore(c: DependencyContainer): void {
  registerBus(c);
  if (done.has(c)) return;
  done.add(c);
  if (!c.isRegistered(FACADE_FACTORY, false)) {
    c.register(FACADE_FACTORY, { useFactory: instanceCachingFactory((cc) => new FacadeFactory((owner) => buildFacade(cc, owner))) });
  }
  registerApiPart(c, PRINTK_API, PrintkApi);
  registerApiPart(c, DRIVER_CORE, DriverCore);
}
