/**
 * `sgdma`: an XDMA-shaped PCIe scatter-gather DMA endpoint (1234:5344), one channel each way.
 * @packageDocumentation
 */
import { Sgdma, type SgdmaOptions } from "./device.js";

export { Sgdma, SGDMA_DEFAULT_CARD_MEMORY, SGDMA_DEFAULT_MAX_DESCRIPTORS_PER_RUN, type SgdmaOptions } from "./device.js";
export type { EngineTiming } from "./engine.js";
export {
  ChannelBit,
  ENGINE_EVENT_BITS,
  EngineControl,
  EngineStatus,
  SGDMA_ALIGNMENTS,
  SGDMA_BLOCK_VERSION,
  SgdmaBlockId,
  SgdmaErrorCode,
  sgdmaBlockIdValue,
  sgdmaRegisters,
  type SgdmaRegisterDefs,
  type SgdmaRegisterName,
} from "./registers.js";
export {
  DescControlBits,
  DescFlag,
  SGDMA_DESC_MAGIC,
  SGDMA_DESC_MAX_ADJ,
  SGDMA_DESC_MAX_LEN,
  SGDMA_DESC_SIZE,
  SgdmaDescriptor,
  decodeDescControl,
  descControl,
} from "./descriptor.js";

/**
 * Create an `sgdma` endpoint device.
 * @public
 */
export function sgdma(options?: SgdmaOptions): Sgdma {
  return new Sgdma(options);
}
