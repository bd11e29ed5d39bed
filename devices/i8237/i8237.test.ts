import { describe, expect, it } from "vitest";
import { DeviceHost } from "../../test/support/device-host.js";
import { i8237, I8237Device, dma1Registers, dma2Registers, pageRegisters, type I8237ProgramEvent } from "./index.js";

const READ = 0x48; // Linux DMA_MODE_WRITE: single, memory → device
const WRITE = 0x44; // Linux DMA_MODE_READ: single, device → memory
const VERIFY = 0x40;
const AUTOINIT = 0x10;
const DECREMENT = 0x20;
const PAGE_PORT = [0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a];

/** Port of controller register `index` (0–15) for channel `ch`'s controller. */
const ctlPort = (ch: number, index: number) => (ch >= 4 ? 0xc0 + (index << 1) : index);
const addrPort = (ch: number) => ctlPort(ch, (ch & 3) * 2);
const countPort = (ch: number) => ctlPort(ch, (ch & 3) * 2 + 1);

function setup(opts?: ConstructorParameters<typeof I8237Device>[0]) {
  const dev = i8237(opts);
  const host = new DeviceHost(dev);
  return { dev, host };
}

/** The canonical Linux sequence: disable, clear ff, mode, address, page, count, enable. */
function program(host: DeviceHost, ch: number, mode: number, phys: number, bytes: number, enable = true): void {
  const wide = ch >= 4;
  host.outb(ctlPort(ch, 0xa), (ch & 3) | 4);
  host.outb(ctlPort(ch, 0xc), 0);
  host.outb(ctlPort(ch, 0xb), mode | (ch & 3));
  const a = wide ? phys >> 1 : phys;
  host.outb(addrPort(ch), a & 0xff);
  host.outb(addrPort(ch), (a >> 8) & 0xff);
  host.outb(PAGE_PORT[ch]!, wide ? (phys >> 16) & 0xfe : (phys >> 16) & 0xff);
  const n = (wide ? bytes >> 1 : bytes) - 1;
  host.outb(countPort(ch), n & 0xff);
  host.outb(countPort(ch), (n >> 8) & 0xff);
  if (enable) host.outb(ctlPort(ch, 0xa), ch & 3);
}

/** Residue as Linux get_dma_residue computes it (flip-flop cleared first). */
function residue(host: DeviceHost, ch: number): number {
  host.outb(ctlPort(ch, 0xc), 0);
  const lo = host.inb(countPort(ch));
  const hi = host.inb(countPort(ch));
  const r = (((hi << 8) | lo) + 1) & 0xffff;
  return ch >= 4 ? r << 1 : r;
}

function readAddr(host: DeviceHost, ch: number): number {
  host.outb(ctlPort(ch, 0xc), 0);
  const lo = host.inb(addrPort(ch));
  return lo | (host.inb(addrPort(ch)) << 8);
}

function fill(host: DeviceHost, at: number, n: number, seed = 1): Uint8Array {
  for (let i = 0; i < n; i++) host.ram[at + i] = (i * 7 + seed) & 0xff;
  return host.ram.slice(at, at + n);
}

describe("i8237 declaration", () => {
  it("declares the three port ranges the kernel shows in /proc/ioports", () => {
    const { dev } = setup();
    const d = dev.describe();
    expect(d.bus).toBe("isa");
    if (d.bus !== "isa") return;
    expect(d.isaId).toBe("i8237");
    expect(d.ports.map((p) => [p.name, p.base, p.base + p.size - 1])).toEqual([
      ["dma1", 0x00, 0x1f],
      ["dma page reg", 0x80, 0x8f],
      ["dma2", 0xc0, 0xdf],
    ]);
    expect(dev.isaDmaController).toBe(dev);
  });
});

