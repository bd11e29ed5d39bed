/**
 * The framebuffer class suite: any driver claiming `deviceClass: "framebuffer"` for the `vfb`
 * device must speak fbdev on `/dev/fb0` — modes at 16 and 32 bpp, panning, pixel-exact scanout
 * of what a process draws through mmap, read/write agreeing with mmap, partial munmap, one frame
 * per FBIO_WAITFORVSYNC, the errno of bad arguments — and an unbind under a live mapping must be
 * reported and leave the mapping faulting with a signal.
 *
 * Cases receive a booted testbench with the device plugged and the driver registered but not
 * bound; each binds, runs, and ends unbound. Variants pick the board's coherency: the board's
 * own, or forced non-coherent.
 */
import { pageAlignUp } from "../../../sdk/index.js";
import type { Vfb } from "../../../devices/vfb/index.js";
import { vfb } from "../../../devices/vfb/index.js";
import {
  FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC,
  FB_ACTIVATE_TEST, FB_TYPE_PACKED_PIXELS, FB_VISUAL_TRUECOLOR, decodeFbId, vfbDriver, type FbVarScreeninfo,
} from "../../../drivers/vfb/index.js";
import type { Testbench } from "../../harness/testbench.js";
import { FbUser, drawRgba, expectedRgba, firstDifference, testPattern } from "../../harness/fb-user.js";
import { pixelChecksum, snapshotOf } from "../../harness/png.js";
import type { Process } from "../../kernel/process/process.js";
import { UserSignal } from "../../kernel/process/signal.js";
import { SEEK_SET } from "../../kernel/process/uapi.js";
import { DEVICE_HOST } from "../../kernel/tokens.js";
import type { ConformanceCase, ConformanceSuite, ConformanceTarget, Variant } from "../plan.js";

const EFAULT = 14, EINVAL = 22, ENOTTY = 25, EFBIG = 27, ENOSPC = 28;

/** A framebuffer conformance failure. @public */
export class FramebufferCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FramebufferCheckError";
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new FramebufferCheckError(message);
}

function checkEq(actual: number, expected: number, what: string): void {
  check(actual === expected, `${what}: got ${actual}, expected ${expected}`);
}

/** The displayed frame must equal `expected` (RGBA), naming the first differing pixel. */
function checkFrame(tb: Testbench, dev: Vfb, width: number, height: number, expected: Uint8Array, what: string): void {
  const frame = snapshotOf(tb, dev);
  check(frame, `${what}: the display shows nothing`);
  check(frame.width === width && frame.height === height, `${what}: display is ${frame.width}x${frame.height}, expected ${width}x${height}`);
  const at = firstDifference(frame.rgba, expected);
  if (at >= 0) {
    const o = at * 4;
    const px = (b: Uint8Array) => `(${b[o]}, ${b[o + 1]}, ${b[o + 2]})`;
    throw new FramebufferCheckError(
      `${what}: pixel (${at % width}, ${Math.floor(at / width)}) is ${px(frame.rgba)}, expected ${px(expected)}; checksum ${pixelChecksum(frame.rgba)} vs ${pixelChecksum(expected)}`,
    );
  }
}

/** A bound framebuffer with a process holding /dev/fb0 open. */
interface Session {
  readonly tb: Testbench;
  readonly dev: Vfb;
  /** The device name (`0000:00:01.0`). */
  readonly name: string;
  readonly p: Process;
  readonly fb: FbUser;
  /** Unmap what the case mapped, close, exit, unbind. */
  finish(): Promise<void>;
}

/** The plugged vfb: its model and its device name (what bind/unbind take). */
function vfbDevice(tb: Testbench): { dev: Vfb; name: string } {
  const hosted = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "vfb");
  check(hosted, "no vfb device is plugged");
  return { dev: hosted.model as Vfb, name: hosted.name };
}

