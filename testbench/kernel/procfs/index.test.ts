import { describe, expect, it } from "vitest";
import { Testbench } from "../../harness/testbench.js";
import { readProc } from "./index.js";

describe("readProc", () => {
  it("renders every /proc file of a booted board in the kernel's formats", async () => {
    const tb = await Testbench.boot({ board: "pc" });
    expect(readProc(tb, "buddyinfo")).toMatch(/^Node 0, zone      DMA( +\d+){11} \n/);
    expect(readProc(tb, "slabinfo").split("\n")[0]).toBe("slabinfo - version: 2.1");
    expect(readProc(tb, "iomem")).toContain(" : System RAM");
    expect(readProc(tb, "ioports")).toContain("0cf8-0cff : PCI conf1");
    expect(readProc(tb, "interrupts").split("\n")[0]).toMatch(/^\s+CPU0/);
    expect(readProc(tb, "dma")).toMatch(/ 4: cascade/);
    const p = tb.spawn("demo");
    expect(readProc(tb, "maps", p.pid)).toBe("");
    expect(() => readProc(tb, "maps", 99999)).toThrow(/no such process/);
    expect(() => readProc(tb, "cpuinfo")).toThrow(/unknown \/proc file "cpuinfo" \(known: buddyinfo/);
    await tb.dispose();
  });
});