describe("i8237 reset values", () => {
  it("match the register tables (bare chip)", () => {
    const { dev, host } = setup({ firmwareCascade: false });
    // Every readable register reads its declared reset value; write-only ones hold theirs.
    for (const [map, base, shift] of [[dma1Registers, 0x00, 0], [dma2Registers, 0xc0, 1]] as const) {
      const c = base === 0 ? 0 : 1;
      for (const name of map.names) {
        const def = map.defs[name]!;
        if (def.mode === "wo") continue;
        host.outb(ctlPort(c * 4, 0xc), 0);
        expect(host.inb(base + def.offset), `${map.name}.${name}`).toBe(def.reset ?? 0);
      }
      expect(dev.controllerState(c).mask).toBe(map.defs.WRITE_ALL_MASKS!.reset);
      expect(dev.controllerState(c).command).toBe(0);
      expect(dev.controllerState(c).flipFlop).toBe(0);
      void shift;
    }
    for (const name of pageRegisters.names) {
      expect(host.inb(0x80 + pageRegisters.defs[name]!.offset)).toBe(pageRegisters.defs[name]!.reset ?? 0);
    }
    for (let ch = 0; ch < 8; ch++) {
      const s = dev.channelState(ch);
      expect(s.masked).toBe(true);
      expect([s.baseAddress, s.currentAddress, s.baseCount, s.currentCount, s.page, s.mode]).toEqual([0, 0, 0, 0, 0, 0]);
    }
    expect(host.guestErrors).toEqual([]);
  });

  it("firmware leaves channel 4 in cascade mode and unmasked, and reset restores that", () => {
    const { dev, host } = setup();
    expect(dev.channelState(4).modeSelect).toBe("cascade");
    expect(dev.channelState(4).masked).toBe(false);
    expect(dev.channelState(5).masked).toBe(true);
    host.outb(0xde, 0x0f);
    host.outb(0x00, 0x12);
    dev.reset();
    expect(dev.channelState(4).masked).toBe(false);
    expect(dev.controllerState(0).flipFlop).toBe(0);
    expect(dev.channelState(0).currentAddress).toBe(0);
  });
});

