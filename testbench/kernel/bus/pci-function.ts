/**
 * One PCI function as hardware: its 4 KiB configuration space (type 0 header, BARs with sizing
 * semantics, capability list with MSI and MSI-X), BAR decoding on the bus gated by the command
 * register, and its interrupt outputs (INTx level line, MSI, MSI-X with masking and pending bits).
 */
import type { Bus, BusRegion, MmioHandler } from "../../soc/bus.js";
import type { InterruptController } from "../../soc/irq.js";
import type { IrqPort, PciBarDecl, PciDeviceDecl, PciFunctionState } from "../../../sdk/index.js";
import type { IrqWires } from "./irq-wires.js";
import { mapRegion, planRegion } from "./region.js";
import type { RegionPlan } from "./region.js";

/** Config-space offsets and bits (include/uapi/linux/pci_regs.h). @public */
export const PCI = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_PROG: 0x09,
  CLASS_DEVICE: 0x0a,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BASE_ADDRESS_0: 0x10,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITY_LIST: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
  COMMAND_IO: 0x1,
  COMMAND_MEMORY: 0x2,
  COMMAND_MASTER: 0x4,
  COMMAND_PARITY: 0x40,
  COMMAND_SERR: 0x100,
  COMMAND_INTX_DISABLE: 0x400,
  STATUS_INTERRUPT: 0x8,
  STATUS_CAP_LIST: 0x10,
  CAP_ID_MSI: 0x05,
  CAP_ID_MSIX: 0x11,
  MSI_FLAGS_ENABLE: 0x1,
  MSI_FLAGS_64BIT: 0x80,
  MSI_FLAGS_MASKBIT: 0x100,
  MSIX_FLAGS_MASKALL: 0x4000,
  MSIX_FLAGS_ENABLE: 0x8000,
  BASE_ADDRESS_SPACE_IO: 0x1,
  BASE_ADDRESS_MEM_TYPE_64: 0x4,
  BASE_ADDRESS_MEM_PREFETCH: 0x8,
} as const;

/** Runtime state of one BAR. @public */
export interface BarState {
  readonly index: number;
  readonly size: number;
  readonly io: boolean;
  readonly is64: boolean;
  readonly prefetchable: boolean;
  /** Region name on the bus, e.g. `0000:00:01.0 BAR0`. */
  readonly name: string;
  readonly plan: RegionPlan;
  /** The bus region while decoding, else null. */
  region: BusRegion | null;
  /** True for the MSI-X table BAR the testbench adds. */
  readonly msixTable: boolean;
}

/** What a function needs from its host. @internal */
export interface PciFunctionHost {
  readonly bus: Bus;
  readonly ic: InterruptController;
  readonly wires: IrqWires;
  readonly hasPorts: boolean;
  /** MSI doorbell address of the platform. */
  readonly msiAddress: number;
  guestError(fn: PciFunction, message: string): void;
}

const TWO32 = 4294967296;

function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/** @public */
export class PciFunction {
  readonly cfg = new Uint8Array(4096);
  private readonly view = new DataView(this.cfg.buffer);
  /** Bits a config write may change, per byte. */
  private readonly wmask = new Uint8Array(4096);
  /** Bits a config write of 1 clears, per byte. */
  private readonly w1cmask = new Uint8Array(4096);
  readonly bars: (BarState | undefined)[] = [];
  /** Capability offsets (0 when absent). */
  readonly msiCap: number;
  readonly msixCap: number;
  private readonly msiVectors: number;
  private readonly msixVectors: number;
  private readonly msixTable: Uint32Array;
  private readonly msixPba: Uint32Array;
  private readonly msixPbaOffset: number;
  /** INTx: the line it is wired to (-1 when none) and whether the device asserts it. */
  intxLine = -1;
  private intxAsserted = false;
  /** Id among wire drivers. */
  readonly wireId: number;
  /** Surprise-removed: config reads all ones, writes and BAR decoding ignored, no interrupts. */
  removed = false;

