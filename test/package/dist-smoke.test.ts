// The published package works as a consumer sees it: `npm pack`, install the tarball into an
// empty folder, then load `vdtb/testbench` from ESM and from CJS, run the `vdtb` bin, and
// type-check a consumer of both module kinds. Booting from the bundled output (not the
// sources) is what proves the tsyringe wiring survives tsup: there is no decorator metadata
// there, so every injection must be explicit.
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

// Each script boots a testbench from the bundle: every SoC component is resolved through the
// testbench's tsyringe child container, so a missing polyfill or injection token fails here.
const esmScript = `
import { Testbench } from "vdtb/testbench";
import { errname } from "vdtb/sdk";
const tb = await Testbench.boot({ board: "arm", seed: 7 });
const map = tb.memoryMap();
await tb.dispose();
console.log(JSON.stringify({ board: tb.board.name, map, errno: errname(-22) }));
`;
const cjsScript = `
const { Testbench } = require("vdtb/testbench");
const { errname } = require("vdtb/sdk");
(async () => {
  const tb = await Testbench.boot({ board: "arm", seed: 7 });
  const map = tb.memoryMap();
  await tb.dispose();
  console.log(JSON.stringify({ board: tb.board.name, map, errno: errname(-22) }));
})().catch((err) => { console.error(err); process.exitCode = 1; });
`;
// Consumers type-checked under Node's own resolution, once as ESM and once as CJS.
const esmConsumer = `
import { Testbench, resolveBoard, type BoardConfig } from "vdtb/testbench";
export const booting: Promise<Testbench> = Testbench.boot({ board: "pc", seed: 1 });
import { physAddr, type PhysAddr } from "vdtb/sdk";
export const board: BoardConfig = resolveBoard("pc");
export const ram: PhysAddr = physAddr(board.ram[0]!.base);
`;
const cjsConsumer = `
import testbench = require("vdtb/testbench");
export const booting: Promise<testbench.Testbench> = testbench.Testbench.boot({ board: "pc", seed: 1 });
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

  type Booted = { board: string; map: string; errno: string };
  const boot = (file: string, source: string): Booted => {
    writeFileSync(join(dir, file), source);
    return JSON.parse(sh(process.execPath, [file], dir)) as Booted;
  };

  it("boots a testbench from ESM and from CJS, with the same memory map", () => {
    const esm = boot("esm.mjs", esmScript);
    const cjs = boot("cjs.cjs", cjsScript);
    expect(esm.board).toBe("arm");
    expect(esm.errno).toBe("EINVAL");
    const lines = esm.map.split("\n");
    expect(lines[0]).toBe("arm (arm32)");
    expect(lines.some((l) => /^80000000-9fffffff : System RAM/.test(l))).toBe(true);
    expect(cjs).toEqual(esm);
  });

  it("installs the vdtb bin", () => {
    // A quick command of the installed bin: /proc/ioports of the default board as on a PC.
    const out = sh(join(dir, "node_modules", ".bin", "vdtb"), ["proc", "ioports"], dir).split("\n");
    expect(out).toContain("  0000-001f : dma1");
    expect(out).toContain("0cf8-0cff : PCI conf1");
  });

  it("type-checks ESM and CJS consumers against the shipped declarations", () => {
    writeFileSync(join(dir, "consumer.mts"), esmConsumer);
    writeFileSync(join(dir, "consumer.cts"), cjsConsumer);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    // No @types at all (TypeScript 6 defaults `types` to []). The declarations mention
    // `Symbol.asyncDispose`, so a consumer needs esnext.disposable in lib (or @types/node).
    const options = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--lib", "es2023,esnext.disposable"];
    sh(process.execPath, [tsc, ...options, "consumer.mts", "consumer.cts"], dir);
  });

  it("ships only dist/ and the package metadata", () => {
    const manifest = JSON.parse(readFileSync(join(dir, "node_modules", "vdtb", "package.json"), "utf8")) as { exports: Record<string, unknown> };
    expect(Object.keys(manifest.exports)).toEqual([...entries.map((e) => `./${e}`), "./package.json"]);
    expect(existsSync(join(dir, "node_modules", "vdtb", "sdk"))).toBe(false);
  });
});
