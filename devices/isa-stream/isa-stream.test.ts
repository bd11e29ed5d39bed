import { describe, expect, it } from "vitest";
import { DeviceHost } from "../../test/support/device-host.js";
import { i8237 } from "../i8237/index.js";
import { isaStream, isaStreamRegisters, lfsrSource, type IsaStreamOptions } from "./index.js";

const MS = 1_000_000;
const READ = 0x48; // memory → device (Linux DMA_MODE_WRITE)
const WRITE = 0x44; // device → memory (Linux DMA_MODE_READ)
const AUTOINIT = 0x10;
const PAGE_PORT = [0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a];
const ctlPort = (ch: number, index: number) => (ch >= 4 ? 0xc0 + (index << 1) : index);

// Stream ports (base 0x220).
const ID = 0x220, COMMAND = 0x222, MODE = 0x224, BLOCK_LO = 0x226, BLOCK_HI = 0x227;
const RATE_LO = 0x228, RATE_HI = 0x229, STATUS = 0x22a, IRQ_ACK = 0x22c, DATA = 0x22e;

function setup(options?: IsaStreamOptions) {
  const dma = i8237();
  const dmaHost = new DeviceHost(dma);
  const stream = isaStream(options);
  const host = new DeviceHost(stream, { peer: dmaHost }, dma);
  return { dma, dmaHost, stream, host, clock: dmaHost.clock };
}

/** The canonical sequence: mask, clear ff, mode, address lo/hi, page, count lo/hi, unmask. */
function program(h: DeviceHost, ch: number, mode: number, phys: number, bytes: number): void {
  const wide = ch >= 4;
  h.outb(ctlPort(ch, 0xa), (ch & 3) | 4);
  h.outb(ctlPort(ch, 0xc), 0);
  h.outb(ctlPort(ch, 0xb), mode | (ch & 3));
  const a = wide ? phys >> 1 : phys;
  const addr = ctlPort(ch, (ch & 3) * 2);
  h.outb(addr, a & 0xff);
  h.outb(addr, (a >> 8) & 0xff);
  h.outb(PAGE_PORT[ch]!, wide ? (phys >> 16) & 0xfe : (phys >> 16) & 0xff);
  const n = (wide ? bytes >> 1 : bytes) - 1;
  const count = ctlPort(ch, (ch & 3) * 2 + 1);
  h.outb(count, n & 0xff);
  h.outb(count, (n >> 8) & 0xff);
  h.outb(ctlPort(ch, 0xa), ch & 3);
}

function configure(h: DeviceHost, mode: number, block: number, rate: number): void {
  h.outb(MODE, mode);
  h.outb(BLOCK_LO, block & 0xff);
  h.outb(BLOCK_HI, block >> 8);
  h.outb(RATE_LO, rate & 0xff);
  h.outb(RATE_HI, rate >> 8);
}

function pattern(ram: Uint8Array, at: number, n: number): Uint8Array {
  for (let i = 0; i < n; i++) ram[at + i] = (i * 13 + (i >> 8)) & 0xff;
  return ram.slice(at, at + n);
}

const raises = (h: DeviceHost) => h.irqs.filter((i) => i.level);

describe("isa-stream registers", () => {
  it("declares ports, IRQ and DMA channels, configurable", () => {
    const d = isaStream().describe();
    expect(d).toMatchObject({ bus: "isa", isaId: "isa-stream", irqs: [5], dmaChannels: [1, 5] });
    if (d.bus !== "isa") return;
    expect(d.ports.map((p) => [p.name, p.base, p.size])).toEqual([["isa-stream", 0x220, 0x10]]);
    const e = isaStream({ base: 0x240, irq: 7, dma8: 3, dma16: 6 }).describe();
    expect(e).toMatchObject({ irqs: [7], dmaChannels: [3, 6] });
    if (e.bus === "isa") expect(e.ports[0]!.base).toBe(0x240);
  });

  it("reset values match the table; ID reads 0x5A", () => {
    const { host } = setup();
    expect(host.inb(ID)).toBe(0x5a);
    for (const name of isaStreamRegisters.names) {
      const def = isaStreamRegisters.defs[name]!;
      if (name === "DATA") continue; // reading DATA captures a byte
      const v = def.width === 16 ? host.read("isa-stream", def.offset, 2) : host.inb(0x220 + def.offset);
      expect(v, name).toBe(def.mode === "wo" ? 0 : (def.reset ?? 0));
    }
    expect(host.guestErrors).toEqual([]);
  });

  it("16-bit registers take byte and word accesses; undecoded ports are guest errors", () => {
    const { host } = setup();
    host.write("isa-stream", 0x6, 2, 0x1234);
    expect(host.inb(BLOCK_LO)).toBe(0x34);
    expect(host.inb(BLOCK_HI)).toBe(0x12);
    host.outb(RATE_HI, 0x02);
    expect(host.read("isa-stream", 0x8, 2)).toBe(0x02b0);
    expect(host.inb(0x221)).toBe(0xff);
    host.outb(0x22f, 1);
    expect(host.read("isa-stream", 0xa, 2)).toBe(0xffff);
    expect(host.guestErrors).toHaveLength(3);
    host.outb(MODE, 0xff);
    expect(host.inb(MODE)).toBe(0x03); // reserved bits read 0
  });

  it("writing 1 to the ID port resets the device", () => {
    const { host } = setup();
    configure(host, 3, 0x100, 0x10);
    host.outb(ID, 1);
    expect(host.inb(MODE)).toBe(0);
    expect(host.read("isa-stream", 0x6, 2)).toBe(isaStreamRegisters.defs.BLOCK_SIZE!.reset);
  });
});

