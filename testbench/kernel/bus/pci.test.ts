import { describe, expect, it } from "vitest";
import {
  defineRegisters,
  dmaAddr,
  DmaStatus,
  IORESOURCE_IO,
  IORESOURCE_MEM,
  IORESOURCE_MEM_64,
  IORESOURCE_PREFETCH,
  PCI_IRQ_ALL_TYPES,
  PCI_IRQ_MSI,
  PCI_IRQ_MSIX,
  RegisterFile,
} from "../../../sdk/index.js";
import type { DeviceContext, DeviceDecl, PciDev, VirtualDevice } from "../../../sdk/index.js";
import { TraceKind } from "../../soc/trace.js";
import { bootDrivers } from "../driver/test-kit.js";
import { PCI } from "./pci-function.js";

const regs = defineRegisters(
  "tdev",
  {
    ID: { offset: 0x0, width: 32, mode: "ro", reset: 0x7e57 },
    CTRL: { offset: 0x4, width: 32 },
    STATUS: { offset: 0x8, width: 32, mode: "w1c" },
  },
  { size: 0x1000 },
);

/** A test PCI function: registers in BAR0, 1 MiB of 64-bit prefetchable RAM in BAR2, ports in BAR4. */
class TestPci implements VirtualDevice {
  readonly model = "tpci";
  readonly file = new RegisterFile(regs);
  readonly vram = new Uint8Array(1 << 20);
  ctx!: DeviceContext;
  constructor(private readonly opts: { msix?: number; io?: boolean } = {}) {}
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x5678, revision: 3, classCode: 0x058000, subsystemVendor: 0x1af4, subsystemDevice: 0x1100 },
      bars: [
        { index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.file } },
        { index: 2, size: 1 << 20, space: "mem", is64: true, prefetchable: true, impl: { kind: "ram", backing: this.vram } },
        ...(this.opts.io ? [{ index: 4 as const, size: 32, space: "io" as const, impl: { kind: "registers" as const, file: new RegisterFile(defineRegisters("tio", { P: { offset: 0, width: 8 } }, { size: 32 })) } }] : []),
      ],
      msi: { vectors: 4, is64: true, perVectorMask: true },
      ...(this.opts.msix ? { msix: { vectors: this.opts.msix } } : {}),
      intxPin: 1,
    };
  }
  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
  }
  reset(): void {
    this.file.reset();
  }
}

async function boot(opts: { msix?: number; io?: boolean } = {}, board = "pc") {
  const dev = new TestPci(opts);
  const b = await bootDrivers({ board, devices: [dev] });
  const pdev = b.dc.devices().find((d) => d.dev.bus === "pci")!.dev as PciDev;
  return { ...b, dev, pdev, k: b.k({ driver: "tdrv", device: pdev.name }) };
}

