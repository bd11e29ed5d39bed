import { describe, expect, it } from "vitest";
import {
  addrAdd,
  DMA_BIDIRECTIONAL,
  DMA_BIT_MASK,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  DmaStatus,
  EIO,
  GFP_KERNEL,
  type KernelVA,
} from "../../../sdk/index.js";
import { MemType } from "../../soc/pagetable.js";
import { bootDma } from "./test-env.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("DMA masks", () => {
  it("default to 32 bits; ≥ 32 bits always OK; smaller must cover ZONE_DMA (-EIO otherwise)", async () => {
    const b = await bootDma("pc");
    expect(b.k.dma_get_mask(b.d.dev)).toBe(0xffffffff);
    expect(b.k.dma_set_mask_and_coherent(b.d.dev, DMA_BIT_MASK(64))).toBe(0);
    expect(b.k.dma_set_mask(b.d.dev, DMA_BIT_MASK(24))).toBe(0);
    expect(b.k.dma_set_mask(b.d.dev, DMA_BIT_MASK(20))).toBe(-EIO);
    expect(b.k.dma_get_mask(b.d.dev)).toBe(DMA_BIT_MASK(24));
  });

  it("with an IOMMU, the IOMMU decides (any mask)", async () => {
    const b = await bootDma("pc", { iommu: true });
    expect(b.k.dma_set_mask(b.d.dev, DMA_BIT_MASK(20))).toBe(0);
  });

  it("the device cannot drive addresses above its mask: ADDRESS_LIMIT", async () => {
    const b = await bootDma("pc");
    expect(b.d.read(0x1_0000_0000, new Uint8Array(16))).toBe(DmaStatus.ADDRESS_LIMIT);
    expect(b.core.reports("dma-device")[0]!.title).toMatch(/addressing limit/);
  });
});

describe("streaming mappings, direct", () => {
  it("coherent board: bus = physical, the device sees CPU data and the CPU sees device data, no maintenance needed", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    b.cpuWrite(buf, pattern(64));
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_BIDIRECTIONAL);
    expect(b.k.dma_mapping_error(b.d.dev, h)).toBe(0);
    expect(h).toBe(b.k.virt_to_phys(buf));
    const got = new Uint8Array(64);
    expect(b.d.read(h, got)).toBe(DmaStatus.OK);
    expect(got).toEqual(pattern(64));
    expect(b.d.write(h + 128, pattern(32, 9))).toBe(DmaStatus.OK);
    b.k.dma_unmap_single(b.d.dev, h, 4096, DMA_BIDIRECTIONAL);
    expect(b.cpuRead(buf + 128, 32)).toEqual(pattern(32, 9));
    expect(b.core.reports()).toEqual([]);
    expect(b.core.ledger.outstanding("drv").filter((e) => e.kind === "dma-mapping")).toEqual([]);
  });

  it("non-coherent board: map cleans, unmap invalidates, so the exchange is correct", async () => {
    const b = await bootDma("arm");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    b.cpuWrite(buf, pattern(256));
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_TO_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    const got = new Uint8Array(256);
    b.d.read(h, got);
    expect(got).toEqual(pattern(256));
    b.k.dma_unmap_single(b.d.dev, h, 4096, DMA_TO_DEVICE);

    b.cpuRead(buf, 256); // lines cached
    const r = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_FROM_DEVICE);
    b.k.dma_mapping_error(b.d.dev, r);
    b.d.write(r, pattern(256, 5));
    b.k.dma_unmap_single(b.d.dev, r, 4096, DMA_FROM_DEVICE);
    expect(b.cpuRead(buf, 256)).toEqual(pattern(256, 5));
    expect(b.core.reports()).toEqual([]);
  });

  it("non-coherent board: a missing sync_for_cpu leaves the CPU reading stale lines, diagnosed; adding it fixes the data", async () => {
    for (const fixed of [false, true]) {
      const b = await bootDma("arm");
      const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
      const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_FROM_DEVICE);
      b.k.dma_mapping_error(b.d.dev, h);
      b.d.write(h, pattern(64, 1));
      b.k.dma_sync_single_for_cpu(b.d.dev, h, 4096, DMA_FROM_DEVICE);
      expect(b.cpuRead(buf, 64)).toEqual(pattern(64, 1)); // lines now cached
      b.k.dma_sync_single_for_device(b.d.dev, h, 4096, DMA_FROM_DEVICE);
      b.d.write(h, pattern(64, 2));
      if (fixed) b.k.dma_sync_single_for_cpu(b.d.dev, h, 4096, DMA_FROM_DEVICE);
      const seen = b.cpuRead(buf, 64);
      if (fixed) {
        expect(seen).toEqual(pattern(64, 2));
        expect(b.core.reports()).toEqual([]);
      } else {
        expect(seen).toEqual(pattern(64, 1)); // stale, as on silicon
        const kinds = b.kinds();
        expect(kinds).toContain("stale-cache");
        expect(b.core.reports("stale-cache")[0]!.title).toMatch(/missing dma_sync_single_for_cpu\(\)/);
        expect(kinds).toContain("dma-cpu-ownership");
      }
    }
  });

  it("non-coherent board: CPU writes after map without sync_for_device are not seen by the device, diagnosed", async () => {
    const b = await bootDma("arm");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_TO_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    b.k.dma_sync_single_for_cpu(b.d.dev, h, 4096, DMA_TO_DEVICE);
    b.cpuWrite(buf, pattern(64, 3));
    const got = new Uint8Array(64);
    b.d.read(h, got);
    expect(got).not.toEqual(pattern(64, 3));
    const stale = b.core.reports("stale-cache");
    expect(stale[0]!.title).toMatch(/dirty in the CPU cache: missing dma_sync_single_for_device\(\) after CPU writes/);
    expect(b.core.reports("dma-device")[0]!.title).toMatch(/buffer the CPU owns/);
  });

  it("coherent board: the same missing sync works functionally but the ownership misuse is still reported", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_FROM_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    b.d.write(h, pattern(64, 4));
    expect(b.cpuRead(buf, 64)).toEqual(pattern(64, 4));
    expect(b.core.reports("dma-cpu-ownership")[0]!.title).toMatch(/CPU read 64 bytes .* inside a DMA_FROM_DEVICE buffer the device owns .*missing dma_sync_single_for_cpu\(\)/);
  });
});

