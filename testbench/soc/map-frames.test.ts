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
});
