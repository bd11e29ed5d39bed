/**
 * The sgdma driver: `/dev/sgdmaN` moves user buffers to (write) and from (read) the card memory
 * of the vdtb SG-DMA endpoint by scatter-gather DMA; `lseek` picks the card offset.
 * @packageDocumentation
 */
export { sgdmaDriver, sgdmaDriverWithHooks, sgdmaPciDriver, SGDMA_MAX_DESC_LEN, SGDMA_RING_DESCRIPTORS, type SgdmaDriverOptions } from "./driver.js";
export type { SgdmaCard, SgdmaHooks, UserDma } from "./xfer.js";
export type { Engine, EngineDir } from "./engine.js";
export { engineStart, ringBus } from "./engine.js";
