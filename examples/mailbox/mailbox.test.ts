/**
 * The out-of-tree plugin's own test, using only public entry points: boot the mailbox on the
 * default board, talk to /dev/mailbox from a user process, unbind, and check the testbench is
 * clean; then run the hygiene suite (bind/unbind, fail-nth over probe and over the file
 * operations) on it.
 */
import { describe, expect, it } from "vitest";
import { hygieneSuite, MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, planConformance, runConformance, Testbench, type ConformanceTarget } from "vdtb/testbench";
import "vdtb/vitest";
import { mailbox, mailboxDriver } from "./index.js";

async function roundTrip(tb: Testbench, word: number): Promise<number | string> {
  const p = tb.spawn("mbox-test");
  const fd = await p.open("/dev/mailbox", O_RDWR);
  if (fd < 0) return `open: ${fd}`;
  const buf = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf < 0) return `mmap: ${buf}`;
  p.store32(buf, word);
  const w = await p.write(fd, buf, 4);
  if (w !== 4) return `write: ${w}`;
  const r = await p.read(fd, buf + 4, 4);
  if (r !== 4) return `read: ${r}`;
  await p.close(fd);
  return p.load32(buf + 4);
}

describe("examples/mailbox", () => {
  it("answers each request with its complement, through a user process", async () => {
    const tb = await Testbench.boot({ board: "pc", devices: [mailbox()], drivers: [mailboxDriver] });
    expect(tb.dmesg()).toMatch(/mailbox ready, irq 9/);
    expect(await roundTrip(tb, 0x12345678)).toBe(~0x12345678 >>> 0);
    expect(await roundTrip(tb, 0)).toBe(0xffffffff);
    await tb.unbindAll();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("passes the hygiene suite on pc and arm", async () => {
    const target: ConformanceTarget = {
      driver: mailboxDriver,
      devices: () => [mailbox()],
      exercise: async (tb) => {
        // Tolerant: under fault injection a syscall may fail with an errno; that is fine.
        await roundTrip(tb, 7);
      },
    };
    const plan = planConformance([target], [hygieneSuite], { seeds: [1] }).filter((p) => p.board !== "pc32");
    const run = await runConformance(plan);
    const failed = run.cases.filter((c) => c.status === "failed");
    expect(failed.map((c) => `${c.name}@${c.board}: ${c.diagnosis}`)).toEqual([]);
    expect(run.cases.map((c) => c.name)).toEqual(["bind-unbind", "bind-unbind", "probe-fail-nth", "probe-fail-nth", "fops-fail-nth", "fops-fail-nth"]);
  });
});