describe("i8237 byte-pointer flip-flop", () => {
  it("writes low then high into base and current; reads return current low then high", () => {
    const { dev, host } = setup();
    host.outb(0x0c, 0);
    host.outb(0x02, 0x34);
    expect(dev.controllerState(0).flipFlop).toBe(1);
    host.outb(0x02, 0x12);
    expect(dev.controllerState(0).flipFlop).toBe(0);
    expect(dev.channelState(1).baseAddress).toBe(0x1234);
    expect(dev.channelState(1).currentAddress).toBe(0x1234);
    expect(host.inb(0x02)).toBe(0x34);
    expect(host.inb(0x02)).toBe(0x12);
  });

  it("is shared by all address and count registers of one controller, not across controllers", () => {
    const { dev, host } = setup();
    host.outb(0x0c, 0);
    host.outb(0x02, 0xaa); // ch1 address low; ff → 1
    host.outb(0x03, 0x05); // ch1 count HIGH byte, because the flip-flop is shared
    expect(dev.channelState(1).baseAddress).toBe(0x00aa);
    expect(dev.channelState(1).baseCount).toBe(0x0500);
    expect(dev.controllerState(1).flipFlop).toBe(0);
    host.outb(0xc4, 0x11); // DMA2 has its own
    expect(dev.controllerState(1).flipFlop).toBe(1);
    expect(dev.controllerState(0).flipFlop).toBe(0);
  });

  it("a read toggles it too, and the clear port, master clear and reset clear it", () => {
    const { dev, host } = setup();
    host.outb(0x0c, 0);
    host.inb(0x00);
    expect(dev.controllerState(0).flipFlop).toBe(1);
    host.outb(0x0c, 0x5a);
    expect(dev.controllerState(0).flipFlop).toBe(0);
    host.inb(0x01);
    host.outb(0x0d, 0);
    expect(dev.controllerState(0).flipFlop).toBe(0);
    host.outb(0xc0, 1);
    expect(dev.controllerState(1).flipFlop).toBe(1);
    host.outb(0xda, 0);
    expect(dev.controllerState(1).flipFlop).toBe(0);
    host.inb(0xc2);
    dev.reset();
    expect(dev.controllerState(1).flipFlop).toBe(0);
  });

  it("without a clear, a stale flip-flop swaps the bytes and the observer shows it", () => {
    const events: I8237ProgramEvent[] = [];
    const { dev, host } = setup({ onProgram: (e) => events.push(e) });
    host.outb(0x0c, 0);
    host.inb(0x06); // leaves the flip-flop at 1
    host.outb(0x02, 0x00); // meant as low byte of 0x4000
    host.outb(0x02, 0x40);
    expect(dev.channelState(1).baseAddress).toBe(0x0040);
    const writes = events.filter((e) => e.kind === "address");
    expect(writes.map((e) => [e.channel, e.value, e.flipFlopBefore, e.port])).toEqual([
      [1, 0x00, 1, 0x02],
      [1, 0x40, 0, 0x02],
    ]);
    expect(events[0]).toMatchObject({ kind: "clear-flip-flop", channel: -1, controller: 0, port: 0x0c });
    expect(events[1]).toMatchObject({ kind: "address-read", channel: 3, flipFlopBefore: 0 });
  });

  it("observe() delivers the same accesses in the SDK's event shape, beside onProgram", () => {
    const native: I8237ProgramEvent[] = [];
    const { dev, host } = setup({ onProgram: (e) => native.push(e) });
    const seen: { channel: number; kind: string; value: number; flipFlopBefore: boolean; port: number }[] = [];
    dev.observe((e) => seen.push(e));
    host.outb(0xd8, 0);
    host.outb(0xc4, 0x34);
    host.outb(0xc4, 0x12);
    expect(seen).toEqual([
      { channel: -1, kind: "clear-flip-flop", value: 0, flipFlopBefore: false, port: 0xd8 },
      { channel: 5, kind: "address", value: 0x34, flipFlopBefore: false, port: 0xc4 },
      { channel: 5, kind: "address", value: 0x12, flipFlopBefore: true, port: 0xc4 },
    ]);
    expect(native).toHaveLength(3);
    expect(dev.channelState(5).baseAddress).toBe(0x1234);
  });

  it("reports every programming write of the canonical sequence", () => {
    const events: I8237ProgramEvent[] = [];
    const { host } = setup({ onProgram: (e) => events.push(e) });
    program(host, 6, READ, 0x40000, 0x200);
    expect(events.map((e) => `${e.kind}:${e.channel}:${e.flipFlopBefore}`)).toEqual([
      "single-mask:6:0",
      "clear-flip-flop:-1:0",
      "mode:6:0",
      "address:6:0",
      "address:6:1",
      "page:6:0",
      "count:6:0",
      "count:6:1",
      "single-mask:6:0",
    ]);
    expect(events.every((e) => e.controller === 1)).toBe(true);
    expect(events.find((e) => e.kind === "page")!.port).toBe(0x89);
  });
});