async function open(tb: Testbench, comm = "fbtest"): Promise<Session> {
  const { dev, name } = vfbDevice(tb);
  const r = await tb.bind(name);
  checkEq(r, 0, "probe");
  const p = tb.spawn(comm);
  const fb = await FbUser.open(p, tb.board.profile);
  return {
    tb,
    dev,
    name,
    p,
    fb,
    async finish() {
      if (p.alive) await p.exit();
      await tb.unbind(name);
    },
  };
}

/** Run `body` on a fresh session; the session always ends (unbound) even when a check fails. */
async function withSession(tb: Testbench, body: (s: Session) => Promise<void>): Promise<void> {
  const s = await open(tb);
  try {
    await body(s);
  } finally {
    await s.finish();
  }
}

async function vsync(s: Session, what: string): Promise<void> {
  checkEq(await s.fb.waitVsync(), 0, `${what}: FBIO_WAITFORVSYNC`);
}

/** A second picture, distinguishable from the test pattern everywhere. */
function inverted(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = 255 - rgba[i]!;
    out[i + 1] = 255 - rgba[i + 1]!;
    out[i + 2] = 255 - rgba[i + 2]!;
    out[i + 3] = 255;
  }
  return out;
}

/** The picture flipped left to right. */
function mirrored(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out.set(rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 4), (y * width + width - 1 - x) * 4);
  }
  return out;
}

function modeRegs(dev: Vfb): string {
  const r = dev.regs;
  return `${r.get("XRES")}x${r.get("YRES")}x${r.get("BPP")} virt ${r.get("VIRT_WIDTH")} off ${r.get("X_OFFSET")},${r.get("Y_OFFSET")} en ${r.get("ENABLE")}`;
}

// ---- cases --------------------------------------------------------------------------------

const modes: ConformanceCase<Testbench> = {
  name: "modes 16 and 32 bpp",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, p, dev } = s;
      const v0 = await fb.getVar();
      checkEq(v0.bits_per_pixel, 32, "default depth");
      checkEq(v0.xres, 640, "default xres");
      checkEq(v0.yres, 480, "default yres");
      const fix0 = await fb.getFix();
      check(decodeFbId(fix0) === "vdtb-vfb", `fix.id is "${decodeFbId(fix0)}"`);
      checkEq(fix0.type, FB_TYPE_PACKED_PIXELS, "fix.type");
      checkEq(fix0.visual, FB_VISUAL_TRUECOLOR, "fix.visual");
      check(fix0.smem_len > 0 && fix0.smem_start !== 0, "fix.smem_start/smem_len");

      // FB_ACTIVATE_TEST checks without applying.
      const tested = await fb.putVar({ ...v0, xres: 320, yres: 240, xres_virtual: 0, yres_virtual: 0, bits_per_pixel: 16, activate: FB_ACTIVATE_TEST });
      checkEq(tested.xres_virtual, 320, "FB_ACTIVATE_TEST: xres_virtual grown to xres");
      checkEq((await fb.getVar()).xres, 640, "FB_ACTIVATE_TEST left the mode");

      for (const [xres, yres, bpp] of [[800, 600, 16], [320, 200, 32], [1024, 768, 16], [640, 480, 32]] as const) {
        const what = `${xres}x${yres}x${bpp}`;
        const out = await fb.putVar({ ...v0, xres, yres, xres_virtual: xres, yres_virtual: yres, xoffset: 0, yoffset: 0, bits_per_pixel: bpp, activate: 0 });
        checkEq(out.bits_per_pixel, bpp, `${what}: bpp written back`);
        const [ro, rl, go, gl, bo, bl] = bpp === 16 ? [11, 5, 5, 6, 0, 5] : [16, 8, 8, 8, 0, 8];
        check(out.red_offset === ro && out.red_length === rl && out.green_offset === go && out.green_length === gl && out.blue_offset === bo && out.blue_length === bl,
          `${what}: colour fields R(${out.red_offset},${out.red_length}) G(${out.green_offset},${out.green_length}) B(${out.blue_offset},${out.blue_length})`);
        const v = await fb.getVar();
        check(v.xres === xres && v.yres === yres && v.bits_per_pixel === bpp, `${what}: FBIOGET_VSCREENINFO says ${v.xres}x${v.yres}x${v.bits_per_pixel}`);
        const fix = await fb.getFix();
        checkEq(fix.line_length, xres * (bpp / 8), `${what}: line_length`);
        const len = pageAlignUp(fix.line_length * yres);
        const map = await fb.map(len);
        check(map > 0, `${what}: mmap failed (${map})`);
        const pat = testPattern(xres, yres);
        drawRgba(p, map, v, fix.line_length, pat);
        await vsync(s, what);
        check(dev.regs.get("BPP") === bpp && dev.regs.get("XRES") === xres, `${what}: device registers ${modeRegs(dev)}`);
        checkFrame(tb, dev, xres, yres, expectedRgba(pat, bpp), what);
        checkEq(await p.munmap(map, len), 0, `${what}: munmap`);
      }
    });
  },
};

