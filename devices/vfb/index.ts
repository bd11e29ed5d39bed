/**
 * `vfb`: a Bochs DISPI compatible PCI framebuffer (1234:1111) with a vdtb scanout/vblank extension.
 * @packageDocumentation
 */
import { Vfb, type VfbOptions } from "./device.js";

export { Vfb, VFB_DEFAULT_VRAM, type VfbFrame, type VfbOptions } from "./device.js";
export {
  DISPI_ID_VALUE,
  DISPI_MMIO_BASE,
  VFB_BYTE_ORDER_LE,
  VFB_EXT_ID_VALUE,
  VFB_LIMITS,
  VFB_SUPPORTED_BPP,
  VfbEnable,
  VfbIrq,
  vfbRegisters,
  type VfbRegisterName,
} from "./registers.js";
export { bytesPerPixel, convertToRgba, deriveMode, type VfbMode, type VfbModeRegs } from "./scanout.js";

/**
 * Create a `vfb` framebuffer device.
 * @public
 */
export function vfb(options?: VfbOptions): Vfb {
  return new Vfb(options);
}
