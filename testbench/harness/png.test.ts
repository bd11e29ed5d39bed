import { describe, expect, it } from "vitest";
import { vfb } from "../../devices/vfb/index.js";
import { decodePng, encodePng, pixelChecksum, snapshotOf } from "./png.js";
import { bootFbBench } from "./fb-bench.js";

describe("png", () => {
  it("round-trips RGBA pixels exactly, alpha included", () => {
    const w = 7, h = 3;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + 11) & 0xff;
    const png = encodePng(rgba, w, h);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    const back = decodePng(png);
    expect([back.width, back.height]).toEqual([w, h]);
    expect(Buffer.from(back.rgba).equals(Buffer.from(rgba))).toBe(true);
  });

  it("refuses a buffer that does not match the size", () => {
    expect(() => encodePng(new Uint8Array(15), 2, 2)).toThrow(RangeError);
    expect(() => encodePng(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });

  it("checksums differ when one byte differs", () => {
    const a = new Uint8Array(64);
    const b = a.slice();
    b[63] = 1;
    expect(pixelChecksum(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(pixelChecksum(a)).not.toBe(pixelChecksum(b));
  });

  it("snapshotOf takes a model or a device name, and says what is wrong otherwise", async () => {
    const dev = vfb();
    const { tb } = await bootFbBench({ devices: [dev] });
    try {
      expect(snapshotOf(tb, dev)).toBeUndefined(); // display not enabled
      dev.regs.set("XRES", 64);
      dev.regs.set("YRES", 64);
      dev.regs.set("BPP", 32);
      dev.regs.set("ENABLE", 1);
      dev.vram.fill(0x80, 0, 64 * 4);
      dev.composeNow();
      const byName = snapshotOf(tb, "0000:00:01.0")!;
      expect([byName.width, byName.height]).toEqual([64, 64]);
      expect([...byName.rgba.subarray(0, 4)]).toEqual([0x80, 0x80, 0x80, 255]);
      expect(snapshotOf(tb, dev)!.rgba).toEqual(byName.rgba);
      expect(() => snapshotOf(tb, "0000:00:09.0")).toThrow(/no device named/);
    } finally {
      await tb.dispose();
    }
  });
});