describe("PCI enumeration and config space", () => {
  it("puts the device in slot 1 behind the host bridge, with the ids a driver reads", async () => {
    const { k, pdev, pci } = await boot();
    expect(pdev.name).toBe("0000:00:01.0");
    expect(pdev.devfn).toBe(8);
    expect(k.pci_read_config_word(pdev, PCI.VENDOR_ID)).toBe(0x1234);
    expect(k.pci_read_config_word(pdev, PCI.DEVICE_ID)).toBe(0x5678);
    expect(k.pci_read_config_dword(pdev, 0x08)).toBe(0x05800003);
    expect(k.pci_read_config_word(pdev, PCI.SUBSYSTEM_VENDOR_ID)).toBe(0x1af4);
    expect(k.pci_read_config_word(pdev, PCI.SUBSYSTEM_ID)).toBe(0x1100);
    expect(k.pci_read_config_byte(pdev, PCI.HEADER_TYPE)).toBe(0);
    expect(k.pci_read_config_word(pdev, PCI.STATUS) & PCI.STATUS_CAP_LIST).toBe(PCI.STATUS_CAP_LIST);
    expect(k.pci_read_config_byte(pdev, PCI.INTERRUPT_PIN)).toBe(1);
    expect(k.pci_read_config_byte(pdev, PCI.INTERRUPT_LINE)).toBe(17); // 16 + (slot 1 + INTA - 1) mod 4
    expect(pdev.irq).toBe(k.pci_irq_vector(pdev, 0));
    // The host bridge answers at 00.0; empty slots read all ones.
    expect(pci.configRead(0, 0, 4)).toBe(0x12378086);
    expect(pci.configRead(2 << 3, 0, 4)).toBe(0xffffffff);
  });

  it("assigns naturally aligned BARs in the PCI window and sizes them the standard way", async () => {
    const { k, pdev, tb } = await boot();
    const win = tb.board.pciWindow;
    const bar0 = k.pci_resource_start(pdev, 0);
    const bar2 = k.pci_resource_start(pdev, 2);
    expect(k.pci_resource_len(pdev, 0)).toBe(0x1000);
    expect(k.pci_resource_len(pdev, 2)).toBe(1 << 20);
    for (const [start, len] of [[bar0, 0x1000], [bar2, 1 << 20]] as const) {
      expect(start % len).toBe(0);
      expect(start).toBeGreaterThanOrEqual(win.base);
      expect(start + len).toBeLessThanOrEqual(win.base + win.size);
    }
    expect(k.pci_resource_flags(pdev, 0)).toBe(IORESOURCE_MEM);
    expect(k.pci_resource_flags(pdev, 2)).toBe(IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64);
    expect(k.pci_read_config_dword(pdev, 0x10)).toBe(bar0);
    expect(k.pci_read_config_dword(pdev, 0x18)).toBe(bar2 + 0xc); // 64-bit, prefetchable

    // Sizing: write all ones, read back the size mask (flags kept), restore.
    k.pci_write_config_dword(pdev, 0x10, 0xffffffff);
    expect(k.pci_read_config_dword(pdev, 0x10)).toBe(0xfffff000);
    k.pci_write_config_dword(pdev, 0x10, bar0);
    k.pci_write_config_dword(pdev, 0x18, 0xffffffff);
    k.pci_write_config_dword(pdev, 0x1c, 0xffffffff);
    expect(k.pci_read_config_dword(pdev, 0x18)).toBe(0xfff0000c);
    expect(k.pci_read_config_dword(pdev, 0x1c)).toBe(0xffffffff);
    expect(~(0xfff0000c & ~0xf) + 1).toBe(1 << 20); // size = ~(mask) + 1
    // Unimplemented BARs read zero and ignore writes.
    k.pci_write_config_dword(pdev, 0x14, 0xffffffff);
    expect(k.pci_read_config_dword(pdev, 0x14)).toBe(0);
    // Read-only identity.
    k.pci_write_config_word(pdev, PCI.VENDOR_ID, 0xdead);
    expect(k.pci_read_config_word(pdev, PCI.VENDOR_ID)).toBe(0x1234);
  });

  it("assigns I/O BARs from 0xc000 on pc", async () => {
    const { k, pdev } = await boot({ io: true });
    expect(k.pci_resource_start(pdev, 4)).toBe(0xc000);
    expect(k.pci_resource_flags(pdev, 4)).toBe(IORESOURCE_IO);
    expect(k.pci_read_config_dword(pdev, 0x20)).toBe(0xc001);
    k.pci_write_config_dword(pdev, 0x20, 0xffffffff);
    expect(k.pci_read_config_dword(pdev, 0x20)).toBe(0xffffffe1);
  });

  it("walks the capability list to MSI and MSI-X", async () => {
    const { k, pdev } = await boot({ msix: 8 });
    const msi = k.pci_find_capability(pdev, PCI.CAP_ID_MSI);
    const msix = k.pci_find_capability(pdev, PCI.CAP_ID_MSIX);
    expect(msi).toBe(0x40);
    expect(msix).toBeGreaterThan(msi);
    expect(k.pci_find_capability(pdev, 0x10)).toBe(0);
    // MSI: 4 vectors capable (MMC = 2), 64-bit, per-vector masking.
    expect(k.pci_read_config_word(pdev, msi + 2)).toBe((2 << 1) | 0x80 | 0x100);
    // MSI-X: table size 8, table in a BAR the testbench added (BAR1: the first free one).
    expect(k.pci_read_config_word(pdev, msix + 2) & 0x7ff).toBe(7);
    expect(k.pci_read_config_dword(pdev, msix + 4) & 7).toBe(1);
    expect(k.pci_resource_len(pdev, 1)).toBe(4096);
  });
});

describe("command register gating", () => {
  it("decodes BARs only once memory decoding is on (pci_enable_device)", async () => {
    const { k, pdev, tb, dev } = await boot();
    const bus = tb.soc.bus;
    const bar0 = k.pci_resource_start(pdev, 0);
    const bar2 = k.pci_resource_start(pdev, 2);
    const errs = bus.guestErrors;
    expect(bus.read(bar0, 4)).toBe(0xffffffff);
    expect(bus.guestErrors).toBe(errs + 1);
    expect(k.pci_enable_device(pdev)).toBe(0);
    expect(k.pci_read_config_word(pdev, PCI.COMMAND) & PCI.COMMAND_MEMORY).toBe(PCI.COMMAND_MEMORY);
    expect(bus.read(bar0, 4)).toBe(0x7e57);
    dev.vram[16] = 0xab;
    expect(bus.read(bar2 + 16, 1)).toBe(0xab);
    // Moving a BAR while decoding moves the region.
    const moved = bar0 + 0x100000 * 16;
    k.pci_write_config_dword(pdev, 0x10, moved);
    expect(bus.read(moved, 4)).toBe(0x7e57);
    k.pci_write_config_dword(pdev, 0x10, bar0);
    // Turning memory decoding off takes the BARs off the bus again.
    k.pci_write_config_word(pdev, PCI.COMMAND, 0);
    expect(bus.read(bar0, 4)).toBe(0xffffffff);
  });

  it("gates device DMA on the bus-master bit", async () => {
    const { k, pdev, dev } = await boot();
    const buf = new Uint8Array(16);
    expect(dev.ctx.pci!.busMasterEnabled()).toBe(false);
    expect(dev.ctx.dma.read(dmaAddr(0x100000), buf)).toBe(DmaStatus.BUS_MASTER_DISABLED);
    k.pci_enable_device(pdev);
    expect(dev.ctx.dma.read(dmaAddr(0x100000), buf)).toBe(DmaStatus.BUS_MASTER_DISABLED);
    k.pci_set_master(pdev);
    expect(dev.ctx.pci!.busMasterEnabled()).toBe(true);
    expect(dev.ctx.dma.write(dmaAddr(0x100000), Uint8Array.of(1, 2, 3))).toBe(DmaStatus.OK);
    expect(dev.ctx.dma.read(dmaAddr(0x100000), buf)).toBe(DmaStatus.OK);
    expect([...buf.subarray(0, 3)]).toEqual([1, 2, 3]);
    // DMA to MMIO is a master abort.
    expect(dev.ctx.dma.read(dmaAddr(k.pci_resource_start(pdev, 0)), buf)).toBe(DmaStatus.MASTER_ABORT);
    k.pci_clear_master(pdev);
    expect(dev.ctx.dma.read(dmaAddr(0x100000), buf)).toBe(DmaStatus.BUS_MASTER_DISABLED);
  });
});

