// Scaling past one machine uses vitest's own sharding (ARCHITECTURE.md, "Scale"). This proves the
// workflow on a small dedicated project of vdtb tests: run it as two shards with the blob
// reporter, merge the blobs with --merge-reports, and check that the shards ran disjoint,
// non-empty parts and that the merged report holds every test exactly once, all passing.
//
// The project lives under the repo's temp/ (git-ignored, excluded from the repo's own vitest run)
// so that "vitest", "reflect-metadata" and the repo's sources resolve as they do for repo tests.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const vitestBin = join(root, "node_modules/.bin/vitest");

/** The project's test files: name → test names. Each test boots a testbench and checks it clean. */
const tests: Record<string, readonly { name: string; board: string; seed: number }[]> = {
  "pc.test.ts": [{ name: "pc boots and unbinds clean", board: "pc", seed: 1 }],
  "arm.test.ts": [{ name: "arm boots and unbinds clean", board: "arm", seed: 2 }],
  "seeds.test.ts": [
    { name: "pc32 seed 3 boots and unbinds clean", board: "pc32", seed: 3 },
    { name: "pc seed 4 boots and unbinds clean", board: "pc", seed: 4 },
  ],
};

const src = (p: string) => JSON.stringify(join(root, p));
const config = `import { defineConfig } from "vitest/config";
export default defineConfig({
  resolve: {
    alias: {
      "vdtb/testbench": ${src("testbench/index.ts")},
      "vdtb/vitest": ${src("testbench/vitest/index.ts")},
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    setupFiles: ["reflect-metadata", "vdtb/vitest"],
    environment: "node",
    testTimeout: 60000,
  },
});
`;

function testFile(cases: readonly { name: string; board: string; seed: number }[]): string {
  return `import { expect, it } from "vitest";
import { Testbench } from "vdtb/testbench";
${cases.map((c) => `
it(${JSON.stringify(c.name)}, async () => {
  const tb = await Testbench.boot({ board: ${JSON.stringify(c.board)}, seed: ${c.seed} });
  try {
    expect(tb.board.name).toBe(${JSON.stringify(c.board)});
    await tb.unbindAll();
    expect(tb).toBeClean();
  } finally {
    await tb.dispose();
  }
});
`).join("")}`;
}

/** The environment minus what the enclosing vitest/npm set, so the nested vitest is a plain CLI run. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("VITEST") || key.startsWith("npm_") || key === "INIT_CWD" || key === "NODE_ENV" || key === "TEST") delete env[key];
  }
  return env;
}

function vitest(cwd: string, args: string[]): string {
  try {
    return execFileSync(vitestBin, args, { cwd, env: cleanEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`vitest ${args.join(" ")} failed in ${cwd}\n${stdout}${stderr}`);
  }
}

/** The parts of vitest's JSON report this test reads. */
interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  success: boolean;
  testResults: { name: string; status: string; assertionResults: { fullName: string; title: string; status: string }[] }[];
}

describe("vitest sharding with blob reports merged by --merge-reports", () => {
  let dir = "";
  let shards: JsonReport[] = [];
  let merged: JsonReport;

  beforeAll(() => {
    mkdirSync(join(root, "temp"), { recursive: true });
    dir = mkdtempSync(join(root, "temp", "vitest-shards-"));
    writeFileSync(join(dir, "vitest.config.mjs"), config);
    mkdirSync(join(dir, "tests"));
    for (const [file, cases] of Object.entries(tests)) writeFileSync(join(dir, "tests", file), testFile(cases));

    const blobs = join(dir, "blobs");
    for (const i of [1, 2]) {
      vitest(dir, [
        "run", `--shard=${i}/2`,
        "--reporter=blob", `--outputFile.blob=${join(blobs, `blob-${i}.json`)}`,
        "--reporter=json", `--outputFile.json=${join(dir, `shard-${i}.json`)}`,
      ]);
    }
    vitest(dir, ["run", `--merge-reports=${blobs}`, "--reporter=json", `--outputFile=${join(dir, "merged.json")}`]);
    shards = [1, 2].map((i) => JSON.parse(readFileSync(join(dir, `shard-${i}.json`), "utf8")) as JsonReport);
    merged = JSON.parse(readFileSync(join(dir, "merged.json"), "utf8")) as JsonReport;
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fileOf = (name: string) => relative(join(dir, "tests"), name);

  it("writes one blob per shard", () => {
    expect(readdirSync(join(dir, "blobs")).sort()).toEqual(["blob-1.json", "blob-2.json"]);
    expect(existsSync(join(dir, "merged.json"))).toBe(true);
  });

  it("runs disjoint, non-empty shards that together cover the project", () => {
    const files = shards.map((s) => s.testResults.map((r) => fileOf(r.name)).sort());
    for (const f of files) expect(f.length).toBeGreaterThan(0);
    expect(files[0]!.filter((f) => files[1]!.includes(f))).toEqual([]);
    expect([...files[0]!, ...files[1]!].sort()).toEqual(Object.keys(tests).sort());
    for (const s of shards) {
      expect(s.numFailedTests).toBe(0);
      expect(s.numPassedTests).toBeGreaterThan(0);
    }
    expect(shards[0]!.numTotalTests + shards[1]!.numTotalTests).toBe(Object.values(tests).flat().length);
  });

  it("merges into one report with every test exactly once, all passing", () => {
    const expected = Object.entries(tests).flatMap(([file, cases]) => cases.map((c) => `${file} > ${c.name}`)).sort();
    const got = merged.testResults.flatMap((r) => r.assertionResults.map((a) => `${fileOf(r.name)} > ${a.title}`)).sort();
    expect(got).toEqual(expected); // exactly once each: duplicates or omissions change the list
    expect(merged.numTotalTests).toBe(expected.length);
    expect(merged.numPassedTests).toBe(expected.length);
    expect(merged.numFailedTests).toBe(0);
    expect(merged.success).toBe(true);
    for (const r of merged.testResults) {
      expect(r.status).toBe("passed");
      for (const a of r.assertionResults) expect(a.status).toBe("passed");
    }
  });
});
