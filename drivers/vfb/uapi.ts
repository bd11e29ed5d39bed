/**
 * The fbdev user ABI the `vfb` driver speaks (Linux include/uapi/linux/fb.h): ioctl numbers,
 * type/visual/activate constants, and the two screeninfo structs as they sit in user memory.
 * `fb_fix_screeninfo` holds two `unsigned long`s, so its layout depends on the ABI's long size.
 */
import { defineStruct, type StructLayout, type StructValues } from "../../sdk/index.js";

/** @public */ export const FBIOGET_VSCREENINFO = 0x4600;
/** @public */ export const FBIOPUT_VSCREENINFO = 0x4601;
/** @public */ export const FBIOGET_FSCREENINFO = 0x4602;
/** @public */ export const FBIOGETCMAP = 0x4604;
/** @public */ export const FBIOPUTCMAP = 0x4605;
/** @public */ export const FBIOPAN_DISPLAY = 0x4606;
/** @public */ export const FBIOBLANK = 0x4611;
/** `_IOW('F', 0x20, __u32)`: the argument points to the CRTC number (0). @public */
export const FBIO_WAITFORVSYNC = (1 << 30 | 4 << 16 | 0x46 << 8 | 0x20) >>> 0;

/** The fbdev char major (`FB_MAJOR`). @public */
export const FB_MAJOR = 29;

/** @public */ export const FB_TYPE_PACKED_PIXELS = 0;
/** @public */ export const FB_VISUAL_TRUECOLOR = 2;
/** @public */ export const FB_ACTIVATE_NOW = 0;
/** Check the mode and return the adjusted values without applying them. @public */
export const FB_ACTIVATE_TEST = 2;
/** @public */ export const FB_ACTIVATE_MASK = 15;

/** Field definitions of `fb_var_screeninfo`. @public */
export const fbVarFields = {
  xres: "u32",
  yres: "u32",
  xres_virtual: "u32",
  yres_virtual: "u32",
  xoffset: "u32",
  yoffset: "u32",
  bits_per_pixel: "u32",
  grayscale: "u32",
  red_offset: "u32",
  red_length: "u32",
  red_msb_right: "u32",
  green_offset: "u32",
  green_length: "u32",
  green_msb_right: "u32",
  blue_offset: "u32",
  blue_length: "u32",
  blue_msb_right: "u32",
  transp_offset: "u32",
  transp_length: "u32",
  transp_msb_right: "u32",
  nonstd: "u32",
  activate: "u32",
  height: "u32",
  width: "u32",
  accel_flags: "u32",
  pixclock: "u32",
  left_margin: "u32",
  right_margin: "u32",
  upper_margin: "u32",
  lower_margin: "u32",
  hsync_len: "u32",
  vsync_len: "u32",
  sync: "u32",
  vmode: "u32",
  rotate: "u32",
  colorspace: "u32",
  reserved0: "u32",
  reserved1: "u32",
  reserved2: "u32",
  reserved3: "u32",
} as const;

/**
 * `struct fb_var_screeninfo` (160 bytes, every field `__u32`). The `fb_bitfield`s are flattened
 * as `red_offset`, `red_length`, `red_msb_right`, ...
 * @public
 */
export const fbVarScreeninfo: StructLayout<typeof fbVarFields> = defineStruct("fb_var_screeninfo", fbVarFields);

/** Decoded `fb_var_screeninfo`. @public */
export type FbVarScreeninfo = StructValues<typeof fbVarFields>;

