import { describe, expect, it } from "vitest";
import "../../testbench/vitest/index.js";
import { vfb } from "../../devices/vfb/index.js";
import { EFAULT, EINVAL, SEEK_CUR, SEEK_SET } from "../../sdk/index.js";
import { bootFbBench } from "../../testbench/harness/fb-bench.js";
import { FbUser } from "../../testbench/harness/fb-user.js";
import {
  FBIO_WAITFORVSYNC, decodeFbId, encodeFbId, fbCheckPan, fbCheckVar, fbDefaultVar, fbFixLayout, fbFixScreeninfo32,
  fbFixScreeninfo64, fbVarScreeninfo, vfbDriver,
} from "./index.js";

describe("fbdev ABI", () => {
  it("has the sizes and offsets of include/uapi/linux/fb.h", () => {
    expect(fbVarScreeninfo.size).toBe(160);
    expect(fbVarScreeninfo.offsets.bits_per_pixel).toBe(24);
    expect(fbVarScreeninfo.offsets.activate).toBe(84);
    expect(fbVarScreeninfo.offsets.colorspace).toBe(140);
    expect(fbFixScreeninfo64.size).toBe(80);
    expect(fbFixScreeninfo64.offsets.line_length).toBe(48);
    expect(fbFixScreeninfo64.offsets.mmio_start).toBe(56);
    expect(fbFixScreeninfo32.size).toBe(68);
    expect(fbFixScreeninfo32.offsets.line_length).toBe(44);
    expect(fbFixScreeninfo32.offsets.capabilities).toBe(60);
    expect(fbFixLayout(32)).toBe(fbFixScreeninfo32);
    expect(FBIO_WAITFORVSYNC).toBe(0x40044620);
  });

  it("packs the id NUL-padded and truncates at 15 characters", () => {
    expect(decodeFbId(encodeFbId("vdtb-vfb"))).toBe("vdtb-vfb");
    expect(decodeFbId(encodeFbId("0123456789abcdefXYZ"))).toBe("0123456789abcde");
    expect(encodeFbId("AB").id_0).toBe(0x4241);
  });
});

describe("check_var", () => {
  const lim = { maxXres: 16000, maxYres: 12000, memory: 4 << 20 };
  const base = fbDefaultVar(640, 480, 32);

  it("grows the virtual size, fills the colour fields, keeps the rest", () => {
    const v = fbCheckVar({ ...base, xres_virtual: 0, yres_virtual: 100, bits_per_pixel: 16, pixclock: 39721 }, lim);
    expect(v).toMatchObject({ xres_virtual: 640, yres_virtual: 480, red_offset: 11, green_length: 6, pixclock: 39721 });
  });

  it("refuses what the device cannot show", () => {
    for (const bad of [{ bits_per_pixel: 24 }, { xres: 63 }, { yres: 12001 }, { yres_virtual: 2000 }, { xoffset: 1 }, { xres_virtual: 70000 }]) {
      expect(fbCheckVar({ ...base, ...bad }, lim)).toBe(-EINVAL);
    }
    // 640 × 4 × 1638 = 4 193 280 bytes fits in 4 MiB; one more line does not.
    expect(typeof fbCheckVar({ ...base, yres_virtual: 1638 }, lim)).toBe("object");
    expect(fbCheckVar({ ...base, yres_virtual: 1639 }, lim)).toBe(-EINVAL);
  });

  it("pans inside the virtual screen only", () => {
    const v = { ...base, xres_virtual: 700, yres_virtual: 960 };
    expect(fbCheckPan(v, 60, 480)).toBe(true);
    expect(fbCheckPan(v, 61, 0)).toBe(false);
    expect(fbCheckPan(v, 0, 481)).toBe(false);
  });
});

