/**
 * Registration of processes, user access and the mmap helpers. When the process table is first
 * resolved it is linked to the driver core, if registered: a "vma" leak reclaimer orphans the
 * mappings an unbound driver left (orphan.ts), and bindings tell which files' drivers are gone.
 */
import { instanceCachingFactory } from "tsyringe";
import type { DependencyContainer } from "../../soc/di.js";
import type { Owner } from "../facade.js";
import { registerApiPart } from "../register.js";
import { DRIVER_CORE, KERNEL_MM, LEAK_RECLAIMERS, MMAP_API, PROCESS_MM_BACKEND, PROCESSES, USER_ACCESS } from "../tokens.js";
import { MmapApi } from "./mmap-api.js";
import { reclaimLeakedVma } from "./orphan.js";
import { Processes } from "./processes.js";
import { UserAccess } from "./uaccess.js";

/**
 * Register the process table and the KernelUser slices. Needs the memory manager (KERNEL_MM),
 * the scheduler and the char devices registered too.
 * @internal
 */
export function registerProcesses(c: DependencyContainer): void {
  if (!c.isRegistered(PROCESS_MM_BACKEND, false)) c.register(PROCESS_MM_BACKEND, { useToken: KERNEL_MM });
  if (!c.isRegistered(PROCESSES, false)) {
    c.register(PROCESSES, {
      useFactory: instanceCachingFactory<Processes>((dc) => {
        const procs = dc.resolve(Processes);
        if (dc.isRegistered(LEAK_RECLAIMERS, true)) dc.resolve(LEAK_RECLAIMERS).register("vma", (e) => reclaimLeakedVma(procs, e));
        if (dc.isRegistered(DRIVER_CORE, true)) {
          // Resolved on first use: the driver core is built after the process table.
          procs.ownerBound = (owner: Owner) => owner.device !== undefined && dc.resolve(DRIVER_CORE).bindingOf(owner.device)?.owner === owner;
        }
        return procs;
      }),
    });
  }
  registerApiPart(c, USER_ACCESS, UserAccess);
  registerApiPart(c, MMAP_API, MmapApi);
}
