/**
 * The sgdma driver end to end: probe on the sgdma endpoint, a user process writes a pattern
 * host→card and reads it back card→host through /dev/sgdma0, lseek semantics, errno of bad
 * pointers and positions; the testbench stays clean.
 */
import { describe, expect, it } from "vitest";
import "../../testbench/vitest/index.js";
import { Sgdma, sgdma } from "../../devices/sgdma/index.js";
import { Testbench } from "../../testbench/harness/testbench.js";
import type { BoardConfig } from "../../testbench/harness/board.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, SEEK_CUR, SEEK_END, SEEK_SET } from "../../testbench/kernel/process/uapi.js";
import { DEVICE_HOST } from "../../testbench/kernel/tokens.js";
import { sgdmaDriver, type SgdmaDriverOptions } from "./index.js";

const EFAULT = 14, EINVAL = 22, ENOSPC = 28;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function boot(board = "pc", overrides: Partial<BoardConfig> = {}, opts: SgdmaDriverOptions = {}, seed = 1) {
  const tb = await Testbench.boot({ board, seed, overrides, devices: [sgdma()], drivers: [sgdmaDriver(opts)] });
  const dev = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "sgdma")!.model as Sgdma;
  return { tb, dev };
}

async function roundTrip(tb: Testbench, dev: Sgdma, size: number, at: number, misalign = 0) {
  const p = tb.spawn("sgtest");
  const fd = await p.open("/dev/sgdma0", O_RDWR);
  expect(fd).toBeGreaterThan(0);
  const span = Math.ceil((size + misalign) / 4096) * 4096 + 4096;
  const src = (await p.mmap(0, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as number;
  const dst = (await p.mmap(0, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as number;
  const data = pattern(size, size + at);
  p.writeBytes(src + misalign, data);
  expect(await p.lseek(fd, at, SEEK_SET)).toBe(at);
  expect(await p.write(fd, src + misalign, size)).toBe(size);
  expect(Array.from(dev.card.subarray(at, at + 16))).toEqual(Array.from(data.subarray(0, 16)));
  expect(dev.card.subarray(at, at + size)).toEqual(data);
  expect(await p.lseek(fd, 0, SEEK_CUR)).toBe(at + size);
  expect(await p.lseek(fd, at, SEEK_SET)).toBe(at);
  expect(await p.read(fd, dst + misalign + 1, size)).toBe(size);
  expect(p.readBytes(dst + misalign + 1, size)).toEqual(data);
  await p.exit();
}

describe("sgdma driver", () => {
  it("probes, round-trips a pattern through the card and unbinds clean", async () => {
    const { tb, dev } = await boot();
    expect(tb.dmesg()).toMatch(/sgdma: \/dev\/sgdma0, 1024 KiB card memory/);
    await roundTrip(tb, dev, 10000, 100, 7);
    await tb.unbindAll();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("lseek, end of card memory and bad pointers", async () => {
    const { tb } = await boot();
    const p = tb.spawn();
    const fd = await p.open("/dev/sgdma0", O_RDWR);
    const buf = (await p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as number;
    expect(await p.lseek(fd, 0, SEEK_END)).toBe(1 << 20);
    expect(await p.read(fd, buf, 16)).toBe(0);
    expect(await p.write(fd, buf, 16)).toBe(-ENOSPC);
    expect(await p.lseek(fd, 1, SEEK_END)).toBe(-EINVAL);
    expect(await p.lseek(fd, -1, SEEK_SET)).toBe(-EINVAL);
    expect(await p.lseek(fd, -16, SEEK_END)).toBe((1 << 20) - 16);
    expect(await p.read(fd, buf, 100)).toBe(16);
    expect(await p.lseek(fd, 0, SEEK_CUR)).toBe(1 << 20);
    await p.lseek(fd, 0, SEEK_SET);
    expect(await p.read(fd, 0x1000, 16)).toBe(-EFAULT);
    expect(await p.write(fd, buf + 8192 * 64, 16)).toBe(-EFAULT);
    await p.exit();
    await tb.unbindAll();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("splits segments longer than maxDescLen, chains more descriptors than one adjacent block, runs the engine again when they outnumber the ring, and uses INTx when asked", async () => {
    for (const opts of [{ maxDescLen: 1000 }, { irq: "intx" as const }, { maxDescLen: 300, ringDescriptors: 64 }]) {
      for (const overrides of [{}, { iommu: true }]) {
        const { tb, dev } = await boot("pc", overrides, opts);
        await roundTrip(tb, dev, 70001, 4093, 5);
        // The last read ran as one chain of pieces no longer than maxDescLen.
        if (opts.maxDescLen === 1000) expect(dev.regs.get("C2H_COMPLETED_COUNT")).toBeGreaterThanOrEqual(Math.ceil(70001 / 1000));
        // 300-byte pieces of 70001 bytes need about 240 descriptors: the 64-slot ring ran four times.
        if (opts.ringDescriptors === 64) expect(dev.regs.get("C2H_COMPLETED_COUNT")).toBeLessThan(64);
        if (opts.irq === "intx") {
          const irq = Number(/1 vector \(irq (\d+)\)/.exec(tb.dmesg())?.[1]);
          expect(irq).toBeLessThan(256); // a legacy line, not an MSI vector
        }
        await tb.unbindAll();
        expect(tb).toBeClean();
        await tb.dispose();
      }
    }
  });

  it("declares its segment limit, so the IOMMU's merged list is one descriptor, not one per 64 KiB", async () => {
    for (const iommu of [true, false]) {
      const { tb, dev } = await boot("pc", { iommu });
      // 300 KiB at an unaligned user address: 76 pages, scattered physically by the allocator.
      await roundTrip(tb, dev, 300 * 1024, 0, 123);
      // With the IOMMU the pages are one contiguous IOVA range: one segment, one descriptor.
      // Without it every page is its own segment (pages are not physically contiguous here).
      const completed = dev.regs.get("C2H_COMPLETED_COUNT");
      if (iommu) expect(completed).toBe(1);
      else expect(completed).toBeGreaterThan(5);
      await tb.unbindAll();
      expect(tb).toBeClean();
      await tb.dispose();
    }
  });

  it("one MSI vector serves both engines", async () => {
    const tb = await Testbench.boot({ board: "arm", devices: [sgdma({ msiVectors: 1 })], drivers: [sgdmaDriver()] });
    const dev = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "sgdma")!.model as Sgdma;
    expect(tb.dmesg()).toMatch(/1 vector/);
    await roundTrip(tb, dev, 9000, 0, 3);
    await tb.unbindAll();
    expect(tb).toBeClean();
    await tb.dispose();
  });
});
