import { describe, expect, it, vi } from "vitest";
import { bytesAccessor, type RegisterDefs } from "../../sdk/index.js";
import { DeviceHost, type HostOptions } from "../../test/support/device-host.js";
import {
  ChannelBit,
  EngineControl as C,
  EngineStatus as S,
  SGDMA_DESC_MAX_LEN,
  SgdmaDescriptor,
  descControl,
  sgdma,
  sgdmaRegisters,
  type SgdmaOptions,
} from "./index.js";

const ENG = { H2C: 0x0000, C2H: 0x1000 } as const;
const SG = { H2C: 0x4000, C2H: 0x5000 } as const;
const R = { ID: 0x00, CONTROL: 0x04, W1S: 0x08, W1C: 0x0c, STATUS: 0x40, STATUS_RC: 0x44, COUNT: 0x48, ALIGN: 0x4c, WB_LO: 0x88, WB_HI: 0x8c, MASK: 0x90, MASK_W1S: 0x94, MASK_W1C: 0x98 } as const;
const IRQ = { ID: 0x2000, CHAN_EN: 0x2010, CHAN_EN_W1S: 0x2014, CHAN_EN_W1C: 0x2018, USER_REQ: 0x2040, CHAN_REQ: 0x2044, CHAN_PEND: 0x204c } as const;
const IE_ALL = 0x00fffe7e;
const START = C.RUN | IE_ALL;
type Dir = keyof typeof ENG;

interface Desc {
  control?: number;
  length: number;
  src: number;
  dst: number;
  next?: number;
}

function setup(options: SgdmaOptions = {}, hostOptions: HostOptions = {}) {
  const dev = sgdma({ cardMemorySize: 256 << 10, ...options });
  const host = new DeviceHost(dev, { ramSize: 1 << 20, ...hostOptions });
  const mem = bytesAccessor(host.ram);
  const w32 = (off: number, v: number) => host.write(0, off, 4, v);
  const r32 = (off: number) => host.read(0, off, 4);
  const eng = (dir: Dir, reg: number) => r32(ENG[dir] + reg);
  const putDesc = (addr: number, d: Desc) =>
    SgdmaDescriptor.write(mem, addr, { control: d.control ?? descControl({ stop: true, completed: true }), length: d.length, src: d.src, dst: d.dst, next: d.next ?? 0 });
  /** Point the engine at `first` and set RUN with every interrupt enabled (CONTROL, mask, channel). */
  const run = (dir: Dir, first: number, adj = 0, control: number = START) => {
    w32(SG[dir] + 0x80, first);
    w32(SG[dir] + 0x84, 0);
    w32(SG[dir] + 0x88, adj);
    w32(ENG[dir] + R.MASK, IE_ALL);
    w32(IRQ.CHAN_EN_W1S, ChannelBit.H2C | ChannelBit.C2H);
    w32(ENG[dir] + R.CONTROL, control);
  };
  const fill = (addr: number, len: number, seed: number) => {
    let x = seed >>> 0 || 1;
    for (let i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      host.ram[addr + i] = x & 0xff;
    }
  };
  return { dev, host, mem, w32, r32, eng, putDesc, run, fill };
}

function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

