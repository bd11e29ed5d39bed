/**
 * isa-stream: a Sound-Blaster-like ISA device that streams through an 8237 channel. While running
 * it holds DREQ and, on clock events at RATE, moves a chunk (at most 1 ms worth, at most up to the
 * next block boundary) through its DMA channel; every BLOCK_SIZE bytes it raises its IRQ.
 */
import {
  RegisterFile,
  type DeviceContext,
  type DeviceDecl,
  type IsaDmaChannelPort,
  type IsaDmaMove,
  type TimerHandle,
  type VirtualDevice,
} from "../../sdk/index.js";
import {
  ISA_STREAM_PORTS,
  IsaStreamCommand,
  IsaStreamMode,
  IsaStreamStatus,
  isaStreamRegisters,
} from "./registers.js";

/** Fills `dst` with captured samples. @public */
export type CaptureSource = (dst: Uint8Array) => void;

/** Options of {@link IsaStreamDevice}. @public */
export interface IsaStreamOptions {
  /** First port of the 16-port range (default 0x220). */
  readonly base?: number;
  /** ISA IRQ line (default 5). */
  readonly irq?: number;
  /** 8-bit DMA channel (default 1). */
  readonly dma8?: number;
  /** 16-bit DMA channel (default 5). */
  readonly dma16?: number;
  /** Capture source; default a 16-bit LFSR seeded from the context's RNG at attach. */
  readonly source?: CaptureSource;
  /** Most bytes kept by the playback sink and the capture record (default 16 MiB); the rest is only counted. */
  readonly recordLimit?: number;
}

/**
 * A capture source producing the byte stream of a 16-bit Galois LFSR (taps 0xB400), one step per
 * byte, low 8 bits of the state. A zero seed is replaced by 1.
 * @public
 */
export function lfsrSource(seed: number): CaptureSource {
  let state = seed & 0xffff || 1;
  return (dst) => {
    for (let i = 0; i < dst.length; i++) {
      state = state & 1 ? (state >>> 1) ^ 0xb400 : state >>> 1;
      dst[i] = state & 0xff;
    }
  };
}

/** A byte log with a size cap; beyond the cap bytes are only counted. */
class ByteRecord {
  private buf = new Uint8Array(256);
  private kept = 0;
  total = 0;
  constructor(private readonly limit: number) {}
  append(bytes: Uint8Array): void {
    this.total += bytes.length;
    const n = Math.min(bytes.length, this.limit - this.kept);
    if (n <= 0) return;
    if (this.kept + n > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(this.kept + n, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.kept));
      this.buf = grown;
    }
    this.buf.set(bytes.subarray(0, n), this.kept);
    this.kept += n;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.kept);
  }
}

const IDLE = 0;
const PLAYBACK = 1;
const CAPTURE = 2;
/** Events per millisecond at most, whatever BLOCK_SIZE says (small blocks coalesce IRQs). */
const MAX_EVENTS_PER_MS = 64;
const NS_PER_MS = 1_000_000;

/**
 * The isa-stream device model (DEVICES.md §4).
 * @public
 */
export class IsaStreamDevice implements VirtualDevice {
  readonly model = "isa-stream";
  /** The guest-visible register file. */
  readonly registers: RegisterFile;
  readonly base: number;
  readonly irqLine: number;
  readonly dma8: number;
  readonly dma16: number;

  private ctx: DeviceContext | undefined;
  private source: CaptureSource | undefined;
  private readonly sink: ByteRecord;
  private readonly captured: ByteRecord;
  private readonly dmaPorts = new Map<number, IsaDmaChannelPort>();
  private scratch = new Uint8Array(0x10000);
  private pio = new Uint8Array(1);

  // Latched at start.
  private state = IDLE;
  private port: IsaDmaChannelPort | undefined;
  private wide = false;
  private autoinit = false;
  private blockSize = 0;
  private rate = 0;
  // Progress.
  private timer: TimerHandle | undefined;
  private startNs = 0;
  private accounted = 0;
  private pendingChunk = 0;
  private blockFill = 0;
  private inXrun = false;
  private events = 0;

