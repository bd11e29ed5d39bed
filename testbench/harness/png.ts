/**
 * Pictures of the simulated display: PNG encoding of RGBA pixels, and the snapshot of a device
 * that can show a frame (any model with a `snapshot()` returning RGBA, such as `vfb`).
 */
import { PNG } from "pngjs";
import type { VirtualDevice } from "../../sdk/index.js";
import { DEVICE_HOST } from "../kernel/tokens.js";
import type { Testbench } from "./testbench.js";

/** An RGBA8888 picture (alpha last). @public */
export interface RgbaFrame {
  readonly width: number;
  readonly height: number;
  /** width · height · 4 bytes. */
  readonly rgba: Uint8Array;
}

/** A device model that can show its visible frame. @public */
export interface SnapshotSource {
  snapshot(): RgbaFrame | undefined;
}

/**
 * Encode RGBA8888 pixels as a PNG (8-bit RGBA, no interlace). Throws a RangeError when the
 * buffer does not hold width · height pixels.
 * @public
 */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`bad PNG size ${width}x${height}`);
  if (rgba.length !== width * height * 4) throw new RangeError(`${rgba.length} bytes of RGBA for ${width}x${height} (expected ${width * height * 4})`);
  const png = new PNG({ width, height, colorType: 6, inputColorType: 6, bitDepth: 8, inputHasAlpha: true });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType: 6, inputColorType: 6, inputHasAlpha: true });
}

/** Decode a PNG to RGBA8888 (any colour type pngjs reads). @public */
export function decodePng(png: Uint8Array): RgbaFrame {
  const img = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  return { width: img.width, height: img.height, rgba: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
}

function isSnapshotSource(m: unknown): m is SnapshotSource {
  return typeof m === "object" && m !== null && typeof (m as { snapshot?: unknown }).snapshot === "function";
}

/**
 * The frame `device` shows now (its last composed frame), by model or by device name
 * (`0000:00:01.0`). Undefined when the display shows nothing (no valid mode, nothing composed
 * yet). Throws a RangeError for an unknown name or a device that cannot show frames.
 * @public
 */
export function snapshotOf(tb: Testbench, device: VirtualDevice | SnapshotSource | string): RgbaFrame | undefined {
  let model: unknown = device;
  if (typeof device === "string") {
    const c = tb.container;
    const hosted = c.isRegistered(DEVICE_HOST, true) ? c.resolve(DEVICE_HOST).find(device) : undefined;
    if (!hosted) throw new RangeError(`no device named ${device}`);
    model = hosted.model;
  }
  if (!isSnapshotSource(model)) throw new RangeError(`device ${typeof device === "string" ? device : (device as { model?: string }).model ?? "?"} has no snapshot()`);
  return model.snapshot();
}

/** FNV-1a over the RGBA bytes: a short, stable pixel checksum (8 hex digits). @public */
export function pixelChecksum(rgba: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < rgba.length; i++) h = Math.imul(h ^ rgba[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