describe("sgdma: identity, reset values, access rules", () => {
  it("declares the PCI function of the spec", () => {
    const decl = sgdma().describe();
    if (decl.bus !== "pci") throw new Error("not PCI");
    expect(decl.identity).toMatchObject({ vendor: 0x1234, device: 0x5344, classCode: 0xff0000 });
    expect(decl.bars.find((b) => b.index === 0)).toMatchObject({ size: 0x10000, space: "mem" });
    const bar2 = decl.bars.find((b) => b.index === 2)!;
    expect(bar2).toMatchObject({ size: 1 << 20, space: "mem", prefetchable: true, is64: true });
    expect(bar2.impl.kind).toBe("ram");
    expect(decl.msi).toEqual({ vectors: 8, is64: true, perVectorMask: true });
    expect(decl.intxPin).toBe(1);
    expect(sgdma({ msiVectors: 2 }).describe()).toMatchObject({ msi: { vectors: 2 } });
  });

  it("reads every register's declared reset value through BAR0", () => {
    const { r32, host } = setup();
    for (const name of sgdmaRegisters.names) {
      const def = (sgdmaRegisters.defs as RegisterDefs)[name]!;
      expect(r32(def.offset), name).toBe(def.reset ?? 0);
    }
    expect(host.guestErrors).toEqual([]);
    expect(r32(ENG.H2C + R.ID)).toBe(0x1fc00001);
    expect(r32(ENG.C2H + R.ID)).toBe(0x1fc10001);
    expect(r32(ENG.H2C + R.ALIGN)).toBe(0x00010140);
    expect(r32(IRQ.ID) >>> 16).toBe(0x1fc2);
  });

  it("allows 32-bit accesses only: other sizes are guest errors reading all ones", () => {
    const { host, r32 } = setup();
    expect(host.read(0, ENG.H2C + R.ID, 1)).toBe(0xff);
    expect(host.read(0, ENG.H2C + R.ID + 2, 2)).toBe(0xffff);
    host.write(0, ENG.H2C + R.CONTROL, 1, 1);
    expect(r32(ENG.H2C + R.CONTROL)).toBe(0);
    expect(r32(0x0100)).toBe(0xffffffff); // unmapped
    expect(host.guestErrors).toHaveLength(4);
  });

  it("keeps reserved CONTROL bits zero and applies CONTROL W1S/W1C", () => {
    const { w32, eng } = setup();
    w32(ENG.H2C + R.CONTROL, 0xffffffff & ~C.RUN);
    expect(eng("H2C", R.CONTROL)).toBe((IE_ALL | C.NON_INC_ADDR | C.POLL_MODE_WB | C.STM_WB) >>> 0);
    w32(ENG.H2C + R.W1C, 0xffffffff);
    expect(eng("H2C", R.CONTROL)).toBe(0);
    w32(ENG.H2C + R.W1S, C.IE_DESC_COMPLETED | 0x100);
    expect(eng("H2C", R.CONTROL)).toBe(C.IE_DESC_COMPLETED);
    expect(eng("H2C", R.W1S)).toBe(0); // write-only
    w32(ENG.H2C + R.MASK_W1S, C.IE_MAGIC_STOPPED | 1);
    expect(eng("H2C", R.MASK)).toBe(C.IE_MAGIC_STOPPED);
    w32(ENG.H2C + R.MASK_W1C, C.IE_MAGIC_STOPPED);
    expect(eng("H2C", R.MASK)).toBe(0);
  });
});

