/** Registration of the ISA DMA subsystem (the KernelIsaDma facade slice). */
import type { DependencyContainer } from "../../soc/di.js";
import { registerBus } from "../bus/register.js";
import { registerApiPart } from "../register.js";
import { ISA_DMA } from "../tokens.js";
import { IsaDmaSubsystem } from "./isa-dma.js";

const done = new WeakSet<DependencyContainer>();

/**
 * Register the ISA DMA subsystem (idempotent). It needs the device host (registered here through
 * the bus step) and the sync subsystem (a kernel boot step before this one).
 * @internal
 */
export function registerIsaDma(c: DependencyContainer): void {
  registerBus(c);
  if (done.has(c)) return;
  done.add(c);
  registerApiPart(c, ISA_DMA, IsaDmaSubsystem);
}
