/**
 * The ISA DMA rules the 8237 silently breaks (CHECKS.md detector 10), checked from two sides:
 * the kernel calls (what the driver asked for, with its stack) and the controller (what the chip
 * was actually told, through its programming observer and its wrap guest error).
 *
 * Flip-flop rule, precisely: the address and count registers are reached through one byte-pointer
 * flip-flop per controller, and the asm/dma.h helpers assume it is clear. A driver clears it once
 * with `clear_dma_ff` inside its `claim_dma_lock` section and then programs: every helper does two
 * accesses, so the flip-flop is clear again after each. A section that reaches the address or
 * count registers of a controller (`set_dma_addr`, `set_dma_count`, `get_dma_residue`) before
 * clearing that controller's flip-flop is reported; so is any helper whose low-byte access finds
 * the flip-flop set (the bytes are swapped on the chip), whatever the sequence looked like.
 */
import { MAX_DMA_ADDRESS, type IsaDmaProgramEvent } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { Owner } from "../facade.js";
import { siteFrames, type CallSite } from "../stack.js";
import type { DmaChannelTable } from "./channels.js";
import { controllerOf, dmaPageSize, isWide } from "./ports.js";

/** Which rule a report is about (its `details.rule`). @public */
export type IsaDmaRule =
  | "boundary"
  | "device-wrap"
  | "limit"
  | "odd-address"
  | "odd-count"
  | "flip-flop"
  | "unlocked"
  | "free-free"
  | "free-invalid"
  | "free-foreign"
  | "no-isa-dma";

/** The calls that reach the controller. @internal */
export type IsaDmaCall =
  | "enable_dma"
  | "disable_dma"
  | "clear_dma_ff"
  | "set_dma_mode"
  | "set_dma_page"
  | "set_dma_addr"
  | "set_dma_count"
  | "get_dma_residue";

const hex = (n: number, digits = 6) => "0x" + n.toString(16).padStart(digits, "0");

/** A helper about to do its low-byte access, for the observer to check. */
interface PendingLow {
  readonly channel: number;
  readonly call: IsaDmaCall;
  readonly owner: Owner;
  readonly site: CallSite;
}

/** @internal */
export class IsaDmaRules {
  /** Per controller: cleared by clear_dma_ff inside the current lock section. */
  private readonly ffCleared = [false, false];
  /** Per channel: the bus address the kernel programmed (NaN until set_dma_addr). */
  private readonly addr = new Float64Array(8).fill(Number.NaN);
  /** Per channel: the last count programmed (bytes), and the lock sections of address and count. */
  private readonly count = new Float64Array(8).fill(Number.NaN);
  private readonly addrSection = new Float64Array(8).fill(-1);
  private readonly countSection = new Float64Array(8).fill(-1);
  /** Per channel: a boundary check waiting for the address of this sequence (or enable_dma). */
  private readonly pendingBoundary: ({ owner: Owner; site: CallSite } | undefined)[] = new Array<{ owner: Owner; site: CallSite } | undefined>(8).fill(undefined);
  private section = 0;
  /** Per channel: the site and owner of the last address/count programming. */
  private readonly lastSite: (CallSite | undefined)[] = new Array<CallSite | undefined>(8).fill(undefined);
  private readonly lastOwner: (Owner | undefined)[] = new Array<Owner | undefined>(8).fill(undefined);
  private pendingLow: PendingLow | undefined;
  private readonly once = new Set<string>();

  constructor(
    private readonly core: KernelCore,
    private readonly channels: DmaChannelTable,
  ) {}

  /** The detector switch (in `core.detectors`, so `setDetectors(false)` turns it off too). */
  get enabled(): boolean {
    return (this.core.detectors as unknown as Record<string, boolean>)["isaDma"] !== false;
  }

  /** A new claim_dma_lock section starts, or one ends: the flip-flop state is unknown again. */
  sectionBoundary(): void {
    this.section++;
    this.ffCleared[0] = false;
    this.ffCleared[1] = false;
  }

