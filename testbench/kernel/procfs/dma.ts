/** `/proc/dma`: the held ISA DMA channels in kernel/dma.c's `%2d: %s` format. */
import type { IsaDmaSubsystem } from "../isa-dma/isa-dma.js";

/** The text of /proc/dma (`No DMA` on boards without ISA DMA). @public */
export function procDma(isaDma: IsaDmaSubsystem): string {
  return isaDma.procDma();
}