describe("i8237 transfers on 8-bit channels", () => {
  it("moves bytes at page:address, counts down, and reads back current values", () => {
    const { dev, host } = setup();
    const src = fill(host, 0x12340, 0x100);
    program(host, 1, READ, 0x12340, 0x100);
    expect(residue(host, 1)).toBe(0x100);
    dev.dreq(1, true);
    const buf = new Uint8Array(0x40);
    expect(dev.transfer(1, true, buf)).toEqual({ moved: 0x40, terminalCount: false });
    expect(buf).toEqual(src.subarray(0, 0x40));
    expect(readAddr(host, 1)).toBe(0x2380);
    expect(residue(host, 1)).toBe(0xc0);
    expect(dev.channelState(1).baseAddress).toBe(0x2340);
    expect(dev.channelState(1).baseCount).toBe(0xff);
  });

  it("at terminal count sets the status TC bit (cleared by the read), masks the channel and stops", () => {
    const { dev, host } = setup();
    const tcs: number[] = [];
    dev.onTerminalCount(2, () => tcs.push(host.clock.now()));
    fill(host, 0x8000, 0x40);
    program(host, 2, READ, 0x8000, 0x20);
    dev.dreq(2, true);
    const buf = new Uint8Array(0x30);
    expect(dev.transfer(2, true, buf)).toEqual({ moved: 0x20, terminalCount: true });
    expect(tcs).toHaveLength(1);
    expect(dev.channelState(2).masked).toBe(true);
    expect(residue(host, 2)).toBe(0);
    expect(dev.channelState(2).currentCount).toBe(0xffff);
    const status = host.inb(0x08);
    expect(status & 0x0f).toBe(0b0100);
    expect(status & 0x40).toBe(0x40); // DREQ 2 still held
    expect(host.inb(0x08) & 0x0f).toBe(0);
    expect(dev.transfer(2, true, buf)).toEqual({ moved: 0, terminalCount: false });
  });

  it("with autoinit reloads current from base at TC and keeps going (ring)", () => {
    const { dev, host } = setup();
    const src = fill(host, 0x30000, 0x10);
    let tcs = 0;
    dev.onTerminalCount(3, () => tcs++);
    program(host, 3, READ | AUTOINIT, 0x30000, 0x10);
    dev.dreq(3, true);
    const buf = new Uint8Array(0x28);
    expect(dev.transfer(3, true, buf)).toEqual({ moved: 0x28, terminalCount: true });
    expect(tcs).toBe(2);
    expect(buf).toEqual(Uint8Array.from({ length: 0x28 }, (_, i) => src[i % 0x10]!));
    expect(dev.channelState(3).masked).toBe(false);
    expect(readAddr(host, 3)).toBe(0x0008);
    expect(residue(host, 3)).toBe(0x08);
    expect(host.inb(0x08) & 0x08).toBe(0x08);
  });

  it("writes into memory on a write transfer", () => {
    const { dev, host } = setup();
    program(host, 0, WRITE, 0x5000, 4);
    dev.dreq(0, true);
    expect(dev.transfer(0, false, Uint8Array.of(1, 2, 3, 4, 5))).toEqual({ moved: 4, terminalCount: true });
    expect([...host.ram.subarray(0x5000, 0x5005)]).toEqual([1, 2, 3, 4, 0]);
  });

  it("wraps inside the 64 KiB page (no carry into the page register) and logs a guest error", () => {
    const { dev, host } = setup();
    fill(host, 0x10000, 0x10000);
    program(host, 1, READ, 0x1fff0, 0x20);
    dev.dreq(1, true);
    const buf = new Uint8Array(0x20);
    expect(dev.transfer(1, true, buf).moved).toBe(0x20);
    expect(buf.subarray(0, 0x10)).toEqual(host.ram.subarray(0x1fff0, 0x20000));
    expect(buf.subarray(0x10)).toEqual(host.ram.subarray(0x10000, 0x10010));
    expect(dev.channelState(1).page).toBe(0x01);
    expect(host.guestErrors).toHaveLength(1);
    expect(host.guestErrors[0]).toMatch(/channel 1 address counter wrapped inside its 64 KiB page/);
  });

  it("ending exactly at the page end with TC is not a wrap", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0x1fff0, 0x10);
    dev.dreq(1, true);
    expect(dev.transfer(1, true, new Uint8Array(0x10))).toEqual({ moved: 0x10, terminalCount: true });
    expect(host.guestErrors).toEqual([]);
  });

  it("decrement mode walks memory downward", () => {
    const { dev, host } = setup();
    const src = fill(host, 0x6000, 0x20);
    program(host, 1, READ | DECREMENT, 0x601f, 0x20);
    dev.dreq(1, true);
    const buf = new Uint8Array(0x10);
    dev.transfer(1, true, buf);
    expect([...buf]).toEqual([...src.subarray(0x10, 0x20)].reverse());
    expect(readAddr(host, 1)).toBe(0x600f);
    program(host, 1, WRITE | DECREMENT, 0x7003, 4);
    dev.transfer(1, false, Uint8Array.of(1, 2, 3, 4));
    expect([...host.ram.subarray(0x7000, 0x7004)]).toEqual([4, 3, 2, 1]);
  });

  it("decrement below address 0 wraps inside the page and logs", () => {
    const { dev, host } = setup();
    program(host, 1, WRITE | DECREMENT, 0x20001, 4);
    dev.dreq(1, true);
    dev.transfer(1, false, Uint8Array.of(1, 2, 3, 4));
    expect([...host.ram.subarray(0x20000, 0x20002)]).toEqual([2, 1]);
    expect([...host.ram.subarray(0x2fffe, 0x30000)]).toEqual([4, 3]);
    expect(host.guestErrors.join()).toMatch(/wrapped/);
  });

  it("verify transfers count but move no data", () => {
    const { dev, host } = setup();
    fill(host, 0x9000, 0x10);
    const before = host.ram.slice();
    program(host, 1, VERIFY, 0x9000, 0x10);
    dev.dreq(1, true);
    const buf = new Uint8Array(8).fill(0xee);
    expect(dev.transfer(1, true, buf)).toEqual({ moved: 8, terminalCount: false });
    expect(buf.every((b) => b === 0xee)).toBe(true);
    expect(dev.transfer(1, false, buf)).toEqual({ moved: 8, terminalCount: true });
    expect(Buffer.compare(host.ram, before)).toBe(0);
    expect(residue(host, 1)).toBe(0);
  });

  it("refuses a transfer in the wrong direction or of the illegal type, with a guest error", () => {
    const { dev, host } = setup();
    program(host, 1, WRITE, 0x1000, 0x10);
    dev.dreq(1, true);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
    expect(host.guestErrors.pop()).toMatch(/programmed for a write transfer/);
    program(host, 1, 0x4c, 0x1000, 0x10);
    expect(host.guestErrors.pop()).toMatch(/illegal transfer type/);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
    expect(host.guestErrors.pop()).toMatch(/illegal transfer type/);
  });

  it("a failed DMA access is a guest error and moves nothing", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0xf0000 + 0x200000, 0x10); // page 0x2f: beyond the 1 MiB host RAM
    dev.dreq(1, true);
    expect(dev.transfer(1, true, new Uint8Array(4))).toEqual({ moved: 0, terminalCount: false });
    expect(host.guestErrors[0]).toMatch(/DMA read of 4 bytes at physical 0x2f0000 failed/);
    expect(dev.channelState(1).currentAddress).toBe(0);
    expect(dev.channelState(1).currentCount).toBe(0x0f);
  });
});