  constructor(
    readonly decl: PciDeviceDecl,
    readonly devfn: number,
    readonly name: string,
    readonly requester: number,
    private readonly host: PciFunctionHost,
  ) {
    this.wireId = 0x10000 + requester;
    const id = decl.identity;
    const v = this.view;
    v.setUint16(PCI.VENDOR_ID, id.vendor, true);
    v.setUint16(PCI.DEVICE_ID, id.device, true);
    this.cfg[PCI.REVISION_ID] = id.revision;
    this.cfg[PCI.CLASS_PROG] = id.classCode & 0xff;
    this.cfg[PCI.CLASS_DEVICE] = (id.classCode >> 8) & 0xff;
    this.cfg[PCI.CLASS_DEVICE + 1] = (id.classCode >> 16) & 0xff;
    v.setUint16(PCI.SUBSYSTEM_VENDOR_ID, id.subsystemVendor ?? 0, true);
    v.setUint16(PCI.SUBSYSTEM_ID, id.subsystemDevice ?? 0, true);
    this.cfg[PCI.INTERRUPT_PIN] = decl.intxPin ?? 0;
    this.cfg[PCI.INTERRUPT_LINE] = 0xff;
    // Command: I/O, memory, bus master, parity, SERR, INTx disable. Status: error bits are W1C.
    this.setMask(PCI.COMMAND, 2, PCI.COMMAND_IO | PCI.COMMAND_MEMORY | PCI.COMMAND_MASTER | PCI.COMMAND_PARITY | PCI.COMMAND_SERR | PCI.COMMAND_INTX_DISABLE);
    this.w1cmask[PCI.STATUS + 1] = 0xf8;
    this.wmask[PCI.CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI.LATENCY_TIMER] = 0xff;
    this.wmask[PCI.INTERRUPT_LINE] = 0xff;

    for (const b of decl.bars) this.addBar(b.index, b, false);

    // Capabilities from 0x40: MSI, then MSI-X.
    let at = 0x40;
    const caps: number[] = [];
    this.msiVectors = decl.msi?.vectors ?? 0;
    this.msiCap = 0;
    if (decl.msi) {
      const m = decl.msi;
      if (!(m.vectors >= 1 && m.vectors <= 32 && (m.vectors & (m.vectors - 1)) === 0)) throw new RangeError(`${name}: MSI vectors must be a power of two 1..32 (got ${m.vectors})`);
      this.msiCap = at;
      this.cfg[at] = PCI.CAP_ID_MSI;
      const ctrl = (log2(m.vectors) << 1) | (m.is64 ? PCI.MSI_FLAGS_64BIT : 0) | (m.perVectorMask ? PCI.MSI_FLAGS_MASKBIT : 0);
      v.setUint16(at + 2, ctrl, true);
      this.setMask(at + 2, 2, PCI.MSI_FLAGS_ENABLE | 0x70);
      this.setMask(at + 4, 4, 0xfffffffc);
      if (m.is64) this.setMask(at + 8, 4, 0xffffffff);
      this.setMask(this.msiDataOffset(), 2, 0xffff);
      if (m.perVectorMask) this.setMask(this.msiMaskOffset(), 4, m.vectors === 32 ? 0xffffffff : (1 << m.vectors) - 1);
      caps.push(at);
      at += (m.is64 ? 0x10 : 0x0c) + (m.perVectorMask ? 0x08 : 0);
    }
    this.msixVectors = decl.msix?.vectors ?? 0;
    this.msixCap = 0;
    let pbaOffset = 0;
    if (decl.msix) {
      const n = decl.msix.vectors;
      if (!(n >= 1 && n <= 2048)) throw new RangeError(`${name}: MSI-X vectors must be 1..2048 (got ${n})`);
      const bir = this.freeBarIndex();
      if (bir < 0) throw new RangeError(`${name}: no free BAR for the MSI-X table`);
      pbaOffset = 1 << Math.max(11, Math.ceil(Math.log2(n * 16)));
      const size = Math.max(4096, pbaOffset * 2);
      this.addBar(bir, { index: bir as 0, size, space: "mem", impl: { kind: "handler", sizes: [4], read: () => 0, write: () => undefined } }, true);
      this.msixCap = at;
      this.cfg[at] = PCI.CAP_ID_MSIX;
      v.setUint16(at + 2, n - 1, true);
      this.setMask(at + 2, 2, PCI.MSIX_FLAGS_ENABLE | PCI.MSIX_FLAGS_MASKALL);
      v.setUint32(at + 4, bir, true);
      v.setUint32(at + 8, pbaOffset | bir, true);
      caps.push(at);
      at += 0x0c;
    }
    this.msixPbaOffset = pbaOffset;
    this.msixTable = new Uint32Array(this.msixVectors * 4);
    for (let i = 0; i < this.msixVectors; i++) this.msixTable[i * 4 + 3] = 1;
    this.msixPba = new Uint32Array(Math.ceil(this.msixVectors / 32));
    if (caps.length > 0) {
      this.cfg[PCI.CAPABILITY_LIST] = caps[0]!;
      for (let i = 0; i + 1 < caps.length; i++) this.cfg[caps[i]! + 1] = caps[i + 1]!;
      v.setUint16(PCI.STATUS, PCI.STATUS_CAP_LIST, true);
    }
  }

