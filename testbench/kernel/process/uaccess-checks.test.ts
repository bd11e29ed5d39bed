/**
 * copy_to_user / copy_from_user apply the checks k.mem applies to the kernel side: KASAN
 * (out-of-bounds, use-after-free) and the DMA CPU-ownership watch, naming the driver's line.
 */
import { describe, expect, it } from "vitest";
import "../../vitest/index.js";
import type { FileOperations, Kernel, KernelVA, PciDev } from "../../../sdk/index.js";
import { DMA_FROM_DEVICE, DMA_TO_DEVICE, GFP_KERNEL, MISC_DYNAMIC_MINOR } from "../../../sdk/index.js";
import { sgdma } from "../../../devices/sgdma/index.js";
import { Testbench } from "../../harness/testbench.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE } from "./uapi.js";

type Op = (k: Kernel, ubuf: number, count: number) => number;

/** A misc device whose write/read run `onWrite`/`onRead` with the user buffer. */
async function withMisc(onWrite: Op, onRead: Op, body: (tb: Testbench, k: Kernel, dev: PciDev, io: { write(n: number): Promise<number>; read(n: number): Promise<number> }) => Promise<void>) {
  const tb = await Testbench.boot({ devices: [sgdma()], drivers: [] });
  const host = tb.drivers.devices()[0]!;
  const k = tb.facade({ driver: "uacc", device: host.name });
  const fops: FileOperations = {
    write: (k, _f, ubuf, count) => onWrite(k, ubuf, count),
    read: (k, _f, ubuf, count) => onRead(k, ubuf, count),
  };
  const misc = { minor: MISC_DYNAMIC_MINOR, name: "uacc", fops };
  expect(k.misc_register(misc)).toBe(0);
  const p = tb.spawn("uacc");
  const fd = await p.open("/dev/uacc", O_RDWR);
  expect(fd).toBeGreaterThan(0);
  const ubuf = (await p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as number;
  p.writeBytes(ubuf, new Uint8Array(8192).fill(0x33));
  await body(tb, k, host.dev as PciDev, { write: (n) => p.write(fd, ubuf, n), read: (n) => p.read(fd, ubuf, n) });
  await p.exit();
  k.misc_deregister(misc);
  await tb.dispose();
}

describe("uaccess kernel-side checks", () => {
  it("copy_from_user past the end of a kmalloc'd buffer: KASAN slab-out-of-bounds naming the driver line", async () => {
    let buf = 0 as KernelVA;
    await withMisc(
      function overflowing_write(k, ubuf, count) {
        buf = k.kmalloc(100, GFP_KERNEL)!;
        const left = k.copy_from_user(buf, ubuf as never, count); // copies count (128) into 100 bytes
        k.kfree(buf);
        return left === 0 ? count : -14;
      },
      () => 0,
      async (tb, _k, _dev, io) => {
        expect(await io.write(128)).toBe(128);
        const r = tb.reports("kasan");
        expect(r.map((x) => x.title)).toEqual(["BUG: KASAN: slab-out-of-bounds in overflowing_write"]);
        expect(r[0]!.text).toMatch(/Write of size 128 at addr/);
        expect(r[0]!.stack![0]).toMatch(/uaccess-checks\.test\.ts/);
        expect(r[0]!.text).toContain("The buggy address belongs to the object at");
      },
    );
  });

  it("copy_to_user from a freed buffer: KASAN slab-use-after-free", async () => {
    await withMisc(
      () => 0,
      function stale_read(k, ubuf, count) {
        const buf = k.kmalloc(64, GFP_KERNEL)!;
        k.kfree(buf);
        return k.copy_to_user(ubuf as never, buf, Math.min(count, 64)) === 0 ? Math.min(count, 64) : -14;
      },
      async (tb, _k, _dev, io) => {
        expect(await io.read(32)).toBe(32);
        expect(tb.reports("kasan").map((x) => x.title)).toEqual(["BUG: KASAN: slab-use-after-free in stale_read"]);
        expect(tb.reports("kasan")[0]!.text).toMatch(/Read of size 32 at addr/);
      },
    );
  });

  it("copy_from_user into a freed buffer: KASAN slab-use-after-free", async () => {
    await withMisc(
      function late_write(k, ubuf, count) {
        const buf = k.kmalloc(64, GFP_KERNEL)!;
        k.kfree(buf);
        return k.copy_from_user(buf, ubuf as never, Math.min(count, 64)) === 0 ? Math.min(count, 64) : -14;
      },
      () => 0,
      async (tb, _k, _dev, io) => {
        expect(await io.write(16)).toBe(16);
        expect(tb.reports("kasan").map((x) => x.title)).toEqual(["BUG: KASAN: slab-use-after-free in late_write"]);
      },
    );
  });

  it("copy_from_user into a dma_map_single'd buffer the device owns: dma-cpu-ownership", async () => {
    let dev!: PciDev;
    await withMisc(
      function write_while_mapped(k, ubuf, count) {
        const buf = k.kmalloc(256, GFP_KERNEL)!;
        const h = k.dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
        if (k.dma_mapping_error(dev, h)) return -12;
        const left = k.copy_from_user(buf, ubuf as never, Math.min(count, 256)); // should be before the map
        k.dma_unmap_single(dev, h, 256, DMA_TO_DEVICE);
        k.kfree(buf);
        return left === 0 ? Math.min(count, 256) : -14;
      },
      function read_before_sync(k, ubuf, count) {
        const buf = k.kzalloc(256, GFP_KERNEL)!;
        const h = k.dma_map_single(dev, buf, 256, DMA_FROM_DEVICE);
        if (k.dma_mapping_error(dev, h)) return -12;
        const left = k.copy_to_user(ubuf as never, buf, Math.min(count, 256)); // missing sync_for_cpu
        k.dma_unmap_single(dev, h, 256, DMA_FROM_DEVICE);
        k.kfree(buf);
        return left === 0 ? Math.min(count, 256) : -14;
      },
      async (tb, _k, d, io) => {
        dev = d;
        expect(await io.write(64)).toBe(64);
        const w = tb.reports("dma-cpu-ownership");
        expect(w).toHaveLength(1);
        expect(w[0]!.title).toMatch(/CPU wrote 64 bytes at .* inside a DMA_TO_DEVICE buffer the device owns \(dma_map_single of 256 bytes/);
        expect(w[0]!.stack![0]).toMatch(/write_while_mapped .*uaccess-checks\.test\.ts/);
        expect(await io.read(32)).toBe(32);
        const r = tb.reports("dma-cpu-ownership");
        expect(r).toHaveLength(2);
        expect(r[1]!.title).toMatch(/CPU read 32 bytes at .* inside a DMA_FROM_DEVICE buffer the device owns/);
        expect(r[1]!.stack![0]).toMatch(/read_before_sync .*uaccess-checks\.test\.ts/);
      },
    );
  });

  it("a huge copy_to_user from a bad kernel address while a buffer is DMA-mapped oopses at once (the watch goes piece by piece)", async () => {
    let dev!: PciDev;
    await withMisc(
      () => 0,
      function wild_read(k) {
        const buf = k.kzalloc(256, GFP_KERNEL)!;
        const h = k.dma_map_single(dev, buf, 256, DMA_FROM_DEVICE); // some page is watched
        try {
          return k.copy_to_user(0xc02 as never, 0x10 as never, 0x7f00_0000_1ff6); // ~127 TiB from a user address
        } finally {
          k.dma_unmap_single(dev, h, 256, DMA_FROM_DEVICE);
          k.kfree(buf);
        }
      },
      async (tb, _k, d, io) => {
        dev = d;
        await io.read(32);
        expect(tb.reports("oops").map((r) => r.title)).toEqual(["BUG: kernel NULL pointer dereference, address: 0000000000000010"]);
      },
    );
  });

  it("correct code stays clean (copy in bounds, sync_for_cpu before copy_to_user)", async () => {
    let dev!: PciDev;
    await withMisc(
      function good_write(k, ubuf, count) {
        const n = Math.min(count, 256);
        const buf = k.kmalloc(256, GFP_KERNEL)!;
        const left = k.copy_from_user(buf, ubuf as never, n);
        const h = k.dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
        if (k.dma_mapping_error(dev, h)) return -12;
        k.dma_unmap_single(dev, h, 256, DMA_TO_DEVICE);
        k.kfree(buf);
        return left === 0 ? n : -14;
      },
      function good_read(k, ubuf, count) {
        const n = Math.min(count, 256);
        const buf = k.kzalloc(256, GFP_KERNEL)!;
        const h = k.dma_map_single(dev, buf, 256, DMA_FROM_DEVICE);
        if (k.dma_mapping_error(dev, h)) return -12;
        k.dma_sync_single_for_cpu(dev, h, 256, DMA_FROM_DEVICE);
        const left = k.copy_to_user(ubuf as never, buf, n);
        k.dma_unmap_single(dev, h, 256, DMA_FROM_DEVICE);
        k.kfree(buf);
        return left === 0 ? n : -14;
      },
      async (tb, _k, d, io) => {
        dev = d;
        expect(await io.write(256)).toBe(256);
        expect(await io.read(256)).toBe(256);
        expect(tb.reports()).toEqual([]);
      },
    );
  });
});
