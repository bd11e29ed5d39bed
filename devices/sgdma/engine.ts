/**
 * One `sgdma` DMA engine (host→card or card→host): descriptor fetch, checks, data movement in
 * simulated time, completion accounting and error stops.
 *
 * Work is batched: one clock event processes whole descriptors (up to a byte and descriptor
 * budget), moves their data at once, and schedules its completion after the time the bytes take
 * at the configured bandwidth. A descriptor larger than the byte budget spans several events.
 */
import {
  DmaStatus,
  dmaAddr,
  type DeviceContext,
  type RegisterFile,
  type TimerHandle,
} from "../../sdk/index.js";
import { DescFlag, SGDMA_DESC_MAGIC, SGDMA_DESC_MAX_ADJ, SGDMA_DESC_MAX_LEN, SGDMA_DESC_SIZE, SgdmaDescriptor } from "./descriptor.js";
import type { SgdmaOptions } from "./device.js";
import { EngineControl, EngineStatus, SgdmaErrorCode, type SgdmaRegisterDefs } from "./registers.js";

/** Timing and safety limits shared by both engines (resolved from {@link SgdmaOptions}). @public */
export interface EngineTiming {
  readonly bytesPerSecond: number;
  readonly jitterNs: number;
  readonly startLatencyNs: number;
  readonly chunkBytes: number;
  readonly maxDescriptorsPerEvent: number;
  readonly maxDescriptorsPerRun: number;
}

/** What an engine needs from its device. @internal */
export interface EngineHost {
  readonly regs: RegisterFile<SgdmaRegisterDefs>;
  readonly card: Uint8Array;
  readonly timing: EngineTiming;
  context(): DeviceContext | undefined;
  /** Engine status, control or mask changed: recompute interrupt requests. */
  interruptsChanged(): void;
}

type End = "none" | "stop" | "error";

const OFF = SgdmaDescriptor.offsets;
const TWO_32 = 2 ** 32;
const WB_ERROR = 0x80000000;

/** Error-field bit for a failed DMA access. */
function dmaErrorCode(status: DmaStatus): number {
  switch (status) {
    case DmaStatus.IOMMU_FAULT:
      return SgdmaErrorCode.CA;
    case DmaStatus.INJECTED_ERROR:
      return SgdmaErrorCode.POISONED;
    default:
      return SgdmaErrorCode.UR;
  }
}

/** The register names of one engine. */
function engineRegs(p: "H2C" | "C2H") {
  return {
    completed: `${p}_COMPLETED_COUNT`,
    status: `${p}_STATUS`,
    firstLo: `${p}_SG_FIRST_DESC_LO`,
    firstHi: `${p}_SG_FIRST_DESC_HI`,
    firstAdj: `${p}_SG_FIRST_DESC_ADJ`,
    wbLo: `${p}_WB_ADDR_LO`,
    wbHi: `${p}_WB_ADDR_HI`,
  } as const satisfies Record<string, keyof SgdmaRegisterDefs & string>;
}

/** One direction's engine. @internal */
export class DmaEngine {
  /** True from RUN 0→1 until the chain stops (mirrors STATUS.BUSY). */
  private running = false;
  private stopRequested = false;
  private timer: TimerHandle | undefined;

  // Prefetched descriptor block.
  private readonly block = new Uint8Array((SGDMA_DESC_MAX_ADJ + 1) * SGDMA_DESC_SIZE);
  private readonly blockView = new DataView(this.block.buffer);
  private blockAddr = 0;
  private blockCount = 0;
  private blockIndex = 0;
  /** Where the next block is fetched from, and how many descriptors are adjacent to its first. */
  private fetchAddr = 0;
  private fetchAdj = 0;
  /** Bytes of the current descriptor already moved. */
  private descOffset = 0;
  /** Descriptors finished in this run. */
  private processed = 0;
  private warnedChain = false;

  // Result of the batch in flight, applied when its time has elapsed.
  private batchDone = 0;
  private batchCompletedFlag = false;
  private batchEnd: End = "none";
  private batchErrorBits = 0;

