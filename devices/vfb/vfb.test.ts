import { describe, expect, it, vi } from "vitest";
import type { RegisterDefs } from "../../sdk/index.js";
import { DeviceHost } from "../../test/support/device-host.js";
import { Vfb, vfb, vfbRegisters, VfbEnable, VfbIrq, VFB_LIMITS } from "./index.js";

const VRAM = 1 << 20;
const REG = 2;
const FB = 0;
const dispi = (index: number): number => 0x500 + 2 * index;
const I = { ID: 0, XRES: 1, YRES: 2, BPP: 3, ENABLE: 4, BANK: 5, VIRT_WIDTH: 6, VIRT_HEIGHT: 7, X_OFFSET: 8, Y_OFFSET: 9, VMEM: 10 } as const;
const EXT = { ID: 0x700, SCANOUT_LO: 0x704, SCANOUT_HI: 0x708, FRAME_COUNT: 0x70c, IRQ_STATUS: 0x710, IRQ_ENABLE: 0x714 } as const;

function setup(options: { vramSize?: number; refreshHz?: number } = {}, hostOptions: ConstructorParameters<typeof DeviceHost>[1] = {}) {
  const dev = vfb({ vramSize: VRAM, ...options });
  const host = new DeviceHost(dev, { ramSize: 4 << 20, ...hostOptions });
  const wr = (index: number, value: number) => host.write(REG, dispi(index), 2, value);
  const rd = (index: number) => host.read(REG, dispi(index), 2);
  const setMode = (x: number, y: number, bpp: number, enable = VfbEnable.ENABLED | VfbEnable.LFB_ENABLED) => {
    wr(I.ENABLE, 0);
    wr(I.BPP, bpp);
    wr(I.XRES, x);
    wr(I.YRES, y);
    wr(I.ENABLE, enable);
  };
  return { dev, host, wr, rd, setMode, period: dev.vblankPeriodNs };
}

/** RGBA of pixel (x, y) of a snapshot. */
function px(frame: { width: number; rgba: Uint8Array } | undefined, x: number, y: number): number[] {
  if (!frame) throw new Error("no frame");
  const o = (y * frame.width + x) * 4;
  return Array.from(frame.rgba.subarray(o, o + 4));
}

describe("vfb: identity and reset values", () => {
  it("declares the PCI function of the spec", () => {
    const decl = vfb({ vramSize: VRAM }).describe();
    expect(decl.bus).toBe("pci");
    if (decl.bus !== "pci") return;
    expect(decl.identity).toMatchObject({ vendor: 0x1234, device: 0x1111, revision: 2, classCode: 0x038000 });
    const bar0 = decl.bars.find((b) => b.index === 0)!;
    expect(bar0).toMatchObject({ size: VRAM, space: "mem", prefetchable: true });
    expect(bar0.impl.kind).toBe("ram");
    expect(decl.bars.find((b) => b.index === 2)).toMatchObject({ size: 4096, space: "mem" });
    expect(decl.msi?.vectors).toBe(1);
    expect(decl.intxPin).toBe(1);
  });

  it("defaults to 16 MiB of VRAM and normalizes odd sizes to a power of two", () => {
    expect(new Vfb().vram.length).toBe(16 << 20);
    expect(new Vfb({ vramSize: 3 << 20 }).vram.length).toBe(4 << 20);
    expect(new Vfb({ vramSize: 1 }).vram.length).toBe(64 << 10);
  });

  it("reads every register's declared reset value through BAR2", () => {
    const { host } = setup();
    for (const name of vfbRegisters.names) {
      const def = (vfbRegisters.defs as RegisterDefs)[name]!;
      const expected = name === "VIDEO_MEMORY_64K" ? VRAM / 65536 : (def.reset ?? 0);
      expect(host.read(REG, def.offset, (def.width / 8) as 2 | 4), name).toBe(expected);
    }
    expect(host.guestErrors).toEqual([]);
  });

  it("has fixed identification words that ignore writes", () => {
    const { host, wr, rd } = setup();
    wr(I.ID, 0xb0c0);
    expect(rd(I.ID)).toBe(0xb0c5);
    host.write(REG, 0x604, 4, 0xbebebebe);
    expect(host.read(REG, 0x600, 4)).toBe(8);
    expect(host.read(REG, 0x604, 4)).toBe(0x1e1e1e1e);
    expect(host.read(REG, EXT.ID, 4)).toBe(0x56444642);
    wr(I.VMEM, 1);
    expect(rd(I.VMEM)).toBe(16);
  });

  it("treats a wrong access size or an unmapped offset as a guest error reading all ones", () => {
    const { host } = setup();
    expect(host.read(REG, dispi(I.ID), 4)).toBe(0xffffffff);
    expect(host.read(REG, EXT.FRAME_COUNT, 2)).toBe(0xffff);
    expect(host.read(REG, 0x100, 4)).toBe(0xffffffff);
    expect(host.read(REG, dispi(11), 2)).toBe(0xffff);
    expect(host.guestErrors).toHaveLength(4);
  });
});

