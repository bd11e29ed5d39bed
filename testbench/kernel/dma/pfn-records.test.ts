import { describe, expect, it } from "vitest";
import { PfnRecords } from "./pfn-records.js";
import { PfnWords } from "./pfn-words.js";

const PAGE = 4096;
const rec = (...ranges: number[]) => ({ cpuRanges: ranges });

describe("PfnRecords", () => {
  it("visits each page of a record once, even when its pieces share pages", () => {
    const t = new PfnRecords<{ cpuRanges: number[] }>(new PfnWords());
    // Two pieces in page 5, one spanning pages 5..7, one from page 7 into 8, one in page 1030 (another table).
    const a = rec(5 * PAGE + 16, 100, 5 * PAGE + 200, 8, 5 * PAGE + 300, 2 * PAGE, 7 * PAGE + 4000, 200, 1030 * PAGE, 1);
    const added: number[] = [];
    t.add(a, (p) => added.push(p));
    expect(added).toEqual([5, 6, 7, 8, 1030]);
    expect(t.get(6)).toEqual([a]);
    const removed: number[] = [];
    t.remove(a, (p) => removed.push(p));
    expect(removed).toEqual([5, 6, 7, 8, 1030]);
    for (const p of added) expect(t.get(p)).toBeUndefined();
  });

  it("keeps every record holding a page, oldest first, and drops them one at a time", () => {
    const t = new PfnRecords<{ cpuRanges: number[] }>(new PfnWords());
    const a = rec(10 * PAGE, 2 * PAGE);
    const b = rec(11 * PAGE + 8, 16, 11 * PAGE + 64, 16);
    const c = rec(11 * PAGE, PAGE);
    for (const r of [a, b, c]) t.add(r, () => {});
    expect(t.get(10)).toEqual([a]);
    expect(t.get(11)).toEqual([a, b, c]);
    t.remove(b, () => {});
    expect(t.get(11)).toEqual([a, c]);
    t.remove(a, () => {});
    expect(t.get(11)).toEqual([c]);
    expect(t.get(10)).toBeUndefined();
    const seen: number[] = [];
    t.forEachPfn(c, (p) => seen.push(p));
    expect(seen).toEqual([11]);
    t.remove(c, () => {});
    expect(t.get(11)).toBeUndefined();
  });

  it("visits each page of a large scattered record once, also through repeated pieces", () => {
    const t = new PfnRecords<{ cpuRanges: number[] }>(new PfnWords());
    // 300 single-page pieces over pfns 2000..2599 in a scrambled order, every fifth one twice.
    const ranges: number[] = [];
    const want = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const pfn = 2000 + ((i * 7919) % 600);
      want.add(pfn);
      ranges.push(pfn * PAGE, PAGE);
      if (i % 5 === 0) ranges.push(pfn * PAGE + 100, 8);
    }
    const a = { cpuRanges: ranges };
    const added: number[] = [];
    t.add(a, (p) => added.push(p));
    expect(added).toHaveLength(want.size);
    expect(new Set(added)).toEqual(want);
    for (const p of want) expect(t.get(p)).toEqual([a]);
    const removed: number[] = [];
    t.remove(a, (p) => removed.push(p));
    expect(new Set(removed)).toEqual(want);
    expect(removed).toHaveLength(want.size);
    for (const p of want) expect(t.get(p)).toBeUndefined();
  });
});
