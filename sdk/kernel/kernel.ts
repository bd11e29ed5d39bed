/** The kernel facade a driver is given: Linux names and argument order. */
import type { KernelDma } from "./dma.js";
import type { KernelDriverCore } from "./driver-core.js";
import type { KernelIo } from "./io.js";
import type { KernelIsaDma } from "./isa-dma.js";
import type { KernelMemory } from "./memory.js";
import type { KernelSync } from "./sync.js";
import type { KernelUser } from "./user.js";

/**
 * Everything a driver may call. Each driver gets its own facade instance, so every allocation,
 * mapping and registration is attributed to it (leak reports at unbind name the driver and the
 * line that allocated).
 *
 * @example
 * ```ts
 * const buf = k.kmalloc(4096, GFP_KERNEL);
 * if (!buf) return -ENOMEM;     // forgetting the check does not compile under strictNullChecks
 * ```
 * @public
 */
export interface Kernel extends KernelMemory, KernelSync, KernelIo, KernelDriverCore, KernelDma, KernelIsaDma, KernelUser {}
