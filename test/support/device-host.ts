/**
 * A minimal host for device-model spec tests: it implements DeviceContext over a flat RAM array
 * (bus address = offset), a deterministic event queue, recorded IRQs and guest errors, and serves
 * region accesses with the same rules the bus applies (register decode, size checks, all-ones on
 * a bad access). Once the real testbench can host a device with no driver, spec tests move there.
 */
import {
  DmaStatus,
  GuestAccess,
  type AccessSize,
  type DeviceContext,
  type DeviceDecl,
  type DmaAddr,
  type IsaDmaChannelPort,
  type IsaDmaController,
  type RegionImpl,
  type TimerHandle,
  type VirtualDevice,
} from "../../sdk/index.js";

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  handle: number;
}

export class FakeClock {
  private t = 0;
  private seq = 0;
  private nextHandle = 1;
  private queue: Pending[] = [];
  now(): number {
    return this.t;
  }
  schedule(delayNs: number, fn: () => void): TimerHandle {
    const handle = this.nextHandle++;
    this.queue.push({ at: this.t + Math.max(0, delayNs), seq: this.seq++, fn, handle });
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return handle as TimerHandle;
  }
  cancel(handle: TimerHandle): void {
    this.queue = this.queue.filter((p) => p.handle !== handle);
  }
  /**
   * Run events up to and including time `t`, then set the clock to `t`. More than `maxEvents`
   * events in one call is an event storm (a device that never stops scheduling): it throws.
   */
  advanceTo(t: number, maxEvents = 1_000_000): number {
    let n = 0;
    while (this.queue.length && this.queue[0]!.at <= t) {
      if (++n > maxEvents) throw new Error(`event storm: more than ${maxEvents} events before t=${t}ns`);
      const p = this.queue.shift()!;
      this.t = p.at;
      p.fn();
    }
    this.t = Math.max(this.t, t);
    return n;
  }
  advance(ns: number, maxEvents?: number): number {
    return this.advanceTo(this.t + ns, maxEvents);
  }
  /** Run until no events remain or `maxEvents` ran; returns the number run. */
  runAll(maxEvents = 1_000_000): number {
    let n = 0;
    while (this.queue.length && n < maxEvents) {
      const p = this.queue.shift()!;
      this.t = p.at;
      p.fn();
      n++;
    }
    return n;
  }
  get pending(): number {
    return this.queue.length;
  }
}

function allOnes(size: AccessSize): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}

export interface HostOptions {
  ramSize?: number;
  /** Bus-master enable for PCI devices (default true). */
  busMaster?: boolean;
  msiVectors?: number;
  seed?: number;
  /** Share RAM and clock with another host (e.g. an ISA client beside the 8237 host). */
  peer?: DeviceHost;
}

/** Hosts one device (plus optionally an ISA DMA controller device for ISA clients). */
export class DeviceHost {
  readonly ram: Uint8Array;
  readonly clock: FakeClock;
  readonly irqs: { vector: number; level: boolean; at: number }[] = [];
  readonly guestErrors: string[] = [];
  readonly unimplemented: string[] = [];
  readonly decl: DeviceDecl;
  busMaster: boolean;
  msiVectors: number;
  private rngState: number;
  private isaController?: IsaDmaController;
  readonly ctx: DeviceContext;

  constructor(readonly device: VirtualDevice, options: HostOptions = {}, controller?: VirtualDevice) {
    this.ram = options.peer?.ram ?? new Uint8Array(options.ramSize ?? 1 << 20);
    this.clock = options.peer?.clock ?? new FakeClock();
    this.busMaster = options.busMaster ?? true;
    this.msiVectors = options.msiVectors ?? 0;
    this.rngState = (options.seed ?? 1) >>> 0 || 1;
    this.decl = device.describe();
    this.isaController = controller?.isaDmaController;
    const host = this;
    this.ctx = {
      name: `${device.model}.0`,
      dma: {
        read(addr: DmaAddr, dst: Uint8Array) {
          const s = host.dmaCheck(addr, dst.length);
          if (s !== DmaStatus.OK) return s;
          dst.set(host.ram.subarray(addr, addr + dst.length));
          return DmaStatus.OK;
        },
        write(addr: DmaAddr, src: Uint8Array) {
          const s = host.dmaCheck(addr, src.length);
          if (s !== DmaStatus.OK) return s;
          host.ram.set(src, addr);
          return DmaStatus.OK;
        },
      },
      irq: {
        raise: (vector = 0) => void this.irqs.push({ vector, level: true, at: this.clock.now() }),
        lower: (vector = 0) => void this.irqs.push({ vector, level: false, at: this.clock.now() }),
      },
      clock: {
        now: () => this.clock.now(),
        schedule: (d, fn) => this.clock.schedule(d, fn),
        cancel: (h) => this.clock.cancel(h),
      },
      rng: {
        nextU32: () => this.nextU32(),
        float: () => this.nextU32() / 2 ** 32,
        int: (n) => Math.floor((this.nextU32() / 2 ** 32) * n),
      },
      log: {
        guestError: (m) => void this.guestErrors.push(m),
        unimplemented: (m) => void this.unimplemented.push(m),
        info: () => {},
      },
      ...(this.decl.bus === "pci"
        ? {
            pci: {
              busMasterEnabled: () => this.busMaster,
              msiEnabled: () => this.msiVectors > 0,
              msiVectors: () => this.msiVectors,
            },
          }
        : {}),
      isaDma: (channel: number): IsaDmaChannelPort => {
        const ctl = this.isaController;
        if (!ctl) throw new Error("no ISA DMA controller in this host");
        return {
          channel,
          wide: channel >= 4,
          setDreq: (a) => ctl.dreq(channel, a),
          readFromMemory: (dst) => ctl.transfer(channel, true, dst),
          writeToMemory: (src) => ctl.transfer(channel, false, src),
        };
      },
    };
    device.attach(this.ctx);
  }

