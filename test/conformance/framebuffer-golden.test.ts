/**
 * Golden pictures: the pattern a process draws through mmap of /dev/fb0 is exact in the PNG the
 * screenshot tool writes, in VRAM and sysram modes, on coherent and non-coherent boards; and the
 * cached-mmap fixture shows stale pixels on non-coherent boards and is diagnosed there only.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import "../../testbench/vitest/index.js";
import { vfb } from "../../devices/vfb/index.js";
import type { BoardConfig } from "../../testbench/harness/board.js";
import { bootFbBench } from "../../testbench/harness/fb-bench.js";
import { FbUser, drawRgba, firstDifference, testPattern } from "../../testbench/harness/fb-user.js";
import { decodePng, pixelChecksum, snapshotOf } from "../../testbench/harness/png.js";
import { runScreenshot } from "../../testbench/cli/screenshot.js";
import { cachedSysramMmapDriver, cachedSysramMmapReport } from "../fixtures/fb-bugs/index.js";

const dir = mkdtempSync(join(tmpdir(), "vdtb-fb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const machines: readonly (readonly [string, string, Partial<BoardConfig>])[] = [
  ["pc", "pc", {}],
  ["pc non-coherent", "pc", { coherent: false }],
  ["arm", "arm", {}],
];
const golden = testPattern(640, 480);

describe("golden PNG through mmap", () => {
  for (const [label, board, overrides] of machines) {
    for (const memory of ["vram", "sysram"] as const) {
      it(`${label}, ${memory}`, async () => {
        const out = join(dir, `${board}-${label.replace(/ /g, "-")}-${memory}.png`);
        const r = await runScreenshot({ board, out, memory, overrides, seed: 7 });
        expect(r.reports).toEqual([]);
        expect(r.path).toBe(out);
        const img = decodePng(readFileSync(out));
        expect([img.width, img.height]).toEqual([640, 480]);
        expect(firstDifference(img.rgba, golden)).toBe(-1);
        expect(r.checksum).toBe(pixelChecksum(golden));
      });
    }
  }
});

describe("fb-bugs: cached user mapping of the sysram scanout buffer", () => {
  for (const [label, board, overrides] of machines) {
    const nonCoherent = label !== "pc";
    it(`${label}: ${nonCoherent ? "stale pixels and a detector report" : "exact and clean (no false positive)"}`, async () => {
      const dev = vfb();
      const { tb, dc, procs } = await bootFbBench({ board, overrides, devices: [dev], drivers: [cachedSysramMmapDriver] });
      try {
        expect(await dc.bind()).toBe(0);
        const p = procs.spawn("fbtest");
        const fb = await FbUser.open(p, tb.board.profile);
        const v = await fb.getVar();
        const fix = await fb.getFix();
        const map = await fb.map(fix.smem_len);
        expect(map).toBeGreaterThan(0);
        drawRgba(p, map, v, fix.line_length, golden);
        expect(await fb.waitVsync()).toBe(0);
        const frame = snapshotOf(tb, dev)!;
        await p.exit();
        await dc.unbind();
        if (nonCoherent) {
          expect(firstDifference(frame.rgba, golden)).toBeGreaterThanOrEqual(0);
          expect(tb).toHaveReported("mmap", cachedSysramMmapReport);
        } else {
          expect(firstDifference(frame.rgba, golden)).toBe(-1);
          expect(tb).toBeClean();
        }
      } finally {
        await tb.dispose();
      }
    });
  }
});
