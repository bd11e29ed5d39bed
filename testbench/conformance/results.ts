/**
 * Conformance results and their three renderings: JSON (machine-readable), JUnit XML (for CI
 * dashboards) and a static HTML page (pass/fail matrix, each failure with its diagnosis, dmesg and
 * trace excerpts, the replay command and framebuffer snapshots).
 */
import type { Report } from "../checks/report.js";

/** Outcome of one case. @public */
export type CaseStatus = "passed" | "failed" | "skipped";

/** One conformance case as run. @public */
export interface CaseResult {
  /** Suite id, e.g. `hygiene`, `framebuffer`, `sgdma`, `isa-stream`. */
  readonly suite: string;
  /** Case name inside the suite. */
  readonly name: string;
  /** Driver under test. */
  readonly driver: string;
  readonly board: string;
  readonly seed: number;
  /** Matrix coordinates besides board and seed (e.g. iommu, coherent, bounce). */
  readonly variant: Readonly<Record<string, string | number | boolean>>;
  readonly status: CaseStatus;
  /** Host wall time of the case (informational only; not part of the simulation). */
  readonly durationMs: number;
  /** Why it failed, in one paragraph. */
  readonly diagnosis?: string;
  readonly reports: readonly Report[];
  readonly dmesg?: string;
  readonly trace?: string;
  /** The exact command that replays this case. */
  readonly replay: string;
  /** PNG snapshots (base64) for display devices. */
  readonly snapshots?: readonly { readonly name: string; readonly pngBase64: string }[];
}

/** A whole run. @public */
export interface ConformanceRun {
  readonly tool: "vdtb";
  readonly version: string;
  /** ISO time the run started (host time; informational). */
  readonly started: string;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly cases: readonly CaseResult[];
}

/** Counts by status. @public */
export function summarize(run: ConformanceRun): { passed: number; failed: number; skipped: number } {
  let passed = 0, failed = 0, skipped = 0;
  for (const c of run.cases) {
    if (c.status === "passed") passed++;
    else if (c.status === "failed") failed++;
    else skipped++;
  }
  return { passed, failed, skipped };
}

/** Stable id of a case: suite/name[variant]@board#seed. @public */
export function caseId(c: Pick<CaseResult, "suite" | "name" | "board" | "seed" | "variant">): string {
  const v = Object.entries(c.variant).map(([k, x]) => `${k}=${String(x)}`).join(",");
  return `${c.suite}/${c.name}${v ? `[${v}]` : ""}@${c.board}#${c.seed}`;
}

/** The run as pretty JSON. @public */
export function toJson(run: ConformanceRun): string {
  return JSON.stringify({ ...run, summary: summarize(run) }, null, 2) + "\n";
}

function xml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    // XML 1.0 forbids most control characters.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

/** The run as JUnit XML: one testsuite per suite, one testcase per case. @public */
export function toJUnit(run: ConformanceRun): string {
  const suites = new Map<string, CaseResult[]>();
  for (const c of run.cases) {
    const list = suites.get(c.suite) ?? [];
    list.push(c);
    suites.set(c.suite, list);
  }
  const s = summarize(run);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="vdtb conformance" tests="${run.cases.length}" failures="${s.failed}" skipped="${s.skipped}">`];
  for (const [suite, cases] of suites) {
    const failures = cases.filter((c) => c.status === "failed").length;
    const skipped = cases.filter((c) => c.status === "skipped").length;
    const time = cases.reduce((t, c) => t + c.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">`);
    for (const c of cases) {
      const name = xml(caseId(c).slice(suite.length + 1));
      out.push(`    <testcase classname="${xml(`${suite}.${c.driver}`)}" name="${name}" time="${(c.durationMs / 1000).toFixed(3)}">`);
      if (c.status === "failed") {
        const body = [c.diagnosis ?? "failed", ...c.reports.map((r) => r.text), `replay: ${c.replay}`].join("\n\n");
        out.push(`      <failure message="${xml(c.diagnosis ?? "failed")}">${xml(body)}</failure>`);
      } else if (c.status === "skipped") {
        out.push(`      <skipped/>`);
      }
      if (c.dmesg) out.push(`      <system-out>${xml(c.dmesg)}</system-out>`);
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return out.join("\n") + "\n";
}

