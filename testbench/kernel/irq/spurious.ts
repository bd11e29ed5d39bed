/**
 * note_interrupt: Linux counts interrupts a line's handlers all refused (IRQ_NONE) and, when 99,900
 * of 100,000 went unhandled, reports "nobody cared" and disables the line. A simulation raises far
 * fewer interrupts, so the window and threshold are configurable; the default flags a line whose
 * last 1000 interrupts were all unhandled. As in Linux, an unhandled interrupt more than 100 ms
 * after the previous one restarts the unhandled count at 1 (sporadic IRQ_NONE is normal on a
 * shared line).
 */
import type { IrqDesc } from "./desc.js";

/** Nobody-cared detector settings. @public */
export interface NobodyCaredConfig {
  /** Interrupts per evaluation window (Linux: 100,000). */
  window: number;
  /** Unhandled interrupts in a window that disable the line (Linux: 99,900). */
  threshold: number;
  /** Gap after which the unhandled count restarts (Linux: HZ/10 = 100 ms). */
  resetGapNs: number;
}

/** @internal */
export const defaultNobodyCared = (): NobodyCaredConfig => ({ window: 1000, threshold: 1000, resetGapNs: 100e6 });

/** Account one interrupt; true when the line must be reported and disabled. @internal */
export function noteInterrupt(desc: IrqDesc, handled: boolean, now: number, cfg: NobodyCaredConfig): boolean {
  if (!handled) {
    if (now - desc.lastUnhandledNs > cfg.resetGapNs) desc.unhandled = 1;
    else desc.unhandled++;
    desc.lastUnhandledNs = now;
  }
  if (++desc.window < cfg.window) return false;
  const bad = desc.unhandled >= cfg.threshold;
  desc.window = 0;
  desc.unhandled = 0;
  return bad;
}