describe("isa-stream playback", () => {
  it("single-shot playback end to end: sink equals RAM, IRQ every block, stops at TC", () => {
    const { dma, dmaHost, stream, host, clock } = setup();
    const src = pattern(dmaHost.ram, 0x10000, 4096);
    program(dmaHost, 1, READ, 0x10000, 4096);
    configure(host, 0, 1024, 256);
    host.outb(COMMAND, 1);
    expect(host.inb(STATUS) & 1).toBe(1);
    expect(dma.channelState(1).dreq).toBe(true);
    const irqTimes: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(4 * MS);
      expect(host.inb(STATUS) & 2, `block ${i}`).toBe(2);
      irqTimes.push(raises(host).at(-1)!.at);
      host.outb(IRQ_ACK, 0);
      expect(host.irqs.at(-1)!.level).toBe(false);
    }
    expect(irqTimes).toEqual([4 * MS, 8 * MS, 12 * MS, 16 * MS]);
    expect(stream.playedBytes()).toEqual(src);
    expect(host.inb(STATUS) & 1).toBe(0); // stopped at TC
    expect(dma.channelState(1).dreq).toBe(false);
    expect(dma.channelState(1).masked).toBe(true);
    expect(dmaHost.inb(0x08) & 0x02).toBe(0x02);
    clock.advance(10 * MS);
    expect(stream.playedCount()).toBe(4096);
    expect(clock.pending).toBe(0);
    expect(stream.eventCount()).toBeLessThanOrEqual(16);
    expect([...host.guestErrors, ...dmaHost.guestErrors]).toEqual([]);
  });

  it("16-bit playback through channel 5", () => {
    const { dma, dmaHost, stream, host, clock } = setup();
    const src = pattern(dmaHost.ram, 0x24000, 0x800);
    program(dmaHost, 5, READ, 0x24000, 0x800);
    configure(host, 1, 0x400, 0x200);
    host.outb(COMMAND, 1);
    clock.advance(4 * MS);
    expect(stream.playedBytes()).toEqual(src);
    expect(raises(host)).toHaveLength(1); // second block's IRQ coalesces while the first is pending
    expect(dma.channelState(5).masked).toBe(true);
    expect(host.inb(STATUS) & 1).toBe(0);
  });

  it("auto-init ring keeps going and wraps through the buffer", () => {
    const { dma, dmaHost, stream, host, clock } = setup();
    const ring = pattern(dmaHost.ram, 0x30000, 1024);
    program(dmaHost, 1, READ | AUTOINIT, 0x30000, 1024);
    configure(host, 2, 512, 512);
    host.outb(COMMAND, 1);
    for (let ms = 1; ms <= 5; ms++) {
      clock.advance(MS);
      expect(host.inb(STATUS) & 3, `ms ${ms}`).toBe(3);
      host.outb(IRQ_ACK, 0);
    }
    expect(raises(host).map((r) => r.at)).toEqual([1, 2, 3, 4, 5].map((m) => m * MS));
    const played = stream.playedBytes();
    expect(played).toHaveLength(2560);
    expect(played).toEqual(Uint8Array.from({ length: 2560 }, (_, i) => ring[i % 1024]!));
    expect(dma.channelState(1).masked).toBe(false);
    expect(dmaHost.inb(0x08) & 0x02).toBe(0x02);
    host.outb(COMMAND, 3);
    expect(host.inb(STATUS) & 1).toBe(0);
    expect(dma.channelState(1).dreq).toBe(false);
    expect(clock.pending).toBe(0);
    expect([...host.guestErrors, ...dmaHost.guestErrors]).toEqual([]);
  });

  it("underrun when the channel stops delivering while the stream runs", () => {
    const { dmaHost, stream, host, clock } = setup();
    pattern(dmaHost.ram, 0x10000, 1024);
    program(dmaHost, 1, READ, 0x10000, 1024); // single-shot 8237 ...
    configure(host, 2, 512, 512); // ... under an auto-init stream
    host.outb(COMMAND, 1);
    clock.advance(2 * MS);
    expect(stream.playedCount()).toBe(1024);
    expect(host.inb(STATUS) & 4).toBe(0);
    clock.advance(3 * MS);
    expect(host.inb(STATUS) & 5).toBe(5); // still running, underrun
    expect(host.guestErrors).toHaveLength(1);
    expect(host.guestErrors[0]).toMatch(/underrun: DMA channel 1 moved 0 of 512/);
    expect(stream.playedCount()).toBe(1024);
    host.outb(IRQ_ACK, 0);
    expect(host.inb(STATUS) & 4).toBe(0);
    clock.advance(MS);
    expect(host.inb(STATUS) & 4).toBe(4);
    host.outb(COMMAND, 3);
  });

  it("a masked channel at start underruns at once", () => {
    const { dmaHost, host, clock } = setup();
    program(dmaHost, 1, READ, 0x10000, 1024);
    dmaHost.outb(0x0a, 0x05);
    configure(host, 0, 512, 512);
    host.outb(COMMAND, 1);
    clock.advance(MS);
    expect(host.inb(STATUS) & 5).toBe(5);
  });

  it("streams in chunks: about one event per millisecond", () => {
    const { dmaHost, stream, host, clock } = setup();
    program(dmaHost, 1, READ | AUTOINIT, 0x10000, 0x8000);
    configure(host, 2, 32000, 1000); // 32 ms blocks: chunk boundaries stay on whole ms
    host.outb(COMMAND, 1);
    clock.advance(100 * MS);
    expect(stream.playedCount()).toBe(100_000);
    expect(stream.eventCount()).toBeGreaterThanOrEqual(100);
    expect(stream.eventCount()).toBeLessThanOrEqual(104);
  });

  it("tiny blocks at a high rate stay bounded (IRQs coalesce)", () => {
    const { dmaHost, stream, host, clock } = setup();
    program(dmaHost, 1, READ | AUTOINIT, 0x10000, 0x10000);
    configure(host, 2, 1, 0xffff);
    host.outb(COMMAND, 1);
    clock.advance(10 * MS);
    expect(stream.eventCount()).toBeLessThanOrEqual(10 * 64 + 1);
    expect(stream.playedCount()).toBeGreaterThan(0);
  });
});

