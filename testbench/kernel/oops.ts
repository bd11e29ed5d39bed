/**
 * Kernel oops: a page fault (or BUG) in kernel mode becomes a report in the kernel's wording and
 * aborts the driver's current call with {@link KernelOops}, which the driver core catches at the
 * probe / file-operation / IRQ boundary.
 */
import type { Report } from "../checks/report.js";
import { Access, FaultCause, PageFault } from "../soc/pagetable.js";
import type { KernelCore } from "./core.js";
import type { CallSite } from "./stack.js";
import { siteFrames } from "./stack.js";

/** Thrown to abort the driver call that oopsed; carries the report. @public */
export class KernelOops extends Error {
  constructor(readonly report: Report) {
    super(report.title);
    this.name = "KernelOops";
  }
}

/**
 * x86 page-fault error code bits: P (protection violation), W (write), U (user), I (fetch).
 * @internal
 */
export function pageFaultErrorCode(f: PageFault): number {
  const protection = f.cause === FaultCause.Protection || f.cause === FaultCause.Nx || f.cause === FaultCause.UserSupervisor;
  return (protection ? 1 : 0) | (f.access === Access.Write ? 2 : 0) | (f.user ? 4 : 0) | (f.access === Access.Exec ? 16 : 0);
}

/**
 * File the oops report for a kernel-mode page fault and return the exception to throw.
 * `hex` formats an address as the profile prints pointers.
 * @internal
 */
export function kernelPageFaultOops(core: KernelCore, f: PageFault, hex: (a: number) => string, site: CallSite, driver?: string): KernelOops {
  const code = pageFaultErrorCode(f);
  const nullish = f.addr >= 0 && f.addr < 4096;
  const title = nullish ? `BUG: kernel NULL pointer dereference, address: ${hex(f.addr)}` : `BUG: unable to handle page fault for address: ${hex(f.addr)}`;
  const kind = f.access === Access.Write ? "write" : f.access === Access.Exec ? "instruction fetch" : "read";
  const why = f.cause === FaultCause.NotPresent || f.cause === FaultCause.NonCanonical ? "not-present page" : "permissions violation";
  const frames = siteFrames(site);
  const n = core.reports("oops").length + 1;
  const text = [
    title,
    `#PF: supervisor ${kind} access in kernel mode`,
    `#PF: error_code(0x${code.toString(16).padStart(4, "0")}) - ${why}`,
    `Oops: ${code.toString(16).padStart(4, "0")} [#${n}] PREEMPT SMP KASAN`,
    `CPU: 0 PID: ${core.ctx.task.pid} Comm: ${core.ctx.task.comm}`,
    "Call Trace:",
    ...frames.map((l) => ` ${l}`),
  ].join("\n");
  const r = core.report({
    kind: "oops",
    title,
    text,
    address: f.addr,
    stack: frames,
    ...(driver ? { driver } : {}),
    details: { access: f.accessName, cause: f.causeName, errorCode: code },
  });
  return new KernelOops(r);
}

/** Report a BUG()/panic-class condition and return the exception to throw. @internal */
export function kernelBug(core: KernelCore, title: string, lines: readonly string[], site: CallSite, driver?: string): KernelOops {
  const frames = siteFrames(site);
  const r = core.report({
    kind: "oops",
    title,
    text: [title, ...lines, "Call Trace:", ...frames.map((l) => ` ${l}`)].join("\n"),
    stack: frames,
    ...(driver ? { driver } : {}),
  });
  return new KernelOops(r);
}

/** The title of an oops for a NULL-pointer dereference (the address of a NULL struct's field 0). @internal */
export const NULL_DEREF_TITLE = "BUG: kernel NULL pointer dereference, address: 0000000000000000";

/**
 * The oops for a NULL (or undefined) pointer argument that Linux dereferences in `fn`, e.g.
 * `nullDeref(core, "complete", "struct completion", c, site, driver)`; returns the exception to throw.
 * @internal
 */
export function nullDeref(core: KernelCore, fn: string, what: string, value: unknown, site: CallSite, driver?: string): KernelOops {
  return kernelBug(core, NULL_DEREF_TITLE, ["#PF: supervisor read access in kernel mode", `${fn}: NULL ${what} (the driver passed ${String(value)})`], site, driver);
}

/** Whether a driver passed NULL (JS null or undefined) where a pointer belongs. @internal */
export function isNull(p: unknown): p is null | undefined {
  return p === null || p === undefined;
}

/** Linux's soft-lockup watchdog fires after 2 * watchdog_thresh (10 s) of spinning. @internal */
export const SOFT_LOCKUP_NS = 20e9;

/**
 * The watchdog's report for a busy-wait that spun past {@link SOFT_LOCKUP_NS} (an endless one
 * included); the driver's call is aborted, since the simulation cannot spin forever.
 * @internal
 */
export function softLockup(core: KernelCore, what: string, site: CallSite, driver?: string): KernelOops {
  const t = core.ctx.task;
  return kernelBug(core, `watchdog: BUG: soft lockup - CPU#0 stuck for ${SOFT_LOCKUP_NS / 1e9}s! [${t.comm}:${t.pid}]`, [what], site, driver);
}
