// The conformance HTML report renders in a real browser: a real (small) conformance run plus one
// synthetic failure is written to disk, opened over file:// in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; no Playwright browser download), and checked
// through the DOM: title, summary counts, matrix, failure section, decoded snapshot, no console
// errors, and a screenshot.
//
// Chromium comes from `bash scripts/setup-browser.sh` (CI runs it). When it is missing and this
// process is root, beforeAll runs that script itself so `npm test` works on a fresh machine;
// otherwise the test fails and says how to install it. It never skips.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinSuites, builtinTargets } from "../../testbench/conformance/builtin.js";
import { planConformance } from "../../testbench/conformance/plan.js";
import { caseId, summarize, toHtml, type CaseResult, type ConformanceRun } from "../../testbench/conformance/results.js";
import { replayCommand, runConformance } from "../../testbench/conformance/runner.js";
import { decodePng, encodePng } from "../../testbench/harness/png.js";

// The repo compiles without the DOM lib; these are the browser shapes the page callbacks use.
interface PageImage { decode(): Promise<void>; readonly naturalWidth: number; readonly naturalHeight: number }
declare const getComputedStyle: (el: unknown) => { readonly backgroundColor: string };

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = "/usr/bin/chromium";
const SETUP = "scripts/setup-browser.sh";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Make sure Chromium is there: install it when we may (root), else fail with the fix. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's Chromium. Run \`bash ${SETUP}\` as root (sudo), then re-run the tests.`);
  }
  try {
    execFileSync("bash", [join(root, SETUP)], { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`${CHROMIUM} is missing and \`bash ${SETUP}\` failed:\n${stdout}${stderr}`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`\`bash ${SETUP}\` ran but ${CHROMIUM} is still missing`);
}

/** A 6×4 PNG with a gradient, so a decoded image has a known size. */
function testPng(): string {
  const w = 6, h = 4, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([(i * 40) & 0xff, 0x80, 0xff - ((i * 40) & 0xff), 0xff], i * 4);
  return Buffer.from(encodePng(rgba, w, h)).toString("base64");
}

const failedCase: CaseResult = {
  suite: "framebuffer",
  name: "synthetic-dma-misuse",
  driver: "vfb",
  board: "arm",
  seed: 9,
  variant: {},
  status: "failed",
  durationMs: 3,
  diagnosis: "pixel 0,0 is 0x000000 after the flush, expected 0xff00ff <stale cache line>",
  reports: [{ kind: "stale-cache", title: "stale-cache: device read a line the CPU still holds dirty", text: "stale-cache: device read a line the CPU still holds dirty\n at vfb_flush", time: 1200 }],
  dmesg: "[    0.001000] vfb: probe ok",
  trace: "       1.200us mmio-write   vfb addr=0x0 size=4 value=0x1",
  replay: replayCommand({ seed: 9, id: "vfb:framebuffer/synthetic-dma-misuse@arm#9" }),
  snapshots: [{ name: "vfb0", pngBase64: testPng() }],
};

describe("conformance HTML report in headless Chromium", () => {
  let dir = "";
  let run: ConformanceRun;
  let context: BrowserContext | undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    ensureChromium();
    dir = mkdtempSync(join(tmpdir(), "vdtb-report-html-"));
    const plan = planConformance(builtinTargets(), builtinSuites(), { filter: "hygiene/bind-unbind@pc#" });
    expect(plan.length).toBeGreaterThan(0);
    const real = await runConformance(plan, { version: "test" });
    run = { ...real, cases: [...real.cases, failedCase] };
    const file = join(dir, "conformance.html");
    writeFileSync(file, toHtml(run));

    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1000, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    page.on("requestfailed", (r) => consoleErrors.push(`request failed: ${r.url().slice(0, 80)}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  }, 600_000); // installing Chromium on a fresh machine takes ~30 s; allow slow mirrors

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("has the title and the summary counts of the run", async () => {
    const s = summarize(run);
    expect(s.failed).toBe(1);
    expect(s.passed).toBe(run.cases.length - 1); // the real cases all pass
    expect(await page.title()).toBe("vdtb conformance");
    expect(await page.locator("h1").textContent()).toBe("vdtb conformance");
    expect(await page.locator("#passed").textContent()).toBe(`${s.passed} passed`);
    expect(await page.locator("#failed").textContent()).toBe("1 failed");
  });

  it("shows a matrix row per case with pass and fail cells", async () => {
    const rows = page.locator("#matrix tbody tr");
    const expected = [...new Set(run.cases.map((c) => `${c.suite}/${c.name}`))].sort();
    expect(await rows.locator("th.row").allTextContents()).toEqual(expected);
    const boards = [...new Set(run.cases.map((c) => c.board))].sort();
    expect(await page.locator("#matrix thead th").allTextContents()).toEqual(["case", ...boards]);
    expect(await page.locator("#matrix td.pass").count()).toBeGreaterThan(0);
    expect(await page.locator("#matrix td.fail").count()).toBe(1);
    // The fail cell is coloured (the stylesheet applied) and links to the failure section.
    const fail = page.locator("#matrix td.fail");
    expect(await fail.evaluate((td) => getComputedStyle(td).backgroundColor)).toBe("rgb(247, 212, 212)");
    expect(await page.locator("#matrix td.pass").first().evaluate((td) => getComputedStyle(td).backgroundColor)).toBe("rgb(217, 242, 217)");
    const href = await fail.locator("a").getAttribute("href");
    expect(href).toBe(`#${encodeURIComponent(caseId(failedCase))}`);
    await fail.locator("a").click();
    expect(new URL(page.url()).hash).toBe(href);
    expect(await page.locator("section.failure:target h3").textContent()).toBe(caseId(failedCase));
  });

  it("shows the failure with its diagnosis, report and replay command", async () => {
    const sections = page.locator("section.failure");
    expect(await sections.count()).toBe(1);
    const section = sections.first();
    expect(await section.locator("h3").textContent()).toBe(caseId(failedCase));
    expect(await section.locator(".diagnosis").textContent()).toBe(failedCase.diagnosis);
    expect(await section.locator("code.replay").textContent()).toBe("npx vdtb replay 9 'vfb:framebuffer/synthetic-dma-misuse@arm#9'");
    expect(await section.locator("pre.report").textContent()).toBe(failedCase.reports[0]!.text);
    expect(await section.locator("details summary").allTextContents()).toEqual(["dmesg", "trace"]);
  });

  it("decodes the snapshot images", async () => {
    const img = page.locator("section.failure img");
    expect(await img.getAttribute("alt")).toBe("vfb0");
    const size = await img.evaluate(async (el) => {
      const im = el as unknown as PageImage;
      await im.decode();
      return { w: im.naturalWidth, h: im.naturalHeight };
    });
    expect(size).toEqual({ w: 6, h: 4 });
    // Every image on the page (the real run's framebuffer snapshots too) decodes.
    const widths = await page.locator("img").evaluateAll(async (els) =>
      Promise.all(els.map(async (el) => { const im = el as unknown as PageImage; await im.decode(); return im.naturalWidth; })));
    expect(widths.length).toBeGreaterThan(0);
    for (const w of widths) expect(w).toBeGreaterThan(0);
  });

  it("logs no console errors and screenshots to a non-empty PNG", async () => {
    const shot = join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    const png = readFileSync(shot);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const frame = decodePng(png);
    expect(frame.width).toBe(1000);
    expect(frame.height).toBeGreaterThan(100);
    expect(consoleErrors).toEqual([]);
  });
});