describe("isa-stream capture", () => {
  it("capture end to end with the default seeded LFSR: memory equals the captured stream", () => {
    const { dma, dmaHost, stream, host, clock } = setup();
    program(dmaHost, 1, WRITE, 0x20000, 2048);
    configure(host, 0, 1024, 512);
    host.outb(COMMAND, 2);
    clock.advance(2 * MS);
    expect(raises(host)).toHaveLength(1);
    host.outb(IRQ_ACK, 0);
    clock.advance(2 * MS);
    expect(raises(host)).toHaveLength(2);
    const got = stream.capturedBytes();
    expect(got).toHaveLength(2048);
    expect(dmaHost.ram.subarray(0x20000, 0x20800)).toEqual(got);
    expect(new Set(got).size).toBeGreaterThan(200);
    expect(host.inb(STATUS) & 1).toBe(0);
    expect(dma.channelState(1).masked).toBe(true);
    // Same seed, same bytes: the default source comes from the context's RNG.
    const again = setup();
    program(again.dmaHost, 1, WRITE, 0x20000, 2048);
    configure(again.host, 0, 1024, 512);
    again.host.outb(COMMAND, 2);
    again.clock.advance(4 * MS);
    expect(again.stream.capturedBytes()).toEqual(got);
  });

  it("capture from a test source on a configured channel; overrun when the channel stops", () => {
    const { dmaHost, stream, host, clock } = setup({ dma8: 3 });
    let n = 0;
    stream.setCaptureSource((dst) => {
      for (let i = 0; i < dst.length; i++) dst[i] = n++ & 0xff;
    });
    program(dmaHost, 3, WRITE, 0x20000, 1000);
    configure(host, 2, 500, 250); // auto-init stream over a single-shot channel
    host.outb(COMMAND, 2);
    clock.advance(4 * MS);
    expect(dmaHost.ram.subarray(0x20000, 0x20000 + 1000)).toEqual(Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff));
    expect(host.inb(STATUS) & 4).toBe(0);
    clock.advance(MS);
    expect(host.inb(STATUS) & 5).toBe(5);
    expect(host.guestErrors).toEqual([expect.stringMatching(/overrun: DMA channel 3 moved 0 of 250/)]);
    expect(stream.capturedBytes()).toHaveLength(1000);
  });

  it("16-bit capture through channel 5", () => {
    const { dmaHost, stream, host, clock } = setup();
    program(dmaHost, 5, WRITE, 0x40000, 0x400);
    configure(host, 1, 0x200, 0x100);
    host.outb(COMMAND, 2);
    clock.advance(4 * MS);
    expect(stream.capturedBytes()).toHaveLength(0x400);
    expect(dmaHost.ram.subarray(0x40000, 0x40400)).toEqual(stream.capturedBytes());
  });

  it("lfsrSource is a deterministic, non-degenerate byte stream", () => {
    const a = new Uint8Array(4096), b = new Uint8Array(4096);
    lfsrSource(0x1234)(a);
    lfsrSource(0x1234)(b);
    expect(a).toEqual(b);
    const c = new Uint8Array(4096);
    lfsrSource(0)(c);
    expect(c.some((x) => x !== 0)).toBe(true);
  });
});