describe("i8237 16-bit channels", () => {
  it("address register holds A16:A1, count is in words, page bit 0 is unused", () => {
    const { dev, host } = setup();
    const src = fill(host, 0x34000, 0x100);
    program(host, 5, READ, 0x34000, 0x100);
    const s = dev.channelState(5);
    expect(s.baseAddress).toBe(0xa000); // 0x34000 >> 1 = 0x1a000 → A16:A1 = 0xa000
    expect(s.page).toBe(0x02);
    expect(s.baseCount).toBe(0x7f); // 128 words − 1
    expect(s.physicalAddress).toBe(0x34000);
    host.outb(0x8b, 0x03); // bit 0 ignored: still the 128 KiB window at 0x20000
    expect(dev.channelState(5).physicalAddress).toBe(0x34000);
    dev.dreq(5, true);
    const buf = new Uint8Array(0x21); // odd: only whole words move
    expect(dev.transfer(5, true, buf).moved).toBe(0x20);
    expect(buf.subarray(0, 0x20)).toEqual(src.subarray(0, 0x20));
    expect(residue(host, 5)).toBe(0xe0);
    expect(readAddr(host, 5)).toBe(0xa010);
  });

  it("moves up to 128 KiB and wraps inside the 128 KiB window, logging a guest error", () => {
    const { dev, host } = setup();
    fill(host, 0x20000, 0x20000);
    program(host, 6, READ, 0x3fff0, 0x20);
    dev.dreq(6, true);
    const buf = new Uint8Array(0x20);
    expect(dev.transfer(6, true, buf).moved).toBe(0x20);
    expect(buf.subarray(0, 0x10)).toEqual(host.ram.subarray(0x3fff0, 0x40000));
    expect(buf.subarray(0x10)).toEqual(host.ram.subarray(0x20000, 0x20010));
    expect(host.guestErrors[0]).toMatch(/channel 6 address counter wrapped inside its 128 KiB page/);
    // A 64 KiB boundary inside the 128 KiB window is fine on a 16-bit channel.
    host.guestErrors.length = 0;
    program(host, 7, READ, 0x2fff0, 0x20);
    dev.dreq(7, true);
    expect(dev.transfer(7, true, buf)).toEqual({ moved: 0x20, terminalCount: true });
    expect(buf).toEqual(host.ram.subarray(0x2fff0, 0x30010));
    expect(host.guestErrors).toEqual([]);
  });

  it("a full 128 KiB transfer ends with count 0xFFFF", () => {
    const { dev, host } = setup({});
    program(host, 5, WRITE, 0x20000, 0x20000);
    expect(dev.channelState(5).baseCount).toBe(0xffff);
    dev.dreq(5, true);
    const data = Uint8Array.from({ length: 0x20000 }, (_, i) => i & 0xff);
    expect(dev.transfer(5, false, data)).toEqual({ moved: 0x20000, terminalCount: true });
    expect(host.ram.subarray(0x20000, 0x40000)).toEqual(data);
    expect(residue(host, 5)).toBe(0);
    expect(host.inb(0xd0) & 0x0f).toBe(0b0010);
    expect(host.guestErrors).toEqual([]);
  });

  it("decrement mode on a 16-bit channel reverses words, not bytes", () => {
    const { dev, host } = setup();
    program(host, 5, WRITE | DECREMENT, 0x40006, 8);
    dev.dreq(5, true);
    dev.transfer(5, false, Uint8Array.of(0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0x41, 0x42));
    expect([...host.ram.subarray(0x40000, 0x40008)]).toEqual([0x41, 0x42, 0x31, 0x32, 0x21, 0x22, 0x11, 0x12]);
  });

  it("channel 4 is the cascade and never transfers", () => {
    const { dev, host } = setup();
    dev.dreq(4, true);
    expect(dev.transfer(4, true, new Uint8Array(4)).moved).toBe(0);
    expect(host.guestErrors[0]).toMatch(/cascade/);
  });
});

