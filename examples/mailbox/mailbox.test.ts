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

  it("copes with device faults: lost, late and spurious interrupts, surprise removal mid-request", async () => {
    const ETIMEDOUT = 110;
    const tb = await Testbench.boot({ board: "pc", devices: [mailbox()], drivers: [mailboxDriver] });
    const dev = tb.drivers.devices().find((d) => d.model.model === "mailbox")!;
    tb.deviceFaults.inject({ device: dev.name, kind: "lost-irq" });
    expect(await roundTrip(tb, 1)).toBe(`write: -${ETIMEDOUT}`);
    expect(await roundTrip(tb, 2)).toBe(~2 >>> 0);
    tb.deviceFaults.inject({ device: dev.model, kind: "completion-timeout", delayNs: 50e6 });
    expect(await roundTrip(tb, 3)).toBe(`write: -${ETIMEDOUT}`);
    await tb.facade({ driver: "test" }).msleep(100); // the late interrupt arrives
    expect(await roundTrip(tb, 4)).toBe(~4 >>> 0);
    tb.deviceFaults.inject({ device: dev.name, kind: "spurious-irq" });
    await tb.facade({ driver: "test" }).msleep(1); // the handler refuses it (IRQ_NONE)
    expect(tb.deviceFaults.counters(dev.name)).toMatchObject({ lostIrqs: 1, delayedIrqs: 1, spuriousIrqs: 1 });
    expect(tb.reports()).toEqual([]);
    // Unplugged while a request waits for its answer: the write times out, the driver core unbinds.
    const p = tb.spawn("mbox-test");
    const fd = await p.open("/dev/mailbox", O_RDWR);
    const buf = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p.store32(buf, 5);
    const pending = p.write(fd, buf, 4);
    tb.deviceFaults.inject({ device: dev.name, kind: "surprise-removal" });
    expect(await pending).toBe(-ETIMEDOUT);
    await tb.deviceFaults.settled();
    expect(tb.drivers.bindingOf(dev.name)).toBeUndefined();
    await p.exit();
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
