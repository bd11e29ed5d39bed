/** GFP flag helpers: zone selection, may-sleep, and the `%pGg` rendering of warnings. */
import {
  __GFP_DIRECT_RECLAIM,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGH,
  __GFP_HIGHMEM,
  __GFP_NOFAIL,
  __GFP_NOWARN,
  __GFP_RETRY_MAYFAIL,
  __GFP_ZERO,
  GFP_KERNEL,
} from "../../../sdk/kernel/types.js";
import { ZoneId } from "./buddy.js";

/** True when the caller allows sleeping (direct reclaim). @internal */
export function gfpMaySleep(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

/** The highest zone a request may use (before falling back to lower zones). @internal */
export function gfpZone(gfp: number): ZoneId {
  if ((gfp & __GFP_DMA) !== 0) return ZoneId.DMA;
  if ((gfp & __GFP_DMA32) !== 0) return ZoneId.DMA32;
  if ((gfp & __GFP_HIGHMEM) !== 0) return ZoneId.HighMem;
  return ZoneId.Normal;
}

const names: readonly (readonly [number, string])[] = [
  [__GFP_DMA, "__GFP_DMA"],
  [__GFP_HIGHMEM, "__GFP_HIGHMEM"],
  [__GFP_DMA32, "__GFP_DMA32"],
  [__GFP_HIGH, "__GFP_HIGH"],
  [__GFP_ZERO, "__GFP_ZERO"],
  [__GFP_NOWARN, "__GFP_NOWARN"],
  [__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"],
  [__GFP_NOFAIL, "__GFP_NOFAIL"],
];

/** `GFP_KERNEL|__GFP_ZERO` style rendering (as `%pGg`). @internal */
export function gfpString(gfp: number): string {
  const parts: string[] = [];
  let rest = gfp;
  if ((rest & GFP_KERNEL) === GFP_KERNEL) {
    parts.push("GFP_KERNEL");
    rest &= ~GFP_KERNEL;
  } else if ((rest & __GFP_HIGH) !== 0 && (rest & __GFP_DIRECT_RECLAIM) === 0) {
    parts.push("GFP_ATOMIC");
    rest &= ~__GFP_HIGH;
  } else if ((rest & __GFP_DIRECT_RECLAIM) === 0) {
    parts.push("GFP_NOWAIT");
  }
  for (const [bit, name] of names) {
    if ((rest & bit) !== 0) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.join("|");
}