describe("isa-stream guest mistakes", () => {
  it("rejects bad starts and unknown commands with guest errors", () => {
    const { host, clock } = setup();
    configure(host, 0, 0, 100);
    host.outb(COMMAND, 1);
    expect(host.guestErrors.pop()).toMatch(/must be nonzero/);
    configure(host, 1, 513, 100);
    host.outb(COMMAND, 1);
    expect(host.guestErrors.pop()).toMatch(/even BLOCK_SIZE/);
    host.outb(COMMAND, 9);
    expect(host.guestErrors.pop()).toMatch(/unknown command 0x9/);
    expect(host.inb(STATUS)).toBe(0);
    expect(clock.pending).toBe(0);
    configure(host, 0, 16, 16);
    host.outb(COMMAND, 1);
    host.outb(COMMAND, 2);
    expect(host.guestErrors.pop()).toMatch(/already running/);
    host.outb(MODE, 1);
    expect(host.guestErrors.pop()).toMatch(/MODE written while running/);
  });

  it("DATA does programmed I/O while stopped and is refused while streaming", () => {
    const { stream, host } = setup();
    stream.setCaptureSource((dst) => dst.fill(0x42));
    host.outb(DATA, 0x11);
    host.outb(DATA, 0x22);
    expect([...stream.playedBytes()]).toEqual([0x11, 0x22]);
    expect(host.inb(DATA)).toBe(0x42);
    expect([...stream.capturedBytes()]).toEqual([0x42]);
    configure(host, 0, 16, 16);
    host.outb(COMMAND, 1);
    host.outb(DATA, 0x33);
    expect(host.inb(DATA)).toBe(0xff);
    expect(host.guestErrors).toHaveLength(2);
    expect(stream.playedCount()).toBe(2);
  });

  it("random guest I/O to both devices never throws and time stays bounded", () => {
    const { dma, dmaHost, stream, host, clock } = setup();
    let x = 0x9e3779b9;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const sizes = [1, 2, 4, 8] as const;
    const regions = ["dma1", "dma2", "dma page reg"];
    let elapsedNs = 0;
    for (let i = 0; i < 6000; i++) {
      const op = rnd(10);
      expect(() => {
        if (op < 3) dmaHost.outb(rnd(0x100), rnd(0x100));
        else if (op < 5) dmaHost.inb(rnd(0x100));
        else if (op < 7) host.outb(0x218 + rnd(0x20), rnd(0x100));
        else if (op === 7) host.inb(0x218 + rnd(0x20));
        else if (op === 8) {
          const r = regions[rnd(3)]!;
          const size = sizes[rnd(4)]!;
          if (rnd(2)) dmaHost.write(r, rnd(0x24) - 2, size, rnd(0x10000) * 0x10000 + rnd(0x10000));
          else dmaHost.read(r, rnd(0x24) - 2, size);
          if (rnd(2)) host.write("isa-stream", rnd(0x14) - 2, size, rnd(0x10000));
          else host.read("isa-stream", rnd(0x14) - 2, size);
        } else {
          const before = stream.eventCount();
          const dt = rnd(2 * MS);
          clock.advance(dt);
          elapsedNs += dt;
          // At most 64 events per ms of simulated time, plus one per start.
          expect(stream.eventCount() - before).toBeLessThanOrEqual(Math.ceil((dt / MS) * 64) + 2);
        }
      }).not.toThrow();
      expect(clock.pending).toBeLessThanOrEqual(1);
    }
    expect(clock.now()).toBe(elapsedNs);
    expect(dmaHost.guestErrors.length + host.guestErrors.length).toBeGreaterThan(0);
    for (let ch = 0; ch < 8; ch++) expect(() => dma.channelState(ch)).not.toThrow();
  });
});
