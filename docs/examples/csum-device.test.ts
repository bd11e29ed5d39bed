/**
 * Guide sample (docs/writing-a-device.md): spec tests of the csum device model. The register
 * block is tested on its own; the DMA engine is driven from a bare "spec" driver that only
 * enables the device and hands its kernel facade to the test.
 */
import { describe, expect, it } from "vitest";
import {
  DMA_BIT_MASK, DmaStatus, GFP_KERNEL, addrAdd, type IoMem, type Kernel, type PciDev, type PciDriver,
} from "vdtb/sdk";
import { Testbench, TraceKind } from "vdtb/testbench";
import "vdtb/vitest";
import { Csum, csum } from "./csum-device.js";

describe("csum registers", () => {
  it("applies the access modes: ro, w1c, wo, rc and bad sizes", () => {
    const { regs } = new Csum();
    expect(regs.guestRead(0x00, 4)).toBe(0x4353554d); // ID
    regs.guestWrite(0x00, 4, 0);
    expect(regs.guestRead(0x00, 4)).toBe(0x4353554d); // ro: the write was ignored
    regs.setBits("STATUS", 0b11); // device side: DONE and ERR
    regs.guestWrite(0x08, 4, 0b01); // guest writes 1 to DONE
    expect(regs.guestRead(0x08, 4)).toBe(0b10); // w1c: only DONE cleared
    regs.set("DEBUG", 3);
    expect(regs.guestRead(0x28, 1)).toBe(3);
    expect(regs.guestRead(0x28, 1)).toBe(0); // rc: cleared by the read
    expect(regs.guestRead(0x18, 4)).toBe(0); // wo: reads as 0
    expect(regs.guestRead(0x04, 2)).toBe(-2); // GuestAccess.BAD_SIZE: CTRL is 32-bit only
    expect(regs.guestRead(0x80, 4)).toBe(-1); // GuestAccess.UNMAPPED
  });
});

/** A driver that enables the device and gives the test its facade, BAR and pci_dev. */
function specDriver(got: { k?: Kernel; pdev?: PciDev; regs?: IoMem }): PciDriver {
  return {
    name: "csum-spec",
    bus: "pci",
    idTable: [{ vendor: 0x1234, device: 0xc5c5 }],
    probe(k, pdev) {
      const err = k.pcim_enable_device(pdev) || k.pcim_iomap_regions(pdev, 1, "csum-spec");
      if (err) return err;
      Object.assign(got, { k, pdev, regs: k.pcim_iomap_table(pdev)[0]! });
      return 0;
    },
    remove() {},
  };
}

describe("csum DMA engine", () => {
  it("sums a coherent buffer, refuses DMA without bus mastering, flags a bad length", async () => {
    const got: { k?: Kernel; pdev?: PciDev; regs?: IoMem } = {};
    const tb = await Testbench.boot({ board: "arm", devices: [csum()], drivers: [specDriver(got)] });
    const { k, pdev, regs } = got as Required<typeof got>;
    const reg = (off: number) => addrAdd(regs, off);
    const run = (bus: number, len: number) => {
      k.writel(bus, reg(0x0c));
      k.writel(0, reg(0x10));
      k.writel(len, reg(0x14));
      k.writel(1, reg(0x18));
      tb.soc.clock.advance(1_000_000); // 1 ms of simulated time: the scheduled completion runs
      return { status: k.readl(reg(0x08)), sum: k.readl(reg(0x1c)), dma: k.readl(reg(0x20)) };
    };

    expect(k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(32))).toBe(0);
    const buf = k.dma_alloc_coherent(pdev, 256, GFP_KERNEL)!;
    for (let i = 0; i < 256; i++) k.mem.write8(addrAdd(buf.cpu, i), i);

    // Bus mastering is off: the DMA port refuses, the device latches the status and sets ERR.
    expect(run(buf.handle, 256)).toEqual({ status: 0b10, sum: 0, dma: DmaStatus.BUS_MASTER_DISABLED });
    k.writel(0b11, reg(0x08));

    k.pci_set_master(pdev);
    expect(run(buf.handle, 256)).toEqual({ status: 0b01, sum: 255 * 128, dma: DmaStatus.OK });
    k.writel(0b11, reg(0x08));

    expect(run(buf.handle, 0).status).toBe(0b10);
    const errors = tb.soc.trace.snapshot(TraceKind.GuestError).map((r) => r.name);
    expect(errors).toContain("0000:00:01.0: LEN 0 out of range 1..65536");

    k.dma_free_coherent(pdev, 256, buf.cpu, buf.handle);
    await tb.unbindAll();
    // A guest error raised while the CPU accesses a register is also reported against the caller.
    expect(tb).toHaveReported("mmio", /DOORBELL\) refused by the device: .*LEN 0 out of range/);
    expect(tb.reports()).toHaveLength(1);
    await tb.dispose();
  });
});