describe("swiotlb", () => {
  const high = { ram: [{ base: 0, size: 512 * MiB }, { base: 4 * GiB, size: 512 * MiB }] };

  it("a 32-bit device gets buffers above 4 GiB bounced below the mask, with correct data both ways", async () => {
    const b = await bootDma("pc", high);
    const page = b.k.alloc_pages(GFP_KERNEL, 0)!;
    const pa = b.k.page_to_phys(page);
    expect(pa).toBeGreaterThanOrEqual(4 * GiB);
    const va = b.k.page_address(page)!;
    b.cpuWrite(va, pattern(512, 6));
    const h = b.k.dma_map_page(b.d.dev, page, 0, 4096, DMA_BIDIRECTIONAL);
    expect(b.k.dma_mapping_error(b.d.dev, h)).toBe(0);
    expect(h).toBeLessThan(4 * GiB);
    const got = new Uint8Array(512);
    expect(b.d.read(h, got)).toBe(DmaStatus.OK);
    expect(got).toEqual(pattern(512, 6));
    b.d.write(h + 1024, pattern(100, 7));
    b.k.dma_unmap_page(b.d.dev, h, 4096, DMA_BIDIRECTIONAL);
    expect(b.cpuRead(va + 1024, 100)).toEqual(pattern(100, 7));
    expect(b.dma.swiotlb.usedSlots).toBe(0);
    expect(b.core.reports()).toEqual([]);
  });

  it("forced bouncing copies per direction: map always copies in; sync_for_cpu / unmap copy back for FROM_DEVICE", async () => {
    const b = await bootDma("arm", { forceBounce: true });
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    b.cpuWrite(buf, pattern(64, 8));
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_FROM_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    expect(h).not.toBe(b.k.virt_to_phys(buf));
    const got = new Uint8Array(64);
    b.d.read(h, got); // a FROM_DEVICE read is a direction finding, but shows map copied in
    expect(got).toEqual(pattern(64, 8));
    b.d.write(h, pattern(32, 9));
    b.k.dma_sync_single_for_cpu(b.d.dev, h, 4096, DMA_FROM_DEVICE);
    expect(b.cpuRead(buf, 32)).toEqual(pattern(32, 9));
    b.k.dma_sync_single_for_device(b.d.dev, h, 4096, DMA_FROM_DEVICE);
    b.d.write(h + 32, pattern(32, 10));
    b.k.dma_unmap_single(b.d.dev, h, 4096, DMA_FROM_DEVICE);
    expect(b.cpuRead(buf + 32, 32)).toEqual(pattern(32, 10));
  });

  it("a mapping larger than 256 KiB fails with 'swiotlb buffer is full'", async () => {
    const b = await bootDma("pc", { forceBounce: true });
    const buf = b.k.kmalloc(512 * 1024, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 512 * 1024, DMA_TO_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h)).not.toBe(0);
    expect(b.core.dmesg.text()).toMatch(/drv 0000:00:03.0: swiotlb buffer is full \(sz: 524288 bytes\), total 32768 \(slots\)/);
  });
});

