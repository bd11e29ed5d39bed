/**
 * The PC/AT pair of 8237A DMA controllers as one device model: guest-side register behaviour
 * (flip-flop, base/current registers, mode, masks, status), and the device side that ISA clients
 * use through {@link IsaDmaController} to move bytes at the controller's current address.
 */
import {
  DmaStatus,
  dmaAddr,
  RegisterFile,
  type DeviceContext,
  type DeviceDecl,
  type DeviceLog,
  type IsaDmaController,
  type IsaDmaMove,
  type IsaDmaProgramEvent,
  type RegisterMap,
  type VirtualDevice,
} from "../../sdk/index.js";
import {
  dma1Registers,
  dma2Registers,
  I8237_CONTROLLER_PORTS,
  I8237_PAGE_OFFSET,
  I8237_PAGE_PORTS,
  I8237_PORT_BASE,
  I8237Command,
  I8237Mode,
  I8237Reg,
  pageRegisters,
} from "./registers.js";

/** What a guest access to the controller did, as reported to {@link I8237Device.onProgram}. @public */
export type I8237ProgramKind =
  | "address"
  | "count"
  | "address-read"
  | "count-read"
  | "page"
  | "mode"
  | "single-mask"
  | "request"
  | "command"
  | "clear-flip-flop"
  | "master-clear"
  | "clear-all-masks"
  | "write-all-masks";

/**
 * One guest access that programs (or, for `address-read`/`count-read`, moves the flip-flop of)
 * the controller.
 * @public
 */
export interface I8237ProgramEvent {
  /** 0 = DMA1 (channels 0–3), 1 = DMA2 (channels 4–7). */
  readonly controller: 0 | 1;
  /** Channel 0–7 the access concerns, or -1 for controller-wide commands. */
  readonly channel: number;
  readonly kind: I8237ProgramKind;
  /** The byte written (or, for reads, the byte returned). */
  readonly value: number;
  /** The controller's byte-pointer flip-flop before the access (0 = low byte next). */
  readonly flipFlopBefore: 0 | 1;
  /** The I/O port accessed. */
  readonly port: number;
  /** Simulated time of the access, in ns. */
  readonly time: number;
}

/** Transfer type decoded from the mode register. @public */
export type I8237TransferType = "verify" | "write" | "read" | "illegal";
/** Mode select decoded from the mode register. @public */
export type I8237ModeSelect = "demand" | "single" | "block" | "cascade";

/** A snapshot of one channel, for detectors and tests. Register values are as the chip holds them. @public */
export interface I8237ChannelState {
  readonly channel: number;
  /** True for channels 4–7 (word transfers; address register holds A16:A1). */
  readonly wide: boolean;
  readonly baseAddress: number;
  readonly currentAddress: number;
  /** Base count register (N−1, in bytes or words). */
  readonly baseCount: number;
  readonly currentCount: number;
  readonly page: number;
  /** Raw mode register value (bits 1:0 hold the channel number). */
  readonly mode: number;
  readonly transferType: I8237TransferType;
  readonly autoinit: boolean;
  readonly decrement: boolean;
  readonly modeSelect: I8237ModeSelect;
  readonly masked: boolean;
  /** DREQ held by a device. */
  readonly dreq: boolean;
  /** Software request bit (request register). */
  readonly softwareRequest: boolean;
  /** TC status bit, not yet cleared by a status read. */
  readonly terminalCount: boolean;
  /** Physical byte address of the next transfer. */
  readonly physicalAddress: number;
  /** The owning controller's flip-flop (0 = next address/count access hits the low byte). */
  readonly flipFlop: 0 | 1;
}

/** A snapshot of one controller. @public */
export interface I8237ControllerState {
  readonly command: number;
  /** Status as a read would return it (the snapshot does not clear the TC bits). */
  readonly status: number;
  /** Mask bits 3:0. */
  readonly mask: number;
  readonly flipFlop: 0 | 1;
  readonly temporary: number;
}

