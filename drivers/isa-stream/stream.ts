/**
 * The streaming engine of the isa-stream driver: a ring of blocks in ZONE_DMA memory, a user
 * pointer (`appl`, bytes the process wrote or read) and a hardware pointer (`hw`, bytes the card
 * moved, advanced in the block interrupt from the 8237 residue), as an ALSA ISA driver keeps them.
 *
 * Auto-init: the channel is programmed once over the whole ring (DMA_AUTOINIT), the card raises an
 * IRQ per block. Single-shot: each block is its own DMA transfer, the card stops at terminal count
 * and the IRQ programs the next one. Either way the stream stops exactly at a block boundary when
 * it runs dry (playback underrun) or full (capture overrun), and a drain plays a last partial block
 * as a single-shot transfer, so no stale byte is ever played or captured byte lost.
 */
import {
  DMA_AUTOINIT,
  DMA_MODE_READ,
  DMA_MODE_WRITE,
  addrAdd,
  ioPort,
  type Kernel,
  type KernelVA,
  type SpinLock,
  type WaitQueueHead,
} from "../../sdk/index.js";
import { Cmd, Mode, Reg } from "./hw.js";

/** The DMA ring. @internal */
export interface Ring {
  readonly va: KernelVA;
  /** Bus (physical) address of the first byte. */
  readonly phys: number;
  readonly bytes: number;
}

/** Stream settings (set by ioctl while stopped). @internal */
export interface StreamConfig {
  rate: number;
  width: 8 | 16;
  block: number;
  autoinit: boolean;
}

const IDLE = 0;
const PLAYBACK = 1;
const CAPTURE = 2;

/** One card's stream. @internal */
export class Stream {
  direction = IDLE;
  /** The card is moving data (a DMA transfer and a start command are in effect). */
  running = false;
  draining = false;
  /** Bytes written (playback) or read (capture) by the process. */
  appl = 0;
  /** Bytes moved by the card. */
  hw = 0;
  /** `hw` value at ring offset 0. */
  origin = 0;
  xruns = 0;
  /** Usable ring bytes: a whole number of blocks. */
  bufferBytes = 0;
  /** The running transfer is a single-shot one (single-shot mode, or a drain's last block). */
  private shot = false;
  private shotOffset = 0;
  private shotLen = 0;
  /** Ring offset at the last pointer update (auto-init). */
  private lastPos = 0;

  readonly lock: SpinLock;
  readonly wq: WaitQueueHead;

  constructor(
    private readonly k: Kernel,
    readonly base: number,
    readonly ring: Ring,
    readonly channels: { readonly dma8: number; readonly dma16: number },
    readonly config: StreamConfig,
  ) {
    this.lock = k.spin_lock_init("isa-stream");
    this.wq = k.init_waitqueue_head();
    this.configure();
  }

  get channel(): number {
    return this.config.width === 16 ? this.channels.dma16 : this.channels.dma8;
  }

  get isPlayback(): boolean {
    return this.direction === PLAYBACK;
  }

  get isCapture(): boolean {
    return this.direction === CAPTURE;
  }

  /** Recompute the ring geometry after a settings change. */
  configure(): void {
    this.bufferBytes = Math.floor(this.ring.bytes / this.config.block) * this.config.block;
  }

  /** Bytes queued for playback, or captured and not yet read. */
  get filled(): number {
    return this.direction === PLAYBACK ? this.appl - this.hw : this.hw - this.appl;
  }

  /** Ring offset of a pointer value. */
  offsetOf(ptr: number): number {
    return (ptr - this.origin) % this.bufferBytes;
  }

  /** Back to idle with empty pointers (open, release). Stream must be stopped. */
  reset(): void {
    this.direction = IDLE;
    this.running = false;
    this.draining = false;
    this.appl = 0;
    this.hw = 0;
    this.origin = 0;
    this.xruns = 0;
    this.shot = false;
  }

  /** Claim the direction for playback or capture; false when the other one is active. */
  claim(playback: boolean): boolean {
    const want = playback ? PLAYBACK : CAPTURE;
    if (this.direction !== IDLE && this.direction !== want) return false;
    this.direction = want;
    return true;
  }

  /** An empty, stopped ring restarts at offset 0 (auto-init always starts there). */
  rebaseIfEmpty(): void {
    if (!this.running && this.appl === this.hw) this.origin = this.hw;
  }

  // ---- card and DMA programming ---------------------------------------------------------------

  private port(reg: number) {
    return ioPort(this.base + reg);
  }

  /** The canonical sequence (floppy's setup_DMA, ALSA's snd_dma_program). */
  private programDma(mode: number, phys: number, bytes: number): void {
    const k = this.k;
    const ch = this.channel;
    const flags = k.claim_dma_lock();
    k.disable_dma(ch);
    k.clear_dma_ff(ch);
    k.set_dma_mode(ch, mode);
    k.set_dma_addr(ch, phys);
    k.set_dma_count(ch, bytes);
    k.enable_dma(ch);
    k.release_dma_lock(flags);
  }

  private disableDma(): void {
    const k = this.k;
    const flags = k.claim_dma_lock();
    k.disable_dma(this.channel);
    k.release_dma_lock(flags);
  }

  /**
   * ALSA's snd_dma_pointer: bytes done in a transfer of `size`, from the residue. The channel is
   * masked around the read; `reenable` false leaves a finished single-shot channel masked.
   */
  dmaPointer(size: number, reenable = true): number {
    const k = this.k;
    const ch = this.channel;
    const flags = k.claim_dma_lock();
    k.clear_dma_ff(ch);
    k.disable_dma(ch);
    const residue = k.get_dma_residue(ch);
    if (reenable) k.enable_dma(ch);
    k.release_dma_lock(flags);
    return residue > size ? 0 : size - residue;
  }