const html = xml;

/** The run as one self-contained static HTML page. @public */
export function toHtml(run: ConformanceRun): string {
  const s = summarize(run);
  const boards = [...new Set(run.cases.map((c) => c.board))].sort();
  const rows = [...new Set(run.cases.map((c) => `${c.suite}/${c.name}`))].sort();
  const cell = (row: string, board: string) => {
    const cases = run.cases.filter((c) => `${c.suite}/${c.name}` === row && c.board === board);
    if (cases.length === 0) return `<td class="none">–</td>`;
    const failed = cases.filter((c) => c.status === "failed").length;
    const passed = cases.filter((c) => c.status === "passed").length;
    const cls = failed ? "fail" : passed ? "pass" : "skip";
    const anchor = failed ? ` href="#${encodeURIComponent(caseId(cases.find((c) => c.status === "failed")!))}"` : "";
    return `<td class="${cls}"><a${anchor}>${passed}/${cases.length}</a></td>`;
  };
  const failures = run.cases.filter((c) => c.status === "failed");
  const failureBlocks = failures.map((c) => {
    const id = caseId(c);
    const snaps = (c.snapshots ?? []).map((p) => `<figure><img alt="${html(p.name)}" src="data:image/png;base64,${p.pngBase64}"><figcaption>${html(p.name)}</figcaption></figure>`).join("");
    return [
      `<section class="failure" id="${html(encodeURIComponent(id))}">`,
      `<h3>${html(id)}</h3>`,
      `<p class="diagnosis">${html(c.diagnosis ?? "failed")}</p>`,
      `<p>Replay: <code class="replay">${html(c.replay)}</code></p>`,
      ...c.reports.map((r) => `<pre class="report">${html(r.text)}</pre>`),
      c.dmesg ? `<details><summary>dmesg</summary><pre>${html(c.dmesg)}</pre></details>` : "",
      c.trace ? `<details><summary>trace</summary><pre>${html(c.trace)}</pre></details>` : "",
      snaps,
      `</section>`,
    ].join("\n");
  });
  const snapshotsPassed = run.cases
    .filter((c) => c.status !== "failed" && c.snapshots?.length)
    .slice(0, 8)
    .flatMap((c) => (c.snapshots ?? []).map((p) => `<figure><img alt="${html(p.name)}" src="data:image/png;base64,${p.pngBase64}"><figcaption>${html(caseId(c))}: ${html(p.name)}</figcaption></figure>`));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vdtb conformance</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:center}
th.row{text-align:left;font-weight:normal;font-family:monospace}
td.pass{background:#d9f2d9}td.fail{background:#f7d4d4}td.skip{background:#eee}
pre{background:#f6f6f6;padding:8px;overflow:auto}figure{display:inline-block;margin:4px}img{max-width:320px;image-rendering:pixelated;border:1px solid #999}
.summary span{margin-right:1em}
</style></head><body>
<h1>vdtb conformance</h1>
<p class="summary"><span id="passed">${s.passed} passed</span><span id="failed">${s.failed} failed</span><span id="skipped">${s.skipped} skipped</span> · vdtb ${html(run.version)} · started ${html(run.started)}${run.shard ? ` · shard ${run.shard.index}/${run.shard.count}` : ""}</p>
<h2>Matrix</h2>
<table id="matrix"><thead><tr><th>case</th>${boards.map((b) => `<th>${html(b)}</th>`).join("")}</tr></thead>
<tbody>${rows.map((r) => `<tr><th class="row">${html(r)}</th>${boards.map((b) => cell(r, b)).join("")}</tr>`).join("\n")}</tbody></table>
<h2>Failures</h2>
${failureBlocks.length ? failureBlocks.join("\n") : "<p>None.</p>"}
${snapshotsPassed.length ? `<h2>Snapshots</h2>\n${snapshotsPassed.join("\n")}` : ""}
</body></html>
`;
}