  private setMask(off: number, len: number, bits: number): void {
    for (let k = 0; k < len; k++) this.wmask[off + k] = (bits >>> (8 * k)) & 0xff;
  }

  private freeBarIndex(): number {
    for (let i = 0; i < 6; i++) {
      if (this.bars[i] !== undefined) continue;
      if (i > 0 && this.bars[i - 1]?.is64) continue;
      return i;
    }
    return -1;
  }

  private addBar(index: number, b: PciBarDecl, msixTable: boolean): void {
    const io = b.space === "io";
    const is64 = !io && (b.is64 ?? false);
    if (!(b.size >= (io ? 4 : 16) && (b.size & (b.size - 1)) === 0) && !(b.size >= TWO32 && Number.isInteger(Math.log2(b.size)))) {
      throw new RangeError(`${this.name}: BAR${index} size ${b.size} must be a power of two ≥ ${io ? 4 : 16}`);
    }
    if (index < 0 || index > 5 || this.bars[index] !== undefined || (is64 && (index === 5 || this.bars[index + 1] !== undefined))) {
      throw new RangeError(`${this.name}: BAR${index} overlaps another BAR or does not fit`);
    }
    const name = `${this.name} BAR${index}`;
    const bar: BarState = {
      index,
      size: b.size,
      io,
      is64,
      prefetchable: !io && (b.prefetchable ?? false),
      name,
      plan: msixTable ? { size: b.size, impl: b.impl, handler: this.msixHandler(), sizes: [4] } : planRegion(this.host.bus, name, b.size, b.impl, io ? "io" : "mem"),
      region: null,
      msixTable,
    };
    this.bars[index] = bar;
    const off = PCI.BASE_ADDRESS_0 + index * 4;
    const flags = io ? PCI.BASE_ADDRESS_SPACE_IO : (is64 ? PCI.BASE_ADDRESS_MEM_TYPE_64 : 0) | (bar.prefetchable ? PCI.BASE_ADDRESS_MEM_PREFETCH : 0);
    this.view.setUint32(off, flags, true);
    const lowMask = b.size >= TWO32 ? 0 : (~(b.size - 1) >>> 0) & (io ? 0xfffffffc : 0xfffffff0);
    this.setMask(off, 4, lowMask);
    if (is64) this.setMask(off + 4, 4, b.size > TWO32 ? ~(b.size / TWO32 - 1) >>> 0 : 0xffffffff);
  }

  // ---- config access ---------------------------------------------------------------------

  /** A config read of 1, 2 or 4 bytes (naturally aligned). */
  read(off: number, size: number): number {
    if (this.removed || off < 0 || off + size > 4096) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    return size === 1 ? this.cfg[off]! : size === 2 ? this.view.getUint16(off, true) : this.view.getUint32(off, true);
  }