  private startCard(cmd: number, autoinit: boolean, block: number): void {
    const k = this.k;
    k.outb((this.config.width === 16 ? Mode.WIDE : 0) | (autoinit ? Mode.AUTOINIT : 0), this.port(Reg.MODE));
    k.outw(block, this.port(Reg.BLOCK_SIZE));
    k.outw(this.config.rate, this.port(Reg.RATE));
    k.outb(cmd, this.port(Reg.COMMAND));
  }

  /** Stop the card, then mask the channel. */
  private stopCard(): void {
    this.k.outb(Cmd.STOP, this.port(Reg.COMMAND));
    this.disableDma();
    this.running = false;
    this.shot = false;
  }

  private dmaMode(autoinit: boolean): number {
    // Linux names directions from the driver's side: WRITE = memory → device (playback).
    return (this.direction === PLAYBACK ? DMA_MODE_WRITE : DMA_MODE_READ) | (autoinit ? DMA_AUTOINIT : 0);
  }

  private startRing(): void {
    this.k.WARN_ON(this.offsetOf(this.hw) !== 0);
    this.lastPos = 0;
    this.shot = false;
    this.running = true;
    this.programDma(this.dmaMode(true), this.ring.phys, this.bufferBytes);
    this.startCard(this.direction === PLAYBACK ? Cmd.PLAY : Cmd.CAPTURE, true, this.config.block);
  }

  private startShot(len: number): void {
    const off = this.offsetOf(this.hw);
    this.shot = true;
    this.shotOffset = off;
    this.shotLen = len;
    this.running = true;
    this.programDma(this.dmaMode(false), this.ring.phys + off, len);
    this.startCard(this.direction === PLAYBACK ? Cmd.PLAY : Cmd.CAPTURE, false, len);
  }

  // ---- starting (process context, under the stream lock) ------------------------------------

  /** Playback: start once a block is queued (or anything, when draining). */
  maybeStartPlayback(): void {
    if (this.running || this.direction !== PLAYBACK) return;
    const queued = this.appl - this.hw;
    if (queued >= this.config.block) {
      if (this.config.autoinit) this.startRing();
      else this.startShot(this.config.block);
    } else if (this.draining && queued > 0) {
      this.startShot(queued);
    }
  }

  /** Capture: (re)start when there is room for a block (auto-init: when the ring is empty). */
  maybeStartCapture(): void {
    if (this.running || this.direction !== CAPTURE) return;
    if (this.config.autoinit) {
      if (this.hw !== this.appl) return;
      this.origin = this.hw;
      this.startRing();
    } else if (this.bufferBytes - (this.hw - this.appl) >= this.config.block) {
      this.startShot(this.config.block);
    }
  }

  /** Stop now (release, remove). */
  stop(): void {
    if (this.running) this.stopCard();
    this.draining = false;
  }

  // ---- the block interrupt (hardirq, under the stream lock) ----------------------------------

  /** Advance the hardware pointer and decide what runs next. */
  interrupt(): void {
    if (!this.running) return;
    if (this.shot) {
      this.hw += this.dmaPointer(this.shotLen, false);
      this.running = false;
      this.shot = false;
    } else {
      const pos = this.dmaPointer(this.bufferBytes);
      this.hw += (pos - this.lastPos + this.bufferBytes) % this.bufferBytes;
      this.lastPos = pos;
    }
    if (this.direction === PLAYBACK) this.afterPlaybackBlock();
    else this.afterCaptureBlock();
  }

  private afterPlaybackBlock(): void {
    const queued = this.appl - this.hw;
    const block = this.config.block;
    if (this.running) {
      // Auto-init ring.
      if (queued <= 0) return this.runDry();
      if (this.draining && queued < block) {
        this.stopCard();
        this.startShot(queued);
      }
      return;
    }
    // A single-shot transfer ended at terminal count.
    if (queued >= block) return this.startShot(block);
    if (this.draining && queued > 0) return this.startShot(queued);
    if (queued <= 0) return this.runDry();
    this.underrun();
  }

  /** The ring ran empty: the end of a drain, or an underrun. */
  private runDry(): void {
    if (this.running) this.stopCard();
    if (!this.draining) this.underrun();
    // Stale bytes played past the writer are skipped, as ALSA does after an xrun.
    if (this.appl < this.hw) this.appl = this.hw;
    this.origin = this.hw;
  }

  private underrun(): void {
    this.xruns++;
    this.k.pr_warn(`isa-stream: playback underrun at byte ${this.hw} (${this.appl - this.hw} queued, block ${this.config.block})`);
  }

  private afterCaptureBlock(): void {
    const room = this.bufferBytes - (this.hw - this.appl);
    if (room >= this.config.block) {
      if (!this.running) this.startShot(this.config.block);
      return;
    }
    // No room for the next block: pause before the card overwrites unread data.
    if (this.running) this.stopCard();
    this.xruns++;
    this.k.pr_warn(`isa-stream: capture overrun at byte ${this.hw} (${this.hw - this.appl} unread)`);
  }

  /** Ring position in bytes, from the residue while running. */
  position(): number {
    if (!this.running) return this.bufferBytes ? this.offsetOf(this.hw) : 0;
    if (this.shot) return this.shotOffset + this.dmaPointer(this.shotLen);
    return this.dmaPointer(this.bufferBytes);
  }

  /** Kernel address of ring offset `off`. */
  at(off: number): KernelVA {
    return addrAdd(this.ring.va, off);
  }
}
