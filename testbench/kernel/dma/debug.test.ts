import { describe, expect, it } from "vitest";
import { captureSite } from "../stack.js";
import { DmaDebug, MapErrCheck, type DmaDebugEntry } from "./debug.js";

const dev = { name: "0000:00:02.0", driver: "sgdma" };
const TO = 1, FROM = 2, BIDI = 0;

function mapSingle(t: DmaDebug, devAddr: number, size: number, dir: number, checked = true, paddr = devAddr): DmaDebugEntry {
  const e: DmaDebugEntry = { dev, type: "single", devAddr, size, dir, paddr, mapErrCheck: checked ? MapErrCheck.CHECKED : MapErrCheck.NOT_CHECKED, owner: "device", site: captureSite(), ledgerId: 0 };
  t.add(e);
  return e;
}

describe("DMA-API debug tracker", () => {
  it("accepts a correct map/sync/unmap sequence without errors", () => {
    const t = new DmaDebug();
    mapSingle(t, 0x1000, 512, FROM);
    expect(t.sync({ dev, devAddr: 0x1000, size: 512, dir: FROM, toDevice: false }).errors).toEqual([]);
    expect(t.unmap({ dev, devAddr: 0x1000, size: 512, type: "single", dir: FROM }).errors).toEqual([]);
    expect(t.entries()).toEqual([]);
  });

  it("prints a negative handle or size as the kernel's %llx / %llu of the 64-bit value", () => {
    const t = new DmaDebug();
    const msg = (r: { errors: { text: string }[] }) => r.errors.map((e) => e.text.split("\n")[0]);
    expect(msg(t.unmap({ dev, devAddr: -1, size: -5, type: "coherent", dir: BIDI }))).toEqual([
      "DMA-API: sgdma 0000:00:02.0: device driver tries to free DMA memory it has not allocated [device address=0xffffffffffffffff] [size=18446744073709551611 bytes]",
    ]);
    expect(msg(t.sync({ dev, devAddr: undefined as unknown as number, size: 1.5, dir: FROM, toDevice: false }))).toEqual([
      "DMA-API: sgdma 0000:00:02.0: device driver tries to sync DMA memory it has not allocated [device address=undefined] [size=1.5 bytes]",
    ]);
  });

  it("reports every unmap class in the kernel's wording, with the mapping's stack", () => {
    const t = new DmaDebug();
    const msg = (r: { errors: { text: string }[] }) => r.errors.map((e) => e.text.split("\n")[0]);
    expect(msg(t.unmap({ dev, devAddr: 0x5000, size: 64, type: "single", dir: TO }))).toEqual([
      "DMA-API: sgdma 0000:00:02.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000005000] [size=64 bytes]",
    ]);
    expect(msg(t.unmap({ dev, devAddr: 0xfffffffffffff000, size: 64, type: "single", dir: TO, isMappingError: true }))).toEqual([
      "DMA-API: sgdma 0000:00:02.0: device driver tries to free an invalid DMA memory address",
    ]);
    mapSingle(t, 0x2000, 256, TO, false);
    const r = t.unmap({ dev, devAddr: 0x2000, size: 128, type: "single", dir: FROM });
    expect(msg(r)).toEqual([
      "DMA-API: sgdma 0000:00:02.0: device driver frees DMA memory with different size [device address=0x0000000000002000] [map size=256 bytes] [unmap size=128 bytes]",
      "DMA-API: sgdma 0000:00:02.0: device driver frees DMA memory with different direction [device address=0x0000000000002000] [size=256 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]",
      "DMA-API: sgdma 0000:00:02.0: device driver failed to check map error[device address=0x0000000000002000] [size=256 bytes] [mapped as single]",
    ]);
    expect(r.errors[0]!.text).toMatch(/Mapped at:\n .*debug\.test\.ts/);
  });

  it("reports wrong function, wrong CPU address and wrong sg count", () => {
    const t = new DmaDebug();
    t.add({ dev, type: "coherent", devAddr: 0x8000, size: 4096, dir: BIDI, paddr: 0x8000, cpuAddr: 0x10008000, mapErrCheck: MapErrCheck.NOT_NEEDED, owner: "device", site: {}, ledgerId: 0 });
    const wrongFn = t.unmap({ dev, devAddr: 0x8000, size: 4096, type: "single", dir: BIDI });
    expect(wrongFn.errors[0]!.title).toContain("frees DMA memory with wrong function [device address=0x0000000000008000] [size=4096 bytes] [mapped as coherent] [unmapped as single]");
    t.add({ dev, type: "coherent", devAddr: 0x8000, size: 4096, dir: BIDI, paddr: 0x8000, cpuAddr: 0x10008000, mapErrCheck: MapErrCheck.NOT_NEEDED, owner: "device", site: {}, ledgerId: 0 });
    const wrongCpu = t.unmap({ dev, devAddr: 0x8000, size: 4096, type: "coherent", dir: BIDI, cpuAddr: 0x10009000 });
    expect(wrongCpu.errors[0]!.title).toContain("[cpu alloc address=0x0000000010008000] [cpu free address=0x0000000010009000]");
    const g = t.newSgGroup();
    t.add({ dev, type: "scatter-gather", devAddr: 0x20000, size: 4096, dir: TO, paddr: 0x20000, sgCallEnts: 3, sgMappedEnts: 1, sgGroup: g, mapErrCheck: MapErrCheck.NOT_NEEDED, owner: "device", site: {}, ledgerId: 0 });
    const sg = t.unmap({ dev, devAddr: 0x20000, size: 4096, type: "scatter-gather", dir: TO, sgCallEnts: 1 });
    expect(sg.errors[0]!.title).toContain("device driver frees DMA sg list with different entry count [map count=3] [unmap count=1]");
  });

  it("reports every sync class and tracks ownership", () => {
    const t = new DmaDebug();
    const e = mapSingle(t, 0x3000, 1024, TO);
    const titles = (r: { errors: { title: string }[] }) => r.errors.map((x) => x.title.replace("DMA-API: sgdma 0000:00:02.0: ", ""));
    expect(titles(t.sync({ dev, devAddr: 0x9000, size: 4, dir: TO, toDevice: true }))).toEqual([
      "device driver tries to sync DMA memory it has not allocated [device address=0x0000000000009000] [size=4 bytes]",
    ]);
    expect(titles(t.sync({ dev, devAddr: 0x3200, size: 1024, dir: TO, toDevice: true }))).toEqual([
      "device driver syncs DMA memory outside allocated range [device address=0x0000000000003200] [allocation size=1024 bytes] [sync offset+size=1536]",
    ]);
    expect(titles(t.sync({ dev, devAddr: 0x3000, size: 16, dir: FROM, toDevice: false }))).toEqual([
      "device driver syncs DMA memory with different direction [device address=0x0000000000003000] [size=16 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]",
      "device driver syncs device read-only DMA memory for cpu [device address=0x0000000000003000] [size=16 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]",
    ]);
    expect(e.owner).toBe("cpu");
    const w = mapSingle(t, 0x6000, 64, FROM, true, 0x16000);
    expect(titles(t.sync({ dev, devAddr: 0x6000, size: 64, dir: TO, toDevice: true }))).toContain(
      "device driver syncs device write-only DMA memory to device [device address=0x0000000000006000] [size=64 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]",
    );
    expect(w.owner).toBe("device");
  });

  it("reports map sources, sg segment limits, cacheline overlap and pending mappings at unbind", () => {
    const t = new DmaDebug();
    expect(t.mapSource(dev, "vmalloc", 0x1000, 64)?.title).toContain("device driver maps memory from vmalloc area [addr=0x0000000000001000] [len=64]");
    expect(t.mapSource(dev, "stack", 0x1000, 64)?.title).toContain("device driver maps memory from stack [addr=0x0000000000001000]");
    expect(t.mapSource(dev, "linear", 0x1000, 64)).toBeUndefined();
    expect(t.sgSegment(dev, 0, 70000, 65536, 0xffffffff)?.title).toContain("mapping sg segment longer than device claims to support [len=70000] [max=65536]");
    expect(t.sgSegment(dev, 0xf000, 0x2000, 65536, 0xffff)?.title).toContain(
      "mapping sg segment across boundary [start=0x000000000000f000] [end=0x0000000000010fff] [boundary=0x000000000000ffff]",
    );
    expect(t.sgSegment(dev, 0x10000, 0x2000, 65536, 0xffff)).toBeUndefined();
    mapSingle(t, 0x40000, 32, FROM, true, 0x7000);
    const overlap = t.add({ dev, type: "single", devAddr: 0x41000, size: 32, dir: FROM, paddr: 0x7020, mapErrCheck: 1, owner: "device", site: {}, ledgerId: 0 });
    expect(overlap?.title).toContain("cacheline tracking EEXIST, overlapping mappings aren't supported");
    expect(t.covering(dev.name, 0x40010, 8)).toHaveLength(1);
    expect(t.covering(dev.name, 0x50000, 8)).toHaveLength(0);
    const u = t.unbind(dev);
    expect(u.error?.text).toContain("device driver has pending DMA allocations while released from device [count=2]\nOne of leaked entries details: [device address=0x0000000000040000] [size=32 bytes] [mapped with DMA_FROM_DEVICE] [mapped as single]");
    expect(t.entries()).toEqual([]);
  });
});
