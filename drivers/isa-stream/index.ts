/**
 * The isa-stream driver: /dev/isa-stream plays what is written and captures what is read through
 * the card's 8237 DMA channels.
 * @packageDocumentation
 */
export { isaStreamDriver, ISA_STREAM_NAME } from "./driver.js";
export {
  ISA_STREAM_DEFAULTS,
  ISA_STREAM_DRAIN,
  ISA_STREAM_GET_HWPTR,
  ISA_STREAM_GET_POS,
  ISA_STREAM_GET_RING,
  ISA_STREAM_GET_XRUNS,
  ISA_STREAM_IOC_MAGIC,
  ISA_STREAM_RING_BYTES,
  ISA_STREAM_SET_AUTOINIT,
  ISA_STREAM_SET_BLOCK,
  ISA_STREAM_SET_RATE,
  ISA_STREAM_SET_WIDTH,
} from "./uapi.js";