  /** Every call that reaches the controller: the lock rule, then per-call bookkeeping. */
  beforeCall(owner: Owner, call: IsaDmaCall, ch: number, locked: boolean, site: CallSite): void {
    if (!this.enabled) return;
    if (!locked) {
      this.reportOnce(owner, "unlocked", ch, site, `vdtb: ISA DMA channel ${ch}: ${call}() outside claim_dma_lock()`, [
        `${call}() reached the 8237 without the DMA spinlock held. The controllers' flip-flop and`,
        "mask/mode registers are shared by all channels: another CPU or an interrupt handler",
        "programming a channel at the same time interleaves its accesses with these.",
        "Wrap the whole sequence in flags = claim_dma_lock(); ... release_dma_lock(flags);",
      ], { call });
    }
    if (call === "clear_dma_ff") {
      if (locked) this.ffCleared[controllerOf(ch)] = true;
      return;
    }
    if (call !== "set_dma_addr" && call !== "set_dma_count" && call !== "get_dma_residue") return;
    if (locked && !this.ffCleared[controllerOf(ch)]) {
      this.reportOnce(owner, "flip-flop", ch, site, `vdtb: ISA DMA channel ${ch}: ${call}() without clear_dma_ff() first`, [
        `${call}() accesses the ${isWide(ch) ? "DMA2" : "DMA1"} address/count registers through the byte-pointer`,
        "flip-flop, low byte first, assuming the flip-flop is clear. Nothing in this",
        "claim_dma_lock() section cleared it, so if anything left it set the low and high bytes",
        "are swapped on the chip. Call clear_dma_ff(channel) after claim_dma_lock() and before",
        "programming the address and count (or reading the residue).",
      ], { call });
    }
  }

  /** A helper is about to do the first (low-byte) access of its pair. */
  expectLowByte(owner: Owner, call: IsaDmaCall, channel: number, site: CallSite): void {
    this.pendingLow = this.enabled ? { channel, call, owner, site } : undefined;
  }

  /** The low-byte access happened (seen by the observer or not). */
  lowByteDone(): void {
    this.pendingLow = undefined;
  }

  /** The controller's programming observer. */
  observe(e: IsaDmaProgramEvent): void {
    const p = this.pendingLow;
    if (!p) return;
    if (e.channel !== p.channel) return;
    if (e.kind !== "address" && e.kind !== "count" && e.kind !== "address-read" && e.kind !== "count-read") return;
    this.pendingLow = undefined;
    if (!e.flipFlopBefore) return;
    this.reportOnce(p.owner, "flip-flop", p.channel, p.site, `vdtb: ISA DMA channel ${p.channel}: ${p.call}() found the byte-pointer flip-flop set`, [
      `The 8237 saw the low byte of ${p.call}() (port ${hex(e.port, 2)}, value ${hex(e.value, 2)}) with its`,
      "flip-flop pointing at the high byte, so the two bytes landed swapped. Something left the",
      "flip-flop set; call clear_dma_ff(channel) right before programming.",
    ], { call: p.call, port: e.port, value: e.value, observed: true });
  }

  /** set_dma_page changes the high address bits the kernel programmed. */
  notePage(ch: number, page: number): void {
    const a = this.addr[ch]!;
    const low = Number.isNaN(a) ? 0 : isWide(ch) ? a % 0x20000 : a % 0x10000;
    this.addr[ch] = (isWide(ch) ? (page & 0xfe) : page & 0xff) * 0x10000 + low;
  }

