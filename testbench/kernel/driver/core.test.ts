import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { addrAdd, defineRegisters, EIO, GFP_KERNEL, IS_ERR, physAddr, RegisterFile } from "../../../sdk/index.js";
import type { DeviceContext, DeviceDecl, Kernel, PciDev, PciDriver, VirtualDevice } from "../../../sdk/index.js";
import { bootDrivers } from "./test-kit.js";

const regs = defineRegisters("cdev", { ID: { offset: 0, width: 32, mode: "ro", reset: 0xc0de }, CTRL: { offset: 4, width: 32 } }, { size: 0x1000 });

class CoreDev implements VirtualDevice {
  readonly model = "cdev";
  readonly file = new RegisterFile(regs);
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x4321, revision: 1, classCode: 0xff0000 },
      bars: [{ index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.file } }],
      intxPin: 1,
    };
  }
  attach(_ctx: DeviceContext): void {}
  reset(): void {}
}

function driver(name: string, probe: PciDriver["probe"], remove: PciDriver["remove"] = () => undefined): PciDriver {
  return { bus: "pci", name, idTable: [{ vendor: 0x1234, device: 0x4321 }], probe, remove };
}

/** Line numbers of marker comments in this file (what a leak report must point at). */
function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
  return lines.findIndex((l) => l.includes(marker) && !l.includes("lineOf(")) + 1;
}

