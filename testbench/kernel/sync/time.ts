/**
 * Jiffies and conversions. HZ is 250 (a 4 ms tick); jiffies count ticks of the simulated clock
 * from 0 at boot. Conversions round up as Linux's do, so a timeout is never shorter than asked.
 */
import { HZ } from "../../../sdk/index.js";

/** Nanoseconds per jiffy. @internal */
export const TICK_NS = 1e9 / HZ;
/** Milliseconds per jiffy. @internal */
export const MS_PER_JIFFY = 1000 / HZ;
/** `MAX_JIFFY_OFFSET`: what conversions return for negative input; also "wait forever". @internal */
export const MAX_JIFFY_OFFSET = 0x3fffffff;
/** A timeout at least this large is treated as `MAX_SCHEDULE_TIMEOUT` (untimed). @internal */
export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;

/** Jiffies at simulated time `ns`. @internal */
export function jiffiesAt(ns: number): number {
  return Math.floor(ns / TICK_NS);
}

/** Start of jiffy `j` in ns. @internal */
export function jiffyStartNs(j: number): number {
  return j * TICK_NS;
}

/** `msecs_to_jiffies`: rounds up; negative → MAX_JIFFY_OFFSET. @internal */
export function msecsToJiffies(ms: number): number {
  if (ms < 0) return MAX_JIFFY_OFFSET;
  return Math.ceil(ms / MS_PER_JIFFY);
}

/** `usecs_to_jiffies`: rounds up; negative → MAX_JIFFY_OFFSET. @internal */
export function usecsToJiffies(us: number): number {
  if (us < 0) return MAX_JIFFY_OFFSET;
  return Math.ceil(us / (MS_PER_JIFFY * 1000));
}

/** `jiffies_to_msecs`. @internal */
export function jiffiesToMsecs(j: number): number {
  return j * MS_PER_JIFFY;
}

/**
 * Deadline (absolute ns) of a jiffies timeout started at `nowNs`, as schedule_timeout computes it:
 * the tick at which `jiffies` reaches `jiffies_now + timeout`. Infinity for MAX_JIFFY_OFFSET and
 * beyond. A negative timeout is treated as 0.
 * @internal
 */
export function timeoutDeadline(nowNs: number, timeoutJiffies: number): number {
  if (timeoutJiffies >= MAX_JIFFY_OFFSET) return Infinity;
  const t = timeoutJiffies > 0 ? Math.floor(timeoutJiffies) : 0;
  return jiffyStartNs(jiffiesAt(nowNs) + t);
}

/** Jiffies left until `deadline` (0 when passed), as the `*_timeout` calls return them. @internal */
export function jiffiesLeft(nowNs: number, deadline: number): number {
  if (deadline === Infinity) return MAX_JIFFY_OFFSET;
  const left = jiffiesAt(deadline) - jiffiesAt(nowNs);
  return left > 0 ? left : 0;
}
