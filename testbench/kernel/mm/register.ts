/**
 * Registration of memory management: the {@link MemoryManager} (KERNEL_MM, boots at resolve
 * time) and its facade slice (MM_API under KERNEL_API_PART). The ioremap backend (IO_VMAP) should
 * resolve to `container.resolve(KERNEL_MM).vm` (same `mapPhys`/`unmap` shape).
 */
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart, registerDefault } from "../register.js";
import { KERNEL_MM, MM_API } from "../tokens.js";
import { MmApi } from "./api.js";
import { MemoryManager } from "./mm.js";

/** Register memory management in a testbench container . @internal */
export function registerMm(c: DependencyContainer): void {
  registerDefault(c, KERNEL_MM, MemoryManager);
  registerApiPart(c, MM_API, MmApi);
}
