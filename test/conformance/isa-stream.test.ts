// The isa-stream class suite against the isa-stream driver, across its boards, variants and two
// seeds. Each planned case boots its own testbench with the card plugged and the driver registered.
import { afterEach, describe, expect, it } from "vitest";
import { isaStream } from "../../devices/isa-stream/index.js";
import { isaStreamDriver } from "../../drivers/isa-stream/index.js";
import { Testbench } from "../../testbench/harness/testbench.js";
import { planConformance, type ConformanceTarget } from "../../testbench/conformance/plan.js";
import { isaStreamSuite } from "../../testbench/conformance/suites/isa-stream.js";

const target: ConformanceTarget = { driver: isaStreamDriver, devices: () => [isaStream()], boards: ["pc", "pc32"] };
const plan = planConformance([target], [isaStreamSuite], { seeds: [1, 7] });

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

describe("isa-stream conformance", () => {
  it("plans every case on pc and pc32", () => {
    expect(new Set(plan.map((p) => p.board))).toEqual(new Set(["pc", "pc32"]));
    expect(new Set(plan.map((p) => p.case.name)).size).toBe(isaStreamSuite.cases.length);
  });

  for (const planned of plan) {
    it(planned.id, async () => {
      // The suite's contract: devices plugged, drivers registered, nothing bound yet.
      tb = await Testbench.boot({ board: planned.board, seed: planned.seed, devices: planned.target.devices(), drivers: [planned.target.driver], bind: false });
      await planned.case.run({ tb, target: planned.target, board: planned.board, seed: planned.seed, variant: planned.variant });
      expect(tb.reports()).toEqual([]);
    });
  }
});
