/**
 * The framebuffer class suite on the vfb driver, VRAM and sysram targets, on pc (coherent), pc
 * forced non-coherent and arm. Every case ends clean except the unbind under a live mapping, which
 * must leave exactly the leak report naming the mapping.
 */
import { describe, expect, it } from "vitest";
import "../../testbench/vitest/index.js";
import { planConformance } from "../../testbench/conformance/plan.js";
import { framebufferSuite, framebufferTargets } from "../../testbench/conformance/suites/framebuffer.js";
import { bootFbBench } from "../../testbench/harness/fb-bench.js";
import type { Testbench } from "../../testbench/harness/testbench.js";

const plan = planConformance(framebufferTargets(), [framebufferSuite]).filter(
  // pc32 is left to the full conformance run; arm is non-coherent already.
  (c) => c.board === "pc" || (c.board === "arm" && c.variant["coherency"] === "board"),
);

describe("framebuffer conformance (vfb)", () => {
  it("plans every case for both targets on the three machines", () => {
    expect(plan.length).toBe(framebufferSuite.cases.length * 2 * 3);
  });

  for (const planned of plan) {
    it(planned.id, async () => {
      const { tb } = await bootFbBench({
        board: planned.board,
        seed: planned.seed,
        overrides: planned.suite.overrides?.(planned.variant) ?? {},
        devices: planned.target.devices(),
        drivers: [planned.target.driver],
      });
      try {
        await planned.case.run({ tb: tb as Testbench, target: planned.target, board: planned.board, seed: planned.seed, variant: planned.variant });
        if (planned.case.name === "unbind with a live mapping") {
          // The leak report names the VMA; the zapped mapping then faults with SIGBUS ("device
          // gone"), so nothing reaches the freed framebuffer: no KASAN or other report follows.
          expect(tb).toHaveReported("leak", /\/dev\/fb0 still mapped/);
          expect(tb.reports().filter((r) => r.kind !== "leak").map((r) => r.title)).toEqual([]);
        } else if (!planned.case.expectsReports) expect(tb).toBeClean();
      } finally {
        await tb.dispose();
      }
    });
  }
});
