// Detector self-test for ISA DMA (CHECKS.md detector 10): each buggy isa-stream variant in
// test/fixtures/isa-bugs is caught with the right diagnosis; the correct driver stays clean.
import { afterEach, describe, expect, it } from "vitest";
import type { IsaDriver } from "../sdk/index.js";
import { isaStream } from "../devices/isa-stream/index.js";
import { isaStreamDriver } from "../drivers/isa-stream/index.js";
import { Testbench } from "../testbench/harness/testbench.js";
import { registerDriverCore } from "../testbench/kernel/driver/register.js";
import { ensureIsaDmaBoot } from "../testbench/kernel/isa-dma/test-boot.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_WRONLY, PROT_READ, PROT_WRITE } from "../testbench/kernel/process/uapi.js";
import { DRIVER_CORE } from "../testbench/kernel/tokens.js";
import type { Report } from "../testbench/checks/report.js";
import { forgetsFreeDma, freesDmaTwice, noClearFlipFlop, programsUnlocked, ringAbove16M, ringCrossing64k } from "./fixtures/isa-bugs/index.js";

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

/** Bind `driver` to a card, play three blocks, close, unbind; return the reports. */
async function playOnce(driver: IsaDriver): Promise<readonly Report[]> {
  tb = await Testbench.boot({ board: "pc", register: (c) => registerDriverCore(c) });
  ensureIsaDmaBoot(tb.container);
  const dc = tb.container.resolve(DRIVER_CORE);
  const card = isaStream();
  const h = dc.plugDevice(card);
  dc.registerDriver(driver);
  expect(await dc.bind(h)).toBe(0);
  const p = tb.spawn("player");
  const fd = await p.open("/dev/isa-stream", O_WRONLY);
  expect(fd).toBeGreaterThanOrEqual(0);
  const n = 3 * 1024;
  const buf = await p.mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  p.fill(buf, 0x5a, n);
  expect(await p.write(fd, buf, n)).toBe(n);
  expect(await p.close(fd)).toBe(0);
  await dc.unbind(h);
  return tb.reports();
}

const isaRules = (r: readonly Report[]) => r.filter((x) => x.kind === "isa-dma").map((x) => x.details?.["rule"]);

describe("ISA DMA bug corpus", () => {
  it("the correct isa-stream driver is clean", async () => {
    expect(await playOnce(isaStreamDriver)).toEqual([]);
  });

  it("a ring crossing 64 KiB: boundary, at set_dma_count in the driver", async () => {
    const r = await playOnce(ringCrossing64k);
    expect(r.map((x) => x.details?.["rule"])).toEqual(["boundary"]);
    const b = r.find((x) => x.details?.["rule"] === "boundary")!;
    expect(b.driver).toBe("isa-bug-cross-64k");
    expect(b.title).toMatch(/^vdtb: ISA DMA channel 1: transfer of 32768 bytes at 0x[0-9a-f]{8} crosses a 64 KiB boundary$/);
    expect(b.stack!.join("\n")).toMatch(/drivers\/isa-stream\/stream\.ts/);
  });

  it("a ring above 16 MiB: limit (and the truncated address lands outside the card's mappings)", async () => {
    const r = await playOnce(ringAbove16M);
    expect(isaRules(r)).toEqual(["limit"]);
    expect(new Set(r.map((x) => x.kind))).toEqual(new Set(["isa-dma", "dma-device"]));
    expect(r.find((x) => x.kind === "dma-device")!.title).toMatch(/^DMA outside any mapping: device isa-stream\.0 read /);
    const l = r.find((x) => x.details?.["rule"] === "limit")!;
    expect(l.address).toBeGreaterThanOrEqual(0x1000000);
    expect(l.title).toContain("is beyond the 16 MiB ISA DMA limit");
  });

  it("no clear_dma_ff: flip-flop", async () => {
    const r = await playOnce(noClearFlipFlop);
    expect(isaRules(r)).toEqual(["flip-flop"]);
    expect(r[0]!.title).toBe("vdtb: ISA DMA channel 1: set_dma_addr() without clear_dma_ff() first");
  });

  it("programming outside claim_dma_lock: unlocked", async () => {
    const r = await playOnce(programsUnlocked);
    expect(isaRules(r)).toEqual(["unlocked"]);
    expect(r[0]!.title).toBe("vdtb: ISA DMA channel 1: disable_dma() outside claim_dma_lock()");
    expect(r[0]!.stack!.join("\n")).toMatch(/stream\.ts/);
  });

  it("forgetting free_dma: the leak report names both channels", async () => {
    const r = await playOnce(forgetsFreeDma);
    expect(r.map((x) => x.kind)).toEqual(["leak"]);
    expect(r[0]!.text).toContain('leaked ISA DMA channel 1 ("isa-stream"), requested at:');
    expect(r[0]!.text).toContain('leaked ISA DMA channel 5 ("isa-stream"), requested at:');
    expect(r[0]!.text).toMatch(/driver\.ts/);
    // Reclaimed after the report: the channels are free again.
    expect(ensureIsaDmaBoot(tb!.container).procDma()).toBe(" 4: cascade\n");
  });

  it("freeing a channel twice: Trying to free free DMA", async () => {
    const r = await playOnce(freesDmaTwice);
    expect(r.map((x) => x.title)).toEqual(["Trying to free free DMA5", "Trying to free free DMA1"]);
    expect(isaRules(r)).toEqual(["free-free", "free-free"]);
  });
});
