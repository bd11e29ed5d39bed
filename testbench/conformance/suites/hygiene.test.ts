import { describe, expect, it } from "vitest";
import { ENOMEM, GFP_KERNEL, type PlatformDriver } from "../../../sdk/index.js";
import { mailbox } from "../../../examples/mailbox/index.js";
import { planConformance } from "../plan.js";
import { runConformance } from "../runner.js";
import { hygieneSuite } from "./hygiene.js";

/** Allocates twice; when the second allocation fails it forgets to free the first. */
const leakyOnError: PlatformDriver = {
  name: "leaky",
  bus: "platform",
  ofMatchTable: ["vdtb,mailbox"],
  probe(k, pdev) {
    const a = k.kmalloc(64, GFP_KERNEL);
    if (!a) return -ENOMEM;
    const b = k.kmalloc(128, GFP_KERNEL);
    if (!b) return -ENOMEM; // bug: a leaks
    k.dev_set_drvdata(pdev, [a, b]);
    return 0;
  },
  remove(k, pdev) {
    for (const p of k.dev_get_drvdata<number[]>(pdev)) k.kfree(p as never);
  },
};

/** Returns a positive value from probe on an allocation failure. */
const badErrno: PlatformDriver = {
  ...leakyOnError,
  name: "bad-errno",
  probe(k) {
    return k.kmalloc(64, GFP_KERNEL) ? 0 : 12;
  },
  remove() {},
};

describe("hygiene suite", () => {
  it("catches a probe that leaks on its error path, naming the failed call and the leak", async () => {
    const plan = planConformance([{ driver: leakyOnError, devices: () => [mailbox()] }], [hygieneSuite]).filter((p) => p.board === "pc");
    const run = await runConformance(plan);
    const byName = Object.fromEntries(run.cases.map((c) => [c.name, c]));
    expect(byName["bind-unbind"]!.status).toBe("passed");
    const nth = byName["probe-fail-nth"]!;
    expect(nth.status).toBe("failed");
    expect(nth.diagnosis).toMatch(/failing call #2 \(kmalloc\) of probe \(probe returned -ENOMEM\): the testbench is not clean/);
    expect(nth.reports.some((r) => r.kind === "leak" && /hygiene\.test\.ts/.test(r.text))).toBe(true);
    expect(nth.replay).toBe("npx vdtb replay 1 'leaky:hygiene/probe-fail-nth@pc#1'");
  });

  it("rejects a probe that returns a positive value instead of a negative errno", async () => {
    const plan = planConformance([{ driver: badErrno, devices: () => [mailbox()] }], [hygieneSuite], { filter: "probe-fail-nth@pc#" });
    const [result] = (await runConformance(plan)).cases;
    expect(result!.status).toBe("failed");
    expect(result!.diagnosis).toMatch(/probe of mailbox.0 returned 12; probe must return 0 or a negative errno/);
  });
});

describe("replay commands", () => {
  it("default to vdtb replay and can be customised for a user's own plan", async () => {
    const plan = planConformance([{ driver: leakyOnError, devices: () => [mailbox()] }], [hygieneSuite], { filter: "bind-unbind@pc#" });
    const [byDefault] = (await runConformance(plan)).cases;
    expect(byDefault!.replay).toBe("npx vdtb replay 1 'leaky:hygiene/bind-unbind@pc#1'");
    const [custom] = (await runConformance(plan, { replay: (p) => `VDTB_CASE='${p.id}' npx vitest run my.test.ts` })).cases;
    expect(custom!.replay).toBe("VDTB_CASE='leaky:hygiene/bind-unbind@pc#1' npx vitest run my.test.ts");
  });
});