describe("interrupts", () => {
  it("INTx is a level line; MSI replaces it with messages, honouring per-vector masks", async () => {
    const { k, pdev, dev, tb } = await boot();
    const ic = tb.soc.irq;
    const line = k.pci_read_config_byte(pdev, PCI.INTERRUPT_LINE);
    dev.ctx.irq.raise();
    expect(ic.isPending(line)).toBe(true);
    expect(k.pci_read_config_word(pdev, PCI.STATUS) & PCI.STATUS_INTERRUPT).toBe(PCI.STATUS_INTERRUPT);
    // INTx disable holds the line low while the device keeps asserting.
    k.pci_write_config_word(pdev, PCI.COMMAND, PCI.COMMAND_INTX_DISABLE);
    expect(ic.isPending(line)).toBe(false);
    k.pci_write_config_word(pdev, PCI.COMMAND, 0);
    expect(ic.isPending(line)).toBe(true);
    dev.ctx.irq.lower();
    expect(ic.isPending(line)).toBe(false);

    expect(k.pci_alloc_irq_vectors(pdev, 1, 4, PCI_IRQ_MSI)).toBe(4);
    expect(dev.ctx.pci!.msiEnabled()).toBe(true);
    expect(dev.ctx.pci!.msiVectors()).toBe(4);
    const irqs = [0, 1, 2, 3].map((i) => k.pci_irq_vector(pdev, i));
    expect(new Set(irqs).size).toBe(4);
    expect(pdev.irq).toBe(irqs[0]);
    expect(k.pci_irq_vector(pdev, 4)).toBeLessThan(0);
    const msis = () => tb.soc.trace.snapshot(TraceKind.Msi);
    const base = k.pci_read_config_word(pdev, 0x40 + 0x0c);
    dev.ctx.irq.raise(2);
    expect(msis().at(-1)!.value).toBe(base | 2);
    expect(msis().at(-1)!.addr).toBe(0xfee00000);
    // Mask vector 2: the raise sets the pending bit; unmasking delivers it.
    const n = msis().length;
    k.pci_write_config_dword(pdev, 0x40 + 0x10, 1 << 2);
    dev.ctx.irq.raise(2);
    expect(msis()).toHaveLength(n);
    expect(k.pci_read_config_dword(pdev, 0x40 + 0x14)).toBe(1 << 2);
    k.pci_write_config_dword(pdev, 0x40 + 0x10, 0);
    expect(msis()).toHaveLength(n + 1);
    expect(k.pci_read_config_dword(pdev, 0x40 + 0x14)).toBe(0);
    // INTx stays quiet while MSI is on.
    expect(ic.isPending(line)).toBe(false);
    k.pci_free_irq_vectors(pdev);
    expect(dev.ctx.pci!.msiEnabled()).toBe(false);
    expect(pdev.irq).toBe(k.pci_irq_vector(pdev, 0));
  });

  it("prefers MSI-X when allowed, with table entries the device uses", async () => {
    const { k, pdev, dev, tb } = await boot({ msix: 8 });
    expect(k.pci_alloc_irq_vectors(pdev, 2, 8, PCI_IRQ_ALL_TYPES)).toBe(8);
    expect(dev.ctx.pci!.msiVectors()).toBe(8);
    dev.ctx.irq.raise(5);
    const m = tb.soc.trace.snapshot(TraceKind.Msi).at(-1)!;
    expect(m.value).not.toBe(0);
    k.pci_free_irq_vectors(pdev);
    expect(k.pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX | PCI_IRQ_MSI)).toBe(2);
  });
});
