/** Injection tokens of the kernel's subsystems (one line each; add yours). @packageDocumentation */
import type { InjectionToken } from "../soc/di.js";
import type { KernelCore } from "./core.js";
import type { Devres } from "./driver/devres.js";

/** The kernel core: dmesg, reports, context, fault injection, leak ledger. @public */
export const KERNEL_CORE: InjectionToken<KernelCore> = Symbol("vdtb.kernel.core");
/** Managed device resources (devres). @public */
export const DEVRES: InjectionToken<Devres> = Symbol("vdtb.kernel.devres");
