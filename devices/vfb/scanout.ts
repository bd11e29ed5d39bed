/**
 * Scanout math of the `vfb` framebuffer: deriving the visible mode from the DISPI registers
 * (bochs-display rules) and converting captured pixels to RGBA8888.
 */
import { VFB_LIMITS, VfbEnable } from "./registers.js";

/**
 * A valid display mode as derived from the registers.
 * @public
 */
export interface VfbMode {
  readonly width: number;
  readonly height: number;
  readonly bpp: 15 | 16 | 24 | 32;
  readonly bytesPerPixel: number;
  /** Bytes from one line to the next: max(VIRT_WIDTH, XRES) · bytesPerPixel. */
  readonly stride: number;
  /** Byte offset of the first visible pixel: X_OFFSET · Bpp + Y_OFFSET · stride. */
  readonly start: number;
  /** Bytes the visible frame touches from `start`: stride · (height − 1) + width · Bpp. */
  readonly span: number;
}

/** The register values the mode derives from. @public */
export interface VfbModeRegs {
  readonly enable: number;
  readonly xres: number;
  readonly yres: number;
  readonly bpp: number;
  readonly virtWidth: number;
  readonly xOffset: number;
  readonly yOffset: number;
}

/** Bytes per pixel of a supported depth, 0 for an unsupported one. @public */
export function bytesPerPixel(bpp: number): number {
  switch (bpp) {
    case 15:
    case 16:
      return 2;
    case 24:
      return 3;
    case 32:
      return 4;
    default:
      return 0;
  }
}

/**
 * The visible mode, or undefined when there is none: the display must be enabled, the depth
 * supported, XRES and YRES at least 64, and `start + stride · YRES` within VRAM.
 * @public
 */
export function deriveMode(r: VfbModeRegs, vramSize: number): VfbMode | undefined {
  if ((r.enable & VfbEnable.ENABLED) === 0) return undefined;
  const bpp = bytesPerPixel(r.bpp);
  if (bpp === 0) return undefined;
  if (r.xres < VFB_LIMITS.minXres || r.yres < VFB_LIMITS.minYres) return undefined;
  const stride = Math.max(r.virtWidth, r.xres) * bpp;
  const start = r.xOffset * bpp + r.yOffset * stride;
  if (start + stride * r.yres > vramSize) return undefined;
  return {
    width: r.xres,
    height: r.yres,
    bpp: r.bpp as VfbMode["bpp"],
    bytesPerPixel: bpp,
    stride,
    start,
    span: stride * (r.yres - 1) + r.xres * bpp,
  };
}

/** Expand a 5-bit channel to 8 bits. */
function expand5(v: number): number {
  return (v << 3) | (v >> 2);
}

/** Expand a 6-bit channel to 8 bits. */
function expand6(v: number): number {
  return (v << 2) | (v >> 4);
}

/**
 * Convert `height` lines of `width` pixels, `stride` bytes apart in `src`, to RGBA8888 (alpha 255).
 * Pixel formats are little endian: 32 bpp XRGB8888 (bytes B, G, R, X), 24 bpp B, G, R,
 * 16 bpp RGB565, 15 bpp XRGB1555.
 * @public
 */
export function convertToRgba(src: Uint8Array, stride: number, width: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  let o = 0;
  for (let y = 0; y < height; y++) {
    let s = y * stride;
    for (let x = 0; x < width; x++) {
      let r: number, g: number, b: number;
      switch (bpp) {
        case 32:
        case 24:
          b = src[s]!;
          g = src[s + 1]!;
          r = src[s + 2]!;
          s += bpp === 32 ? 4 : 3;
          break;
        case 16: {
          const v = src[s]! | (src[s + 1]! << 8);
          r = expand5(v >> 11);
          g = expand6((v >> 5) & 0x3f);
          b = expand5(v & 0x1f);
          s += 2;
          break;
        }
        default: {
          const v = src[s]! | (src[s + 1]! << 8);
          r = expand5((v >> 10) & 0x1f);
          g = expand5((v >> 5) & 0x1f);
          b = expand5(v & 0x1f);
          s += 2;
          break;
        }
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
}