describe("IOMMU", () => {
  it("maps IOVAs top-down below the mask, translates device access, faults after unmap with requester and address", async () => {
    const b = await bootDma("pc", { iommu: true });
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    b.cpuWrite(buf, pattern(16, 11));
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_TO_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    expect(h).toBeGreaterThan(0xf0000000);
    expect(h).toBeLessThanOrEqual(0xffffffff);
    const got = new Uint8Array(16);
    expect(b.d.read(h, got)).toBe(DmaStatus.OK);
    expect(got).toEqual(pattern(16, 11));
    expect(b.d.write(h, got)).toBe(DmaStatus.IOMMU_FAULT); // read-only mapping
    b.k.dma_unmap_single(b.d.dev, h, 4096, DMA_TO_DEVICE);
    expect(b.d.read(h, got)).toBe(DmaStatus.IOMMU_FAULT);
    const faults = b.tb.soc.iommu.faults;
    expect(faults.at(-1)).toMatchObject({ requester: 0x18, iova: h, direction: "read" });
    expect(b.core.reports("iommu").at(-1)!.title).toMatch(/DMAR: \[DMA Read\] Request device \[00:03.0\] fault addr/);
    expect(b.core.reports("dma-device").map((r) => r.title)).toContainEqual(expect.stringMatching(/DMA after unmap: device 0000:00:03.0 read 16 bytes/));
  });

  it("dma_map_sg merges page-contiguous IOVA segments; dma-direct never merges", async () => {
    for (const iommu of [true, false]) {
      const b = await bootDma("pc", { iommu });
      const sgl = b.k.sg_alloc(4);
      for (let i = 0; i < 4; i++) b.k.sg_set_page(sgl[i]!, b.k.alloc_page(GFP_KERNEL)!, 4096, 0);
      const n = b.k.dma_map_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(n).toBe(iommu ? 1 : 4);
      if (iommu) expect(b.k.sg_dma_len(sgl[0]!)).toBe(16384);
      const total = Array.from({ length: n }, (_, i) => b.k.sg_dma_len(sgl[i]!)).reduce((a, c) => a + c);
      expect(total).toBe(16384);
      for (let i = 0; i < n; i++) expect(b.d.write(b.k.sg_dma_address(sgl[i]!), new Uint8Array(b.k.sg_dma_len(sgl[i]!)).fill(0x5a))).toBe(DmaStatus.OK);
      b.k.dma_unmap_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
      expect(b.cpuRead(b.k.page_address(sgl[3]!.page!)!, 4)).toEqual(Uint8Array.from([0x5a, 0x5a, 0x5a, 0x5a]));
      expect(b.core.reports()).toEqual([]);
    }
  });
});

