/**
 * `vdtb screenshot`: boot a board with the vfb framebuffer and its driver, draw the golden test
 * pattern from a user process through an mmap of /dev/fb0, wait for a vblank and write what the
 * display shows as a PNG.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { vfb } from "../../devices/vfb/index.js";
import { vfbDriver, type VfbMemory } from "../../drivers/vfb/index.js";
import type { BoardConfig } from "../harness/board.js";
import { bootFbBench } from "../harness/fb-bench.js";
import { FbUser, drawRgba, testPattern } from "../harness/fb-user.js";
import { encodePng, pixelChecksum, snapshotOf } from "../harness/png.js";

/** Options of {@link runScreenshot}. @public */
export interface ScreenshotOptions {
  /** Board name (default "pc"). */
  readonly board?: string;
  /** Output PNG path (directories are created). */
  readonly out: string;
  readonly seed?: number;
  /** Framebuffer memory of the driver (default "vram"). */
  readonly memory?: VfbMemory;
  /** Board overrides, e.g. `{ coherent: false }`. */
  readonly overrides?: Partial<BoardConfig>;
}

/** What {@link runScreenshot} produced. @public */
export interface ScreenshotResult {
  /** Absolute path of the PNG written. */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** FNV-1a of the RGBA pixels (see `pixelChecksum`). */
  readonly checksum: string;
  /** Detector report titles raised during the run (empty when clean). */
  readonly reports: readonly string[];
}

/** Boot, draw, wait for vblank, snapshot, write the PNG. Throws when a step fails. @public */
export async function runScreenshot(options: ScreenshotOptions): Promise<ScreenshotResult> {
  const device = vfb();
  const { tb, dc, procs } = await bootFbBench({
    board: options.board ?? "pc",
    seed: options.seed ?? 1,
    ...(options.overrides ? { overrides: options.overrides } : {}),
    devices: [device],
    drivers: [vfbDriver({ memory: options.memory ?? "vram" })],
  });
  try {
    const bound = await dc.bind();
    if (bound !== 0) throw new Error(`vfb probe failed (${bound}):\n${tb.dmesg()}`);
    const p = procs.spawn("screenshot");
    const fb = await FbUser.open(p, tb.board.profile);
    const v = await fb.getVar();
    const fix = await fb.getFix();
    const map = await fb.map(fix.smem_len);
    if (map < 0) throw new Error(`mmap of /dev/fb0 failed (${map})`);
    drawRgba(p, map, v, fix.line_length, testPattern(v.xres, v.yres));
    const vs = await fb.waitVsync();
    if (vs !== 0) throw new Error(`FBIO_WAITFORVSYNC failed (${vs})`);
    const frame = snapshotOf(tb, device);
    if (!frame) throw new Error("the display shows nothing after a vblank");
    const path = resolve(options.out);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, encodePng(frame.rgba, frame.width, frame.height));
    await p.munmap(map, fix.smem_len);
    await fb.close();
    await p.exit();
    await dc.unbind();
    return { path, width: frame.width, height: frame.height, checksum: pixelChecksum(frame.rgba), reports: tb.reports().map((r) => r.title) };
  } finally {
    await tb.dispose();
  }
}
