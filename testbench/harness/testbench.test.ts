import { afterEach, describe, expect, it } from "vitest";
import { inject, injectable } from "../soc/di.js";
import { Testbench } from "./testbench.js";
import { Bus } from "../soc/bus.js";
import { DataCache } from "../soc/dcache.js";
import { SparseRam } from "../soc/ram.js";
import { TraceRing } from "../soc/trace.js";
import { BOARD, BUS, DCACHE, RAM, TRACE } from "../soc/tokens.js";
import type { BoardConfig } from "./board.js";
import { PteFlag } from "../soc/pagetable.js";

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

/** A jittered little workload: device writes and interrupts at seeded times, plus CPU traffic. */
async function workload(seed: number): Promise<string> {
  const t = await Testbench.boot({ board: "pc", seed });
  try {
    const { clock, rng, deviceMemory, irq, cpu, mmu, bus } = t.soc;
    let next = 0x1000000;
    const alloc = (): number => ((next += 4096), next - 4096);
    const root = mmu.createRoot(alloc);
    mmu.map(root, -0x778000000000, 0, 0x400000, PteFlag.Write | PteFlag.Huge, alloc);
    cpu.switchTo(root, 1);
    bus.addMmio("dev", 0xfe000000, 0x100, { read: (o) => o, write: () => undefined, registerName: () => "REG" });
    mmu.map(root, 0x10000, 0xfe000000, 0x1000, PteFlag.Write | PteFlag.MtUncached, alloc);
    irq.configure(4, "edge");
    irq.setDeliver(() => cpu.load32(0x10004));
    for (let i = 0; i < 20; i++) {
      clock.schedule(100 + rng.int(1000), () => {
        deviceMemory.write(0x100000 + i * 64, Uint8Array.of(i), 0x18);
        irq.pulse(4, 0x18);
      });
    }
    clock.runUntil(5000);
    cpu.store32(0x10008, 1);
    return t.soc.trace.hash();
  } finally {
    await t.dispose();
  }
}

describe("Testbench.boot", () => {
  it("boots the default board and exposes every SoC component", async () => {
    tb = await Testbench.boot();
    expect(tb.board.name).toBe("pc");
    for (const k of ["cpu", "bus", "ram", "mmu", "tlb", "dcache", "iommu", "irq", "clock", "rng", "trace", "deviceMemory"] as const) {
      expect(tb.soc[k]).toBeDefined();
    }
    // Only the kernel's own page tables are touched at boot.
    expect(tb.soc.ram.touchedPages).toBeGreaterThan(0);
    expect(tb.soc.ram.touchedPages).toBeLessThan(64);
    // The kernel adds its own regions (PCI ECAM, config ports, ...) after the RAM.
    expect(tb.memoryMap()).toMatch(/^pc \(x86_64\)\n00000000-1fffffff : System RAM \(ram\)\n/);
  });

  it("gives each testbench its own components", async () => {
    tb = await Testbench.boot({ board: "arm" });
    const other = await Testbench.boot({ board: "arm" });
    expect(other.soc.ram).not.toBe(tb.soc.ram);
    expect(other.soc.cpu).not.toBe(tb.soc.cpu);
    expect(tb.container.resolve(RAM)).toBe(tb.soc.ram);
    await other.dispose();
  });

  it("is deterministic: same seed, same trace hash; another seed jitters differently", async () => {
    const a = await workload(7);
    const b = await workload(7);
    const c = await workload(8);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it("lets the register hook replace a component (a faulty bus, a tiny cache)", async () => {
    @injectable()
    class FaultyBus extends Bus {
      constructor(@inject(BOARD) board: BoardConfig, @inject(RAM) ram: SparseRam, @inject(TRACE) trace: TraceRing) {
        super(board, ram, trace);
      }
      override read(pa: number, size: number, source?: number): number {
        return pa === 0x1000 ? 0xbad : super.read(pa, size, source);
      }
    }
    tb = await Testbench.boot({
      register: (c) => {
        c.register(BUS, { useClass: FaultyBus });
        c.register(DCACHE, { useFactory: (cc) => new DataCache({ ...cc.resolve(BOARD), dcache: { sets: 1, ways: 2, lineSize: 32 } }, cc.resolve(TRACE)) });
      },
    });
    expect(tb.soc.bus).toBeInstanceOf(FaultyBus);
    expect(tb.soc.bus.read(0x1000, 4)).toBe(0xbad);
    expect(tb.soc.bus.read(0x2000, 4)).toBe(0);
    expect([tb.soc.dcache.sets, tb.soc.dcache.ways, tb.soc.dcache.lineSize]).toEqual([1, 2, 32]);
    // The CPU was built against the replacements.
    expect(() => tb!.soc.cpu).not.toThrow();
  });

  it("boots a 4 GiB board sparsely", async () => {
    const GiB = 1024 ** 3;
    tb = await Testbench.boot({ board: "pc", overrides: { ram: [{ base: 0, size: 2 * GiB }, { base: 4 * GiB, size: 2 * GiB }] } });
    expect(tb.soc.ram.size).toBe(4 * GiB);
    // Boot touches a handful of page-table pages, not a footprint that grows with RAM.
    const small = await Testbench.boot({ board: "pc" });
    const atBoot = tb.soc.ram.touchedPages;
    expect(atBoot).toBeLessThan(small.soc.ram.touchedPages + 8);
    await small.dispose();
    tb.soc.ram.write32(4 * GiB + 0x123000, 1);
    expect(tb.soc.ram.touchedPages).toBe(atBoot + 1);
    expect(tb.memoryMap()).toMatch(/100000000-17fffffff : System RAM 1/);
  });

  it("dispose is idempotent", async () => {
    const t = await Testbench.boot();
    await t.dispose();
    await t.dispose();
  });
});