describe("coherent memory", () => {
  it("zeroed; uncached kernel mapping on non-coherent boards, cached linear on coherent ones; device sees CPU stores at once", async () => {
    for (const board of ["arm", "pc"]) {
      const b = await bootDma(board);
      const buf = b.k.dma_alloc_coherent(b.d.dev, 8192, GFP_KERNEL)!;
      expect(b.cpuRead(buf.cpu, 16)).toEqual(new Uint8Array(16));
      const linear = b.mm.isLinear(buf.cpu);
      expect(linear).toBe(board === "pc");
      if (board === "arm") {
        const t = b.tb.soc.mmu.lookup(b.mm.kernelRoot, buf.cpu)!;
        expect((t.flags & 0x18) >> 3).toBe(MemType.Uncached);
      }
      b.cpuWrite(buf.cpu, pattern(32, 12));
      const got = new Uint8Array(32);
      b.d.read(buf.handle, got);
      expect(got).toEqual(pattern(32, 12));
      expect(b.core.ledger.outstanding("drv").map((e) => e.kind)).toContain("dma-coherent");
      b.k.dma_free_coherent(b.d.dev, 8192, buf.cpu, buf.handle);
      expect(b.core.ledger.outstanding("drv")).toEqual([]);
      expect(b.core.reports()).toEqual([]);
    }
  });

  it("honours a 24-bit coherent mask (ZONE_DMA) and frees with the wrong CPU address are reported", async () => {
    const b = await bootDma("pc");
    b.k.dma_set_coherent_mask(b.d.dev, DMA_BIT_MASK(24));
    const buf = b.k.dma_alloc_coherent(b.d.dev, 4096, GFP_KERNEL)!;
    expect(buf.handle).toBeLessThan(16 * MiB);
    b.k.dma_free_coherent(b.d.dev, 4096, (buf.cpu + 64) as KernelVA, buf.handle);
    expect(b.core.reports("dma-api")[0]!.title).toMatch(/frees DMA memory with different CPU address/);
  });
});

