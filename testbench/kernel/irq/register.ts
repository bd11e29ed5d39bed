/** Registration of the IRQ subsystem (the IRQ part of the KernelDriverCore facade slice). */
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart } from "../register.js";
import { registerSync } from "../sync/register.js";
import { IRQS } from "../tokens.js";
import { IrqSubsystem } from "./irqs.js";

const done = new WeakSet<DependencyContainer>();

/**
 * Register the IRQ subsystem (and the sync subsystem and scheduler it needs). Resolve `IRQS` at
 * boot so the controller's delivery callback is installed before devices interrupt.
 * @internal
 */
export function registerIrq(c: DependencyContainer): void {
  registerSync(c);
  if (done.has(c)) return;
  done.add(c);
  registerApiPart(c, IRQS, IrqSubsystem);
}
