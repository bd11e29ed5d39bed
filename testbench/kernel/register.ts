/**
 * Registration of the kernel's subsystems in a testbench's container, after the SoC. Each
 * subsystem registers its default classes unless the container already has its own (tests swap
 * components that way). Subsystem register functions are listed here in boot order.
 */
import { Lifecycle } from "../soc/di.js";
import type { DependencyContainer, InjectionToken } from "../soc/di.js";
import type { Kernel } from "../../sdk/index.js";
import { KernelCore } from "./core.js";
import { Devres } from "./driver/devres.js";
import { KERNEL_API_PART, asFastFacade, mergeFacade, withFaultGuard, type KernelApiPart, type Owner } from "./facade.js";
import { kernelPageFaultOops } from "./oops.js";
import { DEVRES, KERNEL_CORE, KERNEL_MM } from "./tokens.js";
import { PageFault } from "../soc/pagetable.js";
import { registerMm } from "./mm/register.js";
import { registerSched } from "./sched/register.js";
import { registerSync } from "./sync/register.js";
import { registerIrq } from "./irq/register.js";
import { registerVfs } from "./vfs/register.js";
import { registerProcesses } from "./process/register.js";
import { registerDriverCore } from "./driver/register.js";
import { registerDma } from "./dma/register.js";
import { registerIsaDma } from "./isa-dma/register.js";

/** Register `cls` for `token` as a container singleton unless already registered. @internal */
export function registerDefault<T>(c: DependencyContainer, token: InjectionToken<T>, cls: new (...args: never[]) => T): void {
  if (!c.isRegistered(token, false)) {
    c.register(token, { useClass: cls as unknown as new (...args: unknown[]) => T }, { lifecycle: Lifecycle.ContainerScoped });
  }
}

/**
 * Register a facade slice: the class for its own token, and that token under KERNEL_API_PART so
 * the facade factory finds it.
 * @internal
 */
export function registerApiPart<T extends KernelApiPart>(c: DependencyContainer, token: InjectionToken<T>, cls: new (...args: never[]) => T): void {
  registerDefault(c, token, cls);
  let parts = partTokens.get(c);
  if (!parts) partTokens.set(c, (parts = new Set()));
  if (parts.has(token)) return;
  parts.add(token);
  c.register(KERNEL_API_PART, { useToken: token });
}

/** Facade-slice tokens already listed per container, so registering a subsystem twice is harmless. */
const partTokens = new WeakMap<DependencyContainer, Set<InjectionToken<unknown>>>();

/** Every facade slice, each once (slices are container singletons, so duplicates are the same object). */
function apiParts(c: DependencyContainer): KernelApiPart[] {
  return c.isRegistered(KERNEL_API_PART, true) ? [...new Set(c.resolveAll(KERNEL_API_PART))] : [];
}

/** Subsystem registration steps, in boot order. @internal */
export const kernelSteps: ((c: DependencyContainer) => void)[] = [
  (c) => registerDefault(c, KERNEL_CORE, KernelCore),
  (c) => registerDefault(c, DEVRES, Devres),
  registerMm,
  registerSched,
  registerSync,
  registerIrq,
  registerVfs,
  registerProcesses,
  registerDriverCore,
  registerDma,
  registerIsaDma,
];

/** Register every kernel subsystem. @internal */
export function registerKernel(c: DependencyContainer): void {
  for (const step of kernelSteps) step(c);
}

/** Resolve every subsystem so the kernel is up (page tables, allocators, IRQ wiring) at boot. @internal */
export function bootKernel(c: DependencyContainer): void {
  apiParts(c);
}

/** Build a driver's facade from every registered slice. @internal */
export function buildFacade(c: DependencyContainer, owner: Owner): Kernel {
  const core = c.resolve(KERNEL_CORE);
  const mm = c.resolve(KERNEL_MM);
  // A kernel-mode page fault no subsystem converted still becomes an oops, never a host exception.
  const convert = (e: unknown): unknown => (e instanceof PageFault && !e.user ? kernelPageFaultOops(core, e, mm.hex, { stack: e.stack ?? "" }, owner.driver) : e);
  return asFastFacade(withFaultGuard(mergeFacade(apiParts(c).map((p) => p.api(owner))), convert));
}