describe("DMA-API debug through the facade", () => {
  it("reports unmap misuse in the kernel's wording with both stacks", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 256, DMA_TO_DEVICE);
    b.k.dma_unmap_single(b.d.dev, h, 128, DMA_FROM_DEVICE);
    const titles = b.core.reports("dma-api").map((r) => r.title);
    expect(titles).toEqual([
      `DMA-API: drv 0000:00:03.0: device driver frees DMA memory with different size [device address=0x${h.toString(16).padStart(16, "0")}] [map size=256 bytes] [unmap size=128 bytes]`,
      `DMA-API: drv 0000:00:03.0: device driver frees DMA memory with different direction [device address=0x${h.toString(16).padStart(16, "0")}] [size=256 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]`,
      `DMA-API: drv 0000:00:03.0: device driver failed to check map error[device address=0x${h.toString(16).padStart(16, "0")}] [size=256 bytes] [mapped as single]`,
    ]);
    const r = b.core.reports("dma-api")[0]!;
    expect(r.stack![0]).toMatch(/dma-api\.test\.ts/);
    expect(r.mapStack![0]).toMatch(/dma-api\.test\.ts/);
    b.k.dma_unmap_single(b.d.dev, h, 256, DMA_TO_DEVICE);
    expect(b.core.reports("dma-api").at(-1)!.title).toMatch(/tries to free DMA memory it has not allocated/);
  });

  it("vmalloc memory is rejected (DMA_MAPPING_ERROR) and reported", async () => {
    const b = await bootDma("pc");
    const v = b.k.vmalloc(8192)!;
    const h = b.k.dma_map_single(b.d.dev, v, 4096, DMA_TO_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h)).not.toBe(0);
    expect(b.core.reports("dma-api")[0]!.title).toMatch(/device driver maps memory from vmalloc area \[addr=0x[0-9a-f]+\] \[len=4096\]/);
  });

  it("sg: unmap with the mapped count instead of nents, segments too long or across the boundary", async () => {
    const b = await bootDma("pc", { iommu: true });
    const sgl = b.k.sg_alloc(3);
    for (let i = 0; i < 3; i++) b.k.sg_set_page(sgl[i]!, b.k.alloc_page(GFP_KERNEL)!, 4096, 0);
    const n = b.k.dma_map_sg(b.d.dev, sgl, 3, DMA_TO_DEVICE);
    expect(n).toBe(1);
    b.k.dma_unmap_sg(b.d.dev, sgl, n, DMA_TO_DEVICE);
    expect(b.core.reports("dma-api").map((r) => r.title)).toEqual([
      "DMA-API: drv 0000:00:03.0: device driver frees DMA sg list with different entry count [map count=3] [unmap count=1]",
    ]);

    const d = await bootDma("pc");
    const big = d.k.alloc_pages(GFP_KERNEL, 5)!; // 128 KiB
    const one = d.k.sg_alloc(1);
    d.k.sg_set_page(one[0]!, big, 128 * 1024, 0);
    expect(d.k.dma_map_sg(d.d.dev, one, 1, DMA_TO_DEVICE)).toBe(1);
    expect(d.core.reports("dma-api")[0]!.title).toMatch(/mapping sg segment longer than device claims to support \[len=131072\] \[max=65536\]/);
    d.k.dma_unmap_sg(d.d.dev, one, 1, DMA_TO_DEVICE);
    d.k.dma_set_max_seg_size(d.d.dev, 1 << 20);
    d.k.dma_set_seg_boundary(d.d.dev, 0xffff);
    expect(d.k.dma_map_sg(d.d.dev, one, 1, DMA_TO_DEVICE)).toBe(1);
    expect(d.core.reports("dma-api").at(-1)!.title).toMatch(/mapping sg segment across boundary \[start=0x[0-9a-f]{16}\] \[end=0x[0-9a-f]{16}\] \[boundary=0x000000000000ffff\]/);
  });

  it("sync misuse classes", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 1024, DMA_TO_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    b.k.dma_sync_single_for_cpu(b.d.dev, h, 1024, DMA_FROM_DEVICE);
    b.k.dma_sync_single_for_device(b.d.dev, addrAdd(h, 512), 1024, DMA_TO_DEVICE);
    b.k.dma_sync_single_for_cpu(b.d.dev, addrAdd(h, 8192), 16, DMA_TO_DEVICE);
    const titles = b.core.reports("dma-api").map((r) => r.title.replace(/^DMA-API: drv 0000:00:03.0: /, ""));
    expect(titles[0]).toMatch(/^device driver syncs DMA memory with different direction .*\[mapped with DMA_TO_DEVICE\] \[synced with DMA_FROM_DEVICE\]/);
    expect(titles[1]).toMatch(/^device driver syncs device read-only DMA memory for cpu/);
    expect(titles[2]).toMatch(/^device driver syncs DMA memory outside allocated range .*\[allocation size=1024 bytes\] \[sync offset\+size=1536\]/);
    expect(titles[3]).toMatch(/^device driver tries to sync DMA memory it has not allocated/);
  });

  it("overlapping cacheline mappings and pending mappings at unbind", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const a = b.k.dma_map_single(b.d.dev, buf, 32, DMA_FROM_DEVICE);
    b.k.dma_mapping_error(b.d.dev, a);
    const c = b.k.dma_map_single(b.d.dev, (buf + 32) as KernelVA, 32, DMA_FROM_DEVICE);
    b.k.dma_mapping_error(b.d.dev, c);
    expect(b.core.reports("dma-api")[0]!.title).toMatch(/cacheline tracking EEXIST, overlapping mappings aren't supported/);
    b.dma.onDeviceUnbound("0000:00:03.0", "drv");
    const last = b.core.reports("dma-api").at(-1)!;
    expect(last.title).toMatch(/device driver has pending DMA allocations while released from device \[count=2\]/);
    expect(last.text).toMatch(/One of leaked entries details: \[device address=0x[0-9a-f]{16}\] \[size=32 bytes\] \[mapped with DMA_FROM_DEVICE\] \[mapped as single\]/);
    // The leak reclaimer frees what was left.
    for (const e of b.core.ledger.outstanding("drv")) if (e.kind === "dma-mapping") expect(b.dma.reclaim(e.id)).toBe(true);
  });
});

