/** Formatting of driver-supplied DMA values in messages. */

/** A DMA handle as dev_err's %pad prints it; whatever a driver passed when it is not a number. @internal */
export function dmaHex(dma: unknown): string {
  return typeof dma === "number" ? `0x${dma.toString(16)}` : String(dma);
}
