import { afterEach, describe, expect, it } from "vitest";
import { DMA_AUTOINIT, DMA_MODE_READ, DMA_MODE_WRITE, EBUSY, EINVAL, ENODEV, type Kernel } from "../../../sdk/index.js";
import type { I8237Device } from "../../../devices/i8237/index.js";
import { Testbench } from "../../harness/testbench.js";
import { TraceKind } from "../../soc/trace.js";
import { BUS } from "../../soc/tokens.js";
import type { Bus } from "../../soc/bus.js";
import type { Report } from "../../checks/report.js";
import { DEVICE_HOST, IO_RESOURCES, ISA_DMA } from "../tokens.js";
import { procIoports } from "../procfs/ioports.js";
import { procDma } from "../procfs/dma.js";
import { renderProcDma } from "./channels.js";
import type { IsaDmaSubsystem } from "./isa-dma.js";
import { ensureIsaDmaBoot } from "./test-boot.js";

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

async function boot(board = "pc") {
  tb = await Testbench.boot({ board });
  ensureIsaDmaBoot(tb.container);
  const isa = tb.container.resolve(ISA_DMA);
  const bus = tb.container.resolve<Bus>(BUS);
  const k = tb.facade({ driver: "snd-test", device: "isa-stream.0" });
  const chip = isa.controller as I8237Device | undefined;
  return { tb, isa, bus, k, chip };
}

const rules = (t: Testbench) => t.reports("isa-dma").map((r) => r.details?.["rule"]);

/** floppy/ALSA's snd_dma_program. */
function program(k: Kernel, ch: number, mode: number, addr: number, bytes: number): void {
  const flags = k.claim_dma_lock();
  k.disable_dma(ch);
  k.clear_dma_ff(ch);
  k.set_dma_mode(ch, mode);
  k.set_dma_addr(ch, addr);
  k.set_dma_count(ch, bytes);
  k.enable_dma(ch);
  k.release_dma_lock(flags);
}

function residue(k: Kernel, ch: number): number {
  const flags = k.claim_dma_lock();
  k.clear_dma_ff(ch);
  const r = k.get_dma_residue(ch);
  k.release_dma_lock(flags);
  return r;
}

describe("ISA DMA channel allocator (kernel/dma.c)", () => {
  it("boots with channel 4 held by cascade, the 8237 plugged and its ports reserved", async () => {
    const { isa, tb } = await boot("pc");
    expect(procDma(isa)).toBe(" 4: cascade\n");
    const ioports = procIoports(tb.container.resolve(IO_RESOURCES));
    expect(ioports).toContain("0000-001f : dma1\n");
    expect(ioports).toContain("0080-008f : dma page reg\n");
    expect(ioports).toContain("00c0-00df : dma2\n");
    expect(tb.container.resolve(DEVICE_HOST).devices().map((d) => d.name)).toContain("i8237.0");
  });

  it("pc32 has it too; arm has no ISA DMA", async () => {
    expect(procDma((await boot("pc32")).isa)).toBe(" 4: cascade\n");
    await tb!.dispose();
    const { isa, k } = await boot("arm");
    expect(procDma(isa)).toBe("No DMA\n");
    expect(isa.controller).toBeUndefined();
    expect(k.request_dma(1, "x")).toBe(-ENODEV);
  });

  it("request_dma: -EINVAL past channel 7, -EBUSY when held, names in /proc/dma", async () => {
    const { isa, k, tb } = await boot();
    expect(k.request_dma(8, "x")).toBe(-EINVAL);
    expect(k.request_dma(-1, "x")).toBe(-EINVAL);
    expect(k.request_dma(4, "x")).toBe(-EBUSY);
    expect(k.request_dma(1, "isa-stream")).toBe(0);
    expect(k.request_dma(5, "isa-stream")).toBe(0);
    expect(k.request_dma(1, "again")).toBe(-EBUSY);
    expect(procDma(isa)).toBe(" 1: isa-stream\n 4: cascade\n 5: isa-stream\n");
    expect(tb.core.ledger.outstanding("snd-test").map((e) => [e.kind, e.label])).toEqual([
      ["isa-dma", 'ISA DMA channel 1 ("isa-stream")'],
      ["isa-dma", 'ISA DMA channel 5 ("isa-stream")'],
    ]);
    k.free_dma(1);
    k.free_dma(5);
    expect(procDma(isa)).toBe(" 4: cascade\n");
    expect(tb.core.ledger.outstanding("snd-test")).toEqual([]);
    expect(tb.reports()).toEqual([]);
  });

  it("free_dma of a free channel warns as Linux does; past 7 too", async () => {
    const { k, tb } = await boot();
    k.free_dma(3);
    k.free_dma(9);
    const r = tb.reports("isa-dma");
    expect(r.map((x) => x.title)).toEqual(["Trying to free free DMA3", "Trying to free DMA9"]);
    expect(r[0]!.driver).toBe("snd-test");
    expect(r[0]!.details).toMatchObject({ rule: "free-free", channel: 3 });
    expect(r[0]!.stack!.join("\n")).toMatch(/isa-dma\.test\.ts/);
    expect(tb.dmesg()).toContain("Trying to free free DMA3");
  });

  it("free_dma of another driver's channel is reported and frees it", async () => {
    const { tb, isa } = await boot();
    const a = tb.facade({ driver: "a" });
    const b = tb.facade({ driver: "b" });
    expect(a.request_dma(2, "floppy")).toBe(0);
    b.free_dma(2);
    expect(rules(tb)).toEqual(["free-foreign"]);
    expect(isa.channels.holder(2)).toBeUndefined();
  });

  it("an injected failure returns -EBUSY and takes nothing", async () => {
    const { tb, k, isa } = await boot();
    tb.core.faults.arm({ nth: 1, kinds: ["isa-dma"] });
    expect(k.request_dma(1, "x")).toBe(-EBUSY);
    expect(isa.channels.holder(1)).toBeUndefined();
    expect(k.request_dma(1, "x")).toBe(0);
  });

  it("renderProcDma formats %2d: %s", () => {
    expect(renderProcDma({ available: true, held: [{ channel: 2, name: "floppy" }, { channel: 4, name: "cascade" }] })).toBe(" 2: floppy\n 4: cascade\n");
    expect(renderProcDma({ available: false, held: [] })).toBe("No DMA\n");
  });
});