describe("device-side cross-check", () => {
  it("access outside any mapping, wrong direction, and a buffer the CPU owns", async () => {
    const b = await bootDma("pc");
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    const h = b.k.dma_map_single(b.d.dev, buf, 4096, DMA_TO_DEVICE);
    b.k.dma_mapping_error(b.d.dev, h);
    b.d.write(h, new Uint8Array(8));
    b.d.read(h + 8192, new Uint8Array(4096));
    b.k.dma_sync_single_for_cpu(b.d.dev, h, 4096, DMA_TO_DEVICE);
    b.d.read(h, new Uint8Array(8));
    const titles = b.core.reports("dma-device").map((r) => r.title);
    expect(titles[0]).toMatch(/^DMA in the wrong direction: device 0000:00:03.0 wrote 8 bytes at bus address 0x[0-9a-f]+ inside a DMA_TO_DEVICE mapping/);
    expect(titles[1]).toBe(`DMA outside any mapping: device 0000:00:03.0 read 4096 bytes at bus address 0x${(h + 8192).toString(16)}`);
    expect(titles[2]).toMatch(/^DMA to a buffer the CPU owns/);
  });

  it("coherent allocations are always device-accessible; a correct streaming exchange is clean", async () => {
    const b = await bootDma("arm", { iommu: true });
    const c = b.k.dma_alloc_coherent(b.d.dev, 4096, GFP_KERNEL)!;
    b.d.write(c.handle, pattern(64));
    b.d.read(c.handle, new Uint8Array(64));
    expect(b.cpuRead(c.cpu, 64)).toEqual(pattern(64));
    expect(b.core.reports()).toEqual([]);
  });
});

describe("weak ordering", () => {
  it("a descriptor store not ordered before a relaxed doorbell is not visible to the device; dma_wmb fixes it", async () => {
    for (const barrier of [false, true]) {
      const b = await bootDma("arm", { weakOrdering: true });
      const ring = b.k.dma_alloc_coherent(b.d.dev, 4096, GFP_KERNEL)!;
      b.cpuWrite(ring.cpu, [1, 2, 3, 4]);
      if (barrier) b.ordering.barrier("dma_wmb");
      b.ordering.mmioWrite(true); // writel_relaxed doorbell
      const got = new Uint8Array(4);
      b.d.read(ring.handle, got);
      if (barrier) {
        expect(got).toEqual(Uint8Array.from([1, 2, 3, 4]));
        expect(b.core.reports()).toEqual([]);
      } else {
        expect(got).toEqual(new Uint8Array(4));
        expect(b.core.reports("ordering")[0]!.title).toMatch(/^descriptor written at 0x[0-9a-f]+ was not visible to the device: missing dma_wmb\(\) before writel_relaxed\(\)$/);
      }
      expect(b.cpuRead(ring.cpu, 4)).toEqual(Uint8Array.from([1, 2, 3, 4]));
    }
  });
});

describe("dma_pool", () => {
  it("creation rules, blocks never crossing the boundary, bad frees and busy destroy", async () => {
    const b = await bootDma("pc");
    expect(b.k.dma_pool_create("bad-align", b.d.dev, 64, 3, 0)).toBeNull();
    expect(b.k.dma_pool_create("zero", b.d.dev, 0, 8, 0)).toBeNull();
    expect(b.k.dma_pool_create("small-boundary", b.d.dev, 64, 8, 32)).toBeNull();
    const pool = b.k.dma_pool_create("desc", b.d.dev, 48, 16, 256)!;
    const blocks = Array.from({ length: 20 }, () => b.k.dma_pool_alloc(pool, GFP_KERNEL)!);
    for (const blk of blocks) {
      expect(blk.handle % 16).toBe(0);
      expect(Math.floor(blk.handle / 256)).toBe(Math.floor((blk.handle + 48 - 1) / 256));
    }
    const z = b.k.dma_pool_zalloc(pool, GFP_KERNEL)!;
    expect(b.cpuRead(z.cpu, 48)).toEqual(new Uint8Array(48));
    b.k.dma_pool_free(pool, blocks[0]!.cpu, 0x1234 as never);
    expect(b.core.reports("dma-api")[0]!.title).toMatch(/^drv 0000:00:03.0: dma_pool_free desc, [0-9a-f]+\/0x1234 \(bad dma\)$/);
    b.k.dma_pool_free(pool, blocks[1]!.cpu, blocks[1]!.handle);
    b.k.dma_pool_free(pool, blocks[1]!.cpu, blocks[1]!.handle);
    expect(b.core.reports("dma-api")[1]!.title).toMatch(/already free$/);
    b.k.dma_pool_destroy(pool);
    expect(b.core.reports("dma-api")[2]!.title).toMatch(/^drv 0000:00:03.0: dma_pool_destroy desc, [0-9a-f]+ busy$/);
  });

  it("a pool created with a NULL device reports bad frees as dev_err(NULL) prints them", async () => {
    const b = await bootDma("pc");
    const pool = b.k.dma_pool_create("orphan", null as never, 64, 8, 0)!;
    b.k.dma_pool_free(pool, 0 as never, 0x1f32fff8 as never);
    expect(b.core.reports("dma-api").map((r) => r.title)).toEqual([expect.stringMatching(/^\(NULL device \*\): dma_pool_free orphan, 0+\/0x1f32fff8 \(bad dma\)$/)]);
    b.k.dma_pool_free(pool, 0 as never, undefined as never);
    expect(b.core.reports("dma-api")[1]!.title).toMatch(/dma_pool_free orphan, 0+\/undefined \(bad dma\)$/);
    b.k.dma_pool_destroy(pool);
  });
});