describe("vfb: mode setting", () => {
  it("derives a valid mode from XRES/YRES/BPP/ENABLE", () => {
    const { dev, setMode, rd } = setup();
    expect(dev.currentMode()).toBeUndefined();
    setMode(320, 200, 32);
    expect(rd(I.XRES)).toBe(320);
    expect(dev.currentMode()).toMatchObject({ width: 320, height: 200, bpp: 32, bytesPerPixel: 4, stride: 1280, start: 0 });
    setMode(640, 480, 16);
    expect(dev.currentMode()).toMatchObject({ width: 640, height: 480, bpp: 16, stride: 1280 });
  });

  it("rejects modes that are too small or do not fit in VRAM", () => {
    const { dev, host, setMode, wr } = setup();
    setMode(32, 200, 32);
    expect(dev.currentMode()).toBeUndefined();
    setMode(320, 63, 32);
    expect(dev.currentMode()).toBeUndefined();
    setMode(1024, 768, 32); // 3 MiB > 1 MiB of VRAM
    expect(dev.currentMode()).toBeUndefined();
    host.clock.advance(dev.vblankPeriodNs);
    expect(dev.snapshot()).toBeUndefined();
    setMode(512, 512, 32); // exactly 1 MiB: fits
    expect(dev.currentMode()).toBeDefined();
    wr(I.Y_OFFSET, 1); // panned one line past the end
    expect(dev.currentMode()).toBeUndefined();
    setMode(320, 200, 32, 0); // not enabled
    expect(dev.currentMode()).toBeUndefined();
  });

  it("ignores out-of-range XRES/YRES and unsupported BPP writes as guest errors", () => {
    const { host, wr, rd } = setup();
    wr(I.XRES, 800);
    wr(I.XRES, 16001);
    expect(rd(I.XRES)).toBe(800);
    wr(I.YRES, 12001);
    expect(rd(I.YRES)).toBe(0);
    wr(I.BPP, 32);
    wr(I.BPP, 8);
    expect(rd(I.BPP)).toBe(32);
    wr(I.BPP, 24);
    expect(rd(I.BPP)).toBe(24);
    expect(host.guestErrors).toHaveLength(3);
  });

  it("reports the maxima while GETCAPS is set", () => {
    const { wr, rd } = setup();
    wr(I.XRES, 640);
    wr(I.YRES, 480);
    wr(I.BPP, 16);
    wr(I.ENABLE, VfbEnable.GETCAPS);
    expect([rd(I.XRES), rd(I.YRES), rd(I.BPP)]).toEqual([VFB_LIMITS.maxXres, VFB_LIMITS.maxYres, 32]);
    wr(I.ENABLE, 0);
    expect([rd(I.XRES), rd(I.YRES), rd(I.BPP)]).toEqual([640, 480, 16]);
  });

  it("computes stride from max(VIRT_WIDTH, XRES) and the start from the pan offsets", () => {
    const { dev, wr, setMode } = setup();
    setMode(64, 64, 32);
    wr(I.VIRT_WIDTH, 32); // below XRES: XRES wins
    expect(dev.currentMode()).toMatchObject({ stride: 256, start: 0 });
    wr(I.VIRT_WIDTH, 100);
    wr(I.X_OFFSET, 3);
    wr(I.Y_OFFSET, 2);
    expect(dev.currentMode()).toMatchObject({ stride: 400, start: 3 * 4 + 2 * 400, span: 400 * 63 + 64 * 4 });
  });

  it("shows the panned region in the snapshot", () => {
    const { dev, host, wr, setMode } = setup();
    setMode(64, 64, 32);
    wr(I.VIRT_WIDTH, 128);
    // Pixel (5, 7) of the virtual screen.
    host.write(FB, 7 * 512 + 5 * 4, 4, 0x00aabbcc);
    wr(I.X_OFFSET, 5);
    wr(I.Y_OFFSET, 7);
    const frame = dev.composeNow();
    expect(px(frame, 0, 0)).toEqual([0xaa, 0xbb, 0xcc, 255]);
    expect(px(frame, 1, 0)).toEqual([0, 0, 0, 255]);
  });

  it("clears VRAM when enabling without NOCLEAR, and keeps it with NOCLEAR", () => {
    const { host, wr, setMode, dev } = setup();
    host.write(FB, 0, 4, 0xdeadbeef);
    host.write(FB, VRAM - 4, 4, 0x12345678);
    setMode(64, 64, 32);
    expect(host.read(FB, 0, 4)).toBe(0);
    expect(host.read(FB, VRAM - 4, 4)).toBe(0);
    host.write(FB, 0, 4, 0xcafe);
    wr(I.ENABLE, VfbEnable.ENABLED | VfbEnable.LFB_ENABLED); // already enabled: no edge, no clear
    expect(host.read(FB, 0, 4)).toBe(0xcafe);
    wr(I.ENABLE, 0);
    wr(I.ENABLE, VfbEnable.ENABLED | VfbEnable.NOCLEAR);
    expect(host.read(FB, 0, 4)).toBe(0xcafe);
    expect(dev.vram[0]).toBe(0xfe);
  });
});