describe("binding", () => {
  it("matches by id table and gives the driver a working facade", async () => {
    let seen = 0;
    const drv = driver("good", (k: Kernel, pdev: PciDev) => {
      if (k.pcim_enable_device(pdev)) return -EIO;
      const err = k.pcim_iomap_regions(pdev, 1, "good");
      if (err) return err;
      seen = k.readl(k.pcim_iomap_table(pdev)[0]!);
      k.pci_set_drvdata(pdev, { seen });
      k.dev_info(pdev, "bound");
      return 0;
    });
    const other = driver("other", () => 0);
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [drv, other] });
    expect(await b.dc.bind()).toBe(0);
    expect(seen).toBe(0xc0de);
    const binding = b.dc.bindingOf("0000:00:01.0")!;
    expect(binding.driver.name).toBe("good");
    expect(binding.k.pci_get_drvdata<{ seen: number }>(binding.device.dev as PciDev).seen).toBe(0xc0de);
    expect(b.tb.dmesg()).toContain("good 0000:00:01.0: bound");
    await b.dc.unbindAll();
    expect(b.dc.bindingOf("0000:00:01.0")).toBeUndefined();
    expect(b.tb.reports()).toEqual([]);
  });

  it("unwinds every devm resource of a failed probe, newest first", async () => {
    const order: string[] = [];
    const drv = driver("failing", (k: Kernel, pdev: PciDev) => {
      k.devm_add_action(pdev, () => order.push("first"), null);
      expect(k.pcim_enable_device(pdev)).toBe(0);
      expect(k.devm_kzalloc(pdev, 128, GFP_KERNEL)).not.toBeNull();
      k.devm_add_action(pdev, () => order.push("second"), null);
      const start = k.pci_resource_start(pdev, 0);
      expect(k.devm_request_mem_region(pdev, start, 0x1000, "failing")).not.toBeNull();
      expect(k.devm_ioremap(pdev, start, 0x1000)).not.toBeNull();
      k.devm_add_action(pdev, () => order.push("third"), null);
      return -EIO;
    });
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [drv] });
    expect(await b.dc.bind("0000:00:01.0")).toBe(-EIO);
    expect(order).toEqual(["third", "second", "first"]);
    expect(b.tb.core.ledger.outstanding("failing")).toEqual([]);
    expect(b.tb.reports()).toEqual([]);
    expect(b.tb.dmesg()).toContain("failing 0000:00:01.0: probe with driver failing failed with error -5");
    expect(b.resources.memRequested(b.pci.barResource(b.host.devices().find((d) => d.pci)!.pci!, 0)!.start, 0x1000)).toBe(false);
    expect(b.dc.bindingOf("0000:00:01.0")).toBeUndefined();
  });

  it("names the driver line that allocated what remove forgot (iounmap, kmalloc)", async () => {
    const drv = driver(
      "leaky",
      (k: Kernel, pdev: PciDev) => {
        k.pci_enable_device(pdev);
        if (k.pci_request_regions(pdev, "leaky")) return -EIO;
        const regs = k.pci_iomap(pdev, 0, 0); // LEAKY_IOMAP
        const buf = k.kmalloc(64, GFP_KERNEL); // LEAKY_KMALLOC
        k.pci_set_drvdata(pdev, { regs, buf });
        return 0;
      },
      (k: Kernel, pdev: PciDev) => {
        k.pci_release_regions(pdev);
        k.pci_disable_device(pdev);
      },
    );
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [drv] });
    expect(await b.dc.bind()).toBe(0);
    await b.dc.unbind("0000:00:01.0");
    const leaks = b.tb.reports("leak");
    expect(leaks).toHaveLength(1);
    const r = leaks[0]!;
    expect(r.driver).toBe("leaky");
    expect(r.title).toMatch(/^vdtb: driver leaky leaked 2 resources at unbind of 0000:00:01\.0/);
    expect(r.text).toContain(`core.test.ts:${lineOf("LEAKY_IOMAP")}:`);
    expect(r.text).toContain(`core.test.ts:${lineOf("LEAKY_KMALLOC")}:`);
    expect(r.text).toMatch(/vdtb: driver leaky leaked ioremap \[mem 0x[0-9a-f]{8}-0x[0-9a-f]{8}\] at [0-9a-f]+, mapped at:/);
    expect(r.text).toMatch(/unreferenced object 0x[0-9a-f]+ \(size 64\):\n.*\n  backtrace:/);
    // The testbench reclaimed both: the next bind starts clean.
    expect(b.tb.core.ledger.outstanding("leaky")).toEqual([]);
    expect(await b.dc.bind()).toBe(0);
    await b.dc.unbind();
    expect(b.tb.reports("leak")).toHaveLength(2);
  });

  it("with two devices bound to one driver, unbinding one reports only that device's leaks", async () => {
    // Each device leaks one buffer of its own size: 64 bytes for 01.0, 128 for 02.0.
    const drv = driver("leaky2", (k: Kernel, pdev: PciDev) => (k.kmalloc(pdev.name.endsWith("01.0") ? 64 : 128, GFP_KERNEL) ? 0 : -EIO));
    const b = await bootDrivers({ devices: [new CoreDev(), new CoreDev()], drivers: [drv] });
    expect(await b.dc.bind()).toBe(0);
    expect(b.dc.boundDevices()).toHaveLength(2);
    await b.dc.unbind("0000:00:01.0");
    let leaks = b.tb.reports("leak");
    expect(leaks.map((r) => r.title)).toEqual(["vdtb: driver leaky2 leaked 1 resource at unbind of 0000:00:01.0 (kmemleak: 1 new suspected memory leak)"]);
    expect(leaks[0]!.text).toMatch(/\(size 64\):/);
    expect(leaks[0]!.device).toBe("0000:00:01.0");
    // Not reclaimed while the driver still has a device: it may be state the driver shares.
    expect(b.tb.core.ledger.outstanding("leaky2").map((e) => e.device)).toEqual(["0000:00:01.0", "0000:00:02.0"]);
    await b.dc.unbind("0000:00:02.0");
    leaks = b.tb.reports("leak");
    expect(leaks.map((r) => r.title)).toEqual([leaks[0]!.title, "vdtb: driver leaky2 leaked 1 resource at unbind of 0000:00:02.0 (kmemleak: 1 new suspected memory leak)"]);
    expect(leaks[1]!.text).toMatch(/\(size 128\):/);
    expect(leaks[1]!.text).not.toMatch(/\(size 64\):/);
    expect(b.tb.core.ledger.outstanding("leaky2")).toEqual([]);
  });

  it("can bind and unbind repeatedly without leaving anything", async () => {
    let probes = 0;
    const drv = driver(
      "clean",
      (k: Kernel, pdev: PciDev) => {
        probes++;
        if (k.pci_enable_device(pdev)) return -EIO;
        if (k.pci_request_regions(pdev, "clean")) return -EIO;
        const regs = k.pci_iomap(pdev, 0, 0);
        if (!regs) return -EIO;
        const buf = k.devm_kmalloc(pdev, 256, GFP_KERNEL);
        if (!buf) return -EIO;
        k.writel(1, regs + 4 as typeof regs);
        k.pci_set_drvdata(pdev, regs);
        return 0;
      },
      (k: Kernel, pdev: PciDev) => {
        k.pci_iounmap(pdev, k.pci_get_drvdata(pdev));
        k.pci_release_regions(pdev);
        k.pci_disable_device(pdev);
      },
    );
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [drv] });
    const iomemBefore = [...b.resources.iomem.walk()].length;
    for (let i = 0; i < 5; i++) {
      expect(await b.dc.bind()).toBe(0);
      await b.dc.unbindAll();
      expect(b.tb.core.ledger.outstanding("clean")).toEqual([]);
      expect([...b.resources.iomem.walk()].length).toBe(iomemBefore);
    }
    expect(probes).toBe(5);
    expect(b.tb.reports()).toEqual([]);
  });

  it("reports an exception or BUG_ON in probe as an oops and a failed probe", async () => {
    const throwing = driver("throws", (k: Kernel, pdev: PciDev) => {
      k.devm_add_action(pdev, () => undefined, null);
      throw new TypeError("cannot read properties of undefined");
    });
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [throwing] });
    expect(await b.dc.bind()).toBeLessThan(0);
    const oops = b.tb.reports("oops");
    expect(oops).toHaveLength(1);
    expect(oops[0]!.title).toBe("vdtb: throws.probe threw TypeError: cannot read properties of undefined");
    expect(oops[0]!.stack?.[0]).toMatch(/core\.test\.ts/);

    const bug = driver("bugs", (k: Kernel) => {
      k.BUG_ON(true); // BUG_LINE
      return 0;
    });
    const b2 = await bootDrivers({ devices: [new CoreDev()], drivers: [bug] });
    expect(await b2.dc.bind()).toBeLessThan(0);
    const r = b2.tb.reports("oops");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(new RegExp(`^kernel BUG at .*core\\.test\\.ts:${lineOf("BUG_LINE")}:\\d+\\)?!$`));
  });

  it("reports a probe that returns something other than 0 or a negative errno", async () => {
    const b = await bootDrivers({ devices: [new CoreDev()], drivers: [driver("positive", () => 1)] });
    expect(await b.dc.bind()).toBeLessThan(0);
    expect(b.tb.reports("warn")[0]!.title).toBe("vdtb: positive: probe of 0000:00:01.0 returned 1; probe must return 0 or a negative errno");
  });
});

