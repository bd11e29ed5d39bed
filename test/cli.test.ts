import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conformanceCommand, procCommand, replayCaseCommand, runCommand, type CliIo } from "../testbench/cli/commands.js";
import { decodePng } from "../testbench/harness/png.js";

function buffer(): CliIo & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l), progress: false };
}

describe("vdtb CLI commands", () => {
  it("proc prints kernel-format files of the default board", async () => {
    const io = buffer();
    expect(await procCommand("ioports", { board: "pc", seed: 1 }, io)).toBe(0);
    const text = io.lines.join("\n");
    for (const line of ["  0000-001f : dma1", "  0080-008f : dma page reg", "  00c0-00df : dma2", "0cf8-0cff : PCI conf1"]) expect(text).toContain(line);
    const maps = buffer();
    expect(await procCommand("maps", { board: "pc", seed: 1 }, maps)).toBe(0);
    expect(maps.lines.join("\n")).toMatch(/^7f0000000000-7f0000010000 rw-p 00000000 00:00 0 /m);
    expect(maps.lines.join("\n")).toMatch(/ rw-s 00000000 00:05 \d+ +\/dev\/fb0$/m);
  });

  it("run (quick) writes the PNG, trace, dmesg and the three reports, and ends clean", async () => {
    const out = mkdtempSync(join(tmpdir(), "vdtb-run-"));
    const io = buffer();
    const code = await runCommand({ board: "pc", seed: 1, out, seeds: 1, quick: true }, io);
    expect(io.lines.join("\n")).toContain("unbound everything: the testbench is clean");
    expect(code).toBe(0);
    const png = decodePng(readFileSync(join(out, "fb0.png")));
    expect([png.width, png.height]).toEqual([640, 480]);
    const trace = JSON.parse(readFileSync(join(out, "trace.json"), "utf8")) as { traceEvents: { cat: string }[] };
    expect(trace.traceEvents.some((e) => e.cat === "mmio")).toBe(true);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as { summary: { failed: number; passed: number } };
    expect(report.summary.failed).toBe(0);
    expect(report.summary.passed).toBeGreaterThan(10);
    expect(readFileSync(join(out, "report.xml"), "utf8")).toMatch(/^<\?xml/);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain('id="matrix"');
    expect(readFileSync(join(out, "dmesg.txt"), "utf8")).toMatch(/^\[\s+\d+\.\d{6}\] /);
  });

  it("shards 1/2 and 2/2 together cover exactly the full run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vdtb-shard-"));
    const ids = async (shard?: { index: number; count: number }) => {
      const json = join(dir, `${shard?.index ?? 0}.json`);
      await conformanceCommand({ seeds: 1, filter: "hygiene/bind-unbind", json, ...(shard ? { shard } : {}) }, buffer());
      const run = JSON.parse(readFileSync(json, "utf8")) as { cases: { suite: string; name: string; board: string; driver: string; seed: number }[] };
      return run.cases.map((c) => `${c.driver}:${c.suite}/${c.name}@${c.board}#${c.seed}`);
    };
    const full = await ids();
    const [a, b] = [await ids({ index: 1, count: 2 }), await ids({ index: 2, count: 2 })];
    expect(full.length).toBeGreaterThan(2);
    expect(a.filter((x) => b.includes(x))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...full].sort());
  });

  it("replays one case by id and explains an unknown id", async () => {
    const ok = buffer();
    expect(await replayCaseCommand(1, "vfb:hygiene/bind-unbind@pc#1", ok)).toBe(0);
    expect(ok.lines[0]).toBe("PASSED vfb:hygiene/bind-unbind@pc#1");
    const bad = buffer();
    expect(await replayCaseCommand(1, "nope", bad)).toBe(2);
    expect(bad.errs[0]).toMatch(/no case "nope" with seed 1/);
  });
});