  constructor(options: IsaStreamOptions = {}) {
    this.base = options.base ?? 0x220;
    this.irqLine = options.irq ?? 5;
    this.dma8 = options.dma8 ?? 1;
    this.dma16 = options.dma16 ?? 5;
    this.source = options.source;
    const limit = Math.max(0, Math.floor(options.recordLimit ?? 16 << 20));
    this.sink = new ByteRecord(limit);
    this.captured = new ByteRecord(limit);
    const regs = new RegisterFile(isaStreamRegisters);
    this.registers = regs;
    regs.onWrite("ID_RESET", (_v, _o, w) => {
      if (w & 1) this.resetState();
    });
    regs.onWrite("COMMAND", (_v, _o, w) => this.command(w & 0xff));
    regs.onWrite("MODE", () => {
      if (this.state !== IDLE) this.guestError("MODE written while running; it takes effect at the next start");
    });
    regs.onWrite("IRQ_ACK", () => this.ackIrq());
    regs.onRead("DATA", () => this.pioRead());
    regs.onWrite("DATA", (_v, _o, w) => this.pioWrite(w & 0xff));
  }

  describe(): DeviceDecl {
    return {
      bus: "isa",
      isaId: "isa-stream",
      ports: [{ base: this.base, size: ISA_STREAM_PORTS, name: "isa-stream", impl: { kind: "registers", file: this.registers } }],
      irqs: [this.irqLine],
      dmaChannels: [this.dma8, this.dma16],
    };
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.source ??= lfsrSource(ctx.rng.nextU32());
    this.resetState();
  }

  detach(): void {
    this.stopStream();
    this.ctx = undefined;
  }

  reset(): void {
    this.resetState();
  }

  // ---- test-facing API -----------------------------------------------------------------------

  /** Every byte played so far (DMA and programmed I/O), up to the record limit. */
  playedBytes(): Uint8Array {
    return this.sink.bytes();
  }

  /** Number of bytes played so far, including those beyond the record limit. */
  playedCount(): number {
    return this.sink.total;
  }

  /** Every captured byte that reached the guest (DMA or DATA reads), up to the record limit. */
  capturedBytes(): Uint8Array {
    return this.captured.bytes();
  }

  /** Replace the capture source. */
  setCaptureSource(source: CaptureSource): void {
    this.source = source;
  }

  /** Clock events this device has run (to check it streams in chunks, not per byte). */
  eventCount(): number {
    return this.events;
  }

  // ---- commands ------------------------------------------------------------------------------

  private command(value: number): void {
    switch (value) {
      case IsaStreamCommand.START_PLAYBACK:
        return this.start(PLAYBACK);
      case IsaStreamCommand.START_CAPTURE:
        return this.start(CAPTURE);
      case IsaStreamCommand.STOP:
        return this.stopStream();
      default:
        this.guestError(`unknown command 0x${value.toString(16)}`);
    }
  }

  private start(direction: number): void {
    const regs = this.registers;
    if (this.state !== IDLE) return this.guestError("start command while already running; ignored");
    const mode = regs.get("MODE");
    const wide = (mode & IsaStreamMode.WIDE) !== 0;
    const block = regs.get("BLOCK_SIZE");
    const rate = regs.get("RATE");
    if (block === 0 || rate === 0) return this.guestError(`start with BLOCK_SIZE ${block} and RATE ${rate}: both must be nonzero; ignored`);
    if (wide && (block & 1)) return this.guestError(`16-bit mode needs an even BLOCK_SIZE (got ${block}); ignored`);
    const port = this.dmaPort(wide ? this.dma16 : this.dma8);
    if (!port || !this.ctx) return;
    this.state = direction;
    this.port = port;
    this.wide = wide;
    this.autoinit = (mode & IsaStreamMode.AUTOINIT) !== 0;
    this.blockSize = block;
    this.rate = rate;
    this.accounted = 0;
    this.blockFill = 0;
    this.inXrun = false;
    this.startNs = this.ctx.clock.now();
    regs.setBits("STATUS", IsaStreamStatus.RUNNING);
    regs.clearBits("STATUS", IsaStreamStatus.XRUN);
    port.setDreq(true);
    this.scheduleNext();
  }

  private stopStream(): void {
    if (this.timer !== undefined) this.ctx?.clock.cancel(this.timer);
    this.timer = undefined;
    if (this.state !== IDLE) this.port?.setDreq(false);
    this.state = IDLE;
    this.port = undefined;
    this.registers.clearBits("STATUS", IsaStreamStatus.RUNNING);
  }