describe("i8237 masks, requests, command", () => {
  it("single mask, write-all and clear-all", () => {
    const { dev, host } = setup({ firmwareCascade: false });
    host.outb(0x0e, 0);
    expect(dev.controllerState(0).mask).toBe(0);
    host.outb(0x0a, 0x04 | 2);
    expect(dev.controllerState(0).mask).toBe(0b0100);
    host.outb(0x0a, 2);
    expect(dev.controllerState(0).mask).toBe(0);
    host.outb(0x0f, 0x0a);
    expect(dev.controllerState(0).mask).toBe(0b1010);
    expect(dev.channelState(1).masked).toBe(true);
    expect(dev.channelState(0).masked).toBe(false);
    host.outb(0xdc, 0);
    expect(dev.controllerState(1).mask).toBe(0);
    host.outb(0xd4, 0x07);
    expect(dev.channelState(7).masked).toBe(true);
    host.outb(0x0d, 0); // master clear masks all
    expect(dev.controllerState(0).mask).toBe(0x0f);
  });

  it("a masked channel moves nothing", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0x1000, 0x10, false);
    dev.dreq(1, true);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
    host.outb(0x0a, 1);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(4);
  });

  it("DMA1 channels need the cascade channel 4 open", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0x1000, 0x10);
    dev.dreq(1, true);
    host.outb(0xd4, 0x04); // mask channel 4
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
    host.outb(0xd4, 0x00);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(4);
    host.outb(0xd6, 0x40); // channel 4 out of cascade mode
    expect(host.guestErrors.pop()).toMatch(/out of cascade/);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
  });

  it("status request bits follow DREQ and the request register, whatever the mask", () => {
    const { dev, host } = setup();
    dev.dreq(1, true);
    dev.dreq(3, true);
    expect(host.inb(0x08)).toBe(0xa0);
    dev.dreq(1, false);
    expect(host.inb(0x08)).toBe(0x80);
    host.outb(0x09, 0x04 | 0); // software request channel 0
    expect(host.inb(0x08)).toBe(0x90);
    expect(dev.channelState(0).softwareRequest).toBe(true);
    host.outb(0x09, 0);
    expect(host.inb(0x08)).toBe(0x80);
    dev.dreq(6, true);
    expect(host.inb(0xd0)).toBe(0x40);
    // DMA1's unmasked request shows as DREQ on channel 4.
    host.outb(0x0a, 3);
    expect(host.inb(0xd0)).toBe(0x50);
  });

  it("without DREQ a channel is not serviced; the software request services it until TC", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0x1000, 4);
    expect(dev.transfer(1, true, new Uint8Array(2)).moved).toBe(0);
    host.outb(0x09, 0x05);
    expect(dev.transfer(1, true, new Uint8Array(8))).toEqual({ moved: 4, terminalCount: true });
    expect(dev.channelState(1).softwareRequest).toBe(false);
  });

  it("the controller-disable command bit stops service; master clear resets the command", () => {
    const { dev, host } = setup();
    program(host, 1, READ, 0x1000, 0x10);
    dev.dreq(1, true);
    host.outb(0x08, 0x04);
    expect(dev.controllerState(0).command).toBe(0x04);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(0);
    host.outb(0x08, 0x00);
    expect(dev.transfer(1, true, new Uint8Array(4)).moved).toBe(4);
    host.outb(0x08, 0x01);
    expect(host.unimplemented[0]).toMatch(/memory-to-memory/);
    host.outb(0x0d, 0);
    expect(dev.controllerState(0).command).toBe(0);
    expect(host.inb(0x0d)).toBe(0); // temporary register
  });
});

