/**
 * Mode checking for the `vfb` driver (its `check_var`): what FBIOPUT_VSCREENINFO accepts and how
 * it adjusts the request, with no hardware access.
 */
import { EINVAL } from "../../sdk/index.js";
import type { FbVarScreeninfo } from "./uapi.js";
import { VFB_MIN_RES } from "./hw.js";

/** Limits the device reports with GETCAPS, and the framebuffer size. @public */
export interface VfbLimits {
  readonly maxXres: number;
  readonly maxYres: number;
  /** Bytes of framebuffer memory (smem_len). */
  readonly memory: number;
}

/** Bytes per line of a mode: xres_virtual · bytes per pixel. @public */
export function fbLineLength(v: Pick<FbVarScreeninfo, "xres_virtual" | "bits_per_pixel">): number {
  return v.xres_virtual * (v.bits_per_pixel / 8);
}

/** Pixel layout of the two supported depths: RGB565 and XRGB8888, little endian. */
function colorFields(bpp: 16 | 32): Partial<FbVarScreeninfo> {
  return bpp === 16
    ? { red_offset: 11, red_length: 5, green_offset: 5, green_length: 6, blue_offset: 0, blue_length: 5, transp_offset: 0, transp_length: 0 }
    : { red_offset: 16, red_length: 8, green_offset: 8, green_length: 8, blue_offset: 0, blue_length: 8, transp_offset: 0, transp_length: 0 };
}

const U32_MINUS_1 = 0xffffffff;
/** The DISPI size registers are 16 bits wide. */
const MAX_VIRTUAL = 0xffff;

/** The var of a plain mode (virtual size = visible size, no offset). @public */
export function fbDefaultVar(xres: number, yres: number, bpp: 16 | 32): FbVarScreeninfo {
  const zero = (): FbVarScreeninfo => ({
    xres: 0, yres: 0, xres_virtual: 0, yres_virtual: 0, xoffset: 0, yoffset: 0, bits_per_pixel: 0, grayscale: 0,
    red_offset: 0, red_length: 0, red_msb_right: 0, green_offset: 0, green_length: 0, green_msb_right: 0,
    blue_offset: 0, blue_length: 0, blue_msb_right: 0, transp_offset: 0, transp_length: 0, transp_msb_right: 0,
    nonstd: 0, activate: 0, height: 0, width: 0, accel_flags: 0, pixclock: 0, left_margin: 0, right_margin: 0,
    upper_margin: 0, lower_margin: 0, hsync_len: 0, vsync_len: 0, sync: 0, vmode: 0, rotate: 0, colorspace: 0,
    reserved0: 0, reserved1: 0, reserved2: 0, reserved3: 0,
  });
  return { ...zero(), xres, yres, xres_virtual: xres, yres_virtual: yres, bits_per_pixel: bpp, height: U32_MINUS_1, width: U32_MINUS_1, ...colorFields(bpp) };
}

/**
 * Check a requested var against the device: depth 16 or 32, visible size at least 64×64 and
 * within the caps, the virtual size grown to the visible size and fitting the framebuffer
 * memory, the pan offsets inside the virtual size. Returns the adjusted var (colour fields
 * filled, timings kept as given) or -EINVAL.
 * @public
 */
export function fbCheckVar(req: FbVarScreeninfo, lim: VfbLimits): FbVarScreeninfo | number {
  const bpp = req.bits_per_pixel;
  if (bpp !== 16 && bpp !== 32) return -EINVAL;
  const { xres, yres } = req;
  if (xres < VFB_MIN_RES || yres < VFB_MIN_RES || xres > lim.maxXres || yres > lim.maxYres) return -EINVAL;
  const xv = Math.max(req.xres_virtual, xres);
  const yv = Math.max(req.yres_virtual, yres);
  if (xv > MAX_VIRTUAL || yv > MAX_VIRTUAL) return -EINVAL;
  if (req.xoffset > xv - xres || req.yoffset > yv - yres) return -EINVAL;
  if (xv * (bpp / 8) * yv > lim.memory) return -EINVAL;
  return { ...req, xres_virtual: xv, yres_virtual: yv, grayscale: 0, nonstd: 0, ...colorFields(bpp) };
}

/** fbmem's pan check with xpanstep = ypanstep = 1 and no ywrap: offsets keep the visible area inside the virtual one. @public */
export function fbCheckPan(cur: FbVarScreeninfo, xoffset: number, yoffset: number): boolean {
  return xoffset + cur.xres <= cur.xres_virtual && yoffset + cur.yres <= cur.yres_virtual;
}
