/**
 * The ISA DMA channel allocator as kernel/dma.c keeps it: one lock word and one name per channel,
 * channel 4 held by "cascade" from boot. Besides the name, the testbench remembers which driver
 * holds a channel and its leak-ledger entry, so a driver that forgets `free_dma` is named at unbind.
 */
import type { Owner } from "../facade.js";
import type { CallSite } from "../stack.js";
import { MAX_DMA_CHANNELS } from "./ports.js";

/** One held channel. @public */
export interface HeldDmaChannel {
  readonly channel: number;
  /** The name given to `request_dma` (what /proc/dma shows). */
  readonly name: string;
  readonly owner: Owner;
  /** Leak-ledger entry id (0 for the kernel's own channels). */
  readonly ledgerId: number;
  readonly site: CallSite;
}

/** What /proc/dma renders: whether the board has ISA DMA, and the held channels. @public */
export interface ProcDmaState {
  /** False on boards without ISA DMA (no port space): /proc/dma reads `No DMA`. */
  readonly available: boolean;
  readonly held: readonly { readonly channel: number; readonly name: string }[];
}

/** The channel table. @public */
export class DmaChannelTable {
  private readonly slots: (HeldDmaChannel | undefined)[] = new Array<HeldDmaChannel | undefined>(MAX_DMA_CHANNELS).fill(undefined);

  /** Holder of `channel`, if any. */
  holder(channel: number): HeldDmaChannel | undefined {
    return this.slots[channel];
  }

  /** Take a free channel; false when it is already held. The channel must be in range. */
  take(entry: HeldDmaChannel): boolean {
    if (this.slots[entry.channel]) return false;
    this.slots[entry.channel] = entry;
    return true;
  }

  /** Release a channel; returns what was held there. */
  release(channel: number): HeldDmaChannel | undefined {
    const held = this.slots[channel];
    this.slots[channel] = undefined;
    return held;
  }

  /** Held channels in channel order. */
  held(): HeldDmaChannel[] {
    return this.slots.filter((s): s is HeldDmaChannel => s !== undefined);
  }
}

/**
 * `/proc/dma`: one `%2d: %s` line per held channel, or `No DMA` where there is no ISA DMA.
 * @public
 */
export function renderProcDma(state: ProcDmaState): string {
  if (!state.available) return "No DMA\n";
  let out = "";
  for (const { channel, name } of state.held) out += `${String(channel).padStart(2, " ")}: ${name}\n`;
  return out;
}
