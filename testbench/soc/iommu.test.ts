import { afterEach, describe, expect, it } from "vitest";
import { bootSoc } from "./boot.js";
import type { BareSoc } from "./boot.js";
import { DmaStatus } from "./device-port.js";
import { IOMMU_FAULT } from "./iommu.js";
import { PteFlag } from "./pagetable.js";
import { TraceKind } from "./trace.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

const DEV = (0 << 8) | (3 << 3); // 00:03.0
const OTHER = (0 << 8) | (4 << 3);

async function setup() {
  tb = await bootSoc({ board: "pc", overrides: { iommu: true, coherent: true } });
  let next = 0x1000000;
  const alloc = (): number => ((next += 4096), next - 4096);
  const { iommu } = tb.soc;
  const dom = iommu.createDomain(alloc);
  iommu.attach(DEV, dom);
  return { ...tb.soc, dom, alloc };
}

describe("Iommu", () => {
  it("translates through the domain's IO page tables and moves data page by page", async () => {
    const { iommu, dom, alloc, ram } = await setup();
    iommu.map(dom, 0x10000, 0x300000, 0x1000, PteFlag.Write, alloc);
    iommu.map(dom, 0x11000, 0x700000, 0x1000, PteFlag.Write, alloc);
    expect(iommu.translate(DEV, 0x10010, 16, false)).toBe(0x300010);
    const src = Uint8Array.from({ length: 0x1000 }, (_, i) => i & 0xff);
    expect(iommu.dmaWrite(DEV, 0x10800, src)).toBe(DmaStatus.Ok);
    const a = new Uint8Array(0x800), b = new Uint8Array(0x800);
    ram.read(0x300800, a);
    ram.read(0x700000, b);
    expect(a).toEqual(src.subarray(0, 0x800));
    expect(b).toEqual(src.subarray(0x800));
    const back = new Uint8Array(0x1000);
    expect(iommu.dmaRead(DEV, 0x10800, back)).toBe(DmaStatus.Ok);
    expect(back).toEqual(src);
    expect(iommu.lookup(dom, 0x11004)).toEqual({ pa: 0x700004, writable: true });
  });

  it("logs faults with requester, address and direction and aborts the access", async () => {
    const { iommu, dom, alloc, ram, trace } = await setup();
    iommu.map(dom, 0x20000, 0x400000, 0x1000, 0, alloc); // read-only for the device
    expect(iommu.translate(DEV, 0x20000, 4, false)).toBe(0x400000);
    expect(iommu.dmaWrite(DEV, 0x20000, Uint8Array.of(1))).toBe(DmaStatus.IommuFault);
    expect(ram.read32(0x400000)).toBe(0);
    expect(iommu.dmaRead(DEV, 0x20ff0, new Uint8Array(0x20))).toBe(DmaStatus.IommuFault); // runs into an unmapped page
    expect(iommu.translate(OTHER, 0x20000, 4, false)).toBe(IOMMU_FAULT);
    expect(iommu.faults.map((f) => [f.requester, f.iova, f.direction, f.cause])).toEqual([
      [DEV, 0x20000, "write", "read-only"],
      [DEV, 0x20ff0, "read", "not-present"],
      [OTHER, 0x20000, "read", "no-domain"],
    ]);
    const tr = trace.snapshot(TraceKind.IommuFault);
    expect(tr.map((r) => [r.source, r.addr, r.value, r.name])).toEqual([
      [DEV, 0x20000, 1, "read-only"],
      [DEV, 0x20ff0, 0, "not-present"],
      [OTHER, 0x20000, 0, "no-domain"],
    ]);
  });

  it("keeps stale IOTLB entries until the domain range is flushed", async () => {
    const { iommu, dom, alloc } = await setup();
    iommu.map(dom, 0x30000, 0x500000, 0x1000, PteFlag.Write, alloc);
    expect(iommu.translate(DEV, 0x30000, 4, true)).toBe(0x500000);
    iommu.unmap(dom, 0x30000, 0x1000);
    expect(iommu.translate(DEV, 0x30000, 4, true)).toBe(0x500000); // stale
    iommu.flush(dom, 0x30000, 0x1000);
    expect(iommu.translate(DEV, 0x30000, 4, true)).toBe(IOMMU_FAULT);
    expect(iommu.hits).toBe(1);
    iommu.detach(DEV);
    expect(iommu.translate(DEV, 0x30000, 4, true)).toBe(IOMMU_FAULT);
    expect(iommu.faults.at(-1)!.cause).toBe("no-domain");
  });

  it("walks again after the tables change: a 2 MiB mapping replacing a last-level table is seen", async () => {
    const { iommu, dom, alloc } = await setup();
    iommu.map(dom, 0x200000, 0x300000, 0x1000, PteFlag.Write, alloc);
    iommu.map(dom, 0x201000, 0x301000, 0x1000, PteFlag.Write, alloc);
    expect(iommu.translate(DEV, 0x200010, 4, true)).toBe(0x300010);
    // The level-2 entry now holds a huge leaf instead of the table just used.
    iommu.map(dom, 0x200000, 0x800000, 0x200000, PteFlag.Write | PteFlag.Huge, alloc);
    expect(iommu.translate(DEV, 0x201010, 4, true)).toBe(0x801010);
    expect(iommu.translate(DEV, 0x3ff000, 4, false)).toBe(0x9ff000);
    // Read-only leaves under a writable table: reads pass, writes fault.
    iommu.map(dom, 0x400000, 0x500000, 0x2000, 0, alloc);
    expect(iommu.translate(DEV, 0x400000, 4, false)).toBe(0x500000);
    expect(iommu.translate(DEV, 0x401000, 4, true)).toBe(IOMMU_FAULT);
    expect(iommu.faults.at(-1)!.cause).toBe("read-only");
  });

  it("moves whole pages of a larger buffer to scattered frames and back, with fresh data each time", async () => {
    const { iommu, dom, alloc, ram } = await setup();
    const frames = [0x900000, 0x300000, 0x700000];
    iommu.mapFrames(dom, 0x40000, frames, 3, PteFlag.Write, alloc);
    const card = new Uint8Array(8 * 0x1000);
    for (const round of [1, 2]) {
      card.forEach((_, i) => (card[i] = (i * 7 + round) & 0xff));
      // Pages 2..4 of the card, as a device streams them.
      expect(iommu.dmaWrite(DEV, 0x40000, card.subarray(0x2000, 0x5000))).toBe(DmaStatus.Ok);
      for (let k = 0; k < 3; k++) {
        const got = new Uint8Array(0x1000);
        ram.read(frames[k]!, got);
        expect(got).toEqual(card.subarray(0x2000 + k * 0x1000, 0x3000 + k * 0x1000));
      }
      const back = new Uint8Array(8 * 0x1000);
      expect(iommu.dmaRead(DEV, 0x40000, back.subarray(0x1000, 0x4000))).toBe(DmaStatus.Ok);
      expect(back.subarray(0x1000, 0x4000)).toEqual(card.subarray(0x2000, 0x5000));
    }
  });

  it("checks every page of a multi-page access first, then serves the run from the IOTLB (stale entries too) until flushed", async () => {
    const { iommu, dom, alloc, ram } = await setup();
    iommu.map(dom, 0x40000, 0x500000, 0x1000, PteFlag.Write, alloc);
    iommu.map(dom, 0x41000, 0x600000, 0x1000, 0, alloc); // read-only for the device
    iommu.map(dom, 0x42000, 0x800000, 0x1000, PteFlag.Write, alloc);
    const data = Uint8Array.from({ length: 0x2000 }, (_, i) => (i * 7) & 0xff);
    // Bytes 0x40800..0x427ff: the read-only middle page aborts the write before any byte moves.
    expect(iommu.dmaWrite(DEV, 0x40800, data)).toBe(DmaStatus.IommuFault);
    expect(iommu.faults.at(-1)).toMatchObject({ iova: 0x40800, len: 0x2000, direction: "write", cause: "read-only" });
    expect(ram.read32(0x500800)).toBe(0);
    // A read of the same range translates all three pages; a second read hits the IOTLB for each.
    const back = new Uint8Array(0x2000);
    expect(iommu.dmaRead(DEV, 0x40800, back)).toBe(DmaStatus.Ok);
    const hits = iommu.hits;
    expect(iommu.dmaRead(DEV, 0x40800, back)).toBe(DmaStatus.Ok);
    expect(iommu.hits - hits).toBe(3);
    // Remap the last page without a flush: the run still reaches the old frame; after the flush the new one.
    iommu.unmap(dom, 0x42000, 0x1000);
    iommu.map(dom, 0x42000, 0x900000, 0x1000, PteFlag.Write, alloc);
    ram.write(0x800000, Uint8Array.of(0xaa));
    ram.write(0x900000, Uint8Array.of(0xbb));
    expect(iommu.dmaRead(DEV, 0x40800, back)).toBe(DmaStatus.Ok);
    expect(back[0x1800]).toBe(0xaa);
    iommu.flush(dom, 0x42000);
    expect(iommu.dmaRead(DEV, 0x40800, back)).toBe(DmaStatus.Ok);
    expect(back[0x1800]).toBe(0xbb);
  });

  it("faults, never throws, on a bogus address or length from a device model", async () => {
    const { iommu, dom, alloc } = await setup();
    iommu.map(dom, 0x50000, 0x500000, 0x1000, PteFlag.Write, alloc);
    expect(iommu.translate(DEV, 0x50000, 2 ** 40, false)).toBe(IOMMU_FAULT); // runs into unmapped pages
    expect(iommu.translate(DEV, Number.NaN, 4, false)).toBe(IOMMU_FAULT);
    expect(iommu.translate(DEV, 2 ** 48 - 0x1000, 0x2000, false)).toBe(IOMMU_FAULT);
    expect(iommu.dmaRead(DEV, -4096, new Uint8Array(16))).toBe(DmaStatus.IommuFault);
    expect(iommu.faults.map((f) => f.cause)).toEqual(["not-present", "out-of-range", "not-present", "out-of-range"]);
  });

  it("is the identity on boards without an IOMMU", async () => {
    tb = await bootSoc({ board: "pc" });
    const { iommu, ram } = tb.soc;
    expect(iommu.enabled).toBe(false);
    expect(iommu.translate(DEV, 0x123456, 4, true)).toBe(0x123456);
    expect(iommu.dmaWrite(DEV, 0x5000, Uint8Array.of(7))).toBe(DmaStatus.Ok);
    expect(ram.read32(0x5000)).toBe(7);
    expect(iommu.dmaWrite(DEV, 0xf0000000, Uint8Array.of(7))).toBe(DmaStatus.BusError);
  });
});