const panning: ConformanceCase<Testbench> = {
  name: "panning",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, p, dev } = s;
      const v0 = await fb.getVar();
      const xres = v0.xres, yres = v0.yres;
      const v = await fb.putVar({ ...v0, xres_virtual: xres + 64, yres_virtual: yres * 3, xoffset: 0, yoffset: 0, activate: 0 });
      checkEq(v.yres_virtual, yres * 3, "yres_virtual");
      const fix = await fb.getFix();
      checkEq(fix.line_length, (xres + 64) * 4, "line_length of the wider virtual screen");
      check(fix.ypanstep >= 1 && fix.xpanstep >= 1, "fix.xpanstep/ypanstep");
      const len = pageAlignUp(fix.line_length * v.yres_virtual);
      const map = await fb.map(len);
      check(map > 0, `mmap failed (${map})`);
      const a = testPattern(xres, yres);
      const b = inverted(a);
      drawRgba(p, map, v, fix.line_length, a);
      drawRgba(p, map, { ...v, yoffset: yres }, fix.line_length, b);
      const c = mirrored(a, xres, yres);
      drawRgba(p, map, { ...v, xoffset: 64, yoffset: 2 * yres }, fix.line_length, c);
      await vsync(s, "before panning");
      checkFrame(tb, dev, xres, yres, a, "offset (0, 0)");
      checkEq(await fb.pan(v, 0, yres), 0, `FBIOPAN_DISPLAY to (0, ${yres})`);
      await vsync(s, "pan down");
      checkFrame(tb, dev, xres, yres, b, `offset (0, ${yres})`);
      checkEq(await fb.pan(v, 64, 2 * yres), 0, `FBIOPAN_DISPLAY to (64, ${2 * yres})`);
      await vsync(s, "pan right");
      checkFrame(tb, dev, xres, yres, c, `offset (64, ${2 * yres})`);
      const cur = await fb.getVar();
      check(cur.xoffset === 64 && cur.yoffset === 2 * yres, `var offsets after pan: ${cur.xoffset},${cur.yoffset}`);
      for (const [x, y] of [[65, 0], [0, 2 * yres + 1], [0, 3 * yres]] as const) {
        checkEq(await fb.pan(v, x, y), -EINVAL, `FBIOPAN_DISPLAY to (${x}, ${y}) outside the virtual screen`);
      }
      await vsync(s, "after bad pans");
      checkFrame(tb, dev, xres, yres, c, "a refused pan leaves the display");
      checkEq(await fb.pan(v, 0, 0), 0, "pan back");
      await vsync(s, "pan back");
      checkFrame(tb, dev, xres, yres, a, "offset (0, 0) again");
      checkEq(await p.munmap(map, len), 0, "munmap");
    });
  },
};

