/**
 * Detector self-test for DMA: every fixture in test/fixtures/dma-bugs is bound on its board; the
 * buggy driver must be caught with the right diagnosis, its fixed twin must leave no report at all.
 * Plus the end-to-end cases: stale data on a non-coherent board, a 32-bit device on a board with RAM
 * above 4 GiB (bounced or IOMMU-translated), and IOMMU faults with requester and address.
 */
import { describe, expect, it } from "vitest";
import type { PciDriver } from "../sdk/index.js";
import { DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, DmaStatus, GFP_KERNEL, addrAdd } from "../sdk/index.js";
import type { BoardConfig } from "../testbench/harness/board.js";
import { Testbench } from "../testbench/harness/testbench.js";
import { registerDma } from "../testbench/kernel/dma/register.js";
import { registerDriverCore } from "../testbench/kernel/driver/register.js";
import { DMA_API, DRIVER_CORE } from "../testbench/kernel/tokens.js";
import { dmaBugFixtures } from "./fixtures/dma-bugs/index.js";
import { DmaTestDevice, fixtureDriver, type DmaBugFixture, type Hw } from "./fixtures/dma-bugs/kit.js";

const GiB = 1024 * 1024 * 1024;

async function runDriver(board: string, overrides: Partial<BoardConfig> | undefined, driver: PciDriver) {
  const tb = await Testbench.boot({
    board,
    ...(overrides ? { overrides } : {}),
    register: (c) => {
      registerDriverCore(c);
      registerDma(c);
    },
  });
  const dma = tb.container.resolve(DMA_API);
  const dc = tb.container.resolve(DRIVER_CORE);
  const model = new DmaTestDevice();
  const h = dc.plugDevice(model);
  dc.registerDriver(driver);
  const ret = await dc.bind(h);
  await dc.unbind(h);
  void dma; // the pending-mappings check runs from the DMA leak reclaimer at unbind
  return { tb, ret, model, reports: tb.reports() };
}

const show = (rs: readonly { kind: string; title: string }[]) => rs.map((r) => `${r.kind}: ${r.title}`);

describe("DMA bug corpus", () => {
  for (const [name, f] of Object.entries(dmaBugFixtures) as [string, DmaBugFixture][]) {
    it(`${name}: ${f.title} — caught, and the fixed driver is clean`, async () => {
      const bug = await runDriver(f.board, f.overrides as Partial<BoardConfig>, f.buggy);
      const hits = bug.reports.filter((r) => r.kind === f.expect.kind && f.expect.title.test(r.title));
      expect(hits.length, show(bug.reports).join("\n")).toBeGreaterThan(0);
      expect(hits[0]!.driver ?? hits[0]!.device).toBeTruthy();
      // The offending call and the mapping are named in the fixture's own file, not the shared kit.
      const ownFile = new RegExp(`[\\\\/]dma-bugs[\\\\/]${name}\\.ts:\\d+`);
      for (const stack of [hits[0]!.stack, hits[0]!.mapStack]) if (stack?.length) expect(stack[0]).toMatch(ownFile);
      const ok = await runDriver(f.board, f.overrides as Partial<BoardConfig>, f.fixed);
      expect(show(ok.reports)).toEqual([]);
      expect(ok.ret).toBe(0);
    });
  }
});

describe("functional effects", () => {
  it("non-coherent board: a missing sync_for_cpu makes the driver read stale data; the sync fixes it", async () => {
    const f = dmaBugFixtures["stale-cache-cpu-read"]!;
    expect((await runDriver("arm", undefined, f.buggy)).ret).toBe(-5);
    expect((await runDriver("arm", undefined, f.fixed)).ret).toBe(0);
  });

  it("coherent board: the same driver works, but the misuse is still reported", async () => {
    const f = dmaBugFixtures["stale-cache-cpu-read"]!;
    const r = await runDriver("pc", undefined, f.buggy);
    expect(r.ret).toBe(0);
    expect(show(r.reports)).toContainEqual(expect.stringMatching(/^dma-cpu-ownership: .*CPU read 1 bytes .* the device owns/));
  });

  it("non-coherent board: a missing sync_for_device makes the device read stale memory", async () => {
    const f = dmaBugFixtures["stale-cache-device-read"]!;
    const bad = await runDriver("arm", undefined, f.buggy);
    expect(Array.from(bad.model.last.subarray(0, 4))).not.toEqual([0x77, 0x77, 0x77, 0x77]);
    const good = await runDriver("arm", undefined, f.fixed);
    expect(Array.from(good.model.last.subarray(0, 4))).toEqual([0x77, 0x77, 0x77, 0x77]);
  });

  it("weak ordering: without dma_wmb the device fetches the old descriptor", async () => {
    const f = dmaBugFixtures["weak-ordering"]!;
    const bad = await runDriver("arm", { weakOrdering: true }, f.buggy);
    expect(Array.from(bad.model.last)).toEqual([0, 0, 0, 0]);
    const good = await runDriver("arm", { weakOrdering: true }, f.fixed);
    expect(Array.from(good.model.last)).toEqual([0x01, 0xee, 0xff, 0xc0]);
  });
});

