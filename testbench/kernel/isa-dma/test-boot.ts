/**
 * The ISA DMA subsystem of a booted testbench (boot registers and resolves it; registering again
 * is a no-op, so this also works on containers assembled by hand).
 */
import type { DependencyContainer } from "../../soc/di.js";
import { ISA_DMA } from "../tokens.js";
import type { IsaDmaSubsystem } from "./isa-dma.js";
import { registerIsaDma } from "./register.js";

/** @internal */
export function ensureIsaDmaBoot(c: DependencyContainer): IsaDmaSubsystem {
  registerIsaDma(c);
  return c.resolve(ISA_DMA);
}
