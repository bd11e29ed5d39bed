/**
 * `conformance_all_s`: wall time of the full built-in conformance run (every built-in driver
 * through hygiene plus its class suite, on every board of the matrix, one seed), in one process.
 */
import { builtinSuites, builtinTargets } from "../../testbench/conformance/builtin.js";
import { planConformance } from "../../testbench/conformance/plan.js";
import { runConformance } from "../../testbench/conformance/runner.js";

/** Seconds for the whole plan; throws if a case fails (a slow failure is not a measurement). */
export async function conformanceAllSeconds(): Promise<number> {
  const plan = planConformance(builtinTargets(), builtinSuites(), { seeds: [1] });
  const t0 = performance.now();
  const run = await runConformance(plan);
  const seconds = (performance.now() - t0) / 1000;
  const failed = run.cases.filter((c) => c.status === "failed");
  if (failed.length) throw new Error(`conformance_all_s: ${failed.length} of ${plan.length} case(s) failed, e.g. ${failed[0]!.suite}/${failed[0]!.name}@${failed[0]!.board}: ${failed[0]!.diagnosis}`);
  return seconds;
}