describe("32-bit device, RAM above 4 GiB", () => {
  const high = { ram: [{ base: 0, size: 512 * 1024 * 1024 }, { base: 4 * GiB, size: 512 * 1024 * 1024 }] };
  const exchange = (seen: { bus: number; pa: number; ok: boolean }[]) =>
    fixtureDriver("dma32", (hw: Hw) => {
      const { k, pdev } = hw;
      if (k.dma_set_mask_and_coherent(pdev, 0xffffffff) !== 0) return -5;
      const page = k.alloc_pages(GFP_KERNEL, 0)!;
      const va = k.page_address(page)!;
      k.memset(va, 0x3c, 4096);
      const h = k.dma_map_page(pdev, page, 0, 4096, DMA_BIDIRECTIONAL);
      if (k.dma_mapping_error(pdev, h)) return -12;
      hw.devRead(h, 4096);
      hw.devWrite(addrAdd(h, 2048), 16, 0xd5);
      k.dma_unmap_page(pdev, h, 4096, DMA_BIDIRECTIONAL);
      seen.push({ bus: h, pa: k.page_to_phys(page), ok: k.mem.read8(addrAdd(va, 2048)) === 0xd5 && k.mem.read8(va) === 0x3c });
      k.__free_page(page);
      return 0;
    });

  for (const iommu of [false, true]) {
    it(`gets ${iommu ? "IOMMU-translated" : "bounced"} addresses below 4 GiB and moves correct data`, async () => {
      const seen: { bus: number; pa: number; ok: boolean }[] = [];
      const r = await runDriver("pc", { ...high, iommu }, exchange(seen));
      expect(r.ret).toBe(0);
      expect(seen[0]!.pa).toBeGreaterThanOrEqual(4 * GiB);
      expect(seen[0]!.bus).toBeLessThan(4 * GiB);
      expect(seen[0]!.ok).toBe(true);
      expect(Array.from(r.model.last.subarray(0, 4))).toEqual([0x3c, 0x3c, 0x3c, 0x3c]);
      expect(show(r.reports)).toEqual([]);
    });
  }

  it("with the IOMMU on, a device access to an unmapped IOVA faults and is logged with requester and address", async () => {
    let status = -1;
    const drv = fixtureDriver("stray", (hw: Hw) => {
      const buf = hw.k.kmalloc(4096, GFP_KERNEL)!;
      const h = hw.k.dma_map_single(hw.pdev, buf, 4096, DMA_TO_DEVICE);
      if (hw.k.dma_mapping_error(hw.pdev, h)) return -12;
      status = hw.devWrite(addrAdd(h, -0x100000), 64, 1);
      hw.k.dma_unmap_single(hw.pdev, h, 4096, DMA_TO_DEVICE);
      hw.k.kfree(buf);
      return 0;
    });
    const r = await runDriver("pc", { iommu: true }, drv);
    expect(status).toBe(DmaStatus.IOMMU_FAULT);
    const fault = r.tb.soc.iommu.faults[0]!;
    expect(fault).toMatchObject({ direction: "write", cause: "not-present" });
    expect(show(r.reports)).toContainEqual(expect.stringMatching(/^iommu: DMAR: \[DMA Write\] Request device \[00:0\d\.0\] fault addr 0x[0-9a-f]+ \[fault reason not-present\]/));
    expect(show(r.reports)).toContainEqual(expect.stringMatching(/^dma-device: DMA outside any mapping: device 0000:00:0\d\.0 wrote 64 bytes/));
    void DMA_FROM_DEVICE;
  });
});
