import { describe, expect, it } from "vitest";
import { TraceKind } from "../soc/trace.js";
import { Testbench } from "./testbench.js";
import { toChromeTrace } from "./chrome-trace.js";

describe("Chrome trace export", () => {
  it("puts CPU MMIO with register names, device DMA, IRQs and reports on their own tracks", async () => {
    const tb = await Testbench.boot();
    const { trace, clock } = tb.soc;
    clock.advance(1500);
    trace.record(TraceKind.MmioWrite, 0xfebf0004, 4, 1, -1, "H2C_CONTROL");
    clock.advance(2000);
    trace.record(TraceKind.DmaRead, 0x12000, 4096, 0, 0x18);
    trace.record(TraceKind.Irq, 11, 0, 1, -1);
    tb.core.report({ kind: "dma-device", title: "DMA outside any mapping" });
    const t = toChromeTrace(trace.snapshot(), tb.reports(), new Map([[0x18, "0000:00:03.0"]]));
    const json = JSON.parse(JSON.stringify(t)) as typeof t;
    const named = (n: string) => json.traceEvents.find((e) => e.name.includes(n));
    expect(named("H2C_CONTROL")).toMatchObject({ cat: "mmio", ts: 1.5, tid: 1, args: { addr: "0xfebf0004", value: "0x1" } });
    const dma = json.traceEvents.find((e) => e.cat === "dma")!;
    expect(dma.ts).toBe(3.5);
    expect(json.traceEvents).toContainEqual(expect.objectContaining({ ph: "M", tid: dma.tid, args: { name: "0000:00:03.0" } }));
    expect(json.traceEvents.find((e) => e.cat === "irq")?.tid).toBe(2);
    expect(named("DMA outside any mapping")).toMatchObject({ cat: "report.dma-device", tid: 3 });
    await tb.dispose();
  });
});