  private readonly wbBuf = new Uint8Array(4);
  private readonly wbView = new DataView(this.wbBuf.buffer);
  /** This engine's register names, built once (a name built per access costs a string hash). */
  private readonly reg: ReturnType<typeof engineRegs>;

  constructor(
    /** Direction: H2C reads host memory and writes card memory; C2H the reverse. */
    readonly dir: "H2C" | "C2H",
    private readonly host: EngineHost,
  ) {
    this.reg = engineRegs(dir);
  }

  /** Whether a chain is being processed. */
  get busy(): boolean {
    return this.running;
  }

  /** Forget everything (bus reset); the register file is reset by the device. */
  reset(): void {
    this.cancelTimer();
    this.running = false;
    this.stopRequested = false;
    this.blockCount = this.blockIndex = this.descOffset = this.processed = 0;
  }

  cancelTimer(): void {
    if (this.timer !== undefined) this.host.context()?.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /** CONTROL changed (direct write, W1S or W1C). */
  controlChanged(value: number, old: number): void {
    const run = (value & EngineControl.RUN) !== 0;
    const wasRun = (old & EngineControl.RUN) !== 0;
    if (run && !wasRun) {
      if (this.running) {
        // RUN dropped and raised again before the engine went idle: keep going.
        this.stopRequested = false;
        this.host.context()?.log.guestError(`sgdma ${this.dir}: RUN set again while the engine is still busy`);
      } else {
        this.start(value);
      }
    } else if (!run && wasRun && this.running) {
      this.stopRequested = true;
    }
    this.host.interruptsChanged();
  }

  private start(control: number): void {
    const ctx = this.host.context();
    const regs = this.host.regs;
    const p = this.dir;
    const n = this.reg;
    if (!ctx) return;
    if (control & EngineControl.NON_INC_ADDR) ctx.log.unimplemented(`sgdma ${p}: non-incrementing address mode (card address increments)`);
    regs.set(n.completed, 0);
    regs.setBits(n.status, EngineStatus.BUSY);
    this.running = true;
    this.stopRequested = false;
    this.warnedChain = false;
    this.processed = 0;
    this.descOffset = 0;
    this.blockCount = this.blockIndex = 0;
    this.fetchAddr = regs.get(n.firstLo) + regs.get(n.firstHi) * TWO_32;
    this.fetchAdj = regs.field(n.firstAdj, "ADJ");
    this.timer = ctx.clock.schedule(this.host.timing.startLatencyNs + this.jitter(ctx), this.step);
  }

  private jitter(ctx: DeviceContext): number {
    const j = this.host.timing.jitterNs;
    return j > 0 ? ctx.rng.int(j + 1) : 0;
  }

  /** Process one batch now; its completion is applied after the batch's transfer time. */
  private readonly step = (): void => {
    this.timer = undefined;
    const ctx = this.host.context();
    if (!ctx || !this.running) return;
    const t = this.host.timing;
    this.batchDone = 0;
    this.batchCompletedFlag = false;
    this.batchEnd = "none";
    this.batchErrorBits = 0;
    let bytes = 0;
    let fetched = 0;
    let descs = 0;
    for (;;) {
      if (this.blockIndex >= this.blockCount) {
        if (!this.fetch(ctx)) break;
        fetched += this.blockCount * SGDMA_DESC_SIZE;
      }
      const at = this.blockIndex * SGDMA_DESC_SIZE;
      const v = this.blockView;
      const control = v.getUint32(at + OFF.control, true);
      const length = v.getUint32(at + OFF.length, true);
      if (this.descOffset === 0 && !this.check(ctx, control, length, at)) break;
      const n = Math.min(length - this.descOffset, t.chunkBytes - bytes);
      if (n <= 0) break;
      if (!this.move(ctx, at, n)) break;
      this.descOffset += n;
      bytes += n;
      if (this.descOffset < length) break; // budget spent inside a long descriptor
      // The descriptor is done.
      this.descOffset = 0;
      this.processed++;
      this.batchDone++;
      descs++;
      if (control & (DescFlag.COMPLETED | DescFlag.STOP)) this.batchCompletedFlag = true;
      if (control & DescFlag.STOP) {
        this.batchEnd = "stop";
        break;
      }
      if (!this.advance(ctx, control, at)) break;
      if (this.stopRequested || descs >= t.maxDescriptorsPerEvent || bytes >= t.chunkBytes) break;
    }
    const ns = Math.ceil(((bytes + fetched) * 1e9) / t.bytesPerSecond) + this.jitter(ctx);
    this.timer = ctx.clock.schedule(ns, this.finish);
  };

  /** Apply the batch: counts, status, write-back; then stop or continue. */
  private readonly finish = (): void => {
    this.timer = undefined;
    const ctx = this.host.context();
    if (!ctx || !this.running) return;
    const regs = this.host.regs;
    const n = this.reg;
    if (this.batchDone > 0) regs.set(n.completed, (regs.get(n.completed) + this.batchDone) >>> 0);
    const before = regs.get(n.status);
    let status = before;
    if (this.batchCompletedFlag) status |= EngineStatus.DESC_COMPLETED;
    let end = this.batchEnd;
    if ((this.batchDone > 0 || end === "error") && !this.writeBack(ctx, end === "error")) {
      end = "error";
      this.batchErrorBits |= 1 << (EngineStatus.WRITE_ERROR_SHIFT + SgdmaErrorCode.UR);
    }
    if (end === "stop") status |= EngineStatus.DESC_STOPPED;
    else if (end === "error") status |= this.batchErrorBits;
    else if (this.stopRequested && this.descOffset === 0) {
      status |= EngineStatus.IDLE_STOPPED;
      end = "stop";
    }
    if (end !== "none") {
      status &= ~EngineStatus.BUSY;
      this.running = false;
      this.stopRequested = false;
    }
    regs.set(n.status, status >>> 0);
    // Interrupt requests follow the status (guest writes to the enables update them themselves).
    if (status >>> 0 !== before) this.host.interruptsChanged();
    if (end === "none") this.step();
  };

  /** Fetch the block at fetchAddr (1 + fetchAdj descriptors). */
  private fetch(ctx: DeviceContext): boolean {
    const addr = this.fetchAddr;
    const count = this.fetchAdj + 1;
    // ToInt32 keeps the low 32 bits exactly, and 2^32 is a multiple of 32.
    if ((addr & (SGDMA_DESC_SIZE - 1)) !== 0) {
      return this.fail(ctx, EngineStatus.ALIGN_MISMATCH, `descriptor address 0x${addr.toString(16)} not 32-byte aligned`);
    }
    const bytes = count * SGDMA_DESC_SIZE;
    if (!this.warnedChain && Math.floor(addr / 4096) !== Math.floor((addr + bytes - 1) / 4096)) {
      this.warnedChain = true;
      ctx.log.guestError(`sgdma ${this.dir}: adjacent block of ${count} descriptors at 0x${addr.toString(16)} crosses a 4 KiB boundary`);
    }
    const status = ctx.dma.read(dmaAddr(addr), this.block.subarray(0, bytes));
    if (status !== DmaStatus.OK) {
      return this.fail(
        ctx,
        1 << (EngineStatus.DESC_ERROR_SHIFT + dmaErrorCode(status)),
        `descriptor fetch at 0x${addr.toString(16)} failed (DMA status ${status})`,
      );
    }
    this.blockAddr = addr;
    this.blockCount = count;
    this.blockIndex = 0;
    return true;
  }

  /** Checks made before a descriptor moves any data. */
  private check(ctx: DeviceContext, control: number, length: number, at: number): boolean {
    const addr = this.blockAddr + at;
    if (control >>> 16 !== SGDMA_DESC_MAGIC) {
      return this.fail(ctx, EngineStatus.MAGIC_STOPPED, `bad magic 0x${(control >>> 16).toString(16)} in descriptor at 0x${addr.toString(16)}`);
    }
    if (length === 0 || length > SGDMA_DESC_MAX_LEN) {
      return this.fail(ctx, EngineStatus.INVALID_LEN, `invalid length ${length} in descriptor at 0x${addr.toString(16)}`);
    }
    const cardAddr = this.dir === "H2C" ? this.u64(at + OFF.dst) : this.u64(at + OFF.src);
    if (cardAddr + length > this.host.card.length) {
      const shift = this.dir === "H2C" ? EngineStatus.WRITE_ERROR_SHIFT : EngineStatus.READ_ERROR_SHIFT;
      return this.fail(
        ctx,
        1 << (shift + SgdmaErrorCode.UR),
        `card range 0x${cardAddr.toString(16)}+${length} past the ${this.host.card.length}-byte card memory`,
      );
    }
    return true;
  }

  /** Move `n` bytes of the current descriptor, from its current offset. */
  private move(ctx: DeviceContext, at: number, n: number): boolean {
    const off = this.descOffset;
    const card = this.host.card;
    if (this.dir === "H2C") {
      const src = this.u64(at + OFF.src) + off;
      const dst = this.u64(at + OFF.dst) + off;
      const status = ctx.dma.read(dmaAddr(src), card.subarray(dst, dst + n));
      if (status === DmaStatus.OK) return true;
      return this.fail(ctx, 1 << (EngineStatus.READ_ERROR_SHIFT + dmaErrorCode(status)), `data read at 0x${src.toString(16)} failed (DMA status ${status})`);
    }
    const src = this.u64(at + OFF.src) + off;
    const dst = this.u64(at + OFF.dst) + off;
    const status = ctx.dma.write(dmaAddr(dst), card.subarray(src, src + n));
    if (status === DmaStatus.OK) return true;
    return this.fail(ctx, 1 << (EngineStatus.WRITE_ERROR_SHIFT + dmaErrorCode(status)), `data write at 0x${dst.toString(16)} failed (DMA status ${status})`);
  }

  /** Go on to the next descriptor after a finished one without STOP. */
  private advance(ctx: DeviceContext, control: number, at: number): boolean {
    const next = this.u64(at + OFF.next);
    if (next === 0) {
      return this.fail(ctx, 1 << (EngineStatus.DESC_ERROR_SHIFT + SgdmaErrorCode.UR), `descriptor at 0x${(this.blockAddr + at).toString(16)} has next = 0 without STOP`);
    }
    if (this.processed >= this.host.timing.maxDescriptorsPerRun) {
      return this.fail(
        ctx,
        1 << (EngineStatus.DESC_ERROR_SHIFT + SgdmaErrorCode.UR),
        `more than ${this.host.timing.maxDescriptorsPerRun} descriptors in one run (a looping chain?)`,
      );
    }
    this.blockIndex++;
    if (this.blockIndex >= this.blockCount) {
      this.fetchAddr = next;
      this.fetchAdj = (control >>> 8) & 0x3f;
    } else if (next !== this.blockAddr + this.blockIndex * SGDMA_DESC_SIZE && !this.warnedChain) {
      this.warnedChain = true;
      ctx.log.guestError(`sgdma ${this.dir}: next pointer 0x${next.toString(16)} disagrees with the adjacent block; the block order is used`);
    }
    return true;
  }

  /** DMA-write the completed count (bit 31 = error) to WB_ADDR when it is set. */
  private writeBack(ctx: DeviceContext, error: boolean): boolean {
    const regs = this.host.regs;
    const p = this.dir;
    const n = this.reg;
    const addr = regs.get(n.wbLo) + regs.get(n.wbHi) * TWO_32;
    if (addr === 0) return true;
    const count = regs.get(n.completed);
    this.wbView.setUint32(0, (error ? count | WB_ERROR : count) >>> 0, true);
    const status = ctx.dma.write(dmaAddr(addr), this.wbBuf);
    if (status === DmaStatus.OK) return true;
    ctx.log.guestError(`sgdma ${p}: write-back to 0x${addr.toString(16)} failed (DMA status ${status})`);
    return false;
  }

  private fail(ctx: DeviceContext, bits: number, message: string): false {
    this.batchEnd = "error";
    this.batchErrorBits |= bits;
    ctx.log.guestError(`sgdma ${this.dir}: ${message}`);
    return false;
  }

  private u64(offset: number): number {
    const v = this.blockView;
    return v.getUint32(offset, true) + v.getUint32(offset + 4, true) * TWO_32;
  }
}
