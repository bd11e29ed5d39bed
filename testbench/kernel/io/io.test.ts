import { describe, expect, it } from "vitest";
import { addrAdd, defineRegisters, ETIMEDOUT, ioMem, ioPort, RegisterFile } from "../../../sdk/index.js";
import type { DeviceContext, DeviceDecl, IoMem, PciDev, VirtualDevice } from "../../../sdk/index.js";
import { TraceKind } from "../../soc/trace.js";
import { bootDrivers } from "../driver/test-kit.js";
import { KernelOops } from "../oops.js";
import { ORDERING, SCHEDULER } from "../tokens.js";

const regs = defineRegisters(
  "iodev",
  {
    ID: { offset: 0x0, width: 32, mode: "ro", reset: 0x10de },
    CTRL: { offset: 0x4, width: 32 },
    STATUS: { offset: 0x8, width: 32, mode: "ro" },
    BYTE: { offset: 0xc, width: 8 },
    WIDE: { offset: 0x10, width: 32, access: [1, 2, 4] },
  },
  { size: 0x1000 },
);

class IoDev implements VirtualDevice {
  readonly model = "iodev";
  readonly file = new RegisterFile(regs);
  ctx!: DeviceContext;
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x1001, revision: 0, classCode: 0xff0000 },
      bars: [{ index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.file } }],
    };
  }
  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
  }
  reset(): void {}
}

const portRegs = defineRegisters("pio", { DATA: { offset: 0, width: 8 }, CMD: { offset: 1, width: 8 }, W: { offset: 2, width: 16 } }, { size: 8 });

class PortDev implements VirtualDevice {
  readonly model = "piodev";
  readonly file = new RegisterFile(portRegs);
  describe(): DeviceDecl {
    return { bus: "isa", isaId: "piodev", ports: [{ base: 0x300, size: 8, name: "piodev", impl: { kind: "registers", file: this.file } }], irqs: [5], dmaChannels: [] };
  }
  attach(): void {}
  reset(): void {}
}

async function mapped() {
  const dev = new IoDev();
  const b = await bootDrivers({ devices: [dev] });
  const pdev = b.dc.devices().find((d) => d.dev.bus === "pci")!.dev as PciDev;
  const k = b.k({ driver: "iodrv", device: pdev.name });
  k.pci_enable_device(pdev);
  k.pci_request_regions(pdev, "iodrv");
  const base = k.pci_iomap(pdev, 0, 0)!;
  const at = (off: number): IoMem => (base + off) as IoMem;
  return { ...b, dev, pdev, k, base, at };
}

