/**
 * `vfb` driver: fbdev on the vdtb Bochs-DISPI framebuffer, `/dev/fb0`, VRAM or system-RAM
 * scanout.
 * @packageDocumentation
 */
export { vfbDriver, vfbPciDriver, vfbDriverWithHooks, VFB_DEFAULT_MODE, type VfbDriverOptions } from "./driver.js";
export { VFB_FB_ID, vfbFileOperations, type VfbFopsHooks } from "./fops.js";
export { fbCheckPan, fbCheckVar, fbDefaultVar, fbLineLength, type VfbLimits } from "./mode.js";
export type { VfbFb, VfbMemory } from "./state.js";
export {
  FBIOBLANK, FBIOGETCMAP, FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUTCMAP, FBIOPUT_VSCREENINFO,
  FBIO_WAITFORVSYNC, FB_ACTIVATE_MASK, FB_ACTIVATE_NOW, FB_ACTIVATE_TEST, FB_MAJOR, FB_TYPE_PACKED_PIXELS,
  FB_VISUAL_TRUECOLOR, decodeFbId, encodeFbId, fbFix32Fields, fbFix64Fields, fbFixLayout, fbFixScreeninfo32,
  fbFixScreeninfo64, fbVarFields, fbVarScreeninfo, type FbFixFields, type FbFixScreeninfo, type FbVarScreeninfo,
} from "./uapi.js";