describe("asm/dma.h helpers program the 8237 through its ports", () => {
  it("8-bit channel: page, address, count N-1, mode, mask; trace shows the port writes", async () => {
    const { k, chip, tb } = await boot();
    tb.soc.trace.clear();
    program(k, 1, DMA_MODE_WRITE | DMA_AUTOINIT, 0x123456, 0x1000);
    const s = chip!.channelState(1);
    expect(s).toMatchObject({ page: 0x12, baseAddress: 0x3456, baseCount: 0x0fff, masked: false, autoinit: true, transferType: "read", modeSelect: "single" });
    expect(s.mode).toBe(0x58 | 1);
    const writes = tb.soc.trace.snapshot(TraceKind.PioWrite).map((r) => [r.addr, r.value]);
    expect(writes).toEqual([
      [0x0a, 0x05],
      [0x0c, 0x00],
      [0x0b, 0x59],
      [0x83, 0x12],
      [0x02, 0x56],
      [0x02, 0x34],
      [0x03, 0xff],
      [0x03, 0x0f],
      [0x0a, 0x01],
    ]);
    expect(residue(k, 1)).toBe(0x1000);
    expect(tb.reports()).toEqual([]);
  });

  it("16-bit channel: word address and count, page bit 0 dropped, residue in bytes", async () => {
    const { k, chip, tb } = await boot();
    program(k, 5, DMA_MODE_READ, 0x234560, 0x2000);
    const s = chip!.channelState(5);
    expect(s).toMatchObject({ page: 0x22, baseAddress: (0x234560 >> 1) & 0xffff, baseCount: 0x0fff, transferType: "write", masked: false });
    expect(s.physicalAddress).toBe(0x234560);
    expect(residue(k, 5)).toBe(0x2000);
    k.disable_dma(5);
    expect(tb.reports("isa-dma").map((r) => r.details?.["rule"])).toEqual(["unlocked"]);
  });

  it("residue counts down as the device moves data, and is 0 after a single-shot transfer", async () => {
    const { k, chip } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x100000, 0x100);
    chip!.dreq(1, true);
    chip!.transfer(1, true, new Uint8Array(0x40));
    expect(residue(k, 1)).toBe(0xc0);
    chip!.transfer(1, true, new Uint8Array(0xc0));
    expect(residue(k, 1)).toBe(0);
  });

  it("claim_dma_lock disables interrupts and is a spinlock (sleeping inside is reported)", async () => {
    const { k, tb } = await boot();
    const flags = k.claim_dma_lock();
    expect(tb.core.ctx.irqsDisabled).toBe(true);
    expect(tb.core.ctx.inAtomic()).toBe(true);
    tb.core.mightSleep("msleep");
    k.release_dma_lock(flags);
    expect(tb.core.ctx.irqsDisabled).toBe(false);
    expect(tb.core.ctx.inAtomic()).toBe(false);
    expect(tb.reports().map((r) => r.kind)).toEqual(["atomic-sleep"]);
  });
});