describe("sgdma: transfers", () => {
  it("moves one descriptor host→card in simulated time at 1 GB/s", () => {
    const { dev, host, eng, putDesc, run, fill } = setup({ jitterNs: 0 });
    fill(0x10000, 4096, 7);
    putDesc(0x1000, { length: 4096, src: 0x10000, dst: 0x100 });
    run("H2C", 0x1000);
    expect(eng("H2C", R.STATUS) & S.BUSY).toBe(S.BUSY);
    expect(dev.engineBusy("H2C")).toBe(true);
    host.clock.advance(4000); // 200 ns latency + 4128 ns of transfer: not yet
    expect(eng("H2C", R.COUNT)).toBe(0);
    host.clock.advance(400);
    expect(eng("H2C", R.COUNT)).toBe(1);
    expect(eng("H2C", R.STATUS)).toBe(S.DESC_STOPPED | S.DESC_COMPLETED);
    expect(eng("H2C", R.CONTROL) & C.RUN).toBe(C.RUN); // RUN stays set, as XDMA
    expect(dev.engineBusy("H2C")).toBe(false);
    expect(Array.from(dev.card.subarray(0x100, 0x100 + 4096))).toEqual(Array.from(host.ram.subarray(0x10000, 0x10000 + 4096)));
    expect(host.read(2, 0x100, 4)).toBe(new DataView(host.ram.buffer).getUint32(0x10000, true));
    expect(host.clock.pending).toBe(0);
  });

  it("fetches adjacent descriptor blocks in one DMA read each", () => {
    const { dev, host, eng, putDesc, run, fill } = setup();
    const read = vi.spyOn(host.ctx.dma, "read");
    fill(0x40000, 10 * 256, 3);
    // Block 1: 4 descriptors at 0x1000 (first + 3 adjacent); its last points to block 2 with 5 adjacent.
    const addrs = [0x1000, 0x1020, 0x1040, 0x1060, 0x2000, 0x2020, 0x2040, 0x2060, 0x2080, 0x20a0];
    addrs.forEach((a, i) => {
      const last = i === addrs.length - 1;
      putDesc(a, {
        control: descControl({ stop: last, completed: last, adjacent: a === 0x1060 ? 5 : 0 }),
        length: 256,
        src: 0x40000 + i * 256,
        dst: i * 512,
        next: last ? 0 : addrs[i + 1]!,
      });
    });
    run("H2C", 0x1000, 3);
    host.clock.runAll();
    expect(eng("H2C", R.COUNT)).toBe(10);
    expect(eng("H2C", R.STATUS)).toBe(S.DESC_STOPPED | S.DESC_COMPLETED);
    const fetches = read.mock.calls.filter(([, dst]) => dst.buffer !== dev.card.buffer).map(([addr, dst]) => [addr, dst.length]);
    expect(fetches).toEqual([
      [0x1000, 4 * 32],
      [0x2000, 6 * 32],
    ]);
    for (let i = 0; i < 10; i++) expect(dev.card[i * 512 + 255]).toBe(host.ram[0x40000 + i * 256 + 255]);
  });

  it("returns the same bytes card→host (loopback checksum over a scattered chain)", () => {
    const { dev, host, eng, putDesc, run, fill } = setup({ chunkBytes: 64 << 10 });
    const total = 200_000;
    fill(0x20000, total, 42);
    // H2C: five pieces of different sizes (one above the 64 KiB per-event budget), scattered in RAM order.
    const sizes = [1, 70_000, 4095, 60_000, total - 1 - 70_000 - 4095 - 60_000];
    let off = 0;
    sizes.forEach((len, i) => {
      const last = i === sizes.length - 1;
      putDesc(0x1000 + i * 32, { control: descControl({ stop: last, completed: last }), length: len, src: 0x20000 + off, dst: 0x1000 + off, next: last ? 0 : 0x1000 + (i + 1) * 32 });
      off += len;
    });
    run("H2C", 0x1000);
    const events = host.clock.runAll();
    expect(eng("H2C", R.COUNT)).toBe(5);
    expect(events).toBeLessThan(12);
    expect(checksum(dev.card.subarray(0x1000, 0x1000 + total))).toBe(checksum(host.ram.subarray(0x20000, 0x20000 + total)));
    // C2H: gather back into another RAM area in two halves.
    putDesc(0x3000, { control: descControl(), length: 100_000, src: 0x1000, dst: 0x80000, next: 0x3020 });
    putDesc(0x3020, { length: total - 100_000, src: 0x1000 + 100_000, dst: 0x80000 + 100_000 });
    run("C2H", 0x3000, 1);
    host.clock.runAll();
    expect(eng("C2H", R.COUNT)).toBe(2);
    expect(eng("C2H", R.STATUS)).toBe(S.DESC_STOPPED | S.DESC_COMPLETED);
    expect(checksum(host.ram.subarray(0x80000, 0x80000 + total))).toBe(checksum(host.ram.subarray(0x20000, 0x20000 + total)));
  });

  it("resets COMPLETED_COUNT at each RUN 0→1 and ignores RUN while already set", () => {
    const { host, w32, eng, putDesc, run } = setup();
    putDesc(0x1000, { length: 16, src: 0x10000, dst: 0 });
    run("H2C", 0x1000);
    host.clock.runAll();
    expect(eng("H2C", R.COUNT)).toBe(1);
    w32(ENG.H2C + R.W1S, C.RUN); // no edge
    expect(host.clock.pending).toBe(0);
    w32(ENG.H2C + R.W1C, C.RUN);
    w32(ENG.H2C + R.W1S, C.RUN); // edge: starts again
    expect(eng("H2C", R.COUNT)).toBe(0);
    host.clock.runAll();
    expect(eng("H2C", R.COUNT)).toBe(1);
  });

  it("DMA-writes the completed count to the write-back address", () => {
    const { host, w32, mem, putDesc, run } = setup();
    for (let i = 0; i < 3; i++) putDesc(0x1000 + i * 32, { control: descControl({ stop: i === 2 }), length: 64, src: 0x10000, dst: i * 64, next: 0x1000 + (i + 1) * 32 });
    w32(ENG.H2C + R.WB_LO, 0x9000);
    mem.write32(0x9000, 0xdeadbeef);
    run("H2C", 0x1000, 2);
    host.clock.runAll();
    expect(mem.read32(0x9000)).toBe(3);
  });

  it("clearing RUN mid-chain finishes the current descriptor, then stops with IDLE_STOPPED", () => {
    const { dev, host, w32, eng, putDesc, run } = setup({ chunkBytes: 4096, jitterNs: 0 });
    for (let i = 0; i < 8; i++) putDesc(0x1000 + i * 32, { control: descControl({ stop: i === 7 }), length: 8192, src: 0x10000, dst: i * 8192, next: 0x1000 + (i + 1) * 32 });
    run("H2C", 0x1000, 7);
    host.clock.advance(200 + 4096 + 300); // inside descriptor 0 (two events of 4 KiB each)
    w32(ENG.H2C + R.W1C, C.RUN);
    host.clock.runAll();
    expect(eng("H2C", R.COUNT)).toBe(1);
    expect(eng("H2C", R.STATUS)).toBe(S.IDLE_STOPPED);
    expect(dev.engineBusy("H2C")).toBe(false);
  });

  it("stops cleanly at reset", () => {
    const { dev, host, eng, putDesc, run } = setup();
    putDesc(0x1000, { length: 100_000, src: 0x10000, dst: 0 });
    run("H2C", 0x1000);
    host.clock.advance(1000);
    dev.reset();
    expect(host.clock.pending).toBe(0);
    expect(eng("H2C", R.STATUS)).toBe(0);
    expect(eng("H2C", R.CONTROL)).toBe(0);
  });
});