const pixelExact: ConformanceCase<Testbench> = {
  name: "pixel exactness",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, p, dev } = s;
      const v = await fb.getVar();
      const fix = await fb.getFix();
      const map = await fb.map(fix.smem_len);
      check(map > 0, `mmap of the whole framebuffer failed (${map})`);
      const pat = testPattern(v.xres, v.yres);
      drawRgba(p, map, v, fix.line_length, pat);
      await vsync(s, "after drawing");
      const frame = snapshotOf(tb, dev);
      check(frame, "the display shows nothing");
      const got = pixelChecksum(frame.rgba), want = pixelChecksum(pat);
      if (got !== want) checkFrame(tb, dev, v.xres, v.yres, pat, `checksum ${got}, golden ${want}`);
      // A single changed pixel shows at the next frame, not before.
      p.store32(map + 10 * fix.line_length + 10 * 4, 0x00123456);
      const changed = pat.slice();
      changed.set([0x12, 0x34, 0x56, 255], (10 * v.xres + 10) * 4);
      await vsync(s, "after one store");
      checkFrame(tb, dev, v.xres, v.yres, changed, "one pixel changed through mmap");
      checkEq(await p.munmap(map, fix.smem_len), 0, "munmap");
    });
  },
};

const readWrite: ConformanceCase<Testbench> = {
  name: "mmap and read/write agree",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, p } = s;
      const fix = await fb.getFix();
      const total = fix.smem_len;
      const map = await fb.map(total);
      check(map > 0, `mmap failed (${map})`);
      const buf = await p.mmap(0, 3 * 4096, 3, 0x22, -1, 0);
      check(buf > 0, "anonymous buffer");
      const bytes = new Uint8Array(3 * 4096 - 100);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
      p.writeBytes(buf, bytes);
      const off = 5 * 4096 + 123;
      checkEq(await p.lseek(fb.fd, off, SEEK_SET), off, "lseek");
      checkEq(await p.write(fb.fd, buf, bytes.length), bytes.length, "write()");
      const seen = p.readBytes(map + off, bytes.length);
      check(firstDifference(seen, bytes) < 0 && seen.every((x, i) => x === bytes[i]), "bytes written with write() differ through mmap");
      // The other way: store through mmap, read() it back.
      const other = bytes.map((x) => x ^ 0x5a);
      p.writeBytes(map + 64 * 4096, other);
      checkEq(await p.lseek(fb.fd, 64 * 4096, SEEK_SET), 64 * 4096, "lseek");
      p.fill(buf, 0, bytes.length);
      checkEq(await p.read(fb.fd, buf, other.length), other.length, "read()");
      const back = p.readBytes(buf, other.length);
      check(back.every((x, i) => x === other[i]), "bytes stored through mmap differ through read()");
      // fbmem's end-of-memory rules.
      checkEq(await p.lseek(fb.fd, total - 10, SEEK_SET), total - 10, "lseek near the end");
      checkEq(await p.read(fb.fd, buf, 100), 10, "read() clipped at smem_len");
      checkEq(await p.read(fb.fd, buf, 100), 0, "read() at smem_len");
      checkEq(await p.lseek(fb.fd, total - 10, SEEK_SET), total - 10, "lseek near the end");
      checkEq(await p.write(fb.fd, buf, 100), 10, "write() clipped at smem_len");
      checkEq(await p.write(fb.fd, buf, 100), -ENOSPC, "write() at smem_len");
      checkEq(await p.lseek(fb.fd, total + 4096, SEEK_SET), total + 4096, "lseek past the end");
      checkEq(await p.write(fb.fd, buf, 100), -EFBIG, "write() past smem_len");
      checkEq(await p.read(fb.fd, buf, 100), 0, "read() past smem_len");
      checkEq(await p.lseek(fb.fd, 0, SEEK_SET), 0, "lseek");
      checkEq(await p.read(fb.fd, 0, 100), -EFAULT, "read() into NULL");
      checkEq(await p.munmap(map, total), 0, "munmap");
      checkEq(await p.munmap(buf, 3 * 4096), 0, "munmap buffer");
    });
  },
};

