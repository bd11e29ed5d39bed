/**
 * Test support until `registerKernel` lists the ISA DMA step: register it (idempotent) after boot
 * and resolve the subsystem so the 8237 is plugged.
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
