// The published package works as a consumer sees it: `npm pack`, install the tarball into an
// empty folder, then load `vdtb/testbench` from ESM and from CJS, run the `vdtb` bin, and
// type-check a consumer of both module kinds. Running the bundled output (not the sources)
// is what proves the tsyringe wiring survives tsup: there is no decorator metadata there.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const entries = ["sdk", "testbench", "devices", "drivers", "vitest"];

/** The environment minus what an enclosing `npm test` exports, so nested npm calls act on `cwd`. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("npm_") || key === "INIT_CWD") delete env[key];
  return env;
}

function sh(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, env: cleanEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}\n${stdout}${stderr}`);
  }
}

// Until `Testbench.boot` lands these scripts check the board data only; once it does they boot
// a testbench (which resolves every component through the tsyringe child container).
const esmScript = `
import { boards, resolveBoard } from "vdtb/testbench";
import { errname } from "vdtb/sdk";
const board = resolveBoard("arm");
console.log(JSON.stringify({ kind: "esm", board: board.name, boards: Object.keys(boards), errno: errname(-22) }));
`;
const cjsScript = `
const { boards, resolveBoard } = require("vdtb/testbench");
const { errname } = require("vdtb/sdk");
const board = resolveBoard("arm");
console.log(JSON.stringify({ kind: "cjs", board: board.name, boards: Object.keys(boards), errno: errname(-22) }));
`;
// Consumers type-checked under Node's own resolution, once as ESM and once as CJS.
const esmConsumer = `
import { resolveBoard, type BoardConfig } from "vdtb/testbench";
import { physAddr, type PhysAddr } from "vdtb/sdk";
export const board: BoardConfig = resolveBoard("pc");
export const ram: PhysAddr = physAddr(board.ram[0]!.base);
`;
const cjsConsumer = `
import testbench = require("vdtb/testbench");
import sdk = require("vdtb/sdk");
export const board: testbench.BoardConfig = testbench.resolveBoard("pc");
export const ram: sdk.PhysAddr = sdk.physAddr(board.ram[0]!.base);
`;

describe("the packed package", () => {
  let dir = "";

  beforeAll(() => {
    const built = entries.every((e) => existsSync(join(root, "dist", `${e}.js`)) && existsSync(join(root, "dist", `${e}.d.cts`)));
    if (!built) sh(process.execPath, ["scripts/build.mjs"], root);
    dir = mkdtempSync(join(tmpdir(), "vdtb-smoke-"));
    const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", dir], root)) as { filename: string }[];
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "vdtb-smoke", private: true }));
    sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock", join(dir, packed[0]!.filename)], dir);
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads from ESM", () => {
    writeFileSync(join(dir, "esm.mjs"), esmScript);
    const out = JSON.parse(sh(process.execPath, ["esm.mjs"], dir));
    expect(out).toEqual({ kind: "esm", board: "arm", boards: ["pc", "pc32", "arm"], errno: "EINVAL" });
  });

  it("loads from CJS", () => {
    writeFileSync(join(dir, "cjs.cjs"), cjsScript);
    const out = JSON.parse(sh(process.execPath, ["cjs.cjs"], dir));
    expect(out).toEqual({ kind: "cjs", board: "arm", boards: ["pc", "pc32", "arm"], errno: "EINVAL" });
  });

  it("installs the vdtb bin", () => {
    const out = sh(join(dir, "node_modules", ".bin", "vdtb"), ["run"], dir);
    expect(out.split("\n")[0]).toBe("vdtb");
  });

  it("type-checks ESM and CJS consumers against the shipped declarations", () => {
    writeFileSync(join(dir, "consumer.mts"), esmConsumer);
    writeFileSync(join(dir, "consumer.cts"), cjsConsumer);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    // TypeScript 6 defaults `types` to [], so no @types are needed; a failure throws with tsc's output.
    sh(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "consumer.mts", "consumer.cts"], dir);
  });

  it("ships only dist/ and the package metadata", () => {
    const manifest = JSON.parse(readFileSync(join(dir, "node_modules", "vdtb", "package.json"), "utf8")) as { exports: Record<string, unknown> };
    expect(Object.keys(manifest.exports)).toEqual([...entries.map((e) => `./${e}`), "./package.json"]);
    expect(existsSync(join(dir, "node_modules", "vdtb", "sdk"))).toBe(false);
  });
});
