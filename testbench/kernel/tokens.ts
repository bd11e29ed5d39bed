/** Injection tokens of the kernel's subsystems (one line each; add yours). @packageDocumentation */
import type { InjectionToken } from "../soc/di.js";
import type { KernelCore } from "./core.js";
import type { Devres } from "./driver/devres.js";

/** The kernel core: dmesg, reports, context, fault injection, leak ledger. @public */
export const KERNEL_CORE: InjectionToken<KernelCore> = Symbol("vdtb.kernel.core");
/** Managed device resources (devres). @public */
export const DEVRES: InjectionToken<Devres> = Symbol("vdtb.kernel.devres");
/** Memory management: page allocator, linear map, kernel page tables, slab, vmalloc, KASAN. @public */
export const KERNEL_MM: InjectionToken<import("./mm/mm.js").MemoryManager> = Symbol("vdtb.kernel.mm");
/** The memory-management facade slice (KernelMemory, `k.mem`). @public */
export const MM_API: InjectionToken<import("./mm/api.js").MmApi> = Symbol("vdtb.kernel.mmApi");
