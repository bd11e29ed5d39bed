/**
 * Guide sample (docs/conformance-and-ci.md): run the hygiene suite plus a suite of your own on
 * the csum driver, across boards, a variant and two seeds; shard the plan; render the reports.
 */
import {
  Testbench, hygieneSuite, planConformance, runConformance, shardPlan, summarize, toHtml, toJUnit, toJson,
  type ConformanceSuite, type ConformanceTarget,
} from "vdtb/testbench";
import { csum } from "./csum-device.js";
import { csumDriver } from "./csum-driver.js";
import { sumOnDevice } from "./tour.js";

/** The driver under test and the devices it needs (fresh models per case). */
export const csumTarget: ConformanceTarget = {
  driver: csumDriver(),
  devices: () => [csum()],
  // The hygiene suite runs this under fail-nth: a failed syscall is fine, a wrong answer is not.
  exercise: async (tb) => {
    const sum = await sumOnDevice(tb, new Uint8Array([7, 8, 9]));
    if (sum >= 0 && sum !== 24) throw new Error(`wrong sum ${sum}`);
  },
};

/** A suite of your own: every case gets a booted, unbound testbench and must end clean. */
export const csumSuite: ConformanceSuite<Testbench> = {
  id: "csum",
  boards: ["pc", "arm"],
  variants: [{ iommu: false }, { iommu: true }],
  overrides: (variant) => ({ iommu: variant.iommu === true }),
  cases: [
    {
      name: "sums-4k",
      async run({ tb, seed }) {
        if ((await tb.bind()) !== 0) throw new Error("probe failed");
        const bytes = new Uint8Array(4096).map((_, i) => (i * seed) & 0xff);
        const want = bytes.reduce((a, b) => a + b, 0);
        const got = await sumOnDevice(tb, bytes);
        if (got !== want) throw new Error(`sum ${got}, expected ${want}`);
      },
    },
  ],
};

/** Plan, shard, run, render. Returns the counts and the three reports as text. */
export async function runCsumConformance(shard?: { index: number; count: number }) {
  let plan = planConformance([csumTarget], [hygieneSuite, csumSuite], { seeds: [1, 2] });
  const total = plan.length;
  if (shard) plan = shardPlan(plan, shard.index, shard.count);
  const run = await runConformance(plan, shard ? { shard } : {});
  return { total, ids: plan.map((p) => p.id), summary: summarize(run), json: toJson(run), junit: toJUnit(run), html: toHtml(run) };
}
