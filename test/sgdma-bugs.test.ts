/**
 * Detector self-test for the sgdma driver: each deliberately wrong variant in
 * test/fixtures/sgdma-bugs runs a user round trip on its board and must be caught with the right
 * diagnosis (report kind and wording); the shipped driver in the same configuration moves the
 * same data correctly and leaves the testbench clean.
 */
import { describe, expect, it } from "vitest";
import "../testbench/vitest/index.js";
import type { PciDriver } from "../sdk/index.js";
import { Sgdma, sgdma } from "../devices/sgdma/index.js";
import { sgdmaDriver } from "../drivers/sgdma/index.js";
import { Testbench } from "../testbench/harness/testbench.js";
import type { BoardConfig } from "../testbench/harness/board.js";
import { SgdmaUser, sgdmaPattern } from "../testbench/conformance/suites/sgdma.js";
import { DEVICE_HOST } from "../testbench/kernel/tokens.js";
import { sgdmaBugFixtures, type SgdmaBugFixture } from "./fixtures/sgdma-bugs/index.js";

interface Outcome {
  tb: Testbench;
  wrote: number;
  read: number;
  /** The card received the pattern, and the process read it back. */
  cardOk: boolean;
  readOk: boolean;
}

/** Write 3 pages + 5 bytes from an unaligned buffer, read them back, unbind. */
async function run(board: string, overrides: Partial<BoardConfig> | undefined, driver: PciDriver): Promise<Outcome> {
  const tb = await Testbench.boot({ board, ...(overrides ? { overrides } : {}), devices: [sgdma()], drivers: [driver] });
  const dev = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "sgdma")!.model as Sgdma;
  const u = await SgdmaUser.open(tb);
  const n = 3 * 4096 + 5;
  const data = sgdmaPattern(n, 42);
  const src = await u.alloc(n + 4096);
  const dst = await u.alloc(n + 4096);
  u.p.writeBytes(src + 9, data);
  const wrote = await u.writeAt(100, src + 9, n);
  const cardOk = Buffer.compare(dev.card.subarray(100, 100 + n), data) === 0;
  const read = await u.readAt(100, dst + 3, n);
  const readOk = Buffer.compare(u.p.readBytes(dst + 3, n), data) === 0;
  await u.close();
  await tb.unbindAll();
  return { tb, wrote, read, cardOk, readOk };
}

const show = (tb: Testbench) => tb.reports().map((r) => `${r.kind}: ${r.title}`).join("\n");

describe("sgdma bug corpus", () => {
  for (const [name, f] of Object.entries(sgdmaBugFixtures) as [string, SgdmaBugFixture][]) {
    it(`${name}: ${f.title} — caught with its diagnosis; the shipped driver is clean`, async () => {
      const bug = await run(f.board, f.overrides, f.driver);
      const hits = bug.tb.reports(f.expect.kind).filter((r) => f.expect.title.test(r.title));
      expect(hits.length, show(bug.tb)).toBeGreaterThan(0);
      expect(hits[0]!.driver ?? hits[0]!.device).toBeTruthy();
      expect(bug.tb).toHaveReported(f.expect.kind, f.expect.title);
      if (f.breaksTransfer) expect(bug.wrote === 3 * 4096 + 5 && bug.cardOk && bug.read === 3 * 4096 + 5 && bug.readOk).toBe(false);
      await bug.tb.dispose();

      const ok = await run(f.board, f.overrides, sgdmaDriver());
      expect(ok).toMatchObject({ wrote: 3 * 4096 + 5, read: 3 * 4096 + 5, cardOk: true, readOk: true });
      expect(ok.tb).toBeClean();
      await ok.tb.dispose();
    });
  }

  it("the weak-ordering variant fails the transfer: the engine fetched a stale (empty) descriptor", async () => {
    const f = sgdmaBugFixtures["weak-ordering"]!;
    const bug = await run(f.board, f.overrides, f.driver);
    expect(bug.wrote).toBe(-5);
    expect(bug.tb.dmesg()).toMatch(/sgdma-bug-ordering: H2C transfer failed: status 0x1[0-9a-f]*/);
    await bug.tb.dispose();
  });
});