const partialMunmap: ConformanceCase<Testbench> = {
  name: "partial munmap",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, p } = s;
      const fix = await fb.getFix();
      const pages = 8;
      const map = await fb.map(pages * 4096);
      check(map > 0, `mmap failed (${map})`);
      for (let i = 0; i < pages; i++) p.store32(map + i * 4096, 0xa0000000 + i);
      checkEq(await p.munmap(map + 3 * 4096, 2 * 4096), 0, "munmap of pages 3-4");
      let signalled = 0;
      for (const i of [3, 4]) {
        try {
          p.load32(map + i * 4096);
        } catch (e) {
          if (e instanceof UserSignal) signalled++;
          else throw e;
        }
      }
      checkEq(signalled, 2, "loads from the unmapped middle that raised a signal");
      for (const i of [0, 1, 2, 5, 6, 7]) checkEq(p.load32(map + i * 4096) >>> 0, 0xa0000000 + i, `page ${i} after the split`);
      // An mmap at a page offset sees the same memory.
      const at = await fb.map(4096, 6);
      check(at > 0, `mmap at page offset 6 failed (${at})`);
      checkEq(p.load32(at) >>> 0, 0xa0000006, "page 6 through a second mapping at vm_pgoff 6");
      checkEq(await fb.map(4096, pageAlignUp(fix.smem_len) / 4096), -EINVAL, "mmap at the end of smem");
      checkEq(await fb.map(2 * 4096, pageAlignUp(fix.smem_len) / 4096 - 1), -EINVAL, "mmap running past smem");
      for (const [a, n] of [[map, 3], [map + 5 * 4096, 3], [at, 1]] as const) checkEq(await p.munmap(a, n * 4096), 0, "munmap of the rest");
    });
  },
};

const vblankWaits: ConformanceCase<Testbench> = {
  name: "vblank waits",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { dev } = s;
      const period = dev.vblankPeriodNs;
      for (let i = 0; i < 5; i++) {
        const before = dev.regs.get("FRAME_COUNT");
        const t0 = tb.core.now();
        await vsync(s, `wait ${i}`);
        checkEq(dev.regs.get("FRAME_COUNT"), before + 1, `FRAME_COUNT after wait ${i}`);
        const dt = tb.core.now() - t0;
        check(dt > 0 && dt <= period + 1, `wait ${i} took ${dt} ns (period ${period} ns)`);
      }
    });
  },
};

