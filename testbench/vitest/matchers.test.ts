import { describe, expect, it } from "vitest";
import { Testbench } from "../harness/testbench.js";
import "./index.js";

describe("vdtb/vitest matchers", () => {
  it("toBeClean passes on a fresh testbench and fails with the rendered report", async () => {
    const tb = await Testbench.boot();
    expect(tb).toBeClean();
    tb.core.ctx.preempt++;
    tb.core.mightSleep("msleep");
    tb.core.ctx.preempt--;
    expect(tb).not.toBeClean();
    expect(() => expect(tb).toBeClean()).toThrow(/found 1 report\(s\):[\s\S]*\[atomic-sleep\] BUG: sleeping function called from invalid context/);
    await tb.dispose();
  });

  it("toHaveReported matches kind and text", async () => {
    const tb = await Testbench.boot();
    tb.core.report({ kind: "leak", title: "vdtb: driver demo leaked irq 11" });
    expect(tb).toHaveReported("leak");
    expect(tb).toHaveReported("leak", /irq 11/);
    expect(tb).not.toHaveReported("leak", "irq 12");
    expect(tb).not.toHaveReported("kasan");
    expect(() => expect(tb).toHaveReported("kasan")).toThrow(/expected a "kasan" report; reports present:[\s\S]*leaked irq 11/);
    expect(() => expect({}).toBeClean()).toThrow(/expects a Testbench/);
    await tb.dispose();
  });
});