  /** set_dma_addr: the 16 MiB limit and 16-bit alignment. */
  checkAddr(owner: Owner, ch: number, addr: number, site: CallSite): void {
    this.addr[ch] = addr;
    this.addrSection[ch] = this.section;
    this.lastSite[ch] = site;
    this.lastOwner[ch] = owner;
    if (!this.enabled) return;
    if (addr >= MAX_DMA_ADDRESS || addr < 0) {
      this.reportOnce(owner, "limit", ch, site, `vdtb: ISA DMA channel ${ch}: address ${hex(addr, 8)} is beyond the 16 MiB ISA DMA limit`, [
        "The 8237 and its page registers drive 24 address bits: the transfer would land at",
        `${hex(addr % 0x1000000)} instead. ISA DMA buffers must come from ZONE_DMA:`,
        "allocate them with GFP_DMA (kmalloc, __get_free_pages) so that they sit below MAX_DMA_ADDRESS.",
      ], { address: addr }, addr);
    }
    if (isWide(ch) && addr % 2 !== 0) {
      this.reportOnce(owner, "odd-address", ch, site, `vdtb: ISA DMA channel ${ch}: odd address ${hex(addr, 8)} on a 16-bit channel`, [
        "Channels 5–7 move 16-bit words: the address register holds A16:A1 and bit 0 is dropped,",
        "so the transfer would start one byte early. Use an even (word-aligned) buffer address.",
      ], { address: addr }, addr);
    }
    // Count first, then address, in one sequence: the boundary check happens now.
    if (this.countSection[ch] === this.section) {
      this.pendingBoundary[ch] = undefined;
      this.checkBoundary(owner, ch, addr, this.count[ch]!, site);
    }
  }

  /**
   * set_dma_count: 16-bit alignment, and the 64/128 KiB boundary with the address programmed in
   * the same sequence (checked when the second of the two arrives, or at enable_dma).
   */
  checkCount(owner: Owner, ch: number, count: number, site: CallSite): void {
    this.lastSite[ch] = site;
    this.lastOwner[ch] = owner;
    this.count[ch] = count;
    this.countSection[ch] = this.section;
    if (!this.enabled) return;
    if (isWide(ch) && count % 2 !== 0) {
      this.reportOnce(owner, "odd-count", ch, site, `vdtb: ISA DMA channel ${ch}: odd count ${count} on a 16-bit channel`, [
        "Channels 5–7 count 16-bit words: set_dma_count() programs (count - 1) >> 1 words, so the",
        "last byte of an odd length is never transferred. Use an even length.",
      ], { count });
    }
    const addr = this.addr[ch]!;
    if (Number.isNaN(addr)) return;
    if (this.addrSection[ch] === this.section) {
      this.pendingBoundary[ch] = undefined;
      this.checkBoundary(owner, ch, addr, count, site);
    } else {
      // The address may come next in this sequence; otherwise enable_dma checks the old one.
      this.pendingBoundary[ch] = { owner, site };
    }
  }

  /** enable_dma: a count programmed without a new address is checked against the old one. */
  checkEnable(ch: number): void {
    const p = this.pendingBoundary[ch];
    if (!p) return;
    this.pendingBoundary[ch] = undefined;
    if (!this.enabled) return;
    this.checkBoundary(p.owner, ch, this.addr[ch]!, this.count[ch]!, p.site);
  }

  /** The 64/128 KiB page rule for a transfer of `count` bytes at `addr`. */
  private checkBoundary(owner: Owner, ch: number, addr: number, count: number, site: CallSite): void {
    if (!this.enabled || Number.isNaN(addr) || !(count > 0)) return;
    const page = dmaPageSize(ch);
    const first = Math.floor(addr / page);
    const last = Math.floor((addr + count - 1) / page);
    if (first === last) return;
    const size = page === 0x10000 ? "64 KiB" : "128 KiB";
    const edge = (first + 1) * page;
    this.reportOnce(owner, "boundary", ch, site, `vdtb: ISA DMA channel ${ch}: transfer of ${count} bytes at ${hex(addr, 8)} crosses a ${size} boundary`, [
      `The buffer ${hex(addr, 8)}-${hex(addr + count - 1, 8)} spans the ${size} boundary at ${hex(edge, 8)}.`,
      `The 8237 address counter does not carry into the page register: after ${hex(edge - (isWide(ch) ? 2 : 1), 8)}`,
      `the transfer continues at ${hex(edge - page, 8)}, overwriting memory the driver does not own.`,
      `Allocate the buffer so that it does not cross a ${size} boundary (e.g. __get_free_pages with`,
      "GFP_DMA: a naturally aligned block of at most that size never does), or split the transfer.",
    ], { address: addr, count, boundary: edge }, addr, count);
  }