describe("i8237 bad guest accesses", () => {
  it("odd DMA2 ports and 0x10–0x1F are undecoded; wrong sizes and write-only reads are guest errors", () => {
    const { dev, host } = setup();
    expect(host.inb(0xc1)).toBe(0xff);
    expect(host.guestErrors.pop()).toMatch(/unmapped/);
    host.outb(0xc3, 0x12);
    expect(host.guestErrors.pop()).toMatch(/unmapped/);
    expect(dev.channelState(4).baseAddress).toBe(0);
    expect(host.inb(0x10)).toBe(0xff);
    expect(host.guestErrors.pop()).toMatch(/unmapped/);
    expect(host.read("dma1", 0x00, 2)).toBe(0xffff);
    expect(host.guestErrors.pop()).toMatch(/size 2/);
    host.write("dma2", 0x00, 4, 0x12345678);
    expect(host.guestErrors.pop()).toMatch(/size 4/);
    expect(host.inb(0x0b)).toBe(0);
    expect(host.guestErrors.pop()).toMatch(/write-only register dma1.MODE \(port 0x0b\)/);
    expect(host.inb(0xd6)).toBe(0);
    expect(host.guestErrors.pop()).toMatch(/write-only register dma2.MODE \(port 0xd6\)/);
    expect(host.inb(0x84)).toBe(0); // spare page latch
    host.outb(0x84, 0x77);
    expect(host.inb(0x84)).toBe(0x77);
    expect(host.guestErrors).toEqual([]);
    expect(dev.controllerState(0).flipFlop).toBe(0);
  });

  it("device-side misuse with nonexistent channels is logged, never thrown", () => {
    const { dev, host } = setup();
    expect(() => dev.dreq(9, true)).not.toThrow();
    expect(dev.transfer(-1, true, new Uint8Array(1)).moved).toBe(0);
    expect(dev.transfer(1.5, true, new Uint8Array(1)).moved).toBe(0);
    expect(host.guestErrors).toHaveLength(3);
  });
});
