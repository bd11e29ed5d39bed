/**
 * The `vfb` framebuffer model: Bochs DISPI compatible (bochs-display on PCI), plus a vdtb
 * extension for scanout from system RAM and a vblank counter/interrupt.
 */
import {
  RegisterFile,
  powerOfTwoSize,
  dmaAddr,
  DmaStatus,
  type DeviceContext,
  type PciDeviceDecl,
  type TimerHandle,
  type VirtualDevice,
} from "../../sdk/index.js";
import {
  VFB_LIMITS,
  VFB_SUPPORTED_BPP,
  VfbEnable,
  VfbIrq,
  vfbRegisters,
} from "./registers.js";
import { convertToRgba, deriveMode, type VfbMode } from "./scanout.js";

/**
 * Options of the `vfb` model.
 * @public
 */
export interface VfbOptions {
  /**
   * VRAM (BAR0) size in bytes, default 16 MiB. Rounded up to a power of two and clamped to
   * 64 KiB … 256 MiB, so construction never fails.
   */
  readonly vramSize?: number;
  /** Simulated refresh rate in Hz (vblanks per second while enabled), default 60. */
  readonly refreshHz?: number;
}

/**
 * A snapshot of the visible frame.
 * @public
 */
export interface VfbFrame {
  readonly width: number;
  readonly height: number;
  /** width · height · 4 bytes, RGBA8888, alpha 255. */
  readonly rgba: Uint8Array;
}

/** The raw pixels captured at the last composition, in the source format. */
interface CapturedFrame {
  readonly mode: VfbMode;
  /** Holds `mode.span` bytes starting at the first visible pixel. */
  readonly pixels: Uint8Array;
}

/** Default VRAM size: 16 MiB. @public */
export const VFB_DEFAULT_VRAM = 16 << 20;
const VRAM_SIZES = { fallback: VFB_DEFAULT_VRAM, min: 64 << 10, max: 256 << 20 } as const;

/**
 * The framebuffer device. Vblanks tick only while ENABLE.ENABLED is set (a disabled display has
 * no scanout timing), so an idle device leaves no pending clock events.
 *
 * At every vblank the device captures the visible frame — from VRAM, or by one DMA read from the
 * SCANOUT bus address when that is non-zero — counts the frame, sets IRQ_STATUS.VBLANK and
 * raises vector 0 when enabled (level: lowered again when the status is cleared).
 * {@link Vfb.snapshot} converts the captured frame, so pixels changed after a vblank show only
 * from the next one.
 * @public
 */
export class Vfb implements VirtualDevice {
  readonly model = "vfb";
  /** VRAM, served directly as BAR0. */
  readonly vram: Uint8Array;
  /** The BAR2 register file. */
  readonly regs = new RegisterFile(vfbRegisters);
  /** Simulated time between vblanks, in ns (rounded; vblank n falls at round(n · 1e9 / refreshHz) after enabling). */
  readonly vblankPeriodNs: number;

  private ctx: DeviceContext | undefined;
  private timer: TimerHandle | undefined;
  /** Exact (fractional) period; vblank n is at enableTime + round(n · period), so there is no drift. */
  private readonly exactPeriodNs: number;
  private vblankEpoch = 0;
  private vblankIndex = 0;
  private captured: CapturedFrame | undefined;
  /** Reused capture buffer, grown on demand. */
  private captureBuf = new Uint8Array(0);
  private irqAsserted = false;
  private scanoutFailing = false;

  constructor(options: VfbOptions = {}) {
    this.vram = new Uint8Array(powerOfTwoSize(options.vramSize, VRAM_SIZES));
    const hz = options.refreshHz !== undefined && options.refreshHz > 0 && Number.isFinite(options.refreshHz) ? options.refreshHz : 60;
    this.exactPeriodNs = Math.max(1, 1e9 / hz);
    this.vblankPeriodNs = Math.round(this.exactPeriodNs);
    this.installHooks();
  }