describe("sgdma: interrupts", () => {
  it("raises H2C on vector 0 and C2H on vector 1 with two MSI vectors", () => {
    const { host, putDesc, run, r32 } = setup({}, { msiVectors: 2 });
    putDesc(0x1000, { length: 64, src: 0x10000, dst: 0 });
    putDesc(0x1020, { length: 64, src: 0, dst: 0x11000 });
    run("H2C", 0x1000);
    run("C2H", 0x1020);
    expect(host.irqs).toEqual([]);
    host.clock.runAll();
    // Both complete at about the same time; jitter decides which is first.
    expect(host.irqs.map((i) => [i.vector, i.level]).sort()).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(host.irqs[0]!.at).toBeGreaterThan(0);
    expect(r32(IRQ.CHAN_REQ)).toBe(3);
    expect(r32(IRQ.CHAN_PEND)).toBe(3);
    expect(r32(IRQ.USER_REQ)).toBe(0);
  });

  it("shares vector 0 with one MSI vector or INTx, and lowers the level when the status is read-cleared", () => {
    const { host, putDesc, run, r32 } = setup();
    putDesc(0x1000, { length: 64, src: 0x10000, dst: 0 });
    putDesc(0x1020, { length: 64, src: 0, dst: 0x11000 });
    run("H2C", 0x1000);
    run("C2H", 0x1020);
    host.clock.runAll();
    expect(host.irqs.map((i) => [i.vector, i.level])).toEqual([[0, true]]);
    expect(r32(ENG.H2C + R.STATUS_RC)).toBe(S.DESC_STOPPED | S.DESC_COMPLETED);
    expect(host.irqs).toHaveLength(1); // C2H still requests
    expect(r32(IRQ.CHAN_REQ)).toBe(ChannelBit.C2H);
    r32(ENG.C2H + R.STATUS_RC);
    expect(host.irqs.map((i) => [i.vector, i.level])).toEqual([
      [0, true],
      [0, false],
    ]);
    expect(r32(IRQ.CHAN_REQ)).toBe(0);
  });

  it("needs CONTROL enable, IRQ_MASK and channel enable; re-enabling a pending channel re-raises", () => {
    const { host, w32, putDesc, run, r32 } = setup();
    putDesc(0x1000, { length: 64, src: 0x10000, dst: 0 });
    run("H2C", 0x1000, 0, C.RUN | C.IE_DESC_STOPPED);
    w32(ENG.H2C + R.MASK, 0);
    host.clock.runAll();
    expect(r32(IRQ.CHAN_REQ)).toBe(0);
    w32(ENG.H2C + R.MASK_W1S, C.IE_DESC_STOPPED);
    expect(r32(IRQ.CHAN_REQ)).toBe(ChannelBit.H2C);
    expect(host.irqs).toHaveLength(1);
    // The XDMA ISR pattern: mask the channel, service, unmask.
    w32(IRQ.CHAN_EN_W1C, ChannelBit.H2C);
    expect(r32(IRQ.CHAN_PEND)).toBe(0);
    expect(host.irqs.at(-1)?.level).toBe(false);
    w32(IRQ.CHAN_EN_W1S, ChannelBit.H2C);
    expect(host.irqs.at(-1)?.level).toBe(true);
    expect(host.irqs).toHaveLength(3);
    // DESC_COMPLETED is set but its enable is off: clearing DESC_STOPPED alone drops the request.
    w32(ENG.H2C + R.CONTROL, C.RUN);
    expect(r32(IRQ.CHAN_REQ)).toBe(0);
  });

  it("STATUS reads do not clear; a STATUS_RC read returns the bits and clears all but BUSY", () => {
    const { host, eng, putDesc, run } = setup();
    putDesc(0x1000, { control: 0x12340003, length: 64, src: 0x10000, dst: 0 });
    run("H2C", 0x1000);
    host.clock.runAll();
    expect(eng("H2C", R.STATUS)).toBe(S.MAGIC_STOPPED);
    expect(eng("H2C", R.STATUS)).toBe(S.MAGIC_STOPPED);
    expect(eng("H2C", R.STATUS_RC)).toBe(S.MAGIC_STOPPED);
    expect(eng("H2C", R.STATUS)).toBe(0);
    expect(eng("H2C", R.STATUS_RC)).toBe(0);
    // While running, BUSY survives the read.
    putDesc(0x1000, { length: 64, src: 0x10000, dst: 0 });
    host.write(0, ENG.H2C + R.W1C, 4, C.RUN);
    host.write(0, ENG.H2C + R.W1S, 4, C.RUN);
    expect(eng("H2C", R.STATUS_RC)).toBe(S.BUSY);
    expect(eng("H2C", R.STATUS)).toBe(S.BUSY);
  });
});

