/**
 * The `sgdma` model: a PCIe scatter-gather DMA endpoint shaped like Xilinx XDMA with one
 * memory-mapped channel per direction and a card memory in BAR2.
 */
import { RegisterFile, powerOfTwoSize, type DeviceContext, type PciDeviceDecl, type VirtualDevice } from "../../sdk/index.js";
import { DmaEngine, type EngineTiming } from "./engine.js";
import { ChannelBit, ENGINE_EVENT_BITS, EngineControl, EngineStatus, sgdmaRegisters } from "./registers.js";

/**
 * Options of the `sgdma` model. Out-of-range values are replaced by the defaults (construction
 * never fails).
 * @public
 */
export interface SgdmaOptions {
  /** Card memory (BAR2) in bytes, default 1 MiB; rounded up to a power of two, 4 KiB … 1 GiB. */
  readonly cardMemorySize?: number;
  /** Data rate of each engine in bytes per simulated second, default 1e9 (1 GB/s). */
  readonly bandwidthBytesPerSec?: number;
  /** Upper bound of the seeded random delay added to each engine event, in ns (default 32). */
  readonly jitterNs?: number;
  /** Delay from RUN to the first descriptor fetch, in ns (default 200). */
  readonly startLatencyNs?: number;
  /**
   * Data bytes one clock event may move (default 256 KiB, 262 µs at 1 GB/s); longer descriptors
   * span several events. Smaller budgets interleave the engines and the CPU more finely, at the
   * cost of simulation speed.
   */
  readonly chunkBytes?: number;
  /** Descriptors one clock event may finish (default 64). */
  readonly maxDescriptorsPerEvent?: number;
  /**
   * Descriptors one run may process before the engine stops with DESC_ERROR (UR), so that a
   * looping chain cannot run forever. Default 1 048 576 (2^20).
   */
  readonly maxDescriptorsPerRun?: number;
  /** MSI vectors the capability offers: 1, 2, 4 or 8 (default 8). */
  readonly msiVectors?: 1 | 2 | 4 | 8;
}

/** Default card memory size: 1 MiB. @public */
export const SGDMA_DEFAULT_CARD_MEMORY = 1 << 20;
/** Default per-run descriptor limit. @public */
export const SGDMA_DEFAULT_MAX_DESCRIPTORS_PER_RUN = 1 << 20;

const CONTROL_WRITABLE = (EngineControl.RUN | ENGINE_EVENT_BITS | EngineControl.NON_INC_ADDR | EngineControl.POLL_MODE_WB | EngineControl.STM_WB) >>> 0;
const CHANNEL_BITS = ChannelBit.H2C | ChannelBit.C2H;

function positive(v: number | undefined, fallback: number, integer = true): number {
  if (v === undefined || !Number.isFinite(v) || v <= 0) return fallback;
  return integer ? Math.max(1, Math.floor(v)) : v;
}

/**
 * The SG-DMA endpoint. Engines: H2C interrupts on MSI vector 0; C2H on vector 1 when at least two
 * MSI vectors are enabled, else vector 0 (also with INTx, level-triggered, lowered when no
 * request is pending).
 * @public
 */
export class Sgdma implements VirtualDevice {
  readonly model = "sgdma";
  /** Card memory, served directly as BAR2 and used by the engines. */
  readonly card: Uint8Array;
  /** The BAR0 register file. */
  readonly regs = new RegisterFile(sgdmaRegisters);
  readonly timing: EngineTiming;
  readonly msiVectorCount: 1 | 2 | 4 | 8;
  private readonly h2c: DmaEngine;
  private readonly c2h: DmaEngine;

  private ctx: DeviceContext | undefined;
  private readonly asserted = [false, false];

  constructor(options: SgdmaOptions = {}) {
    this.card = new Uint8Array(powerOfTwoSize(options.cardMemorySize, { fallback: SGDMA_DEFAULT_CARD_MEMORY, min: 4096, max: 1 << 30 }));
    this.timing = {
      bytesPerSecond: positive(options.bandwidthBytesPerSec, 1e9, false),
      jitterNs: options.jitterNs !== undefined && options.jitterNs >= 0 && Number.isFinite(options.jitterNs) ? Math.floor(options.jitterNs) : 32,
      startLatencyNs: options.startLatencyNs !== undefined && options.startLatencyNs >= 0 && Number.isFinite(options.startLatencyNs) ? options.startLatencyNs : 200,
      chunkBytes: positive(options.chunkBytes, 256 << 10),
      maxDescriptorsPerEvent: positive(options.maxDescriptorsPerEvent, 64),
      maxDescriptorsPerRun: positive(options.maxDescriptorsPerRun, SGDMA_DEFAULT_MAX_DESCRIPTORS_PER_RUN),
    };
    this.msiVectorCount = options.msiVectors !== undefined && [1, 2, 4, 8].includes(options.msiVectors) ? options.msiVectors : 8;
    const host = {
      regs: this.regs,
      card: this.card,
      timing: this.timing,
      context: () => this.ctx,
      interruptsChanged: () => this.updateInterrupts(),
    };
    this.h2c = new DmaEngine("H2C", host);
    this.c2h = new DmaEngine("C2H", host);
    this.installHooks();
  }