describe("regions", () => {
  it("fails a second request of the same range and reports releasing what is not held", async () => {
    const b = await bootDrivers({ devices: [new CoreDev()] });
    const pdev = b.dc.devices().find((d) => d.dev.bus === "pci")!.dev as PciDev;
    const k = b.k({ driver: "one", device: pdev.name });
    const k2 = b.k({ driver: "two", device: pdev.name });
    const start = k.pci_resource_start(pdev, 0);
    const r = k.request_mem_region(start, 0x100, "one");
    expect(r).not.toBeNull();
    expect(r!.start).toBe(start);
    expect(k2.request_mem_region(start, 0x100, "two")).toBeNull();
    expect(k2.request_mem_region(addrAdd(start, 0x80), 0x100, "two")).toBeNull();
    expect(k2.pci_request_regions(pdev, "two")).toBeLessThan(0);
    expect(b.tb.dmesg()).toContain(`two 0000:00:01.0: BAR 0: can't reserve [mem 0x${start.toString(16)}-0x${(start + 0xfff).toString(16)}]`);
    // A disjoint range inside the same BAR is fine.
    expect(k2.request_mem_region(addrAdd(start, 0x100), 0x100, "two")).not.toBeNull();
    k.release_mem_region(start, 0x100);
    expect(b.tb.reports()).toEqual([]);
    k.release_mem_region(start, 0x100);
    const rep = b.tb.reports("resource");
    expect(rep).toHaveLength(1);
    expect(rep[0]!.title).toBe(`Trying to free nonexistent resource <0x${start.toString(16).padStart(16, "0")}-0x${(start + 0xff).toString(16).padStart(16, "0")}>`);
  });

  it("devm_ioremap_resource requests and maps; a conflict is an ERR_PTR", async () => {
    const b = await bootDrivers({ devices: [new CoreDev()] });
    const h = b.dc.devices().find((d) => d.dev.bus === "pci")!;
    const k = b.k({ driver: "x", device: h.name });
    const res = b.pci.barResource(h.pci!, 0)!;
    expect(k.request_mem_region(physAddr(res.start), 16, "squatter")).not.toBeNull();
    const p = k.devm_ioremap_resource(h.dev, res);
    expect(IS_ERR(p)).toBe(true);
    k.release_mem_region(physAddr(res.start), 16);
    const q = k.devm_ioremap_resource(h.dev, res);
    expect(IS_ERR(q)).toBe(false);
    k.pci_enable_device(h.dev as PciDev);
    expect(k.readl(q)).toBe(0xc0de);
  });
});