describe("sgdma: errors stop the engine with a status bit and an interrupt", () => {
  const cases: { name: string; dir?: Dir; first?: number; descs: [number, Desc][]; status: number; count?: number; host?: HostOptions }[] = [
    { name: "bad magic", descs: [[0x1000, { control: 0x0bad0003, length: 64, src: 0x10000, dst: 0 }]], status: S.MAGIC_STOPPED },
    { name: "zero length", descs: [[0x1000, { length: 0, src: 0x10000, dst: 0 }]], status: S.INVALID_LEN },
    { name: "length above 2^28 − 1", descs: [[0x1000, { length: SGDMA_DESC_MAX_LEN + 1, src: 0x10000, dst: 0 }]], status: S.INVALID_LEN },
    { name: "misaligned first descriptor", first: 0x1010, descs: [[0x1010, { length: 64, src: 0x10000, dst: 0 }]], status: S.ALIGN_MISMATCH },
    {
      name: "misaligned next pointer",
      descs: [[0x1000, { control: descControl(), length: 64, src: 0x10000, dst: 0, next: 0x1044 }]],
      status: S.ALIGN_MISMATCH,
      count: 1,
    },
    {
      name: "next = 0 without STOP",
      descs: [[0x1000, { control: descControl({ completed: true }), length: 64, src: 0x10000, dst: 0, next: 0 }]],
      status: S.DESC_COMPLETED | (1 << S.DESC_ERROR_SHIFT),
      count: 1,
    },
    { name: "bus master off (descriptor fetch)", descs: [[0x1000, { length: 64, src: 0x10000, dst: 0 }]], status: 1 << S.DESC_ERROR_SHIFT, host: { busMaster: false } },
    { name: "descriptor beyond host RAM", first: 0x200000, descs: [], status: 1 << S.DESC_ERROR_SHIFT },
    { name: "H2C card offset past BAR2", descs: [[0x1000, { length: 64, src: 0x10000, dst: (256 << 10) - 32 }]], status: 1 << S.WRITE_ERROR_SHIFT },
    { name: "C2H card offset past BAR2", dir: "C2H", descs: [[0x1000, { length: 64, src: 256 << 10, dst: 0x10000 }]], status: 1 << S.READ_ERROR_SHIFT },
    { name: "H2C data read failure", descs: [[0x1000, { length: 64, src: (1 << 20) - 32, dst: 0 }]], status: 1 << S.READ_ERROR_SHIFT },
    { name: "C2H data write failure", dir: "C2H", descs: [[0x1000, { length: 64, src: 0, dst: 1 << 20 }]], status: 1 << S.WRITE_ERROR_SHIFT },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dir = c.dir ?? "H2C";
      const { dev, host, eng, putDesc, run, mem, w32 } = setup({}, c.host);
      for (const [addr, d] of c.descs) putDesc(addr, d);
      dev.card.fill(0xaa, 0, 64);
      if (!c.host) w32(ENG[dir] + R.WB_LO, 0x9000); // with bus mastering off the write-back would fail too
      run(dir, c.first ?? 0x1000);
      const events = host.clock.runAll(100);
      expect(events).toBeLessThan(10);
      expect(eng(dir, R.STATUS)).toBe(c.status);
      expect(eng(dir, R.COUNT)).toBe(c.count ?? 0);
      expect(dev.engineBusy(dir)).toBe(false);
      expect(host.irqs.map((i) => [i.vector, i.level])).toEqual([[0, true]]);
      expect(host.guestErrors.length).toBeGreaterThan(0);
      if (c.count === undefined && dir === "H2C") expect(dev.card[0]).toBe(0xaa); // no data moved
      if (!c.host) expect(mem.read32(0x9000)).toBe((0x80000000 | (c.count ?? 0)) >>> 0);
    });
  }

  it("maps an IOMMU fault to the completer-abort bit of the descriptor error field", () => {
    const { host, eng, putDesc, run } = setup();
    putDesc(0x1000, { length: 64, src: 0x10000, dst: 0 });
    vi.spyOn(host.ctx.dma, "read").mockReturnValue(3); // DmaStatus.IOMMU_FAULT
    run("H2C", 0x1000);
    host.clock.runAll();
    expect(eng("H2C", R.STATUS)).toBe(1 << (S.DESC_ERROR_SHIFT + 1));
  });

  it("stops a looping descriptor chain after the per-run limit instead of running forever", () => {
    const { dev, host, eng, putDesc, run } = setup();
    putDesc(0x1000, { control: descControl({ completed: true }), length: 32, src: 0x10000, dst: 0, next: 0x1020 });
    putDesc(0x1020, { control: descControl(), length: 32, src: 0x10000, dst: 32, next: 0x1000 });
    run("H2C", 0x1000);
    const events = host.clock.runAll(100_000);
    expect(host.clock.pending).toBe(0);
    expect(events).toBeLessThan(20_000);
    expect(dev.engineBusy("H2C")).toBe(false);
    expect(eng("H2C", R.COUNT)).toBe(1 << 20);
    expect(eng("H2C", R.STATUS)).toBe(S.DESC_COMPLETED | (1 << S.DESC_ERROR_SHIFT));
    expect(host.guestErrors.some((m) => m.includes("looping"))).toBe(true);
  });

  it("honours a smaller per-run limit option", () => {
    const { host, eng, putDesc, run } = setup({ maxDescriptorsPerRun: 10 });
    putDesc(0x1000, { control: descControl(), length: 32, src: 0x10000, dst: 0, next: 0x1000 });
    run("H2C", 0x1000);
    host.clock.runAll(1000);
    expect(eng("H2C", R.COUNT)).toBe(10);
    expect(eng("H2C", R.STATUS)).toBe(1 << S.DESC_ERROR_SHIFT);
  });
});

