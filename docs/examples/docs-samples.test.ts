/**
 * Keeps the guides honest: (a) runs the samples the guides quote and checks their results, and
 * (b) checks that every ```ts block in README.md and docs/*.md appears verbatim in a file of
 * docs/examples/, unless an HTML comment `<!-- fragment -->` right before it marks it as a
 * fragment.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCsumConformance } from "./conformance.js";
import { failEachProbeCall, fillAfterMapOnArm, kasanOutOfBounds, leakAtUnbind, scrubBeforeUnmap, sleepInHardirq } from "./detectors.js";
import { tour } from "./tour.js";

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, "..");
const root = join(docs, "..");

/** The ```ts blocks of a Markdown file, each with whether a fragment marker precedes it. */
export function tsBlocks(markdown: string): { code: string; fragment: boolean; line: number }[] {
  const out: { code: string; fragment: boolean; line: number }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    let prev = i - 1;
    while (prev >= 0 && lines[prev]!.trim() === "") prev--;
    const fragment = prev >= 0 && lines[prev]!.trim() === "<!-- fragment -->";
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end >= lines.length) throw new Error(`unterminated code block at line ${i + 1}`);
    out.push({ code: lines.slice(start, end).join("\n"), fragment, line: i + 1 });
    i = end;
  }
  return out;
}

describe("tsBlocks", () => {
  it("finds blocks and fragment markers", () => {
    const md = "a\n<!-- fragment -->\n```ts\nx();\n```\n\n```ts\ny();\nz();\n```\n```sh\nls\n```\n";
    expect(tsBlocks(md)).toEqual([
      { code: "x();", fragment: true, line: 3 },
      { code: "y();\nz();", fragment: false, line: 7 },
    ]);
  });
});

describe("the guides' code blocks", () => {
  const samples = readdirSync(here)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(here, f), "utf8"));
  const guides = [join(root, "README.md"), ...readdirSync(docs).filter((f) => f.endsWith(".md")).map((f) => join(docs, f))];

  it("there are guides with code to check", () => {
    expect(guides.length).toBeGreaterThan(5);
  });

  for (const guide of guides) {
    it(`${guide.slice(root.length + 1)}: every ts block is a verbatim copy of docs/examples or a marked fragment`, () => {
      const text = readFileSync(guide, "utf8");
      const stray = tsBlocks(text)
        .filter((b) => !b.fragment && !samples.some((s) => s.includes(b.code)))
        .map((b) => `line ${b.line}: ${b.code.split("\n")[0]}`);
      expect(stray).toEqual([]);
    });
  }
});

describe("the runnable samples", () => {
  it("tour: the sum comes back on every board and the testbench is clean", async () => {
    for (const board of ["pc", "pc32", "arm"]) {
      const r = await tour(board);
      expect(r).toMatchObject({ sum: 256, reports: 0 });
      expect(r.dmesg).toMatch(/csum 0000:00:0\d\.0: csum ready, irq \d+/);
    }
  });

  it("detectors: each bug gives the report the guide shows", async () => {
    const leak = await leakAtUnbind();
    expect(leak.reports.map((r) => r.kind)).toEqual(["leak"]);
    expect(leak.reports[0]!.title).toMatch(/^vdtb: driver csum leaked 1 resource at unbind of 0000:00:01\.0/);
    expect(leak.reports[0]!.text).toMatch(/unreferenced object 0x[0-9a-f]+ \(size 4\):\n  kmalloc-8\n  backtrace:\n    transfer \(.*csum-driver\.ts:\d+:\d+\)/);

    const stale = await fillAfterMapOnArm();
    expect(stale.sum).not.toBe(256);
    expect(stale.reports.map((r) => r.kind)).toEqual(["dma-cpu-ownership", "stale-cache"]);
    expect(stale.reports[0]!.title).toMatch(/^DMA-API: csum 0000:00:01\.0: CPU wrote 4 bytes at 0x[0-9a-f]+ inside a DMA_TO_DEVICE buffer the device owns/);
    expect(stale.reports[1]!.title).toMatch(/^stale cache: device 0000:00:01\.0 read line 0x[0-9a-f]+ \(dma_map_single of 4 bytes .*DMA_TO_DEVICE\) while it was dirty in the CPU cache/);

    const scrub = await scrubBeforeUnmap();
    expect(scrub.sum).toBe(256);
    expect(scrub.reports.map((r) => r.kind)).toEqual(["dma-cpu-ownership"]);
    expect(scrub.reports[0]!.title).toMatch(/^DMA-API: csum 0000:00:01\.0: CPU wrote 4 bytes at 0x[0-9a-f]+ inside a DMA_TO_DEVICE buffer the device owns/);

    const sleep = await sleepInHardirq();
    expect(sleep.reports.map((r) => r.kind)).toEqual(["atomic-sleep"]);
    expect(sleep.reports[0]!.text).toMatch(/^BUG: sleeping function called from invalid context at Object\.handler \(.*csum-driver\.ts:\d+:\d+\)\nin_atomic\(\): 1, irqs_disabled\(\): 1/);

    const kasan = await kasanOutOfBounds();
    expect(kasan.map((r) => r.title)).toEqual(["BUG: KASAN: slab-out-of-bounds in readsOnePastTheEnd"]);
    expect(kasan[0]!.text).toMatch(/Read of size 4 at addr [0-9a-f]{16} by task swapper\/0\/1/);
  });

  it("fault injection: every failing probe returns an errno and leaves nothing", async () => {
    const runs = await failEachProbeCall();
    expect(runs.map((r) => [r.failed, r.ret])).toEqual([["pci", -5], ["region", -16], ["ioremap", -12], ["irq", -12], ["chrdev", -12], ["none", 0]]);
    expect(runs.every((r) => r.reports === 0)).toBe(true);
  });

  it("conformance: 26 cases pass; two shards split them exactly", async () => {
    const all = await runCsumConformance();
    expect(all.summary).toEqual({ passed: 26, failed: 0, skipped: 0 });
    expect(all.junit).toContain('<testsuites name="vdtb conformance" tests="26" failures="0" skipped="0">');
    expect(all.html).toContain('<span id="passed">26 passed</span>');
    expect(JSON.parse(all.json).summary).toEqual(all.summary);
    const a = await runCsumConformance({ index: 1, count: 2 });
    const b = await runCsumConformance({ index: 2, count: 2 });
    expect([...a.ids, ...b.ids].sort()).toEqual([...all.ids].sort());
    expect(a.ids.filter((id) => b.ids.includes(id))).toEqual([]);
  });
});
