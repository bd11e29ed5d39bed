/**
 * Signals delivered to a simulated process by the fault path. A user access that cannot be
 * resolved throws a {@link UserSignal} into the test (never a bare host exception) and is also
 * recorded in `Process.signals`.
 */

/** Signal names the fault path delivers. @public */
export type SignalName = "SIGSEGV" | "SIGBUS" | "SIGKILL";

/** `si_code` values (asm-generic/siginfo.h). @public */
export const SEGV_MAPERR = 1;
/** @public */ export const SEGV_ACCERR = 2;
/** @public */ export const BUS_ADRERR = 2;

/** What a process received. @public */
export interface SignalInfo {
  readonly signal: SignalName;
  /** `si_code`: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR (0 for SIGKILL). */
  readonly code: number;
  /** `si_addr`: the faulting user address. */
  readonly addr: number;
  /** Why, in words: "write to read-only mapping", "no mapping", ... */
  readonly cause: string;
  /** "read" or "write". */
  readonly access: "read" | "write";
}

/** Format a user address as the kernel prints it (0x-prefixed, at least 8 hex digits). @internal */
export function hexUser(addr: number): string {
  if (addr < 0) {
    const hi = Math.floor(addr / 4294967296);
    return "0x" + (hi + 4294967296).toString(16) + (addr - hi * 4294967296).toString(16).padStart(8, "0");
  }
  return "0x" + addr.toString(16).padStart(8, "0");
}

/**
 * A signal delivered to a simulated process, thrown by the user-memory helpers, e.g.
 * `SIGSEGV at 0x7f0000001000: write to read-only mapping`.
 * @public
 */
export class UserSignal extends Error implements SignalInfo {
  readonly signal: SignalName;
  readonly code: number;
  readonly addr: number;
  override readonly cause: string;
  readonly access: "read" | "write";
  constructor(
    info: SignalInfo,
    /** The process, as `pid (comm)`. */
    readonly task: string,
  ) {
    super(`${info.signal} at ${hexUser(info.addr)}: ${info.cause} (${info.access} by ${task})`);
    this.name = "UserSignal";
    this.signal = info.signal;
    this.code = info.code;
    this.addr = info.addr;
    this.cause = info.cause;
    this.access = info.access;
  }
}