describe("vfb: vblank", () => {
  it("counts frames at 60 Hz only while enabled", () => {
    const { host, setMode, wr, period } = setup();
    expect(period).toBe(16_666_667);
    host.clock.advance(1e9);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(0);
    expect(host.clock.pending).toBe(0);
    setMode(64, 64, 32);
    host.clock.advance(1e9);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(60);
    host.clock.advance(10e9);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(660);
    wr(I.ENABLE, 0);
    expect(host.clock.pending).toBe(0);
    host.clock.advance(1e9);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(660);
  });

  it("honours the refresh option", () => {
    const { host, setMode } = setup({ refreshHz: 50 });
    setMode(64, 64, 16);
    host.clock.advance(1e9);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(50);
  });

  it("raises vector 0 when enabled and lowers it when the status is cleared (w1c)", () => {
    const { host, setMode, period } = setup();
    setMode(64, 64, 32);
    host.clock.advance(period);
    const t1 = host.clock.now();
    expect(host.read(REG, EXT.IRQ_STATUS, 4)).toBe(VfbIrq.VBLANK);
    expect(host.irqs).toEqual([]); // not enabled
    host.write(REG, EXT.IRQ_ENABLE, 4, VfbIrq.VBLANK);
    expect(host.irqs).toEqual([{ vector: 0, level: true, at: t1 }]);
    host.clock.advance(period); // still pending: no second edge
    const t2 = host.clock.now();
    expect(host.irqs).toHaveLength(1);
    host.write(REG, EXT.IRQ_STATUS, 4, 0); // writing 0 clears nothing
    expect(host.read(REG, EXT.IRQ_STATUS, 4)).toBe(VfbIrq.VBLANK);
    host.write(REG, EXT.IRQ_STATUS, 4, VfbIrq.VBLANK);
    expect(host.read(REG, EXT.IRQ_STATUS, 4)).toBe(0);
    expect(host.irqs[1]).toEqual({ vector: 0, level: false, at: t2 });
    host.clock.advance(period);
    expect(host.irqs[2]).toEqual({ vector: 0, level: true, at: 50_000_000 });
  });

  it("stops vblanks and drops the interrupt at reset", () => {
    const { dev, host, setMode, period } = setup();
    setMode(64, 64, 32);
    host.write(REG, EXT.IRQ_ENABLE, 4, 1);
    host.clock.advance(period);
    dev.reset();
    expect(host.clock.pending).toBe(0);
    expect(host.irqs.at(-1)?.level).toBe(false);
    expect(host.read(REG, EXT.FRAME_COUNT, 4)).toBe(0);
    expect(dev.snapshot()).toBeUndefined();
  });
});