  private dmaCheck(addr: number, len: number): DmaStatus {
    if (this.decl.bus === "pci" && !this.busMaster) return DmaStatus.BUS_MASTER_DISABLED;
    if (addr < 0 || addr + len > this.ram.length) return DmaStatus.MASTER_ABORT;
    return DmaStatus.OK;
  }

  private nextU32(): number {
    // xorshift32: only for test hosts; the testbench has its own seeded PRNG.
    let x = this.rngState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rngState = x >>> 0;
    return this.rngState;
  }

  /** The region implementation of a PCI BAR, an MMIO window (by name) or a port range (by name). */
  region(which: number | string): { impl: RegionImpl; size: number; base: number } {
    const d = this.decl;
    if (d.bus === "pci") {
      const bar = d.bars.find((b) => b.index === which);
      if (!bar) throw new Error(`no BAR ${String(which)}`);
      return { impl: bar.impl, size: bar.size, base: 0 };
    }
    const list = d.bus === "isa" ? [...d.ports, ...(d.mmio ?? [])] : d.mmio;
    const r = list.find((x) => x.name === which || x.base === which);
    if (!r) throw new Error(`no region ${String(which)}`);
    return { impl: r.impl, size: r.size, base: r.base };
  }

  /** A guest read as the bus would serve it. */
  read(which: number | string, offset: number, size: AccessSize): number {
    const { impl, size: len } = this.region(which);
    if (offset < 0 || offset + size > len) return this.bad(`read outside region at 0x${offset.toString(16)}`, size);
    switch (impl.kind) {
      case "ram": {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = v * 256 + impl.backing[offset + i]!;
        return v;
      }
      case "handler":
        if (!impl.sizes.includes(size)) return this.bad(`read of size ${size} at 0x${offset.toString(16)}`, size);
        return impl.read(offset, size);
      case "registers": {
        const v = impl.file.guestRead(offset, size);
        if (v === GuestAccess.UNMAPPED) return this.bad(`read of unmapped offset 0x${offset.toString(16)}`, size);
        if (v === GuestAccess.BAD_SIZE) return this.bad(`read of size ${size} at 0x${offset.toString(16)}`, size);
        return v;
      }
    }
  }

  /** A guest write as the bus would serve it. */
  write(which: number | string, offset: number, size: AccessSize, value: number): void {
    const { impl, size: len } = this.region(which);
    if (offset < 0 || offset + size > len) return void this.bad(`write outside region at 0x${offset.toString(16)}`, size);
    switch (impl.kind) {
      case "ram":
        for (let i = 0; i < size; i++) impl.backing[offset + i] = Math.floor(value / 256 ** i) & 0xff;
        return;
      case "handler":
        if (!impl.sizes.includes(size)) return void this.bad(`write of size ${size} at 0x${offset.toString(16)}`, size);
        return impl.write(offset, size, value);
      case "registers": {
        const r = impl.file.guestWrite(offset, size, value);
        if (r === GuestAccess.UNMAPPED) this.bad(`write of unmapped offset 0x${offset.toString(16)}`, size);
        else if (r === GuestAccess.BAD_SIZE) this.bad(`write of size ${size} at 0x${offset.toString(16)}`, size);
        return;
      }
    }
  }

  /** Port I/O on an ISA device: finds the port range containing `port`. */
  inb(port: number): number {
    return this.portAccess(port, 1);
  }
  outb(port: number, value: number): void {
    this.portAccess(port, 1, value);
  }

  private portAccess(port: number, size: AccessSize, value?: number): number {
    const d = this.decl;
    if (d.bus !== "isa") throw new Error("port I/O on a non-ISA device");
    const r = d.ports.find((p) => port >= p.base && port < p.base + p.size);
    if (!r) return this.bad(`port 0x${port.toString(16)} not decoded`, size);
    if (value === undefined) return this.read(r.name, port - r.base, size);
    this.write(r.name, port - r.base, size, value);
    return 0;
  }

  private bad(message: string, size: AccessSize): number {
    this.guestErrors.push(message);
    return allOnes(size);
  }
}