describe("ISA DMA rules (detector 10)", () => {
  it("the canonical sequence and ALSA's pointer read are clean", async () => {
    const { k, tb } = await boot();
    program(k, 1, DMA_MODE_WRITE | DMA_AUTOINIT, 0x40000, 0x10000);
    program(k, 5, DMA_MODE_READ | DMA_AUTOINIT, 0x60000, 0x20000);
    residue(k, 1);
    residue(k, 5);
    // One clear covers a whole section: each helper leaves the flip-flop clear again.
    const f = k.claim_dma_lock();
    k.clear_dma_ff(1);
    k.set_dma_addr(1, 0x50000);
    k.set_dma_count(1, 0x100);
    k.get_dma_residue(1);
    k.set_dma_addr(2, 0x51000);
    k.release_dma_lock(f);
    expect(tb.reports()).toEqual([]);
  });

  it("a buffer crossing 64 KiB on an 8-bit channel, with the stack of set_dma_count", async () => {
    const { k, tb } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x2f800, 0x1000);
    const [r] = tb.reports("isa-dma") as Report[];
    expect(r!.title).toBe("vdtb: ISA DMA channel 1: transfer of 4096 bytes at 0x0002f800 crosses a 64 KiB boundary");
    expect(r!.details).toMatchObject({ rule: "boundary", boundary: 0x30000 });
    expect(r!.stack![0]).toMatch(/program .*isa-dma\.test\.ts/);
    expect(r!.text).toContain("driver: snd-test, device: isa-stream.0, channel: 1");
  });

  it("128 KiB is the page on 16-bit channels: 64 KiB crossings are fine there", async () => {
    const { k, tb } = await boot();
    program(k, 5, DMA_MODE_WRITE, 0x2f800, 0x1000);
    expect(tb.reports()).toEqual([]);
    program(k, 6, DMA_MODE_WRITE, 0x3f800, 0x1000);
    expect(rules(tb)).toEqual(["boundary"]);
    expect(tb.reports()[0]!.title).toContain("crosses a 128 KiB boundary");
  });

  it("count before address in one sequence is checked with the new address, not the old one", async () => {
    const { k, tb } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x2f800, 0x100); // fine: 256 bytes below the edge
    const f = k.claim_dma_lock();
    k.disable_dma(1);
    k.clear_dma_ff(1);
    k.set_dma_count(1, 0x1000); // with the old address this would cross 0x30000
    k.set_dma_addr(1, 0x40000);
    k.enable_dma(1);
    k.release_dma_lock(f);
    expect(tb.reports()).toEqual([]);
    const g = k.claim_dma_lock();
    k.clear_dma_ff(1);
    k.set_dma_count(1, 0x1000);
    k.set_dma_addr(1, 0x4f800);
    k.release_dma_lock(g);
    expect(rules(tb)).toEqual(["boundary"]);
    expect(tb.reports()[0]!.title).toContain("at 0x0004f800 crosses a 64 KiB boundary");
  });

  it("a new count alone is checked against the address already programmed, at enable_dma", async () => {
    const { k, tb } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x2f000, 0x100);
    const f = k.claim_dma_lock();
    k.clear_dma_ff(1);
    k.set_dma_count(1, 0x2000);
    expect(tb.reports()).toEqual([]);
    k.enable_dma(1);
    k.release_dma_lock(f);
    expect(rules(tb)).toEqual(["boundary"]);
    expect(tb.reports()[0]!.stack![0]).toMatch(/isa-dma\.test\.ts/);
  });

  it("an address past 16 MiB", async () => {
    const { k, tb } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x1000000, 0x100);
    expect(rules(tb)).toEqual(["limit"]);
    expect(tb.reports()[0]!.title).toBe("vdtb: ISA DMA channel 1: address 0x01000000 is beyond the 16 MiB ISA DMA limit");
  });

  it("odd address and odd length on a 16-bit channel", async () => {
    const { k, tb } = await boot();
    program(k, 5, DMA_MODE_WRITE, 0x40001, 0x100);
    program(k, 6, DMA_MODE_WRITE, 0x40000, 0x101);
    expect(rules(tb)).toEqual(["odd-address", "odd-count"]);
    // 8-bit channels take any byte address and length.
    program(k, 1, DMA_MODE_WRITE, 0x40001, 0x101);
    expect(rules(tb)).toHaveLength(2);
  });

  it("no clear_dma_ff in the section is reported even when the flip-flop happens to be clear", async () => {
    const { k, tb, chip } = await boot();
    const f = k.claim_dma_lock();
    k.disable_dma(1);
    k.set_dma_mode(1, DMA_MODE_WRITE);
    k.set_dma_addr(1, 0x40000);
    k.set_dma_count(1, 0x100);
    k.enable_dma(1);
    k.release_dma_lock(f);
    expect(chip!.channelState(1).baseAddress).toBe(0); // the bytes happened to land right
    const r = tb.reports("isa-dma");
    // Once per driver and channel, at the first access.
    expect(r.map((x) => x.title)).toEqual(["vdtb: ISA DMA channel 1: set_dma_addr() without clear_dma_ff() first"]);
  });

  it("a clear on the other controller does not count", async () => {
    const { k, tb } = await boot();
    const f = k.claim_dma_lock();
    k.clear_dma_ff(5);
    k.set_dma_addr(1, 0x40000);
    k.release_dma_lock(f);
    expect(rules(tb)).toEqual(["flip-flop"]);
  });

  it("a clear in an earlier section does not count", async () => {
    const { k, tb } = await boot();
    let f = k.claim_dma_lock();
    k.clear_dma_ff(1);
    k.release_dma_lock(f);
    f = k.claim_dma_lock();
    k.get_dma_residue(1);
    k.release_dma_lock(f);
    expect(rules(tb)).toEqual(["flip-flop"]);
  });

  it("the controller's view: a low byte written with the flip-flop set (swapped bytes)", async () => {
    const { k, tb, bus, chip } = await boot();
    const f = k.claim_dma_lock();
    k.clear_dma_ff(1);
    bus.inPort(0x02, 1); // a stray single read leaves the flip-flop set
    k.set_dma_addr(1, 0x41234);
    k.release_dma_lock(f);
    expect(chip!.channelState(1).baseAddress).toBe(0x3412);
    const r = tb.reports("isa-dma");
    expect(r.map((x) => x.title)).toEqual(["vdtb: ISA DMA channel 1: set_dma_addr() found the byte-pointer flip-flop set"]);
    expect(r[0]!.details).toMatchObject({ rule: "flip-flop", observed: true, port: 0x02, value: 0x34 });
  });

  it("programming outside claim_dma_lock", async () => {
    const { k, tb } = await boot();
    k.disable_dma(1);
    k.clear_dma_ff(1);
    k.set_dma_mode(1, DMA_MODE_WRITE);
    k.set_dma_addr(1, 0x40000);
    k.set_dma_count(1, 0x100);
    k.enable_dma(1);
    const r = tb.reports("isa-dma");
    expect(r.map((x) => x.details?.["rule"])).toEqual(["unlocked"]);
    expect(r[0]!.title).toBe("vdtb: ISA DMA channel 1: disable_dma() outside claim_dma_lock()");
  });

  it("device side: the 8237's address counter wrapping inside its page, programmed behind the API's back", async () => {
    const { tb, bus, chip } = await boot();
    const k = tb.facade({ driver: "raw" });
    expect(k.request_dma(3, "raw")).toBe(0);
    // Raw port programming: channel 3, read transfer, 0x1fff0, 32 bytes.
    bus.outPort(0x0a, 1, 0x07);
    bus.outPort(0x0c, 1, 0);
    bus.outPort(0x0b, 1, 0x4b);
    bus.outPort(0x82, 1, 0x01);
    bus.outPort(0x06, 1, 0xf0);
    bus.outPort(0x06, 1, 0xff);
    bus.outPort(0x07, 1, 0x1f);
    bus.outPort(0x07, 1, 0x00);
    bus.outPort(0x0a, 1, 0x03);
    chip!.dreq(3, true);
    chip!.transfer(3, true, new Uint8Array(32));
    const r = tb.reports("isa-dma");
    expect(r.map((x) => x.details?.["rule"])).toEqual(["device-wrap"]);
    expect(r[0]!.driver).toBe("raw");
    expect(r[0]!.title).toBe("vdtb: ISA DMA channel 3: the 8237 address counter wrapped inside its 64 KiB page");
  });

  it("device side is quiet when the kernel side already named the bug", async () => {
    const { k, tb, chip } = await boot();
    program(k, 1, DMA_MODE_WRITE, 0x1fff0, 0x20);
    chip!.dreq(1, true);
    chip!.transfer(1, true, new Uint8Array(0x20));
    expect(rules(tb)).toEqual(["boundary"]);
  });

  it("setDetectors(false) turns detector 10 off", async () => {
    const { k, tb } = await boot();
    tb.core.setDetectors(false);
    program(k, 1, DMA_MODE_WRITE, 0x1000000, 0x100);
    k.free_dma(3);
    expect(tb.reports()).toEqual([]);
  });
});

/** Keeps the import of the type used by the helper. */
export type { IsaDmaSubsystem };