/** Field definitions of the 64-bit `fb_fix_screeninfo`. @public */
export const fbFix64Fields = {
  id_0: { type: "u32", offset: 0 },
  id_1: { type: "u32", offset: 4 },
  id_2: { type: "u32", offset: 8 },
  id_3: { type: "u32", offset: 12 },
  smem_start: { type: "u64", offset: 16 },
  smem_len: { type: "u32", offset: 24 },
  type: { type: "u32", offset: 28 },
  type_aux: { type: "u32", offset: 32 },
  visual: { type: "u32", offset: 36 },
  xpanstep: { type: "u16", offset: 40 },
  ypanstep: { type: "u16", offset: 42 },
  ywrapstep: { type: "u16", offset: 44 },
  line_length: { type: "u32", offset: 48 },
  mmio_start: { type: "u64", offset: 56 },
  mmio_len: { type: "u32", offset: 64 },
  accel: { type: "u32", offset: 68 },
  capabilities: { type: "u16", offset: 72 },
  reserved0: { type: "u16", offset: 74 },
  reserved1: { type: "u16", offset: 76 },
} as const;

/** `struct fb_fix_screeninfo` with 64-bit `unsigned long` (80 bytes). `id` is four little-endian words. @public */
export const fbFixScreeninfo64: StructLayout<typeof fbFix64Fields> = defineStruct("fb_fix_screeninfo", fbFix64Fields, { size: 80, align: 8 });

/** Field definitions of the 32-bit `fb_fix_screeninfo`. @public */
export const fbFix32Fields = {
  id_0: { type: "u32", offset: 0 },
  id_1: { type: "u32", offset: 4 },
  id_2: { type: "u32", offset: 8 },
  id_3: { type: "u32", offset: 12 },
  smem_start: { type: "u32", offset: 16 },
  smem_len: { type: "u32", offset: 20 },
  type: { type: "u32", offset: 24 },
  type_aux: { type: "u32", offset: 28 },
  visual: { type: "u32", offset: 32 },
  xpanstep: { type: "u16", offset: 36 },
  ypanstep: { type: "u16", offset: 38 },
  ywrapstep: { type: "u16", offset: 40 },
  line_length: { type: "u32", offset: 44 },
  mmio_start: { type: "u32", offset: 48 },
  mmio_len: { type: "u32", offset: 52 },
  accel: { type: "u32", offset: 56 },
  capabilities: { type: "u16", offset: 60 },
  reserved0: { type: "u16", offset: 62 },
  reserved1: { type: "u16", offset: 64 },
} as const;

/** `struct fb_fix_screeninfo` with 32-bit `unsigned long` (68 bytes). @public */
export const fbFixScreeninfo32: StructLayout<typeof fbFix32Fields> = defineStruct("fb_fix_screeninfo", fbFix32Fields, { size: 68, align: 4 });

/** Decoded `fb_fix_screeninfo` (either layout). @public */
export type FbFixScreeninfo = StructValues<typeof fbFix64Fields>;

/** The field set both `fb_fix_screeninfo` layouts share. @public */
export type FbFixFields = typeof fbFix64Fields;

/** The `fb_fix_screeninfo` layout for an ABI whose `long` has `bits` bits. @public */
export function fbFixLayout(bits: 32 | 64): StructLayout<FbFixFields> {
  // Same field names, different offsets and widths: the values type is identical.
  return bits === 64 ? fbFixScreeninfo64 : (fbFixScreeninfo32 as unknown as StructLayout<FbFixFields>);
}

/** Pack a NUL-padded id of at most 15 characters into the four `id_N` words. @public */
export function encodeFbId(id: string): Pick<FbFixScreeninfo, "id_0" | "id_1" | "id_2" | "id_3"> {
  const b = new Uint8Array(16);
  for (let i = 0; i < Math.min(15, id.length); i++) b[i] = id.charCodeAt(i) & 0x7f;
  const w = (i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  return { id_0: w(0), id_1: w(4), id_2: w(8), id_3: w(12) };
}

/** The id string of a decoded `fb_fix_screeninfo` (up to the first NUL). @public */
export function decodeFbId(fix: Pick<FbFixScreeninfo, "id_0" | "id_1" | "id_2" | "id_3">): string {
  let s = "";
  for (const w of [fix.id_0, fix.id_1, fix.id_2, fix.id_3]) {
    for (let i = 0; i < 4; i++) {
      const c = (w >>> (8 * i)) & 0xff;
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
  }
  return s;
}