describe("vfb: scanout", () => {
  it("converts 32 bpp XRGB8888 to RGBA", () => {
    const { dev, host, setMode, period } = setup();
    setMode(64, 64, 32);
    host.write(FB, 0, 4, 0xff112233); // X byte is ignored
    host.write(FB, (2 * 64 + 1) * 4, 4, 0x00ff0000);
    expect(dev.snapshot()).toBeUndefined(); // nothing composed yet
    host.clock.advance(period);
    const f = dev.snapshot()!;
    expect([f.width, f.height, f.rgba.length]).toEqual([64, 64, 64 * 64 * 4]);
    expect(px(f, 0, 0)).toEqual([0x11, 0x22, 0x33, 255]);
    expect(px(f, 1, 2)).toEqual([255, 0, 0, 255]);
    expect(px(f, 63, 63)).toEqual([0, 0, 0, 255]);
  });

  it("converts 16 bpp RGB565 to RGBA", () => {
    const { dev, host, setMode } = setup();
    setMode(64, 64, 16);
    const words = [0xf800, 0x07e0, 0x001f, 0xffff, 0x8410];
    words.forEach((w, i) => host.write(FB, i * 2, 2, w));
    const f = dev.composeNow();
    expect(px(f, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(f, 1, 0)).toEqual([0, 255, 0, 255]);
    expect(px(f, 2, 0)).toEqual([0, 0, 255, 255]);
    expect(px(f, 3, 0)).toEqual([255, 255, 255, 255]);
    expect(px(f, 4, 0)).toEqual([0x84, 0x82, 0x84, 255]);
  });

  it("converts the optional 15 and 24 bpp formats", () => {
    const { dev, host, setMode } = setup();
    setMode(64, 64, 15);
    host.write(FB, 0, 2, 0x7c00);
    host.write(FB, 2, 2, 0x03e0);
    let f = dev.composeNow();
    expect(px(f, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(f, 1, 0)).toEqual([0, 255, 0, 255]);
    setMode(64, 64, 24, VfbEnable.ENABLED | VfbEnable.NOCLEAR);
    host.write(FB, 0, 4, 0x00445566); // bytes 66 55 44 00 → pixel 0 B=66 G=55 R=44
    f = dev.composeNow();
    expect(px(f, 0, 0)).toEqual([0x44, 0x55, 0x66, 255]);
    expect(f?.width).toBe(64);
  });

  it("keeps showing the frame of the last vblank until the next one", () => {
    const { dev, host, setMode, period } = setup();
    setMode(64, 64, 32);
    host.write(FB, 0, 4, 0x000000ff);
    host.clock.advance(period);
    host.write(FB, 0, 4, 0x0000ff00);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 0, 255, 255]);
    host.clock.advance(period);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 255, 0, 255]);
  });

  it("returns a fresh array from each snapshot", () => {
    const { dev, setMode } = setup();
    setMode(64, 64, 32);
    const a = dev.composeNow()!;
    a.rgba.fill(7);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 0, 0, 255]);
  });

  it("scans out from system RAM via SCANOUT with one DMA read per frame, showing stale pixels until the next vblank", () => {
    const { dev, host, setMode, wr, period } = setup();
    const spy = vi.spyOn(host.ctx.dma, "read");
    const base = 0x200000;
    setMode(64, 64, 32);
    wr(I.VIRT_WIDTH, 80);
    wr(I.Y_OFFSET, 1);
    const stride = 80 * 4;
    const put = (x: number, y: number, xrgb: number) => new DataView(host.ram.buffer).setUint32(base + y * stride + x * 4, xrgb, true);
    put(0, 1, 0x00102030); // first visible pixel (line 1 because of Y_OFFSET)
    put(63, 64, 0x00405060); // last visible pixel
    host.write(FB, stride, 4, 0x00ffffff); // VRAM differs
    host.write(REG, EXT.SCANOUT_LO, 4, base);
    host.clock.advance(period);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toBe(base + stride);
    expect(spy.mock.calls[0]![1].length).toBe(stride * 63 + 64 * 4);
    let f = dev.snapshot();
    expect(px(f, 0, 0)).toEqual([0x10, 0x20, 0x30, 255]);
    expect(px(f, 63, 63)).toEqual([0x40, 0x50, 0x60, 255]);
    // The driver draws after the frame was composed: stale until the next vblank.
    put(0, 1, 0x00aaaaaa);
    f = dev.snapshot();
    expect(px(f, 0, 0)).toEqual([0x10, 0x20, 0x30, 255]);
    host.clock.advance(period);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0xaa, 0xaa, 0xaa, 255]);
    // Back to VRAM.
    host.write(REG, EXT.SCANOUT_LO, 4, 0);
    host.clock.advance(period);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(px(dev.snapshot(), 0, 0)).toEqual([255, 255, 255, 255]);
  });

  it("uses SCANOUT_HI as the upper half of the bus address", () => {
    const { host, setMode, period } = setup();
    const spy = vi.spyOn(host.ctx.dma, "read");
    setMode(64, 64, 32);
    host.write(REG, EXT.SCANOUT_HI, 4, 1);
    host.clock.advance(period);
    expect(spy.mock.calls[0]![0]).toBe(2 ** 32);
    expect(host.guestErrors).toHaveLength(1); // beyond the host's RAM: master abort
    expect(host.read(REG, EXT.IRQ_STATUS, 4) & VfbIrq.SCANOUT_ERROR).toBe(VfbIrq.SCANOUT_ERROR);
  });

  it("keeps the previous frame and flags SCANOUT_ERROR when the scanout DMA fails", () => {
    const { dev, host, setMode, period } = setup();
    setMode(64, 64, 32);
    host.ram[0x100000] = 0x99; // blue of pixel 0
    host.write(REG, EXT.SCANOUT_LO, 4, 0x100000);
    host.write(REG, EXT.IRQ_ENABLE, 4, VfbIrq.SCANOUT_ERROR);
    host.clock.advance(period);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 0, 0x99, 255]);
    host.busMaster = false;
    host.ram[0x100000] = 0x11;
    host.clock.advance(3 * period);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 0, 0x99, 255]);
    expect(host.read(REG, EXT.IRQ_STATUS, 4)).toBe(VfbIrq.VBLANK | VfbIrq.SCANOUT_ERROR);
    expect(host.irqs).toEqual([{ vector: 0, level: true, at: 33_333_333 }]);
    expect(host.guestErrors).toHaveLength(1); // logged once per failure streak
    host.busMaster = true;
    host.clock.advance(period);
    expect(px(dev.snapshot(), 0, 0)).toEqual([0, 0, 0x11, 255]);
  });

  it("drops the frame when the display is disabled", () => {
    const { dev, setMode, wr } = setup();
    setMode(64, 64, 32);
    expect(dev.composeNow()).toBeDefined();
    wr(I.ENABLE, 0);
    expect(dev.snapshot()).toBeUndefined();
    expect(dev.composeNow()).toBeUndefined();
  });
});

