import { afterEach, describe, expect, it } from "vitest";
import { bootSoc, type BareSoc } from "./boot.js";
import { PteFlag } from "./pagetable.js";

let tb: BareSoc | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

describe("PageTable.mapFrames and unmap of runs", () => {
  it("writes the same tables as one map per page, and unmap clears runs across table boundaries", async () => {
    tb = await bootSoc({ board: "pc", overrides: { iommu: true } });
    const { iommu, ram } = tb.soc;
    const allocated = new Map<number, number>();
    const tables = (start: number) => {
      let next = start;
      return (): number => {
        allocated.set(start, (allocated.get(start) ?? 0) + 1);
        return (next += 4096), next - 4096;
      };
    };
    const a = iommu.createDomain(tables(0x1000000));
    const b = iommu.createDomain(tables(0x2000000));
    // 700 pages starting 5 pages before a 2 MiB boundary: three last-level tables.
    const base = 0x40000000 - 5 * 4096;
    const frames = Array.from({ length: 700 }, (_, k) => 0x8000000 + ((k * 389) % 700) * 4096);
    iommu.mapFrames(a, base, frames, 700, PteFlag.Write, tables(0x1100000));
    const allocB = tables(0x2100000);
    for (let k = 0; k < 700; k++) iommu.map(b, base + k * 4096, frames[k]!, 4096, PteFlag.Write, allocB);
    for (let k = 0; k < 700; k++) {
      expect(iommu.lookup(a, base + k * 4096 + 7)).toEqual({ pa: frames[k]! + 7, writable: true });
    }
    // The same number of table pages, and the same leaf entries (flags included).
    expect(allocated.get(0x1100000)).toBe(allocated.get(0x2100000));
    for (let k = -1; k <= 700; k++) expect(iommu.lookup(a, base + k * 4096)).toEqual(iommu.lookup(b, base + k * 4096));
    // Unmap a run with a hole in the middle, across the boundary.
    iommu.unmap(a, base + 100 * 4096, 4096);
    expect(iommu.unmap(a, base, 300 * 4096)).toBe(299);
    expect(iommu.lookup(a, base + 299 * 4096)).toBeNull();
    expect(iommu.lookup(a, base + 300 * 4096)?.pa).toBe(frames[300]);
    expect(() => iommu.mapFrames(a, base, [0x1234], 1, 0, tables(0x1200000))).toThrow(RangeError);
  });

  it("unmaps a run across a huge page (split) and a last-level table, counting pages", async () => {
    tb = await bootSoc({ board: "pc", overrides: { iommu: true } });
    const { iommu } = tb.soc;
    let next = 0x1000000;
    const alloc = (): number => ((next += 4096), next - 4096);
    const d = iommu.createDomain(alloc);
    iommu.map(d, 0x400000, 0x800000, 0x200000, PteFlag.Write | PteFlag.Huge, alloc);
    iommu.mapFrames(d, 0x600000, [0x3000, 0x5000, 0x9000], 3, 0, alloc);
    expect(() => iommu.unmap(d, 0x500000, 0x102000)).toThrow(RangeError); // splitting needs tables
    // The second half of the huge page (256 pages) and the first two 4 KiB pages.
    expect(iommu.unmap(d, 0x500000, 0x102000, alloc)).toBe(258);
    expect(iommu.lookup(d, 0x4ff010)).toEqual({ pa: 0x8ff010, writable: true });
    expect(iommu.lookup(d, 0x500000)).toBeNull();
    expect(iommu.lookup(d, 0x601000)).toBeNull();
    expect(iommu.lookup(d, 0x602008)).toEqual({ pa: 0x9008, writable: false });
    expect(iommu.unmap(d, 0x0, 0x1000000)).toBe(257);
  });
});
