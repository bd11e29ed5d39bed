/** Registration of the I/O subsystem: resource trees, ioremap, accessors, barriers. */
import { instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart, registerDefault } from "../register.js";
import { registerSched } from "../sched/register.js";
import { IO_ACCESS, IO_RESOURCES, IO_VMAP, IOREMAP, KERNEL_MM, LEAK_RECLAIMERS, ORDERING } from "../tokens.js";
import { LeakReclaimers } from "../driver/reclaim.js";
import { IoAccessors } from "./accessors.js";
import { IoRemapper } from "./ioremap.js";
import { Ordering } from "./ordering.js";
import { IoResources } from "./resources.js";
import { LocalIoVmap } from "./vmap.js";
import type { IoVmap } from "./vmap.js";

const done = new WeakSet<DependencyContainer>();

/**
 * Register the I/O subsystem. The ioremap backend is the memory manager's vmalloc space when
 * memory management is registered, else the self-contained {@link LocalIoVmap}.
 * @internal
 */
export function registerIo(c: DependencyContainer): void {
  registerSched(c);
  if (done.has(c)) return;
  done.add(c);
  registerDefault(c, LEAK_RECLAIMERS, LeakReclaimers);
  registerDefault(c, ORDERING, Ordering);
  if (!c.isRegistered(IO_VMAP, false)) {
    c.register(IO_VMAP, {
      useFactory: instanceCachingFactory<IoVmap>((cc) => (cc.isRegistered(KERNEL_MM, true) ? cc.resolve(KERNEL_MM).vm : cc.resolve(LocalIoVmap))),
    });
  }
  registerApiPart(c, IO_RESOURCES, IoResources);
  registerApiPart(c, IOREMAP, IoRemapper);
  registerApiPart(c, IO_ACCESS, IoAccessors);
}