  /** A config write: masked per byte, W1C bits, then the side effects of what changed. */
  write(off: number, size: number, value: number): void {
    if (this.removed || off < 0 || off + size > 4096) return;
    const oldCmd = this.command;
    for (let k = 0; k < size; k++) {
      const i = off + k;
      const byte = (value >>> (8 * k)) & 0xff;
      const m = this.wmask[i]!;
      this.cfg[i] = ((this.cfg[i]! & ~m) | (byte & m)) & ~(byte & this.w1cmask[i]!);
    }
    const end = off + size;
    const touches = (a: number, len: number): boolean => off < a + len && end > a;
    if (touches(PCI.COMMAND, 2)) this.commandChanged(oldCmd);
    if (touches(PCI.BASE_ADDRESS_0, 24)) this.updateDecode();
    if (this.msiCap && touches(this.msiCap + 2, 2)) this.msiControlChanged();
    if (this.msiCap && this.decl.msi?.perVectorMask && touches(this.msiMaskOffset(), 4)) this.deliverMsiPending();
    if (this.msixCap && touches(this.msixCap + 2, 2)) this.msixControlChanged();
  }

  get command(): number {
    return this.view.getUint16(PCI.COMMAND, true);
  }

  /** The BAR's bus address (both halves for 64-bit BARs), as software programmed it. */
  barAddress(index: number): number {
    const b = this.bars[index];
    if (!b) return 0;
    const off = PCI.BASE_ADDRESS_0 + index * 4;
    const lo = (this.view.getUint32(off, true) & (b.io ? 0xfffffffc : 0xfffffff0)) >>> 0;
    return b.is64 ? lo + this.view.getUint32(off + 4, true) * TWO32 : lo;
  }

  /** Program a BAR's address (firmware-style assignment at enumeration). */
  setBarAddress(index: number, addr: number): void {
    const b = this.bars[index];
    if (!b) return;
    const off = PCI.BASE_ADDRESS_0 + index * 4;
    const flags = this.view.getUint32(off, true) & (b.io ? 0x3 : 0xf);
    const hi = Math.floor(addr / TWO32);
    this.view.setUint32(off, ((addr - hi * TWO32) | flags) >>> 0, true);
    if (b.is64) this.view.setUint32(off + 4, hi >>> 0, true);
    this.updateDecode();
  }

  setInterruptLine(line: number): void {
    this.intxLine = line;
    this.cfg[PCI.INTERRUPT_LINE] = line & 0xff;
  }

  private commandChanged(old: number): void {
    const cmd = this.command;
    if ((cmd ^ old) & (PCI.COMMAND_MEMORY | PCI.COMMAND_IO)) this.updateDecode();
    if ((cmd ^ old) & PCI.COMMAND_INTX_DISABLE) this.driveIntx();
  }

  /**
   * Surprise removal (hot-unplug): the function stops answering. Its BARs leave the bus and its
   * INTx wire is released; returns where the BARs were decoded (the caller may put an all-ones
   * placeholder there, as a bus with nothing behind the address answers).
   */
  surpriseRemove(): { base: number; size: number; io: boolean; name: string }[] {
    const gone: { base: number; size: number; io: boolean; name: string }[] = [];
    this.stopIntx();
    this.intxAsserted = false;
    for (const b of this.bars) {
      if (!b?.region) continue;
      gone.push({ base: b.region.base, size: b.region.size, io: b.io, name: b.name });
      this.host.bus.remove(b.region);
      b.region = null;
    }
    this.removed = true;
    return gone;
  }

  /** Put each BAR on the bus, move it, or take it off, per the command register and its address. */
  updateDecode(): void {
    if (this.removed) return;
    const cmd = this.command;
    const bus = this.host.bus;
    for (const b of this.bars) {
      if (!b) continue;
      const addr = this.barAddress(b.index);
      const enabled = b.io ? (cmd & PCI.COMMAND_IO) !== 0 && this.host.hasPorts : (cmd & PCI.COMMAND_MEMORY) !== 0;
      const limit = b.io ? 0x10000 : 2 ** 52;
      const want = enabled && addr !== 0 && addr + b.plan.size <= limit;
      if (!want) {
        if (b.region) bus.remove(b.region);
        b.region = null;
        continue;
      }
      if (b.region && b.region.base === addr) continue;
      try {
        if (b.region) bus.move(b.region, addr);
        else b.region = mapRegion(bus, b.name, addr, b.plan, b.io ? "io" : "mem");
      } catch (e) {
        if (b.region) bus.remove(b.region);
        b.region = null;
        this.host.guestError(this, `BAR${b.index} at 0x${addr.toString(16)} not decoded: ${(e as Error).message}`);
      }
    }
  }