  /** A guest error from the controller model: its address counter wrapped inside a page. */
  deviceGuestError(message: string): void {
    if (!this.enabled) return;
    const m = /channel (\d) address counter wrapped/.exec(message);
    if (!m) return;
    const ch = Number(m[1]);
    const held = this.channels.holder(ch);
    const owner = this.lastOwner[ch] ?? held?.owner ?? { driver: "kernel" };
    const key = `${owner.driver}|boundary|${ch}`;
    if (this.once.has(key)) return; // already reported when it was programmed
    const site = this.lastSite[ch];
    this.reportOnce(owner, "device-wrap", ch, site, `vdtb: ISA DMA channel ${ch}: the 8237 address counter wrapped inside its ${isWide(ch) ? "128" : "64"} KiB page`, [
      `The controller reported: ${message}`,
      "The channel was programmed with a buffer that crosses the page boundary, so the device",
      "read or wrote the start of the page instead of the rest of the buffer.",
      "The stack below is where the channel was last programmed.",
    ], { message, holder: held?.name });
  }

  /** free_dma problems: a free channel, a channel past 7, another driver's channel. */
  reportFree(owner: Owner, rule: "free-free" | "free-invalid" | "free-foreign", ch: number, site: CallSite, holder?: string): void {
    if (!this.enabled) return;
    const title = rule === "free-free" ? `Trying to free free DMA${ch}` : rule === "free-invalid" ? `Trying to free DMA${ch}` : `vdtb: free_dma(${ch}) of a channel held by "${holder ?? "?"}"`;
    const body =
      rule === "free-free"
        ? ["free_dma() of a channel that is not held: a double free_dma, or a free without request_dma."]
        : rule === "free-invalid"
          ? ["There are only 8 ISA DMA channels (0–7)."]
          : ["The channel was requested by another driver; freeing it lets a third driver take it while the owner still uses it."];
    this.report(owner, rule, ch, site, title, body, holder === undefined ? {} : { holder });
  }

  /** An ISA DMA call on a board without ISA DMA. */
  reportNoIsaDma(owner: Owner, call: string, site: CallSite): void {
    if (!this.enabled) return;
    this.reportOnce(owner, "no-isa-dma", -1, site, `vdtb: ${call}() on a board without ISA DMA`, ["This board has no 8237 (no I/O port space); ISA DMA needs a PC board (pc, pc32)."], { call });
  }

  private reportOnce(owner: Owner, rule: IsaDmaRule, ch: number, site: CallSite | undefined, title: string, body: string[], details: Record<string, unknown>, address?: number, size?: number): void {
    const key = `${owner.driver}|${rule}|${ch}`;
    if (this.once.has(key)) return;
    this.once.add(key);
    this.report(owner, rule, ch, site, title, body, details, address, size);
  }

  private report(owner: Owner, rule: IsaDmaRule, ch: number, site: CallSite | undefined, title: string, body: string[], details: Record<string, unknown>, address?: number, size?: number): void {
    const frames = site ? siteFrames(site) : [];
    const who = `driver: ${owner.driver}${owner.device ? `, device: ${owner.device}` : ""}${ch >= 0 ? `, channel: ${ch}` : ""}`;
    this.core.report({
      kind: "isa-dma",
      title,
      text: [title, ...body.map((l) => ` ${l}`), ` ${who}`, ...(frames.length ? ["Call Trace:", ...frames.map((f) => ` ${f}`)] : [])].join("\n"),
      driver: owner.driver,
      ...(owner.device ? { device: owner.device } : {}),
      ...(address === undefined ? {} : { address }),
      ...(size === undefined ? {} : { size }),
      stack: frames,
      details: { rule, channel: ch, ...details },
    });
  }
}