  describe(): PciDeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x5344, revision: 1, classCode: 0xff0000 },
      bars: [
        { index: 0, size: sgdmaRegisters.size, space: "mem", impl: { kind: "registers", file: this.regs } },
        { index: 2, size: this.card.length, space: "mem", prefetchable: true, is64: true, impl: { kind: "ram", backing: this.card } },
      ],
      msi: { vectors: this.msiVectorCount, is64: true, perVectorMask: true },
      intxPin: 1,
    };
  }

  /** Test hook: whether an engine is processing a descriptor chain (STATUS.BUSY). */
  engineBusy(dir: "H2C" | "C2H"): boolean {
    return (dir === "H2C" ? this.h2c : this.c2h).busy;
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
  }

  reset(): void {
    this.h2c.reset();
    this.c2h.reset();
    this.regs.reset();
    this.updateInterrupts();
  }

  detach(): void {
    this.h2c.cancelTimer();
    this.c2h.cancelTimer();
    this.ctx = undefined;
  }

  private installHooks(): void {
    const r = this.regs;
    for (const [p, engine] of [["H2C", this.h2c], ["C2H", this.c2h]] as const) {
      r.onWrite(`${p}_CONTROL`, (value, old) => engine.controlChanged(value, old));
      r.onWrite(`${p}_CONTROL_W1S`, (_v, _o, written) => {
        const old = r.get(`${p}_CONTROL`);
        r.set(`${p}_CONTROL`, old | (written & CONTROL_WRITABLE));
        engine.controlChanged(r.get(`${p}_CONTROL`), old);
      });
      r.onWrite(`${p}_CONTROL_W1C`, (_v, _o, written) => {
        const old = r.get(`${p}_CONTROL`);
        r.set(`${p}_CONTROL`, old & ~(written & CONTROL_WRITABLE));
        engine.controlChanged(r.get(`${p}_CONTROL`), old);
      });
      r.onRead(`${p}_STATUS_RC`, () => {
        const status = r.get(`${p}_STATUS`);
        r.set(`${p}_STATUS`, status & EngineStatus.BUSY);
        this.updateInterrupts();
        return status;
      });
      r.onWrite(`${p}_IRQ_MASK`, () => this.updateInterrupts());
      r.onWrite(`${p}_IRQ_MASK_W1S`, (_v, _o, written) => {
        r.set(`${p}_IRQ_MASK`, r.get(`${p}_IRQ_MASK`) | (written & ENGINE_EVENT_BITS));
        this.updateInterrupts();
      });
      r.onWrite(`${p}_IRQ_MASK_W1C`, (_v, _o, written) => {
        r.set(`${p}_IRQ_MASK`, r.get(`${p}_IRQ_MASK`) & ~(written & ENGINE_EVENT_BITS));
        this.updateInterrupts();
      });
    }
    r.onWrite("IRQ_CHAN_INT_EN", () => this.updateInterrupts());
    r.onWrite("IRQ_CHAN_INT_EN_W1S", (_v, _o, written) => {
      r.set("IRQ_CHAN_INT_EN", r.get("IRQ_CHAN_INT_EN") | (written & CHANNEL_BITS));
      this.updateInterrupts();
    });
    r.onWrite("IRQ_CHAN_INT_EN_W1C", (_v, _o, written) => {
      r.set("IRQ_CHAN_INT_EN", r.get("IRQ_CHAN_INT_EN") & ~(written & CHANNEL_BITS));
      this.updateInterrupts();
    });
    r.onWrite("IRQ_USER_INT_EN_W1S", (_v, _o, written) => r.set("IRQ_USER_INT_EN", r.get("IRQ_USER_INT_EN") | (written & 0xffff)));
    r.onWrite("IRQ_USER_INT_EN_W1C", (_v, _o, written) => r.set("IRQ_USER_INT_EN", r.get("IRQ_USER_INT_EN") & ~(written & 0xffff)));
  }

  /** Recompute channel requests and drive the interrupt outputs. */
  private updateInterrupts(): void {
    const r = this.regs;
    let req = 0;
    if (r.get("H2C_STATUS") & r.get("H2C_CONTROL") & r.get("H2C_IRQ_MASK") & ENGINE_EVENT_BITS) req |= ChannelBit.H2C;
    if (r.get("C2H_STATUS") & r.get("C2H_CONTROL") & r.get("C2H_IRQ_MASK") & ENGINE_EVENT_BITS) req |= ChannelBit.C2H;
    const pend = req & r.get("IRQ_CHAN_INT_EN");
    r.set("IRQ_CHAN_INT_REQ", req);
    r.set("IRQ_CHAN_INT_PEND", pend);
    const ctx = this.ctx;
    if (!ctx) return;
    const c2hVector = (ctx.pci?.msiVectors() ?? 0) >= 2 ? 1 : 0;
    const want0 = (pend & ChannelBit.H2C) !== 0 || (c2hVector === 0 && (pend & ChannelBit.C2H) !== 0);
    const want1 = c2hVector === 1 && (pend & ChannelBit.C2H) !== 0;
    this.drive(ctx, 0, want0);
    this.drive(ctx, 1, want1);
  }

  private drive(ctx: DeviceContext, vector: 0 | 1, want: boolean): void {
    if (this.asserted[vector] === want) return;
    this.asserted[vector] = want;
    if (want) ctx.irq.raise(vector);
    else ctx.irq.lower(vector);
  }
}
