import { describe, expect, it } from "vitest";
import type { PciDriver } from "../../sdk/index.js";
import { parseShard, planConformance, shardPlan, type ConformanceSuite, type ConformanceTarget } from "./plan.js";

const drv = (name: string, deviceClass?: PciDriver["deviceClass"]): PciDriver => ({
  name, bus: "pci", idTable: [], ...(deviceClass ? { deviceClass } : {}), probe: () => 0, remove: () => {},
});
const target = (d: PciDriver, boards?: string[]): ConformanceTarget => ({ driver: d, devices: () => [], ...(boards ? { boards } : {}) });
const noop = async () => {};

const hygiene: ConformanceSuite = { id: "hygiene", boards: ["pc", "arm"], cases: [{ name: "bind-unbind", run: noop }] };
const sg: ConformanceSuite = {
  id: "sgdma",
  deviceClass: "sgdma",
  boards: ["pc", "arm"],
  variants: [{ iommu: false }, { iommu: true }],
  cases: [{ name: "size-1", run: noop }, { name: "iommu-only", when: (v) => v.iommu === true, boards: ["pc"], run: noop }],
};

describe("conformance planning", () => {
  const targets = [target(drv("sgdma", "sgdma")), target(drv("isa", "isa-stream"), ["pc"])];
  const plan = planConformance(targets, [hygiene, sg], { seeds: [1, 2] });

  it("runs hygiene for every driver and class suites only for drivers claiming the class", () => {
    const ids = plan.map((p) => p.id);
    expect(ids.filter((i) => i.startsWith("sgdma:hygiene"))).toHaveLength(4);
    expect(ids.filter((i) => i.startsWith("isa:hygiene"))).toEqual(["isa:hygiene/bind-unbind@pc#1", "isa:hygiene/bind-unbind@pc#2"]);
    expect(ids.some((i) => i.startsWith("isa:sgdma"))).toBe(false);
    expect(ids.filter((i) => i.includes("iommu-only"))).toEqual(["sgdma:sgdma/iommu-only[iommu=true]@pc#1", "sgdma:sgdma/iommu-only[iommu=true]@pc#2"]);
    expect(ids).toHaveLength(4 + 2 + 8 + 2);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("shards disjointly and covers the plan exactly", () => {
    const a = shardPlan(plan, 1, 2), b = shardPlan(plan, 2, 2);
    expect(a.length + b.length).toBe(plan.length);
    expect(new Set([...a, ...b].map((p) => p.id))).toEqual(new Set(plan.map((p) => p.id)));
    expect(a.some((p) => b.includes(p))).toBe(false);
    const three = [1, 2, 3].flatMap((i) => shardPlan(plan, i, 3));
    expect(three.map((p) => p.index).sort((x, y) => x - y)).toEqual(plan.map((p) => p.index));
  });

  it("rejects bad shard specs with a clear message", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    expect(() => parseShard("0/2")).toThrow(/1 ≤ i ≤ n/);
    expect(() => parseShard("3/2")).toThrow(/1 ≤ i ≤ n/);
    expect(() => parseShard("x")).toThrow(/expected i\/n/);
    expect(() => shardPlan(plan, 1, 0)).toThrow(RangeError);
  });

  it("filters by id substring", () => {
    expect(planConformance(targets, [hygiene, sg], { filter: "@arm" }).every((p) => p.board === "arm")).toBe(true);
  });
});
