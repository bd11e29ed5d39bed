/**
 * The PC/AT ISA DMA controller pair (two 8237A chips plus page registers) as a device model.
 * @packageDocumentation
 */
import { I8237Device, type I8237Options } from "./device.js";

export {
  I8237Device,
  type I8237ChannelState,
  type I8237ControllerState,
  type I8237ModeSelect,
  type I8237Options,
  type I8237ProgramEvent,
  type I8237ProgramKind,
  type I8237TransferType,
} from "./device.js";
export {
  dma1Registers,
  dma2Registers,
  pageRegisters,
  I8237_CONTROLLER_PORTS,
  I8237_PAGE_OFFSET,
  I8237_PAGE_PORTS,
  I8237_PORT_BASE,
  I8237Command,
  I8237Mode,
  I8237Reg,
} from "./registers.js";

/**
 * Create the 8237A pair (ports 0x00–0x1F, 0x80–0x8F, 0xC0–0xDF; ISA id `i8237`).
 * @public
 */
export function i8237(options?: I8237Options): I8237Device {
  return new I8237Device(options);
}