describe("fault injection", () => {
  it("dma-map, dma-alloc, iommu-map and dma-pool fail the Linux way", async () => {
    const b = await bootDma("pc", { iommu: true });
    const buf = b.k.kmalloc(4096, GFP_KERNEL)!;
    b.core.faults.arm({ nth: 1, kinds: ["dma-map"] });
    const h = b.k.dma_map_single(b.d.dev, buf, 64, DMA_TO_DEVICE);
    expect(b.k.dma_mapping_error(b.d.dev, h)).not.toBe(0);
    b.core.faults.arm({ nth: 1, kinds: ["iommu-map"] });
    expect(b.k.dma_mapping_error(b.d.dev, b.k.dma_map_single(b.d.dev, buf, 64, DMA_TO_DEVICE))).not.toBe(0);
    b.core.faults.arm({ nth: 1, kinds: ["dma-alloc"] });
    expect(b.k.dma_alloc_coherent(b.d.dev, 4096, GFP_KERNEL)).toBeNull();
    const sgl = b.k.sg_alloc(1);
    b.k.sg_set_buf(sgl[0]!, buf, 512);
    b.core.faults.arm({ nth: 1, kinds: ["dma-map"] });
    expect(b.k.dma_map_sg(b.d.dev, sgl, 1, DMA_TO_DEVICE)).toBe(0);
    b.core.faults.disarm();
    expect(b.core.reports()).toEqual([]);
    expect(b.core.ledger.outstanding("drv").filter((e) => e.kind.startsWith("dma"))).toEqual([]);
  });
});

describe("CPU-side tracking of merged sg segments", () => {
  it("watches exactly the scattered pages behind an IOMMU segment, not the physical range after the first one", async () => {
    const b = await bootDma("pc", { iommu: true });
    const sgl = b.k.sg_alloc(4);
    const others: KernelVA[] = [];
    for (let i = 0; i < 4; i++) {
      b.k.sg_set_page(sgl[i]!, b.k.alloc_page(GFP_KERNEL)!, 4096, 0);
      others.push(b.k.page_address(b.k.alloc_page(GFP_KERNEL)!)!); // interleaved, not mapped
    }
    expect(b.k.dma_map_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE)).toBe(1);
    const first = b.k.page_address(sgl[0]!.page!)!;
    // Whatever lies physically after the first page is not part of the mapping.
    for (const o of others) b.cpuRead(o, 16);
    b.cpuRead((first + 4096) as KernelVA, 16);
    expect(b.core.reports()).toEqual([]);
    b.cpuRead(b.k.page_address(sgl[2]!.page!)!, 16);
    expect(b.core.reports("dma-cpu-ownership")).toHaveLength(1);
    b.k.dma_unmap_sg(b.d.dev, sgl, 4, DMA_FROM_DEVICE);
    b.cpuRead(b.k.page_address(sgl[2]!.page!)!, 16);
    expect(b.core.reports()).toHaveLength(1);
  });
});
