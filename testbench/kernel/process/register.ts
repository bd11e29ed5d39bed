/** Registration of processes, user access and the mmap helpers. */
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart, registerDefault } from "../register.js";
import { KERNEL_MM, MMAP_API, PROCESS_MM_BACKEND, PROCESSES, USER_ACCESS } from "../tokens.js";
import { MmapApi } from "./mmap-api.js";
import { Processes } from "./processes.js";
import { UserAccess } from "./uaccess.js";

/**
 * Register the process table and the KernelUser slices. Needs the memory manager (KERNEL_MM),
 * the scheduler and the char devices registered too.
 * @internal
 */
export function registerProcesses(c: DependencyContainer): void {
  if (!c.isRegistered(PROCESS_MM_BACKEND, false)) c.register(PROCESS_MM_BACKEND, { useToken: KERNEL_MM });
  registerDefault(c, PROCESSES, Processes);
  registerApiPart(c, USER_ACCESS, UserAccess);
  registerApiPart(c, MMAP_API, MmapApi);
}
