/** Injection tokens of the kernel's subsystems. @packageDocumentation */
import type { InjectionToken } from "tsyringe";
import type { KernelCore } from "./core.js";

/** The kernel core: dmesg, reports, context, fault injection, leak ledger. @public */
export const KERNEL_CORE: InjectionToken<KernelCore> = Symbol("vdtb.kernel.core");
import type { Devres } from "./driver/devres.js";
/** Managed device resources (devres). @public */
export const DEVRES: InjectionToken<Devres> = Symbol("vdtb.kernel.devres");