  // ---- interrupts -----------------------------------------------------------------------

  private msiDataOffset(): number {
    return this.msiCap + (this.decl.msi?.is64 ? 0x0c : 0x08);
  }

  private msiMaskOffset(): number {
    return this.msiCap + (this.decl.msi?.is64 ? 0x10 : 0x0c);
  }

  get msiEnabled(): boolean {
    return this.msiCap !== 0 && (this.view.getUint16(this.msiCap + 2, true) & PCI.MSI_FLAGS_ENABLE) !== 0;
  }

  get msixEnabled(): boolean {
    return this.msixCap !== 0 && (this.view.getUint16(this.msixCap + 2, true) & PCI.MSIX_FLAGS_ENABLE) !== 0;
  }

  /** Vectors enabled by the driver: 2^MME with MSI, the table size with MSI-X, else 0. */
  get enabledVectors(): number {
    if (this.msixEnabled) return this.msixVectors;
    if (this.msiEnabled) return 1 << ((this.view.getUint16(this.msiCap + 2, true) >> 4) & 7);
    return 0;
  }

  private msiControlChanged(): void {
    if (this.msiEnabled) this.stopIntx();
    else this.driveIntx();
  }

  private msixControlChanged(): void {
    if (this.msixEnabled) {
      this.stopIntx();
      this.deliverMsixPending();
    } else this.driveIntx();
  }

  private stopIntx(): void {
    if (this.intxLine >= 0) this.host.wires.deassert(this.intxLine, this.wireId, this.requester);
  }

  /** Drive the INTx wire from the device's assertion, the INTx-disable bit and MSI state. */
  private driveIntx(): void {
    if (this.intxLine < 0) return;
    const on = this.intxAsserted && (this.command & PCI.COMMAND_INTX_DISABLE) === 0 && !this.msiEnabled && !this.msixEnabled;
    if (on) this.host.wires.assert(this.intxLine, this.wireId, this.requester);
    else this.host.wires.deassert(this.intxLine, this.wireId, this.requester);
  }

  /** The device raises interrupt `vector`. */
  raise(vector: number): void {
    if (this.removed) return;
    if (this.msixEnabled) return this.raiseMsix(vector);
    if (this.msiEnabled) return this.raiseMsi(vector);
    if (this.intxLine < 0 || (this.decl.intxPin ?? 0) === 0) return this.host.guestError(this, `raise with no interrupt enabled (no INTx pin, MSI/MSI-X off)`);
    this.intxAsserted = true;
    this.view.setUint16(PCI.STATUS, this.view.getUint16(PCI.STATUS, true) | PCI.STATUS_INTERRUPT, true);
    this.driveIntx();
  }

  /** The device lowers its INTx line (no effect on MSI). */
  lower(): void {
    if (!this.intxAsserted) return;
    this.intxAsserted = false;
    this.view.setUint16(PCI.STATUS, this.view.getUint16(PCI.STATUS, true) & ~PCI.STATUS_INTERRUPT, true);
    this.driveIntx();
  }

  private raiseMsi(vector: number): void {
    const n = this.enabledVectors;
    if (!(vector >= 0 && vector < n)) return this.host.guestError(this, `MSI vector ${vector} raised but only ${n} enabled`);
    if (this.decl.msi?.perVectorMask) {
      const maskOff = this.msiMaskOffset();
      if ((this.view.getUint32(maskOff, true) >>> vector) & 1) {
        this.view.setUint32(maskOff + 4, (this.view.getUint32(maskOff + 4, true) | (1 << vector)) >>> 0, true);
        return;
      }
    }
    this.sendMsi(vector);
  }

  private sendMsi(vector: number): void {
    const v = this.view;
    const at = this.msiCap;
    const addr = v.getUint32(at + 4, true) + (this.decl.msi?.is64 ? v.getUint32(at + 8, true) * TWO32 : 0);
    const n = this.enabledVectors;
    const data = v.getUint16(this.msiDataOffset(), true);
    this.host.ic.msi(addr, n > 1 ? (data & ~(n - 1)) | vector : data, this.requester);
  }

