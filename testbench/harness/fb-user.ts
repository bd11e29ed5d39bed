/**
 * The user side of an fbdev framebuffer, as a test program would write it: screeninfo ioctls
 * through a scratch page of the process, drawing through an mmap of `/dev/fb0`, and the golden
 * test pattern (colour bars, a grey gradient, a one-pixel border) with the RGBA the display must
 * show for it at 16 and 32 bpp.
 * @internal
 */
import type { ProfileName } from "./board.js";
import type { Process } from "../kernel/process/process.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../kernel/process/uapi.js";
import {
  FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC, fbFixLayout,
  fbVarScreeninfo, type FbFixScreeninfo, type FbVarScreeninfo,
} from "../../drivers/vfb/index.js";

/** A user-visible failure of an fbdev call: the errno and what was called. @internal */
export class FbCallError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} failed: ${errno}`);
    this.name = "FbCallError";
  }
}

/** An open framebuffer in a process. @internal */
export class FbUser {
  private constructor(
    readonly p: Process,
    readonly fd: number,
    /** A page of the process for ioctl arguments. */
    readonly scratch: number,
    readonly longBits: 32 | 64,
  ) {}

  /** Open `path` (default /dev/fb0) read-write in `p`. */
  static async open(p: Process, profile: ProfileName, path = "/dev/fb0"): Promise<FbUser> {
    const fd = await p.open(path, 2);
    if (fd < 0) throw new FbCallError(`open(${path})`, fd);
    const scratch = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch < 0) throw new FbCallError("mmap(scratch)", scratch);
    return new FbUser(p, fd, scratch, profile === "x86_64" ? 64 : 32);
  }

  /** ioctl with the scratch page as argument; returns the raw result. */
  async ioctlRaw(cmd: number, arg: number = this.scratch): Promise<number> {
    return this.p.ioctl(this.fd, cmd, arg);
  }

  async getVar(): Promise<FbVarScreeninfo> {
    const r = await this.ioctlRaw(FBIOGET_VSCREENINFO);
    if (r !== 0) throw new FbCallError("FBIOGET_VSCREENINFO", r);
    return fbVarScreeninfo.decode(this.p.readBytes(this.scratch, fbVarScreeninfo.size));
  }

  /** FBIOPUT_VSCREENINFO: the result and the var the driver wrote back (or the one sent on failure). */
  async putVarRaw(v: FbVarScreeninfo): Promise<{ r: number; v: FbVarScreeninfo }> {
    this.p.writeBytes(this.scratch, fbVarScreeninfo.encode(v));
    const r = await this.ioctlRaw(FBIOPUT_VSCREENINFO);
    return { r, v: fbVarScreeninfo.decode(this.p.readBytes(this.scratch, fbVarScreeninfo.size)) };
  }

  async putVar(v: FbVarScreeninfo): Promise<FbVarScreeninfo> {
    const { r, v: out } = await this.putVarRaw(v);
    if (r !== 0) throw new FbCallError("FBIOPUT_VSCREENINFO", r);
    return out;
  }

  async getFix(): Promise<FbFixScreeninfo> {
    const r = await this.ioctlRaw(FBIOGET_FSCREENINFO);
    if (r !== 0) throw new FbCallError("FBIOGET_FSCREENINFO", r);
    const layout = fbFixLayout(this.longBits);
    return layout.decode(this.p.readBytes(this.scratch, layout.size));
  }

  /** FBIOPAN_DISPLAY with the current var moved to (x, y); returns the raw result. */
  async pan(v: FbVarScreeninfo, xoffset: number, yoffset: number): Promise<number> {
    this.p.writeBytes(this.scratch, fbVarScreeninfo.encode({ ...v, xoffset, yoffset }));
    return this.ioctlRaw(FBIOPAN_DISPLAY);
  }

  /** FBIO_WAITFORVSYNC on CRTC 0; returns the raw result. */
  async waitVsync(): Promise<number> {
    this.p.store32(this.scratch, 0);
    return this.ioctlRaw(FBIO_WAITFORVSYNC);
  }

  /** mmap `length` bytes of the framebuffer (shared, read-write) at page offset `pgoff`. */
  async map(length: number, pgoff = 0): Promise<number> {
    return this.p.mmap(0, length, PROT_READ | PROT_WRITE, 0x01, this.fd, pgoff * 4096);
  }

  async close(): Promise<void> {
    await this.p.munmap(this.scratch, 4096);
    await this.p.close(this.fd);
  }
}

// ---- the golden pattern -------------------------------------------------------------------

const BARS: readonly (readonly [number, number, number])[] = [
  [255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0],
];
const BORDER: readonly [number, number, number] = [255, 128, 0];

/**
 * The test pattern as RGBA: a one-pixel orange border; inside, eight colour bars over the top
 * two thirds and a horizontal grey gradient (with a faint vertical blue ramp) below.
 * @internal
 */
export function testPattern(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  const barsEnd = Math.floor((height * 2) / 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c: readonly [number, number, number];
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) c = BORDER;
      else if (y < barsEnd) c = BARS[Math.min(7, Math.floor((x * 8) / width))]!;
      else {
        const g = Math.round((x * 255) / (width - 1));
        c = [g, g, Math.min(255, g + Math.floor(((y - barsEnd) * 64) / Math.max(1, height - barsEnd)))];
      }
      const o = (y * width + x) * 4;
      out[o] = c[0];
      out[o + 1] = c[1];
      out[o + 2] = c[2];
      out[o + 3] = 255;
    }
  }
  return out;
}

/** Encode one RGBA pixel row into the framebuffer format (XRGB8888 or RGB565, little endian). @internal */
export function encodeRow(rgba: Uint8Array, y: number, width: number, bpp: 16 | 32): Uint8Array {
  const out = new Uint8Array(width * (bpp / 8));
  let s = y * width * 4;
  for (let x = 0; x < width; x++, s += 4) {
    const r = rgba[s]!, g = rgba[s + 1]!, b = rgba[s + 2]!;
    if (bpp === 32) {
      out[x * 4] = b;
      out[x * 4 + 1] = g;
      out[x * 4 + 2] = r;
      out[x * 4 + 3] = 0;
    } else {
      const v = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
      out[x * 2] = v & 0xff;
      out[x * 2 + 1] = v >> 8;
    }
  }
  return out;
}

/** What the display shows for `rgba` stored at `bpp`: exact at 32, channels widened back from 5/6/5 bits at 16. @internal */
export function expectedRgba(rgba: Uint8Array, bpp: 16 | 32): Uint8Array {
  if (bpp === 32) return rgba;
  const out = new Uint8Array(rgba.length);
  const widen = (v: number, bits: number) => (v << (8 - bits)) | (v >> (2 * bits - 8));
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = widen(rgba[i]! >> 3, 5);
    out[i + 1] = widen(rgba[i + 1]! >> 2, 6);
    out[i + 2] = widen(rgba[i + 2]! >> 3, 5);
    out[i + 3] = 255;
  }
  return out;
}

/**
 * Draw `rgba` (width × height of the visible mode) through the mapping at `base`, one bulk user
 * store per line, at the visible origin (xoffset, yoffset) of the virtual screen.
 * @internal
 */
export function drawRgba(p: Process, base: number, v: FbVarScreeninfo, lineLength: number, rgba: Uint8Array): void {
  const bpp = v.bits_per_pixel as 16 | 32;
  const origin = base + v.yoffset * lineLength + v.xoffset * (bpp / 8);
  for (let y = 0; y < v.yres; y++) p.writeBytes(origin + y * lineLength, encodeRow(rgba, y, v.xres, bpp));
}

/** The first pixel where two RGBA buffers differ, or -1. @internal */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i >> 2;
  return -1;
}
