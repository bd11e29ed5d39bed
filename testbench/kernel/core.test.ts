import { describe, expect, it } from "vitest";
import { Clock } from "../soc/clock.js";
import { KernelCore } from "./core.js";
import { formatTimestamp } from "./printk.js";
import { siteFrames, siteFunction } from "./stack.js";

function driverProbeThatAllocates(core: KernelCore) {
  return core.site();
}

describe("kernel core", () => {
  it("formats dmesg timestamps as the kernel does", () => {
    expect(formatTimestamp(1_234_000)).toBe("[    0.001234] ");
    expect(formatTimestamp(12_345_678_901_000)).toBe("[12345.678901] ");
    const clock = new Clock();
    const core = new KernelCore(clock);
    clock.advance(2_000_000);
    core.dmesg.log("info", "vdtb: hello\nsecond line");
    expect(core.dmesg.text()).toBe("[    0.002000] vdtb: hello\n[    0.002000] second line");
  });

  it("names the caller's own frame, not testbench internals", () => {
    const core = new KernelCore(new Clock());
    const site = driverProbeThatAllocates(core);
    const frames = siteFrames(site);
    expect(frames[0]).toMatch(/driverProbeThatAllocates .*core\.test\.ts:\d+:\d+/);
    expect(siteFunction(site)).toBe("driverProbeThatAllocates");
  });

  it("reports a sleeping call only in atomic context, in the kernel's wording", () => {
    const core = new KernelCore(new Clock());
    expect(core.mightSleep("msleep")).toBe(true);
    expect(core.reports()).toHaveLength(0);
    core.ctx.preempt++;
    expect(core.mightSleep("msleep")).toBe(false);
    core.ctx.preempt--;
    core.ctx.inHardirq(() => core.mightSleep("kmalloc(GFP_KERNEL)"));
    const r = core.reports("atomic-sleep");
    expect(r).toHaveLength(2);
    expect(r[0]!.title).toMatch(/^BUG: sleeping function called from invalid context at /);
    expect(r[1]!.text).toContain("in_atomic(): 1, irqs_disabled(): 1");
    expect(core.dmesg.grep("sleeping function called")).toHaveLength(2);
  });

  it("fails exactly the nth matching call", () => {
    const core = new KernelCore(new Clock());
    core.faults.arm({ nth: 3, kinds: ["kmalloc"], driver: "d" });
    const hits = [1, 2, 3, 4].map(() => core.faults.shouldFail("kmalloc", "d"));
    expect(hits).toEqual([false, false, true, false]);
    expect(core.faults.shouldFail("kmalloc", "other")).toBe(false);
    expect(core.faults.shouldFail("ioremap", "d")).toBe(false);
    expect(core.faults.calls).toBe(4);
    expect(core.faults.injected).toHaveLength(1);
    expect(() => core.faults.arm({ nth: 0 })).toThrow(RangeError);
  });

  it("keeps ledger entries per owner until released", () => {
    const core = new KernelCore(new Clock());
    const a = core.ledger.add("kmalloc", "drv", "kmalloc-64", core.site(), 0, 0x1000, 40);
    core.ledger.add("irq", "other", "irq 5", core.site(), 0);
    expect(core.ledger.outstanding("drv").map((e) => e.label)).toEqual(["kmalloc-64"]);
    core.ledger.remove(a);
    expect(core.ledger.outstanding("drv")).toEqual([]);
    expect(core.ledger.size).toBe(1);
  });
});
