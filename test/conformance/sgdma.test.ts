/**
 * The sgdma class suite on the sgdma driver (64-bit and 32-bit-wired builds): every case on
 * pc, arm and pc32 across the six DMA variants (direct, non-coherent, IOMMU, forced bounce, RAM
 * above 4 GiB, weak ordering) with two seeds; only arm's "non-coherent" variant is skipped, as it
 * repeats the board.
 */
import { describe, expect, it } from "vitest";
import "../../testbench/vitest/index.js";
import { planConformance, type PlannedCase } from "../../testbench/conformance/plan.js";
import { runConformance } from "../../testbench/conformance/runner.js";
import { hygieneSuite } from "../../testbench/conformance/suites/hygiene.js";
import { sgdmaSuite, sgdmaTargets } from "../../testbench/conformance/suites/sgdma.js";
import { Testbench } from "../../testbench/harness/testbench.js";

const full = planConformance(sgdmaTargets(), [sgdmaSuite], { seeds: [1, 2] });

function chosen(c: PlannedCase): boolean {
  // arm is non-coherent already: its "non-coherent" variant repeats the board's own.
  return !(c.board === "arm" && c.variant["dma"] === "non-coherent");
}

const plan = full.filter(chosen);

describe("sgdma conformance", () => {
  it("plans every case on the three boards for both targets", () => {
    expect(new Set(full.map((p) => p.board))).toEqual(new Set(["pc", "arm", "pc32"]));
    expect(new Set(full.map((p) => p.case.name)).size).toBe(sgdmaSuite.cases.length);
    expect(new Set(full.map((p) => p.target.driver.name))).toEqual(new Set(["sgdma", "sgdma-dma32"]));
  });

  for (const planned of plan) {
    it(planned.id, async () => {
      const tb = await Testbench.boot({
        board: planned.board,
        seed: planned.seed,
        overrides: planned.suite.overrides?.(planned.variant) ?? {},
        devices: planned.target.devices(),
        drivers: [planned.target.driver],
        bind: false,
      });
      try {
        await planned.case.run({ tb, target: planned.target, board: planned.board, seed: planned.seed, variant: planned.variant });
        await tb.unbindAll();
        expect(tb).toBeClean();
      } finally {
        await tb.dispose();
      }
    });
  }
});

describe("sgdma hygiene", () => {
  it("bind/unbind, fail-nth over probe and over the file operations, on pc, arm and pc32", async () => {
    const plan = planConformance([sgdmaTargets()[0]!], [hygieneSuite], { seeds: [1] });
    const run = await runConformance(plan);
    const failed = run.cases.filter((c) => c.status === "failed");
    expect(failed.map((c) => `${c.name}@${c.board}: ${c.diagnosis}`)).toEqual([]);
    expect(run.cases.length).toBe(9);
  });
});