describe("vfb driver binding", () => {
  for (const [board, memory] of [["pc", "vram"], ["pc", "sysram"], ["arm", "vram"], ["arm", "sysram"]] as const) {
    it(`${board} ${memory}: every injected probe failure returns an errno and leaves the testbench clean`, async () => {
      const dev = vfb();
      const { tb, dc } = await bootFbBench({ board, devices: [dev], drivers: [vfbDriver({ memory })] });
      try {
        let n = 1;
        for (;; n++) {
          tb.core.faults.arm({ nth: n, driver: "vfb" });
          const r = await dc.bind();
          const injected = tb.core.faults.injected.length;
          tb.core.faults.disarm();
          if (injected === 0) {
            expect(r).toBe(0);
            break;
          }
          expect(r, `failure ${n}`).toBeLessThan(0);
          expect(tb, `after failure ${n}`).toBeClean();
          expect(dev.regs.get("ENABLE") & 1, `display left on after failure ${n}`).toBe(0);
          expect(dev.regs.get("IRQ_ENABLE"), `IRQs left on after failure ${n}`).toBe(0);
        }
        expect(n).toBeGreaterThan(5);
        await dc.unbind();
        for (let i = 0; i < 3; i++) {
          expect(await dc.bind()).toBe(0);
          await dc.unbind();
        }
        expect(tb).toBeClean();
      } finally {
        await tb.dispose();
      }
    });
  }

  it("a second vfb gets -EBUSY for /dev/fb0 and leaves nothing behind", async () => {
    const { tb, dc } = await bootFbBench({ devices: [vfb(), vfb()], drivers: [vfbDriver()] });
    try {
      expect(await dc.bind()).toBe(-16);
      expect(dc.boundDevices()).toHaveLength(1);
      await dc.unbind();
      expect(tb).toBeClean();
    } finally {
      await tb.dispose();
    }
  });

  for (const memory of ["vram", "sysram"] as const) {
    it(`${memory}: read and write stop at a user fault, return the bytes copied and advance f_pos by them`, async () => {
      const { tb, dc, procs } = await bootFbBench({ devices: [vfb()], drivers: [vfbDriver({ memory })] });
      try {
        expect(await dc.bind()).toBe(0);
        const p = procs.spawn("t");
        const fb = await FbUser.open(p, tb.board.profile);
        const buf = await p.mmap(0, 2 * 4096, 3, 0x22, -1, 0);
        expect(await p.munmap(buf + 4096, 4096)).toBe(0);
        const edge = buf + 4096 - 100; // 100 mapped bytes, then the hole
        p.fill(edge, 0x3c, 100);
        expect(await p.lseek(fb.fd, 8192, SEEK_SET)).toBe(8192);
        expect(await p.write(fb.fd, edge, 300)).toBe(100);
        expect(await p.lseek(fb.fd, 0, SEEK_CUR)).toBe(8192 + 100);
        expect(await p.lseek(fb.fd, 8192 - 50, SEEK_SET)).toBe(8192 - 50);
        p.fill(edge, 0, 100);
        expect(await p.read(fb.fd, edge, 300)).toBe(100);
        expect(await p.lseek(fb.fd, 0, SEEK_CUR)).toBe(8192 + 50);
        expect(Array.from(p.readBytes(edge + 45, 10))).toEqual([0, 0, 0, 0, 0, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c]);
        expect(await p.read(fb.fd, buf + 4096, 10)).toBe(-EFAULT);
        expect(await p.lseek(fb.fd, 0, SEEK_CUR)).toBe(8192 + 50);
        await p.exit();
        await dc.unbind();
        expect(tb).toBeClean();
      } finally {
        await tb.dispose();
      }
    });
  }

  it("reports the 32-bit fb_fix_screeninfo on a 32-bit board", async () => {
    const { tb, dc, procs } = await bootFbBench({ board: "pc32", devices: [vfb()], drivers: [vfbDriver()] });
    try {
      expect(await dc.bind()).toBe(0);
      const p = procs.spawn("t");
      const fb = await FbUser.open(p, tb.board.profile);
      const fix = await fb.getFix();
      expect(decodeFbId(fix)).toBe("vdtb-vfb");
      expect(fix.line_length).toBe(2560);
      expect(fix.smem_len).toBe(16 << 20);
      expect(fix.mmio_len).toBe(4096);
      await p.exit();
      await dc.unbind();
      expect(tb).toBeClean();
    } finally {
      await tb.dispose();
    }
  });
});