  describe(): PciDeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x1111, revision: 2, classCode: 0x038000 },
      bars: [
        { index: 0, size: this.vram.length, space: "mem", prefetchable: true, impl: { kind: "ram", backing: this.vram } },
        { index: 2, size: vfbRegisters.size, space: "mem", impl: { kind: "registers", file: this.regs } },
      ],
      msi: { vectors: 1, is64: true, perVectorMask: false },
      intxPin: 1,
    };
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
  }

  reset(): void {
    this.stopVblank();
    this.regs.reset();
    this.captured = undefined;
    this.scanoutFailing = false;
    this.updateIrq();
  }

  detach(): void {
    this.stopVblank();
    this.ctx = undefined;
  }

  /** The mode the registers currently describe, or undefined when no valid mode is set. */
  currentMode(): VfbMode | undefined {
    const r = this.regs;
    return deriveMode(
      {
        enable: r.get("ENABLE"),
        xres: r.get("XRES"),
        yres: r.get("YRES"),
        bpp: r.get("BPP"),
        virtWidth: r.get("VIRT_WIDTH"),
        xOffset: r.get("X_OFFSET"),
        yOffset: r.get("Y_OFFSET"),
      },
      this.vram.length,
    );
  }

  /**
   * RGBA pixels of the frame captured at the last vblank (or {@link Vfb.composeNow}); undefined
   * when the registers describe no valid mode or nothing was composed since it became valid.
   * Each call returns a fresh array.
   */
  snapshot(): VfbFrame | undefined {
    const c = this.captured;
    if (!c || !this.currentMode()) return undefined;
    const m = c.mode;
    return { width: m.width, height: m.height, rgba: convertToRgba(c.pixels, m.stride, m.width, m.height, m.bpp) };
  }

  /**
   * Test hook: capture the visible frame now, as a vblank would, without counting a frame or
   * raising an interrupt. Returns the resulting snapshot.
   */
  composeNow(): VfbFrame | undefined {
    this.compose();
    return this.snapshot();
  }

  private installHooks(): void {
    const r = this.regs;
    const caps = (max: number) => (stored: number) => (r.get("ENABLE") & VfbEnable.GETCAPS ? max : stored);
    r.onRead("XRES", caps(VFB_LIMITS.maxXres));
    r.onRead("YRES", caps(VFB_LIMITS.maxYres));
    r.onRead("BPP", caps(VFB_LIMITS.maxBpp));
    r.onRead("VIDEO_MEMORY_64K", () => this.vram.length / 65536);
    r.onWrite("XRES", (v, old) => this.checkRange("XRES", v, old, VFB_LIMITS.maxXres));
    r.onWrite("YRES", (v, old) => this.checkRange("YRES", v, old, VFB_LIMITS.maxYres));
    r.onWrite("BPP", (v, old) => {
      if (VFB_SUPPORTED_BPP.includes(v)) return;
      r.set("BPP", old);
      this.ctx?.log.guestError(`vfb: BPP ${v} not supported (15, 16, 24, 32); write ignored`);
    });
    r.onWrite("ENABLE", (v, old) => this.enableWritten(v, old));
    r.onWrite("IRQ_STATUS", () => this.updateIrq());
    r.onWrite("IRQ_ENABLE", () => this.updateIrq());
  }

  private checkRange(reg: "XRES" | "YRES", value: number, old: number, max: number): void {
    if (value <= max) return;
    this.regs.set(reg, old);
    this.ctx?.log.guestError(`vfb: ${reg} ${value} above the maximum ${max}; write ignored`);
  }

  private enableWritten(value: number, old: number): void {
    const on = (value & VfbEnable.ENABLED) !== 0;
    const wasOn = (old & VfbEnable.ENABLED) !== 0;
    if (on && !wasOn) {
      if ((value & VfbEnable.NOCLEAR) === 0) this.vram.fill(0);
      this.startVblank();
    } else if (!on && wasOn) {
      this.stopVblank();
      this.captured = undefined;
    }
  }

  private startVblank(): void {
    const ctx = this.ctx;
    if (!ctx || this.timer !== undefined) return;
    this.vblankEpoch = ctx.clock.now();
    this.vblankIndex = 0;
    this.scheduleNextVblank(ctx);
  }

  private stopVblank(): void {
    if (this.timer !== undefined) this.ctx?.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /** Bound once so that scheduling the next vblank creates no closure. */
  private readonly onVblank = (): void => {
    this.timer = undefined;
    const ctx = this.ctx;
    if (!ctx) return;
    this.regs.set("FRAME_COUNT", (this.regs.get("FRAME_COUNT") + 1) >>> 0);
    this.compose();
    this.regs.setBits("IRQ_STATUS", VfbIrq.VBLANK);
    this.updateIrq();
    this.scheduleNextVblank(ctx);
  };

  private scheduleNextVblank(ctx: DeviceContext): void {
    this.vblankIndex++;
    const at = this.vblankEpoch + Math.round(this.vblankIndex * this.exactPeriodNs);
    this.timer = ctx.clock.schedule(Math.max(0, at - ctx.clock.now()), this.onVblank);
  }

  /** Capture the visible frame from VRAM or the SCANOUT buffer. */
  private compose(): void {
    const mode = this.currentMode();
    if (!mode) {
      this.captured = undefined;
      return;
    }
    const scanout = this.regs.get("SCANOUT_LO") + this.regs.get("SCANOUT_HI") * 2 ** 32;
    if (scanout === 0) {
      const pixels = this.bufferFor(mode.span);
      pixels.set(this.vram.subarray(mode.start, mode.start + mode.span));
      this.captured = { mode, pixels };
      this.scanoutFailing = false;
      return;
    }
    const ctx = this.ctx;
    if (!ctx) return;
    // A fresh buffer when the size grows, so a failed read keeps the previous frame intact.
    const pixels = this.captureBuf.length >= mode.span ? this.captureBuf.subarray(0, mode.span) : new Uint8Array(mode.span);
    const status = ctx.dma.read(dmaAddr(scanout + mode.start), pixels);
    if (status !== DmaStatus.OK) {
      if (!this.scanoutFailing) ctx.log.guestError(`vfb: scanout DMA read at 0x${(scanout + mode.start).toString(16)} failed (status ${status})`);
      this.scanoutFailing = true;
      this.regs.setBits("IRQ_STATUS", VfbIrq.SCANOUT_ERROR);
      this.updateIrq();
      return;
    }
    if (pixels.buffer !== this.captureBuf.buffer) this.captureBuf = pixels;
    this.scanoutFailing = false;
    this.captured = { mode, pixels };
  }

  private bufferFor(length: number): Uint8Array {
    if (this.captureBuf.length < length) this.captureBuf = new Uint8Array(length);
    return this.captureBuf.subarray(0, length);
  }

  private updateIrq(): void {
    const pending = (this.regs.get("IRQ_STATUS") & this.regs.get("IRQ_ENABLE")) !== 0;
    if (pending === this.irqAsserted) return;
    this.irqAsserted = pending;
    if (pending) this.ctx?.irq.raise(0);
    else this.ctx?.irq.lower(0);
  }
}