  private resetState(): void {
    this.stopStream();
    const wasPending = (this.registers.get("STATUS") & IsaStreamStatus.IRQ_PENDING) !== 0;
    this.registers.reset();
    if (wasPending) this.ctx?.irq.lower(0);
  }

  // ---- streaming -----------------------------------------------------------------------------

  private scheduleNext(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const rate = this.rate;
    const minChunk = Math.ceil(rate / MAX_EVENTS_PER_MS);
    let chunk = Math.max(Math.min(rate, this.blockSize - this.blockFill), minChunk);
    if (this.wide) chunk = Math.max(2, chunk & ~1);
    this.pendingChunk = chunk;
    const due = this.startNs + Math.round(((this.accounted + chunk) * NS_PER_MS) / rate);
    this.timer = ctx.clock.schedule(Math.max(0, due - ctx.clock.now()), this.tick);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.events++;
    const port = this.port;
    if (this.state === IDLE || !port) return;
    const chunk = this.pendingChunk;
    this.accounted += chunk;
    const buf = this.scratch.subarray(0, chunk);
    let move: IsaDmaMove;
    if (this.state === PLAYBACK) {
      move = port.readFromMemory(buf);
      if (move.moved > 0) this.sink.append(buf.subarray(0, move.moved));
    } else {
      this.source!(buf);
      move = port.writeToMemory(buf);
      if (move.moved > 0) this.captured.append(buf.subarray(0, move.moved));
    }
    this.blockFill += move.moved;
    let irq = false;
    if (this.blockFill >= this.blockSize) {
      this.blockFill -= this.blockSize * Math.floor(this.blockFill / this.blockSize);
      irq = true;
    }
    if (move.terminalCount && !this.autoinit) {
      // Single-shot: terminal count ends the transfer, and the driver hears about it.
      this.stopStream();
      this.raiseIrq();
      return;
    }
    if (move.moved < chunk) this.xrun(move.moved, chunk);
    else this.inXrun = false;
    if (irq) this.raiseIrq();
    this.scheduleNext();
  };

  private xrun(moved: number, wanted: number): void {
    this.registers.setBits("STATUS", IsaStreamStatus.XRUN);
    if (this.inXrun) return;
    this.inXrun = true;
    const what = this.state === PLAYBACK ? "underrun" : "overrun";
    const ch = this.port?.channel ?? -1;
    this.guestError(`${what}: DMA channel ${ch} moved ${moved} of ${wanted} bytes (masked, at terminal count or misprogrammed while the stream runs)`);
  }

  private raiseIrq(): void {
    const regs = this.registers;
    if (regs.get("STATUS") & IsaStreamStatus.IRQ_PENDING) return;
    regs.setBits("STATUS", IsaStreamStatus.IRQ_PENDING);
    this.ctx?.irq.raise(0);
  }

  private ackIrq(): void {
    const regs = this.registers;
    const pending = regs.get("STATUS") & IsaStreamStatus.IRQ_PENDING;
    regs.clearBits("STATUS", IsaStreamStatus.IRQ_PENDING | IsaStreamStatus.XRUN);
    if (pending) this.ctx?.irq.lower(0);
  }

  // ---- programmed I/O ------------------------------------------------------------------------

  private pioRead(): number {
    if (this.state !== IDLE) {
      this.guestError("DATA read while a DMA stream runs; ignored");
      return 0xff;
    }
    if (!this.source) return 0xff;
    this.source(this.pio);
    this.captured.append(this.pio);
    return this.pio[0]!;
  }

  private pioWrite(value: number): void {
    if (this.state !== IDLE) return this.guestError("DATA written while a DMA stream runs; ignored");
    this.pio[0] = value;
    this.sink.append(this.pio);
  }

  private dmaPort(channel: number): IsaDmaChannelPort | undefined {
    let port = this.dmaPorts.get(channel);
    if (port) return port;
    try {
      port = this.ctx?.isaDma(channel);
    } catch (e) {
      this.ctx?.log.unimplemented(`isa-stream: no ISA DMA channel ${channel} on this platform (${e instanceof Error ? e.message : String(e)})`);
      return undefined;
    }
    if (port) this.dmaPorts.set(channel, port);
    return port;
  }

  private guestError(message: string): void {
    this.ctx?.log.guestError(`isa-stream: ${message}`);
  }
}