describe("sgdma: randomized register and descriptor traffic", () => {
  it("never throws and always drains its clock events", () => {
    let x = 0x2545f491;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const { dev, host, mem, putDesc } = setup({ cardMemorySize: 64 << 10, maxDescriptorsPerRun: 4096 }, { ramSize: 256 << 10, seed: 9 });
    const dmaCalls = vi.spyOn(host.ctx.dma, "read");
    const offsets = sgdmaRegisters.names.map((n) => (sgdmaRegisters.defs as RegisterDefs)[n]!.offset);
    const sizes = [1, 2, 4, 4, 4, 8] as const;
    for (let i = 0; i < 64 << 10; i += 4) mem.write32(i, rnd(2 ** 32));
    // Many plausible descriptors over the random bytes, so that chains actually run.
    for (let i = 0; i < 1024; i++) putDesc(rnd(2048) * 32, { control: descControl({ stop: rnd(4) === 0 }), length: 1 + rnd(4096), src: rnd(200 << 10), dst: rnd(60 << 10), next: rnd(2048) * 32 });
    for (let step = 0; step < 5000; step++) {
      const op = rnd(10);
      if (op < 4) {
        const off = rnd(8) === 0 ? rnd(0x10000) : offsets[rnd(offsets.length)]!;
        const value = rnd(3) === 0 ? C.RUN | rnd(2 ** 32) : rnd(2 ** 32);
        host.write(0, off, sizes[rnd(sizes.length)]!, value);
      } else if (op < 6) {
        host.read(0, rnd(8) === 0 ? rnd(0x10000) : offsets[rnd(offsets.length)]!, sizes[rnd(sizes.length)]!);
      } else if (op < 7) {
        // A plausible descriptor with random fields somewhere in the first 64 KiB of RAM.
        const addr = rnd(2048) * 32;
        putDesc(addr, {
          control: descControl({ stop: rnd(3) === 0, completed: rnd(2) === 0, adjacent: rnd(8) === 0 ? rnd(64) : 0 }) ^ (rnd(8) === 0 ? 1 << rnd(32) : 0),
          length: rnd(8) === 0 ? rnd(2 ** 28 + 8) : 1 + rnd(8192),
          src: rnd(8) === 0 ? rnd(2 ** 32) : rnd(200 << 10),
          dst: rnd(8) === 0 ? rnd(2 ** 32) : rnd(60 << 10),
          next: rnd(6) === 0 ? 0 : rnd(2048) * 32 + (rnd(10) === 0 ? 4 : 0),
        });
      } else if (op < 8) {
        const dir = rnd(2) ? "H2C" : "C2H";
        host.write(0, SG[dir] + 0x80, 4, rnd(2048) * 32 + (rnd(16) === 0 ? 8 : 0));
        host.write(0, SG[dir] + 0x84, 4, rnd(16) === 0 ? 1 : 0);
        host.write(0, SG[dir] + 0x88, 4, rnd(4));
        host.write(0, ENG[dir] + R.WB_LO, 4, rnd(2) ? 0 : 0x3f000 + rnd(64) * 4);
        host.write(0, ENG[dir] + R.WB_HI, 4, 0);
        host.write(0, ENG[dir] + R.W1C, 4, C.RUN);
        host.write(0, ENG[dir] + R.W1S, 4, C.RUN | rnd(2 ** 32));
      } else if (op < 9) {
        host.clock.advance(rnd(200_000));
      } else {
        host.busMaster = rnd(8) !== 0;
        host.msiVectors = [0, 1, 2, 8][rnd(4)]!;
      }
    }
    const events = host.clock.runAll(1_000_000);
    expect(host.clock.pending).toBe(0);
    expect(events).toBeLessThan(2 * 4096 + 10);
    expect(dev.engineBusy("H2C")).toBe(false);
    expect(dev.engineBusy("C2H")).toBe(false);
    expect(dmaCalls.mock.calls.length).toBeGreaterThan(100); // the engines really ran
    expect(host.guestErrors.length).toBeGreaterThan(100);
    expect(dev.card.some((b) => b !== 0)).toBe(true); // data reached the card
  });
});