/** Options of {@link I8237Device}. @public */
export interface I8237Options {
  /**
   * Apply what the PC firmware does at POST after every reset: put channel 4 in cascade mode and
   * unmask it, so that DMA1 requests reach the bus. Default true; false gives the bare chip state.
   */
  readonly firmwareCascade?: boolean;
  /** Observer of every programming access (see {@link I8237Device.onProgram}). */
  readonly onProgram?: (event: I8237ProgramEvent) => void;
}

const TYPE_NAMES: readonly I8237TransferType[] = ["verify", "write", "read", "illegal"];
const SELECT_NAMES: readonly I8237ModeSelect[] = ["demand", "single", "block", "cascade"];
const NO_MOVE: IsaDmaMove = Object.freeze({ moved: 0, terminalCount: false });
const silentLog: DeviceLog = { guestError() {}, unimplemented() {}, info() {} };
const hex = (n: number, digits = 2) => "0x" + n.toString(16).padStart(digits, "0");

/**
 * The two 8237A controllers, the page registers and the cascade between them.
 * @public
 */
export class I8237Device implements VirtualDevice, IsaDmaController {
  readonly model = "i8237";
  /** This device serves the testbench's ISA DMA routing itself. */
  readonly isaDmaController: IsaDmaController = this;
  readonly channels: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7]);
  /**
   * Called on every guest access that programs the controller (and on address/count reads, which
   * toggle the flip-flop), before the access takes effect. The testbench uses it to report
   * channels programmed without clearing the flip-flop first.
   */
  onProgram: ((event: I8237ProgramEvent) => void) | undefined;

  /** Guest-side register files: DMA1, DMA2 and the page registers. */
  readonly registers: { readonly dma1: RegisterFile; readonly dma2: RegisterFile; readonly page: RegisterFile };

  private readonly firmwareCascade: boolean;
  private ctx: DeviceContext | undefined;
  private log: DeviceLog = silentLog;

  // Per channel 0–7.
  private readonly baseAddr = new Uint16Array(8);
  private readonly curAddr = new Uint16Array(8);
  private readonly baseCount = new Uint16Array(8);
  private readonly curCount = new Uint16Array(8);
  private readonly mode = new Uint8Array(8);
  private readonly page = new Uint8Array(8);
  private readonly tcListeners: (() => void)[][] = [[], [], [], [], [], [], [], []];
  // Per controller 0–1.
  private readonly command = new Uint8Array(2);
  private readonly tcBits = new Uint8Array(2);
  private readonly swRequest = new Uint8Array(2);
  private readonly dreqBits = new Uint8Array(2);
  private readonly mask = new Uint8Array(2);
  private readonly flipFlop = new Uint8Array(2);
  private readonly temp = new Uint8Array(2);

  private scratch = new Uint8Array(4096);
  private readonly observers: ((event: IsaDmaProgramEvent) => void)[] = [];

  constructor(options: I8237Options = {}) {
    this.firmwareCascade = options.firmwareCascade ?? true;
    this.onProgram = options.onProgram;
    const dma1 = new RegisterFile(dma1Registers);
    const dma2 = new RegisterFile(dma2Registers);
    const page = new RegisterFile(pageRegisters);
    this.registers = { dma1, dma2, page };
    this.wireController(0, dma1, dma1Registers);
    this.wireController(1, dma2, dma2Registers);
    this.wirePages(page);
    this.reset();
  }

  describe(): DeviceDecl {
    return {
      bus: "isa",
      isaId: "i8237",
      ports: [
        { base: I8237_PORT_BASE.dma1, size: I8237_CONTROLLER_PORTS, name: "dma1", impl: { kind: "registers", file: this.registers.dma1 } },
        { base: I8237_PORT_BASE.page, size: I8237_PAGE_PORTS, name: "dma page reg", impl: { kind: "registers", file: this.registers.page } },
        { base: I8237_PORT_BASE.dma2, size: I8237_CONTROLLER_PORTS, name: "dma2", impl: { kind: "registers", file: this.registers.dma2 } },
      ],
      irqs: [],
      dmaChannels: [],
    };
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.log = ctx.log;
  }

  detach(): void {
    this.ctx = undefined;
    this.log = silentLog;
  }

  reset(): void {
    this.registers.dma1.reset();
    this.registers.dma2.reset();
    this.registers.page.reset();
    this.baseAddr.fill(0);
    this.curAddr.fill(0);
    this.baseCount.fill(0);
    this.curCount.fill(0);
    this.mode.fill(0);
    this.page.fill(0);
    this.dreqBits.fill(0);
    this.masterClear(0);
    this.masterClear(1);
    if (this.firmwareCascade) {
      this.mode[4] = (I8237Mode.SELECT_CASCADE << I8237Mode.SELECT_SHIFT) | 0;
      this.mask[1] &= ~1;
    }
  }

  // ---- introspection -------------------------------------------------------------------------

  /** A snapshot of channel `ch` (0–7). Throws a RangeError for other numbers (host-side misuse). */
  channelState(ch: number): I8237ChannelState {
    if (!Number.isInteger(ch) || ch < 0 || ch > 7) throw new RangeError(`i8237: no channel ${ch}`);
    const c = ch >> 2;
    const bit = 1 << (ch & 3);
    const m = this.mode[ch]!;
    return {
      channel: ch,
      wide: c === 1,
      baseAddress: this.baseAddr[ch]!,
      currentAddress: this.curAddr[ch]!,
      baseCount: this.baseCount[ch]!,
      currentCount: this.curCount[ch]!,
      page: this.page[ch]!,
      mode: m,
      transferType: TYPE_NAMES[(m >> I8237Mode.TYPE_SHIFT) & 3]!,
      autoinit: (m & I8237Mode.AUTOINIT) !== 0,
      decrement: (m & I8237Mode.DECREMENT) !== 0,
      modeSelect: SELECT_NAMES[m >> I8237Mode.SELECT_SHIFT]!,
      masked: (this.mask[c]! & bit) !== 0,
      dreq: (this.dreqBits[c]! & bit) !== 0,
      softwareRequest: (this.swRequest[c]! & bit) !== 0,
      terminalCount: (this.tcBits[c]! & bit) !== 0,
      physicalAddress: this.physicalAddress(ch),
      flipFlop: this.flipFlop[c] as 0 | 1,
    };
  }

  /** A snapshot of controller `c` (0 = DMA1, 1 = DMA2). */
  controllerState(c: 0 | 1): I8237ControllerState {
    return {
      command: this.command[c]!,
      status: this.status(c),
      mask: this.mask[c]!,
      flipFlop: this.flipFlop[c] as 0 | 1,
      temporary: this.temp[c]!,
    };
  }

  /** Physical byte address the next transfer of channel `ch` would use. */
  physicalAddress(ch: number): number {
    const a = this.curAddr[ch]!;
    return ch >= 4 ? (this.page[ch]! & 0xfe) * 0x10000 + a * 2 : this.page[ch]! * 0x10000 + a;
  }

  // ---- IsaDmaController (device side) --------------------------------------------------------

  dreq(channel: number, asserted: boolean): void {
    if (!this.validChannel(channel, "DREQ")) return;
    const c = channel >> 2;
    const bit = 1 << (channel & 3);
    this.dreqBits[c] = asserted ? this.dreqBits[c]! | bit : this.dreqBits[c]! & ~bit;
  }

  onTerminalCount(channel: number, fn: () => void): void {
    if (!this.validChannel(channel, "TC listener")) return;
    this.tcListeners[channel]!.push(fn);
  }

  /**
   * Move up to `buf.length` bytes for `channel` at its current address; `toDevice` is a memory
   * read (8237 "read transfer"). The channel is serviced only while it is unmasked, requested (DREQ
   * or the software request bit), its controller enabled, and — for DMA1 — the cascade through
   * channel 4 is open. A verify transfer counts and reports the bytes as moved without touching
   * memory or `buf`. On a 16-bit channel only whole words move.
   */
  transfer(channel: number, toDevice: boolean, buf: Uint8Array): IsaDmaMove {
    if (!this.validChannel(channel, "transfer")) return NO_MOVE;
    if (channel === 4) {
      this.log.guestError("i8237: channel 4 is the cascade to DMA1 and never transfers data");
      return NO_MOVE;
    }
    if (!this.serviceable(channel)) return NO_MOVE;
    const m = this.mode[channel]!;
    if (m >> I8237Mode.SELECT_SHIFT === I8237Mode.SELECT_CASCADE) return NO_MOVE;
    const type = (m >> I8237Mode.TYPE_SHIFT) & 3;
    if (type === I8237Mode.TYPE_ILLEGAL) {
      this.log.guestError(`i8237: channel ${channel} serviced with the illegal transfer type 11 (mode ${hex(m)})`);
      return NO_MOVE;
    }
    if ((type === I8237Mode.TYPE_WRITE && toDevice) || (type === I8237Mode.TYPE_READ && !toDevice)) {
      const want = toDevice ? "memory → device (read)" : "device → memory (write)";
      this.log.guestError(`i8237: channel ${channel} is programmed for a ${TYPE_NAMES[type]} transfer but the device requested ${want}`);
      return NO_MOVE;
    }
    return this.run(channel, toDevice, type === I8237Mode.TYPE_VERIFY, buf);
  }

  /**
   * {@link IsaDmaController.observe}: every programming access, before it takes effect, in the
   * plugin-neutral event shape (the same accesses {@link I8237Device.onProgram} sees).
   */
  observe(listener: (event: IsaDmaProgramEvent) => void): void {
    this.observers.push(listener);
  }

  // ---- transfer engine -----------------------------------------------------------------------

  private run(ch: number, toDevice: boolean, verify: boolean, buf: Uint8Array): IsaDmaMove {
    const c = ch >> 2;
    const bit = 1 << (ch & 3);
    const wide = c === 1;
    const unit = wide ? 2 : 1;
    const units = wide ? buf.length >>> 1 : buf.length;
    const dec = (this.mode[ch]! & I8237Mode.DECREMENT) !== 0;
    const autoinit = (this.mode[ch]! & I8237Mode.AUTOINIT) !== 0;
    let done = 0;
    let tcs = 0;
    while (done < units) {
      const cur = this.curAddr[ch]!;
      const cnt = this.curCount[ch]!;
      const room = dec ? cur + 1 : 0x10000 - cur;
      const seg = Math.min(units - done, cnt + 1, room);
      if (!verify && !this.moveSegment(ch, toDevice, dec, buf, done * unit, seg, unit)) break;
      done += seg;
      const next = dec ? cur - seg : cur + seg;
      this.curAddr[ch] = next & 0xffff;
      if (cnt === seg - 1) {
        // Terminal count: the count register rolled over to 0xFFFF.
        this.curCount[ch] = 0xffff;
        this.tcBits[c] |= bit;
        this.swRequest[c] &= ~bit;
        tcs++;
        if (!autoinit) {
          this.mask[c] |= bit;
          break;
        }
        this.curAddr[ch] = this.baseAddr[ch]!;
        this.curCount[ch] = this.baseCount[ch]!;
      } else {
        this.curCount[ch] = cnt - seg;
        if (next === 0x10000 || next === -1) this.reportWrap(ch, cur, seg, dec);
      }
    }
    for (let i = 0; i < tcs; i++) for (const fn of this.tcListeners[ch]!) fn();
    if (done === 0 && tcs === 0) return NO_MOVE;
    return { moved: done * unit, terminalCount: tcs > 0 };
  }

  /** Copy `seg` units between memory and `buf` at `offset`; false (and nothing moved) on a DMA error. */
  private moveSegment(ch: number, toDevice: boolean, dec: boolean, buf: Uint8Array, offset: number, seg: number, unit: number): boolean {
    const ctx = this.ctx;
    if (!ctx) return false;
    const cur = this.curAddr[ch]!;
    const lowUnit = dec ? cur - seg + 1 : cur;
    const windowBase = unit === 2 ? (this.page[ch]! & 0xfe) * 0x10000 : this.page[ch]! * 0x10000;
    const phys = windowBase + lowUnit * unit;
    const bytes = seg * unit;
    const view = buf.subarray(offset, offset + bytes);
    let status: DmaStatus;
    if (!dec) {
      status = toDevice ? ctx.dma.read(dmaAddr(phys), view) : ctx.dma.write(dmaAddr(phys), view);
    } else {
      // Decrement mode walks memory downward: the first unit of `buf` is the highest in memory.
      if (this.scratch.length < bytes) this.scratch = new Uint8Array(Math.max(bytes, this.scratch.length * 2));
      const tmp = this.scratch.subarray(0, bytes);
      if (toDevice) {
        status = ctx.dma.read(dmaAddr(phys), tmp);
        if (status === DmaStatus.OK) reverseUnits(tmp, view, seg, unit);
      } else {
        reverseUnits(view, tmp, seg, unit);
        status = ctx.dma.write(dmaAddr(phys), tmp);
      }
    }
    if (status !== DmaStatus.OK) {
      const dir = toDevice ? "read" : "write";
      this.log.guestError(`i8237: channel ${ch} DMA ${dir} of ${bytes} bytes at physical ${hex(phys, 6)} failed (status ${status}); nothing moved`);
      return false;
    }
    return true;
  }

  private reportWrap(ch: number, cur: number, seg: number, dec: boolean): void {
    const size = ch >= 4 ? "128 KiB" : "64 KiB";
    const unit = ch >= 4 ? 2 : 1;
    const windowBase = ch >= 4 ? (this.page[ch]! & 0xfe) * 0x10000 : this.page[ch]! * 0x10000;
    const last = windowBase + (dec ? cur - seg + 1 : cur + seg - 1) * unit;
    const resumed = windowBase + this.curAddr[ch]! * unit;
    this.log.guestError(
      `i8237: channel ${ch} address counter wrapped inside its ${size} page (page ${hex(this.page[ch]!)} ` +
        `not ${dec ? "decremented" : "incremented"}): after ${hex(last, 6)} the transfer continues at ${hex(resumed, 6)}`,
    );
  }

  private serviceable(ch: number): boolean {
    const c = ch >> 2;
    const bit = 1 << (ch & 3);
    if (!this.controllerRuns(c)) return false;
    if (this.mask[c]! & bit) return false;
    if (((this.dreqBits[c]! | this.swRequest[c]!) & bit) === 0) return false;
    return c === 1 || this.cascadeOpen();
  }

  private controllerRuns(c: number): boolean {
    const cmd = this.command[c]!;
    return (cmd & (I8237Command.CONTROLLER_DISABLE | I8237Command.DREQ_ACTIVE_LOW | I8237Command.DACK_ACTIVE_HIGH)) === 0;
  }

  /** DMA1 reaches the bus only through DMA2 channel 4 in cascade mode, unmasked. */
  private cascadeOpen(): boolean {
    return this.controllerRuns(1) && (this.mask[1]! & 1) === 0 && this.mode[4]! >> I8237Mode.SELECT_SHIFT === I8237Mode.SELECT_CASCADE;
  }

  private status(c: number): number {
    let requests = (this.dreqBits[c]! | this.swRequest[c]!) & 0x0f;
    if (c === 1) {
      // DMA1's hold request arrives as DREQ on channel 4.
      const pending = (this.dreqBits[0]! | this.swRequest[0]!) & ~this.mask[0]! & 0x0f;
      if (pending && this.controllerRuns(0)) requests |= 1;
    }
    return (requests << 4) | this.tcBits[c]!;
  }

  private validChannel(channel: number, what: string): boolean {
    if (Number.isInteger(channel) && channel >= 0 && channel <= 7) return true;
    this.log.guestError(`i8237: ${what} for nonexistent DMA channel ${String(channel)}`);
    return false;
  }

  // ---- guest side ----------------------------------------------------------------------------

  private masterClear(c: number): void {
    this.command[c] = 0;
    this.tcBits[c] = 0;
    this.swRequest[c] = 0;
    this.temp[c] = 0;
    this.flipFlop[c] = 0;
    this.mask[c] = 0x0f;
  }

  private emit(c: 0 | 1, channel: number, kind: I8237ProgramKind, value: number, port: number): void {
    const fn = this.onProgram;
    const ff = this.flipFlop[c] as 0 | 1;
    if (fn) fn({ controller: c, channel, kind, value, flipFlopBefore: ff, port, time: this.ctx?.clock.now() ?? 0 });
    if (this.observers.length === 0) return;
    const event: IsaDmaProgramEvent = { channel, kind, value, flipFlopBefore: ff === 1, port };
    for (const o of this.observers) o(event);
  }

  private wireController(c: 0 | 1, regs: RegisterFile, map: RegisterMap): void {
    const shift = c;
    const portBase = c === 0 ? I8237_PORT_BASE.dma1 : I8237_PORT_BASE.dma2;
    const port = (index: number) => portBase + (index << shift);
    for (let local = 0; local < 4; local++) {
      const ch = c * 4 + local;
      const addrPort = port(local * 2);
      const countPort = port(local * 2 + 1);
      regs.onRead(`CH${ch}_ADDR`, () => this.readCounter(c, ch, this.curAddr, "address-read", addrPort));
      regs.onRead(`CH${ch}_COUNT`, () => this.readCounter(c, ch, this.curCount, "count-read", countPort));
      regs.onWrite(`CH${ch}_ADDR`, (_v, _o, w) => this.writeCounter(c, ch, this.baseAddr, this.curAddr, "address", w & 0xff, addrPort));
      regs.onWrite(`CH${ch}_COUNT`, (_v, _o, w) => this.writeCounter(c, ch, this.baseCount, this.curCount, "count", w & 0xff, countPort));
    }
    regs.onRead("STATUS_COMMAND", () => {
      const s = this.status(c);
      this.tcBits[c] = 0;
      return s;
    });
    regs.onWrite("STATUS_COMMAND", (_v, _o, w) => this.writeCommand(c, w & 0xff, port(I8237Reg.STATUS_COMMAND)));
    regs.onRead("TEMP_MASTER_CLEAR", () => this.temp[c]!);
    regs.onWrite("TEMP_MASTER_CLEAR", (_v, _o, w) => {
      this.emit(c, -1, "master-clear", w & 0xff, port(I8237Reg.TEMP_MASTER_CLEAR));
      this.masterClear(c);
    });
    regs.onWrite("REQUEST", (_v, _o, w) => {
      const ch = c * 4 + (w & 3);
      this.emit(c, ch, "request", w & 0xff, port(I8237Reg.REQUEST));
      const bit = 1 << (w & 3);
      this.swRequest[c] = w & 4 ? this.swRequest[c]! | bit : this.swRequest[c]! & ~bit;
    });
    regs.onWrite("SINGLE_MASK", (_v, _o, w) => {
      const ch = c * 4 + (w & 3);
      this.emit(c, ch, "single-mask", w & 0xff, port(I8237Reg.SINGLE_MASK));
      const bit = 1 << (w & 3);
      this.mask[c] = w & 4 ? this.mask[c]! | bit : this.mask[c]! & ~bit;
    });
    regs.onWrite("MODE", (_v, _o, w) => this.writeMode(c, w & 0xff, port(I8237Reg.MODE)));
    regs.onWrite("CLEAR_FLIP_FLOP", (_v, _o, w) => {
      this.emit(c, -1, "clear-flip-flop", w & 0xff, port(I8237Reg.CLEAR_FLIP_FLOP));
      this.flipFlop[c] = 0;
    });
    regs.onWrite("CLEAR_ALL_MASKS", (_v, _o, w) => {
      this.emit(c, -1, "clear-all-masks", w & 0xff, port(I8237Reg.CLEAR_ALL_MASKS));
      this.mask[c] = 0;
    });
    regs.onWrite("WRITE_ALL_MASKS", (_v, _o, w) => {
      this.emit(c, -1, "write-all-masks", w & 0xff, port(I8237Reg.WRITE_ALL_MASKS));
      this.mask[c] = w & 0x0f;
    });
    // The datasheet leaves reads of write-only ports undefined: report them.
    for (const name of map.names) {
      if (map.defs[name]!.mode !== "wo") continue;
      regs.onRead(name, (stored) => {
        this.log.guestError(`i8237: read of write-only register ${map.name}.${name} (port ${hex(port(map.defs[name]!.offset >> shift))})`);
        return stored;
      });
    }
  }

  private readCounter(c: 0 | 1, ch: number, reg: Uint16Array, kind: I8237ProgramKind, port: number): number {
    const ff = this.flipFlop[c]!;
    const value = ff ? reg[ch]! >> 8 : reg[ch]! & 0xff;
    this.emit(c, ch, kind, value, port);
    this.flipFlop[c] = ff ^ 1;
    return value;
  }

  private writeCounter(c: 0 | 1, ch: number, base: Uint16Array, cur: Uint16Array, kind: I8237ProgramKind, value: number, port: number): void {
    this.emit(c, ch, kind, value, port);
    const ff = this.flipFlop[c]!;
    const v = ff ? (base[ch]! & 0x00ff) | (value << 8) : (base[ch]! & 0xff00) | value;
    base[ch] = v;
    cur[ch] = v;
    this.flipFlop[c] = ff ^ 1;
  }

  private writeCommand(c: 0 | 1, value: number, port: number): void {
    this.emit(c, -1, "command", value, port);
    this.command[c] = value;
    if (value & I8237Command.MEM_TO_MEM) {
      this.log.unimplemented(`i8237: memory-to-memory transfers (command ${hex(value)} on DMA${c + 1})`);
    }
    if (value & (I8237Command.DREQ_ACTIVE_LOW | I8237Command.DACK_ACTIVE_HIGH)) {
      this.log.guestError(`i8237: command ${hex(value)} inverts DREQ/DACK polarity, which the PC/AT wiring does not allow; DMA${c + 1} stops serving requests`);
    }
  }

  private writeMode(c: 0 | 1, value: number, port: number): void {
    const ch = c * 4 + (value & I8237Mode.CHANNEL_MASK);
    this.emit(c, ch, "mode", value, port);
    this.mode[ch] = value;
    const select = value >> I8237Mode.SELECT_SHIFT;
    if (select !== I8237Mode.SELECT_CASCADE && ((value >> I8237Mode.TYPE_SHIFT) & 3) === I8237Mode.TYPE_ILLEGAL) {
      this.log.guestError(`i8237: mode ${hex(value)} selects the illegal transfer type 11 on channel ${ch}`);
    }
    if (ch === 4 && select !== I8237Mode.SELECT_CASCADE) {
      this.log.guestError(`i8237: mode ${hex(value)} takes channel 4 out of cascade mode; DMA1 (channels 0–3) loses the bus`);
    }
  }

  private wirePages(regs: RegisterFile): void {
    for (let ch = 0; ch < 8; ch++) {
      const channel = ch;
      const off = I8237_PAGE_OFFSET[ch]!;
      regs.onWrite(`PAGE_CH${ch}`, (value, _o, w) => {
        this.emit(channel >> 2 ? 1 : 0, channel, "page", w & 0xff, I8237_PORT_BASE.page + off);
        this.page[channel] = value;
      });
    }
  }
}

/** Copy `units` units of `size` bytes from `src` to `dst` in reverse unit order. */
function reverseUnits(src: Uint8Array, dst: Uint8Array, units: number, size: number): void {
  if (size === 1) {
    for (let i = 0, j = units - 1; i < units; i++, j--) dst[i] = src[j]!;
    return;
  }
  for (let i = 0, j = units - 1; i < units; i++, j--) {
    dst[i * 2] = src[j * 2]!;
    dst[i * 2 + 1] = src[j * 2 + 1]!;
  }
}
