/**
 * The framebuffer class suite on the vfb driver, VRAM and sysram targets, on pc (coherent), pc
 * forced non-coherent and arm. Every case ends clean except the one that expects a report.
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
        const run = planned.case.run({ tb: tb as Testbench, target: planned.target, board: planned.board, seed: planned.seed, variant: planned.variant });
        if (planned.case.name === "unbind with a live mapping") {
          // KNOWN GAP: nothing zaps the PTEs of a VMA left behind by an unbound driver yet (a
          // "vma" leak reclaimer in the process layer), so the stale mapping still reaches the
          // memory. Everything before that check passes; when the zap lands this expectation
          // fails and the case runs as a plain it().
          await expect(run).rejects.toThrow(/a store to the mapping of an unbound device did not raise SIGBUS\/SIGSEGV/);
          expect(tb).toHaveReported("leak", /\/dev\/fb0 still mapped/);
          return;
        }
        await run;
        if (!planned.case.expectsReports) expect(tb).toBeClean();
      } finally {
        await tb.dispose();
      }
    });
  }
});
