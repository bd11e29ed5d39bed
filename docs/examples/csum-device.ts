/**
 * Guide sample (docs/writing-a-device.md): "csum", a small PCI device that reads a buffer from
 * memory by DMA, adds up its bytes and interrupts when done. It imports only `vdtb/sdk`.
 */
import {
  DmaStatus, RegisterFile, defineRegisters, dmaAddr,
  type DeviceContext, type DeviceDecl, type TimerHandle, type VirtualDevice,
} from "vdtb/sdk";

/** The register block of BAR 0. */
export const csumRegisters = defineRegisters(
  "csum",
  {
    ID: { offset: 0x00, width: 32, mode: "ro", reset: 0x4353554d, doc: "Reads 'CSUM'" },
    CTRL: { offset: 0x04, width: 32, fields: { IE: { lsb: 0, width: 1, doc: "interrupt enable" } } },
    STATUS: {
      offset: 0x08, width: 32, mode: "w1c",
      fields: { DONE: { lsb: 0, width: 1 }, ERR: { lsb: 1, width: 1 }, BUSY: { lsb: 8, width: 1, mode: "ro" } },
    },
    ADDR_LO: { offset: 0x0c, width: 32 },
    ADDR_HI: { offset: 0x10, width: 32 },
    LEN: { offset: 0x14, width: 32, doc: "bytes to read, 1..65536" },
    DOORBELL: { offset: 0x18, width: 32, mode: "wo", doc: "write 1 to start" },
    SUM: { offset: 0x1c, width: 32, mode: "ro" },
    DMA_STATUS: { offset: 0x20, width: 32, mode: "ro", doc: "DmaStatus of the last transfer" },
    TIME_US: { offset: 0x24, width: 32, mode: "ro", doc: "simulated microseconds (live)" },
    DEBUG: { offset: 0x28, width: 8, mode: "rc", access: [1], doc: "events since the last read" },
  },
  { size: 0x1000 },
);

const DONE = 1 << 0, ERR = 1 << 1, BUSY = 1 << 8;
/** Largest transfer the engine accepts. */
export const CSUM_MAX_LEN = 65536;

/** The csum device model. */
export class Csum implements VirtualDevice {
  readonly model = "csum";
  readonly regs = new RegisterFile(csumRegisters);
  private ctx: DeviceContext | undefined;
  private pending: TimerHandle | undefined;

  constructor() {
    this.regs.onWrite("DOORBELL", (value) => {
      if (value & 1) this.start();
    });
    // The driver acknowledges by writing 1s to STATUS; once nothing is pending, drop the INTx line.
    this.regs.onWrite("STATUS", (value) => {
      if ((value & (DONE | ERR)) === 0) this.ctx?.irq.lower();
    });
  }

  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0xc5c5, revision: 1, classCode: 0xff0000 },
      bars: [{ index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.regs } }],
      intxPin: 1,
    };
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.regs.onRead("TIME_US", () => Math.floor(ctx.clock.now() / 1000));
  }

  reset(): void {
    if (this.pending !== undefined) this.ctx?.clock.cancel(this.pending);
    this.pending = undefined;
    this.regs.reset();
  }

  detach(): void {
    this.reset();
    this.ctx = undefined;
  }

  private start(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const len = this.regs.get("LEN");
    if (this.regs.get("STATUS") & BUSY) {
      ctx.log.guestError("DOORBELL written while a transfer is running");
      return;
    }
    if (len === 0 || len > CSUM_MAX_LEN) {
      ctx.log.guestError(`LEN ${len} out of range 1..${CSUM_MAX_LEN}`);
      this.finish(ERR);
      return;
    }
    this.regs.setBits("STATUS", BUSY);
    this.regs.set("DEBUG", this.regs.get("DEBUG") + 1);
    // Latency: 1 ns per byte plus 2..3 µs of seeded jitter, so seeds explore interleavings.
    const delay = len + 2000 + ctx.rng.int(1000);
    this.pending = ctx.clock.schedule(delay, () => this.complete(len));
  }

  private complete(len: number): void {
    const ctx = this.ctx!;
    this.pending = undefined;
    const addr = dmaAddr(this.regs.get("ADDR_LO") + this.regs.get("ADDR_HI") * 2 ** 32);
    const data = new Uint8Array(len);
    const status = ctx.dma.read(addr, data);
    this.regs.set("DMA_STATUS", status);
    if (status !== DmaStatus.OK) {
      ctx.log.guestError(`DMA read of ${len} bytes at 0x${addr.toString(16)} failed with status ${status}`);
      this.finish(ERR);
      return;
    }
    let sum = 0;
    for (const b of data) sum = (sum + b) >>> 0;
    this.regs.set("SUM", sum);
    this.finish(DONE);
  }

  private finish(bits: number): void {
    this.regs.clearBits("STATUS", BUSY);
    this.regs.setBits("STATUS", bits);
    if (this.regs.field("CTRL", "IE")) this.ctx?.irq.raise();
  }
}

/** A csum device. */
export function csum(): Csum {
  return new Csum();
}
