/**
 * Guide samples (docs/detectors.md): each function provokes one detector with a deliberately
 * buggy csum driver (or a direct kernel call) and returns what the testbench reported.
 */
import { GFP_KERNEL, addrAdd, type Kernel, type KernelVA } from "vdtb/sdk";
import { Testbench, type Report } from "vdtb/testbench";
import { csum } from "./csum-device.js";
import { csumDriver, type CsumBugs } from "./csum-driver.js";
import { sumOnDevice } from "./tour.js";

async function runBuggy(bugs: CsumBugs, board = "pc") {
  const tb = await Testbench.boot({ board, devices: [csum()], drivers: [csumDriver(bugs)] });
  const sum = await sumOnDevice(tb, new Uint8Array([1, 2, 3, 250]));
  await tb.unbindAll();
  const reports: readonly Report[] = tb.reports();
  await tb.dispose();
  return { sum, reports };
}

/** The driver forgets a kfree: the leak ledger reports it at unbind, with the allocation stack. */
export function leakAtUnbind() {
  return runBuggy({ leakBuffer: true });
}

/**
 * The driver fills a buffer after mapping it for the device. On `arm` (non-coherent) the device
 * reads stale memory: the sum is wrong and the stale-cache detector names the missing step.
 */
export function fillAfterMapOnArm() {
  return runBuggy({ fillAfterMap: true }, "arm");
}

/**
 * The driver writes a buffer the device still owns (it zeroes it before unmapping). The result is
 * right on every board, and the ownership detector reports it anyway.
 */
export function scrubBeforeUnmap() {
  return runBuggy({ scrubBeforeUnmap: true }, "pc");
}

/** The interrupt handler allocates with GFP_KERNEL, which may sleep. */
export function sleepInHardirq() {
  return runBuggy({ allocInIrq: true });
}

/** A named function so that the report says where the bad access was. */
function readsOnePastTheEnd(k: Kernel, p: KernelVA): number {
  return k.mem.read32(addrAdd(p, 40));
}

/** KASAN: a 4-byte read right after a 40-byte kmalloc, through a kernel facade. */
export async function kasanOutOfBounds() {
  const tb = await Testbench.boot({ board: "pc" });
  const k = tb.facade({ driver: "kasan-demo" });
  const p = k.kmalloc(40, GFP_KERNEL);
  if (!p) throw new Error("kmalloc failed");
  readsOnePastTheEnd(k, p);
  k.kfree(p);
  const reports = tb.reports("kasan");
  await tb.dispose();
  return reports;
}

/**
 * Fault injection: fail the nth fallible call the csum driver makes in probe, for n = 1, 2, ...
 * until probe no longer hits an injected failure. Each failing probe must return a negative errno
 * and leave nothing behind. Returns probe's result per n.
 */
export async function failEachProbeCall(): Promise<{ n: number; failed: string; ret: number; reports: number }[]> {
  const tb = await Testbench.boot({ board: "pc", devices: [csum()], drivers: [csumDriver()], bind: false });
  const results: { n: number; failed: string; ret: number; reports: number }[] = [];
  for (let n = 1; n <= 50; n++) {
    tb.core.faults.arm({ nth: n, driver: "csum" });
    const ret = await tb.bind();
    tb.core.faults.disarm();
    const injected = tb.core.faults.injected[0];
    await tb.unbindAll();
    results.push({ n, failed: injected ? injected.kind : "none", ret, reports: tb.reports().length });
    if (!injected) break;
  }
  await tb.dispose();
  return results;
}
