/**
 * isa-stream: a Sound-Blaster-like ISA streaming device that exercises the 8237 DMA controller.
 * @packageDocumentation
 */
import { IsaStreamDevice, type IsaStreamOptions } from "./device.js";

export { IsaStreamDevice, lfsrSource, type CaptureSource, type IsaStreamOptions } from "./device.js";
export {
  isaStreamRegisters,
  ISA_STREAM_ID,
  ISA_STREAM_PORTS,
  IsaStreamCommand,
  IsaStreamMode,
  IsaStreamStatus,
} from "./registers.js";

/**
 * Create an isa-stream device (default ports 0x220–0x22F, IRQ 5, DMA 1 and 5).
 * @public
 */
export function isaStream(options?: IsaStreamOptions): IsaStreamDevice {
  return new IsaStreamDevice(options);
}
