import { describe, expect, it } from "vitest";
import { defineRegisters, ioPort, RegisterFile } from "../../../sdk/index.js";
import type { DeviceDecl, PciDev, VirtualDevice } from "../../../sdk/index.js";
import { bootDrivers } from "../driver/test-kit.js";
import { procIomem } from "./iomem.js";
import { procIoports } from "./ioports.js";

const regs = defineRegisters("g", { ID: { offset: 0, width: 32, mode: "ro" } }, { size: 0x100 });

class GoldenPci implements VirtualDevice {
  readonly model = "gpci";
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x9999, revision: 0, classCode: 0xff0000 },
      bars: [
        { index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: new RegisterFile(regs) } },
        { index: 2, size: 0x100000, space: "mem", is64: true, prefetchable: true, impl: { kind: "ram", backing: new Uint8Array(0x100000) } },
      ],
    };
  }
  attach(): void {}
  reset(): void {}
}

class GoldenPlatform implements VirtualDevice {
  readonly model = "gplat";
  describe(): DeviceDecl {
    return { bus: "platform", compatible: ["vdtb,golden"], mmio: [{ base: 0x1c000000, size: 0x1000, name: "1c000000.golden", impl: { kind: "registers", file: new RegisterFile(regs) } }], irqs: [40] };
  }
  attach(): void {}
  reset(): void {}
}

class GoldenIsa implements VirtualDevice {
  readonly model = "gisa";
  describe(): DeviceDecl {
    return { bus: "isa", isaId: "gisa", ports: [{ base: 0x220, size: 0x10, name: "gisa", impl: { kind: "registers", file: new RegisterFile(defineRegisters("p", { D: { offset: 0, width: 8 } }, { size: 0x10 })) } }], irqs: [5], dmaChannels: [1] };
  }
  attach(): void {}
  reset(): void {}
}

describe("/proc/iomem and /proc/ioports", () => {
  it("pc: reserved page, System RAM, MMCONFIG, the PCI bus window with BARs and requests nested", async () => {
    // The board plugs its 8237 pair at boot, as a PC has one; no need to add it here.
    const b = await bootDrivers({ board: "pc", devices: [new GoldenPci(), new GoldenIsa()] });
    const pdev = b.dc.devices().find((d) => d.dev.bus === "pci")!.dev as PciDev;
    const k = b.k({ driver: "gdrv", device: pdev.name });
    expect(k.pci_request_region(pdev, 0, "gdrv")).toBe(0);
    expect(k.request_region(ioPort(0x220), 0x10, "gisa-drv")).not.toBeNull();
    expect(procIomem(b.resources)).toBe(
      [
        "00000000-00000fff : Reserved",
        "00001000-1fffffff : System RAM",
        "b0000000-b00fffff : PCI MMCONFIG 0000 [bus 00]",
        "c0000000-febfffff : PCI Bus 0000:00",
        "  c0000000-c00fffff : 0000:00:01.0",
        "  c0100000-c0100fff : 0000:00:01.0",
        "    c0100000-c0100fff : gdrv",
        "",
      ].join("\n"),
    );
    expect(procIoports(b.resources)).toBe(
      [
        "0000-0cf7 : PCI Bus 0000:00",
        "  0000-001f : dma1",
        "  0080-008f : dma page reg",
        "  00c0-00df : dma2",
        "  0220-022f : gisa",
        "    0220-022f : gisa-drv",
        "0cf8-0cff : PCI conf1",
        "0d00-ffff : PCI Bus 0000:00",
        "",
      ].join("\n"),
    );
    k.pci_release_region(pdev, 0);
    expect(procIomem(b.resources)).not.toContain("gdrv");
  });

  it("arm: RAM at 0x80000000, ECAM, platform windows, no ports", async () => {
    const b = await bootDrivers({ board: "arm", devices: [new GoldenPci(), new GoldenPlatform()] });
    const k = b.k({ driver: "gplat-drv", device: "gplat.0" });
    const plat = b.dc.devices()[1]!.dev;
    const res = k.platform_get_resource(plat as never, 0x200, 0)!;
    expect(res.start).toBe(0x1c000000);
    expect(k.platform_get_irq(plat as never, 0)).toBeGreaterThan(0);
    k.devm_platform_ioremap_resource(plat as never, 0);
    expect(procIomem(b.resources)).toBe(
      [
        "1c000000-1c000fff : 1c000000.golden",
        "  1c000000-1c000fff : gplat.0",
        "30000000-300fffff : PCI ECAM 0000 [bus 00]",
        "40000000-5fffffff : PCI Bus 0000:00",
        "  40000000-400fffff : 0000:00:01.0",
        "  40100000-40100fff : 0000:00:01.0",
        "80000000-9fffffff : System RAM",
        "",
      ].join("\n"),
    );
    expect(procIoports(b.resources)).toBe("");
  });
});