  private deliverMsiPending(): void {
    if (!this.msiEnabled) return;
    const maskOff = this.msiMaskOffset();
    const mask = this.view.getUint32(maskOff, true);
    let pending = this.view.getUint32(maskOff + 4, true);
    for (let i = 0; i < 32; i++) {
      const bit = 1 << i;
      if (pending & bit && !(mask & bit)) {
        pending &= ~bit;
        this.view.setUint32(maskOff + 4, pending >>> 0, true);
        this.sendMsi(i);
      }
    }
  }

  private raiseMsix(vector: number): void {
    if (!(vector >= 0 && vector < this.msixVectors)) return this.host.guestError(this, `MSI-X vector ${vector} raised but the table has ${this.msixVectors}`);
    const functionMask = (this.view.getUint16(this.msixCap + 2, true) & PCI.MSIX_FLAGS_MASKALL) !== 0;
    if (functionMask || (this.msixTable[vector * 4 + 3]! & 1)) {
      this.msixPba[vector >> 5] = (this.msixPba[vector >> 5]! | (1 << (vector & 31))) >>> 0;
      return;
    }
    this.sendMsix(vector);
  }

  private sendMsix(vector: number): void {
    const t = this.msixTable;
    this.host.ic.msi(t[vector * 4]! + t[vector * 4 + 1]! * TWO32, t[vector * 4 + 2]!, this.requester);
  }

  private deliverMsixPending(): void {
    if (!this.msixEnabled || this.view.getUint16(this.msixCap + 2, true) & PCI.MSIX_FLAGS_MASKALL) return;
    for (let v = 0; v < this.msixVectors; v++) {
      const bit = 1 << (v & 31);
      if (this.msixPba[v >> 5]! & bit && !(this.msixTable[v * 4 + 3]! & 1)) {
        this.msixPba[v >> 5] = (this.msixPba[v >> 5]! & ~bit) >>> 0;
        this.sendMsix(v);
      }
    }
  }

  /** The MSI-X table and PBA as MMIO (dword accesses). */
  private msixHandler(): MmioHandler {
    return {
      read: (off) => {
        if (off < this.msixVectors * 16) return this.msixTable[off >> 2]!;
        const p = off - this.msixPbaOffset;
        if (p >= 0 && p < this.msixPba.length * 4) return this.msixPba[p >> 2]!;
        return 0;
      },
      write: (off, _size, value) => {
        if (off >= this.msixVectors * 16) return;
        this.msixTable[off >> 2] = (off & 15) === 12 ? value & 1 : value >>> 0;
        if ((off & 15) === 12) this.deliverMsixPending();
      },
      registerName: (off) => (off < this.msixVectors * 16 ? `msix.entry${off >> 4}` : "msix.pba"),
    };
  }

  /** The device-facing PCI state. */
  readonly state: PciFunctionState = {
    busMasterEnabled: () => (this.command & PCI.COMMAND_MASTER) !== 0,
    msiEnabled: () => this.msiEnabled || this.msixEnabled,
    msiVectors: () => this.enabledVectors,
  };

  /** The device's IRQ port. */
  readonly irqPort: IrqPort = {
    raise: (vector = 0) => this.raise(vector),
    lower: () => this.lower(),
  };

  /** MSI doorbell address for programming (platform constant). */
  get msiAddress(): number {
    return this.host.msiAddress;
  }

  /** Driver-side programming of MSI-X entry `i` (what the kernel's MSI code writes). */
  writeMsixEntry(i: number, addr: number, data: number, masked: boolean): void {
    const hi = Math.floor(addr / TWO32);
    this.msixTable[i * 4] = (addr - hi * TWO32) >>> 0;
    this.msixTable[i * 4 + 1] = hi >>> 0;
    this.msixTable[i * 4 + 2] = data >>> 0;
    this.msixTable[i * 4 + 3] = masked ? 1 : 0;
    this.deliverMsixPending();
  }

  get msixTableSize(): number {
    return this.msixVectors;
  }

  get msiCapable(): number {
    return this.msiVectors;
  }
}