describe("vfb: randomized register traffic", () => {
  it("never throws, keeps snapshots consistent, and leaves no clock events once disabled", () => {
    let x = 0x1234567;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const { dev, host, wr, period } = setup({ vramSize: 1 << 20 }, { ramSize: 2 << 20 });
    const offsets = vfbRegisters.names.map((n) => (vfbRegisters.defs as RegisterDefs)[n]!.offset);
    const sizes = [1, 2, 2, 4, 4, 8] as const;
    for (let i = 0; i < host.ram.length; i += 97) host.ram[i] = rnd(256);
    let frames = 0;
    for (let step = 0; step < 5000; step++) {
      const op = rnd(10);
      if (op < 4) {
        const off = rnd(8) === 0 ? rnd(0x1000) : offsets[rnd(offsets.length)]!;
        host.write(REG, off, sizes[rnd(sizes.length)]!, rnd(4) === 0 ? rnd(2 ** 32) : rnd(1024));
      } else if (op < 6) {
        host.read(REG, rnd(8) === 0 ? rnd(0x1000) : offsets[rnd(offsets.length)]!, sizes[rnd(sizes.length)]!);
      } else if (op < 7) {
        // A plausible mode.
        wr(I.BPP, [15, 16, 24, 32][rnd(4)]!);
        wr(I.XRES, 32 + rnd(600));
        wr(I.YRES, 32 + rnd(600));
        wr(I.VIRT_WIDTH, rnd(2) ? 0 : rnd(800));
        wr(I.X_OFFSET, rnd(4) ? 0 : rnd(64));
        wr(I.Y_OFFSET, rnd(4) ? 0 : rnd(64));
        wr(I.ENABLE, rnd(4) === 0 ? 0 : VfbEnable.ENABLED | (rnd(2) ? VfbEnable.NOCLEAR : 0));
      } else if (op < 8) {
        host.write(REG, EXT.SCANOUT_LO, 4, rnd(3) === 0 ? 0 : rnd(4 << 20));
      } else if (op < 9) {
        host.clock.advance(rnd(3 * period));
      } else {
        host.busMaster = rnd(4) !== 0;
        const f = dev.snapshot();
        if (f) {
          frames++;
          expect(f.rgba.length).toBe(f.width * f.height * 4);
          expect(f.width).toBeGreaterThanOrEqual(64);
        }
      }
    }
    expect(frames).toBeGreaterThan(5); // the traffic does reach valid, composed modes
    wr(I.ENABLE, 0);
    expect(host.clock.runAll(1000)).toBe(0);
    expect(host.clock.pending).toBe(0);
  });
});