const badArguments: ConformanceCase<Testbench> = {
  name: "bad ioctl arguments",
  async run({ tb }) {
    await withSession(tb, async (s) => {
      const { fb, dev, p } = s;
      const v = await fb.getVar();
      const regs = modeRegs(dev);
      const bad: [string, Partial<FbVarScreeninfo>][] = [
        ["bpp 24", { bits_per_pixel: 24 }],
        ["bpp 8", { bits_per_pixel: 8 }],
        ["xres 63", { xres: 63 }],
        ["yres 0", { yres: 0 }],
        ["xres above the caps", { xres: 20000, xres_virtual: 20000 }],
        ["virtual size beyond the memory", { yres_virtual: 60000 }],
        ["offset outside the virtual size", { yoffset: 1 }],
      ];
      for (const [what, change] of bad) {
        const { r } = await fb.putVarRaw({ ...v, ...change, activate: 0 });
        checkEq(r, -EINVAL, `FBIOPUT_VSCREENINFO with ${what}`);
        const now = await fb.getVar();
        check(now.xres === v.xres && now.yres === v.yres && now.bits_per_pixel === v.bits_per_pixel && now.yres_virtual === v.yres_virtual,
          `${what}: the mode changed to ${now.xres}x${now.yres}x${now.bits_per_pixel}`);
        check(modeRegs(dev) === regs, `${what}: device registers changed to ${modeRegs(dev)}`);
      }
      checkEq(await fb.ioctlRaw(0x46ff), -ENOTTY, "unknown ioctl 0x46ff");
      checkEq(await fb.ioctlRaw(0x5401), -ENOTTY, "TCGETS on a framebuffer");
      for (const [name, cmd] of [["FBIOGET_VSCREENINFO", FBIOGET_VSCREENINFO], ["FBIOPUT_VSCREENINFO", FBIOPUT_VSCREENINFO], ["FBIOGET_FSCREENINFO", FBIOGET_FSCREENINFO], ["FBIOPAN_DISPLAY", FBIOPAN_DISPLAY], ["FBIO_WAITFORVSYNC", FBIO_WAITFORVSYNC]] as const) {
        checkEq(await fb.ioctlRaw(cmd, 0), -EFAULT, `${name} with a NULL pointer`);
        checkEq(await fb.ioctlRaw(cmd, fb.scratch + 4096 * 16), -EFAULT, `${name} with an unmapped pointer`);
      }
      p.store32(fb.scratch, 1);
      check((await fb.ioctlRaw(FBIO_WAITFORVSYNC)) < 0, "FBIO_WAITFORVSYNC on CRTC 1");
      check(modeRegs(dev) === regs, `device registers changed to ${modeRegs(dev)}`);
    });
  },
};

const unbindLiveMapping: ConformanceCase<Testbench> = {
  name: "unbind with a live mapping",
  expectsReports: true,
  async run({ tb }) {
    const s = await open(tb);
    const { fb, p, name } = s;
    const fix = await fb.getFix();
    const map = await fb.map(fix.smem_len);
    check(map > 0, `mmap failed (${map})`);
    p.store32(map, 0x11223344);
    await tb.unbind(name);
    const leak = tb.reports("leak").find((r) => /vma [0-9a-f]+-[0-9a-f]+ rw-s \/dev\/fb0 still mapped/.test(r.text ?? r.title));
    check(leak, `no leak report names the live /dev/fb0 mapping; reports: ${tb.reports().map((r) => r.title).join(" | ") || "none"}`);
    let signal: UserSignal | undefined;
    try {
      p.store32(map + 4096, 1);
    } catch (e) {
      if (e instanceof UserSignal) signal = e;
      else throw new FramebufferCheckError(`a store to the stale mapping threw ${String(e)} instead of a signal`);
    }
    check(signal && (signal.signal === "SIGBUS" || signal.signal === "SIGSEGV"), "a store to the mapping of an unbound device did not raise SIGBUS/SIGSEGV");
    check((await p.ioctl(fb.fd, FBIOGET_VSCREENINFO, fb.scratch)) < 0, "ioctl on an fd of an unbound device succeeded");
    await p.exit();
  },
};

/** The framebuffer suite's variants: the board's own coherency, or forced non-coherent. @public */
export const framebufferVariants: readonly Variant[] = [{ coherency: "board" }, { coherency: "non-coherent" }];

/** The framebuffer class suite. @public */
export const framebufferSuite: ConformanceSuite<Testbench> = {
  id: "framebuffer",
  deviceClass: "framebuffer",
  boards: ["pc", "arm", "pc32"],
  variants: framebufferVariants,
  overrides: (v) => (v["coherency"] === "non-coherent" ? { coherent: false } : {}),
  cases: [modes, panning, pixelExact, readWrite, partialMunmap, vblankWaits, badArguments, unbindLiveMapping],
};

/** The built-in targets: the vfb driver with its framebuffer in VRAM and in system RAM. @public */
export function framebufferTargets(): ConformanceTarget[] {
  return [
    { driver: vfbDriver({ memory: "vram" }), devices: () => [vfb()] },
    { driver: vfbDriver({ memory: "sysram", name: "vfb-sysram" }), devices: () => [vfb()] },
  ];
}
