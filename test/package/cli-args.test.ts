/**
 * The built `vdtb` command answers bad arguments with a clear message and exit code 2, and
 * prints its help. Runs the real bin from dist/ (built by the pretest step or CI's build).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

function vdtb(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("vdtb command line", () => {
  it("is built", () => {
    expect(existsSync(cli), "dist/cli.js is missing: run npm run build").toBe(true);
  });

  it("rejects bad arguments with exit code 2 and says why", () => {
    const cases: [string[], RegExp][] = [
      [["proc", "cpuinfo"], /value 'cpuinfo' is invalid for argument 'file'\. Allowed choices are buddyinfo, slabinfo/],
      [["run", "--board", "vax"], /option '-b, --board <name>' argument 'vax' is invalid\. Allowed choices are pc, pc32, arm/],
      [["conformance", "--shard", "0/2"], /invalid shard "0\/2": expected 1 ≤ i ≤ n/],
      [["conformance", "--seeds", "-3"], /--seeds must be a positive integer/],
      [["replay", "x", "case"], /seed must be an integer/],
      [["frobnicate"], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = vdtb(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
    }
  });

  it("prints help listing every command", () => {
    const r = vdtb("--help");
    expect(r.code).toBe(0);
    for (const c of ["run", "conformance", "proc", "screenshot", "trace", "replay"]) expect(r.out).toContain(c);
  });
});
