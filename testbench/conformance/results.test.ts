import { describe, expect, it } from "vitest";
import { caseId, summarize, toHtml, toJson, toJUnit, type CaseResult, type ConformanceRun } from "./results.js";

const base: Omit<CaseResult, "name" | "status"> = {
  suite: "sgdma", driver: "sgdma", board: "pc", seed: 3, variant: { iommu: true }, durationMs: 12, reports: [], replay: "npx vdtb replay 3 'sgdma/size-4096[iommu=true]@pc'",
};
const run: ConformanceRun = {
  tool: "vdtb",
  version: "0.1.0",
  started: "2026-11-21T00:00:00.000Z",
  cases: [
    { ...base, name: "size-4096", status: "passed" },
    {
      ...base,
      name: "size-1025",
      status: "failed",
      diagnosis: "checksum mismatch <at> byte 1024 & more",
      reports: [{ kind: "dma-api", title: "DMA-API: sgdma 0000:00:03.0: device driver failed to check map error", text: "DMA-API: sgdma 0000:00:03.0: device driver failed to check map error\u0001", time: 0 }],
      dmesg: "[    0.000100] sgdma: probe",
    },
    { ...base, name: "size-1", status: "skipped", board: "arm" },
  ],
};

describe("conformance results", () => {
  it("identifies a case by suite, name, variant, board and seed", () => {
    expect(caseId(run.cases[1]!)).toBe("sgdma/size-1025[iommu=true]@pc#3");
    expect(summarize(run)).toEqual({ passed: 1, failed: 1, skipped: 1 });
  });

  it("renders JSON with a summary", () => {
    const j = JSON.parse(toJson(run));
    expect(j.summary).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(j.cases[1].replay).toContain("replay 3");
  });

  it("renders well-formed JUnit XML with escaped failure text", () => {
    const x = toJUnit(run);
    expect(x).toContain('<testsuite name="sgdma" tests="3" failures="1" skipped="1" time="0.036">');
    expect(x).toContain('<failure message="checksum mismatch &lt;at&gt; byte 1024 &amp; more">');
    expect(x).not.toContain("\u0001");
    expect(x).toContain("<skipped/>");
    expect(x).toContain("replay: npx vdtb replay 3 &#39;".replace("&#39;", "'"));
  });

  it("renders an HTML matrix linking to failures with their replay command", () => {
    const h = toHtml(run);
    expect(h).toContain('<span id="failed">1 failed</span>');
    expect(h).toMatch(/<td class="fail"><a href="#sgdma%2Fsize-1025/);
    expect(h).toContain('<code class="replay">npx vdtb replay 3 &#39;sgdma'.replace("&#39;", "'"));
    expect(h).toContain("device driver failed to check map error");
  });
});