describe("MMIO accessors", () => {
  it("reach the device's registers through the MMU, named in the trace", async () => {
    const { k, at, tb, dev, pdev } = await mapped();
    expect(k.readl(at(0))).toBe(0x10de);
    k.writel(0xcafe, at(4));
    expect(dev.file.get("CTRL")).toBe(0xcafe);
    k.writeb(0x5a, at(0xc));
    expect(k.readb(at(0xc))).toBe(0x5a);
    k.writew(0x1234, at(0x10));
    expect(k.readw(at(0x10))).toBe(0x1234);
    expect(k.ioread32(at(4))).toBe(0xcafe);
    const names = tb.soc.trace
      .snapshot()
      .filter((r) => (r.kind === TraceKind.MmioRead || r.kind === TraceKind.MmioWrite) && r.name?.includes("BAR0"))
      .map((r) => r.name);
    expect(names.slice(0, 3)).toEqual(["0000:00:01.0 BAR0.ID", "0000:00:01.0 BAR0.CTRL", "0000:00:01.0 BAR0.BYTE"]);
    const w = tb.soc.trace.snapshot(TraceKind.MmioWrite).find((x) => x.name?.includes("BAR0"))!;
    expect(w.addr).toBe(k.pci_resource_start(pdev, 0) + 4);
    expect(w.value).toBe(0xcafe);
    expect(tb.reports()).toEqual([]);
  });

  it("keeps the offset inside the page and maps uncached or write-combining", async () => {
    const { k, pdev } = await mapped();
    const start = k.pci_resource_start(pdev, 0);
    const p = k.ioremap(addrAdd(start, 0x8), 8)!;
    expect(((p % 4096) + 4096) % 4096).toBe(8);
    expect(k.readl(p)).toBe(0);
    const wc = k.ioremap_wc(start, 4096)!;
    expect(k.readl(wc)).toBe(0x10de);
    k.iounmap(p);
    k.iounmap(wc);
  });

  it("reports an access size the register does not allow, besides the guest error", async () => {
    const { k, at, tb } = await mapped();
    expect(k.readw(at(4))).toBe(0xffff);
    const r = tb.reports("mmio");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^vdtb: readw of 2 bytes at .* \(phys 0x[0-9a-f]+, 0000:00:01\.0 BAR0\.CTRL\) refused by the device: mem read: 0000:00:01\.0 BAR0\.CTRL: 2-byte read at offset 0x4 not allowed$/);
    expect(tb.soc.trace.snapshot(TraceKind.GuestError).length).toBeGreaterThan(0);
    // Reported once per place, not on every poll.
    k.readw(at(4));
    expect(tb.reports("mmio")).toHaveLength(1);
  });

  it("reports ioremap of a range nobody requested", async () => {
    const b = await bootDrivers({ devices: [new IoDev()] });
    const pdev = b.dc.devices().find((d) => d.dev.bus === "pci")!.dev as PciDev;
    const k = b.k({ driver: "sloppy", device: pdev.name });
    const p = k.ioremap(k.pci_resource_start(pdev, 0), 0x1000);
    expect(p).not.toBeNull();
    const r = b.tb.reports("mmio");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^vdtb: ioremap of \[mem 0xc0000000-0xc0000fff\] that sloppy did not request/);
    expect(r[0]!.stack?.[0]).toMatch(/io\.test\.ts/);
  });

  it("turns an MMIO access to an unmapped address into an oops, not a host exception", async () => {
    const { k, tb, base } = await mapped();
    expect(() => k.readl(ioMem(0x1000))).toThrow(KernelOops);
    k.iounmap(base);
    expect(() => k.writel(1, base)).toThrow(KernelOops);
    const r = tb.reports("oops");
    expect(r).toHaveLength(2);
    expect(r[0]!.title).toBe("BUG: unable to handle page fault for address: 0000000000001000");
    expect(r[1]!.title).toMatch(/^BUG: unable to handle page fault for address: ffffc9/);
    expect(r[1]!.stack?.[0]).toMatch(/io\.test\.ts/);
  });

  it("orders normal-memory writes before writel, not before writel_relaxed", async () => {
    const { k, at, tb } = await mapped();
    const ord = tb.container.resolve(ORDERING);
    const seen: string[] = [];
    ord.onBarrier((kind) => seen.push(kind));
    k.writel_relaxed(1, at(4));
    expect(seen).toEqual([]);
    k.writel(2, at(4));
    k.iowrite32(3, at(4));
    k.dma_wmb();
    k.mb();
    expect(seen).toEqual(["wmb", "wmb", "dma_wmb", "mb"]);
  });

  it("memcpy_toio / memcpy_fromio / memset_io move bytes through the registers", async () => {
    const { k, at, dev } = await mapped();
    const buf = k.kzalloc(16, 0x400 | 0x800)!;
    k.memset_io(at(4), 0xab, 4);
    expect(dev.file.get("CTRL")).toBe(0xabababab);
    k.memcpy_fromio(buf, at(0), 8);
    expect(k.mem.read32(buf)).toBe(0x10de);
    expect(k.mem.read32((buf + 4) as typeof buf)).toBe(0xabababab);
  });

  it("readl_poll_timeout sleeps on simulated time until the condition holds or times out", async () => {
    const { k, at, dev, tb } = await mapped();
    const sched = tb.container.resolve(SCHEDULER);
    dev.ctx.clock.schedule(50_000, () => dev.file.set("STATUS", 1));
    const t0 = tb.soc.clock.now;
    expect(await sched.run(() => k.readl_poll_timeout(at(8), (v) => (v & 1) !== 0, 10, 1000))).toBe(0);
    expect(tb.soc.clock.now - t0).toBeGreaterThanOrEqual(50_000);
    expect(tb.soc.clock.now - t0).toBeLessThan(70_000);
    expect(await sched.run(() => k.readl_poll_timeout(at(8), (v) => (v & 2) !== 0, 10, 100))).toBe(-ETIMEDOUT);
    dev.ctx.clock.schedule(5_000, () => dev.file.set("STATUS", 3));
    expect(k.readl_poll_timeout_atomic(at(8), (v) => (v & 2) !== 0, 1, 100)).toBe(0);
  });
});

describe("port I/O", () => {
  it("works on pc for requested ports and reports unrequested ones", async () => {
    const b = await bootDrivers({ devices: [new PortDev()] });
    const k = b.k({ driver: "piodrv", device: "piodev.0" });
    k.outb(0x42, ioPort(0x300));
    const r = b.tb.reports("mmio");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe("vdtb: port I/O to unrequested port 0x0300 (outb by piodrv; request_region first)");
    expect(k.request_region(ioPort(0x300), 8, "piodrv")).not.toBeNull();
    k.outb(0x17, ioPort(0x301));
    expect(k.inb(ioPort(0x301))).toBe(0x17);
    expect(k.inb(ioPort(0x300))).toBe(0x42);
    k.outw(0xbeef, ioPort(0x302));
    expect(k.inw(ioPort(0x302))).toBe(0xbeef);
    const names = b.tb.soc.trace.snapshot(TraceKind.PioWrite).map((x) => x.name);
    expect(names).toContain("piodev.0 piodev.CMD");
    expect(b.tb.reports("mmio")).toHaveLength(1);
  });

  it("is refused on arm (no port space): an oops, not a host exception", async () => {
    const b = await bootDrivers({ board: "arm" });
    const k = b.k({ driver: "armdrv" });
    expect(() => k.inb(ioPort(0x60))).toThrow(KernelOops);
    expect(b.tb.reports("oops")[0]!.title).toBe("BUG: inb(0x60) on a board without an I/O port space");
  });
});
