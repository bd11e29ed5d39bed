/**
 * Device-level fault injection with the sgdma driver: each fault makes the syscall return the
 * errno the driver chooses (-EIO, -ETIMEDOUT), the next transfer works, and the testbench stays
 * clean; spurious interrupts are refused (IRQ_NONE) and counted; surprise removal mid-transfer
 * ends without a hang or host exception and the driver core unbinds the device.
 */
import { describe, expect, it } from "vitest";
import "../../vitest/index.js";
import { Sgdma, sgdma } from "../../../devices/sgdma/index.js";
import { sgdmaDriver, type SgdmaDriverOptions } from "../../../drivers/sgdma/index.js";
import { DMA_BIT_MASK, DMA_MODE_WRITE, GFP_KERNEL } from "../../../sdk/index.js";
import type { DeviceContext, PciDev, VirtualDevice } from "../../../sdk/index.js";
import type { I8237Device } from "../../../devices/i8237/index.js";
import { registerDriverCore } from "../driver/register.js";
import { ensureIsaDmaBoot } from "../isa-dma/test-boot.js";
import { Testbench } from "../../harness/testbench.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE } from "../process/uapi.js";
import { DEVICE_HOST, DRIVER_CORE, IRQS } from "../tokens.js";
import type { Process } from "../process/process.js";

const EIO = 5, ENODEV = 19, ETIMEDOUT = 110;
const SIZE = 8192;

async function boot(opts: SgdmaDriverOptions = {}, iommu = false) {
  const tb = await Testbench.boot({ board: "pc", seed: 3, overrides: { iommu }, devices: [sgdma()], drivers: [sgdmaDriver({ timeoutMs: 50, ...opts })] });
  const h = tb.container.resolve(DEVICE_HOST).devices().find((d) => d.model.model === "sgdma")!;
  const p = tb.spawn("xfer");
  const fd = await p.open("/dev/sgdma0", O_RDWR);
  expect(fd).toBeGreaterThan(0);
  const buf = (await p.mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as number;
  p.writeBytes(buf, new Uint8Array(SIZE).map((_, i) => (i * 7) & 0xff));
  const io = {
    write: async () => {
      await p.lseek(fd, 0, 0);
      return p.write(fd, buf, SIZE);
    },
    read: async () => {
      await p.lseek(fd, 0, 0);
      return p.read(fd, buf, SIZE);
    },
  };
  return { tb, h, dev: h.model as Sgdma, p, io };
}

async function finish(tb: Testbench, p: Process) {
  await p.exit();
  await tb.unbindAll();
  expect(tb).toBeClean();
  await tb.dispose();
}

describe("device faults (sgdma)", () => {
  it("dma-read-error: the write syscall fails with -EIO, no data moved; the next one works; clean", async () => {
    const { tb, h, dev, p, io } = await boot();
    tb.deviceFaults.inject({ device: h.name, kind: "dma-read-error", nth: 2 });
    expect(await io.write()).toBe(-EIO);
    expect(dev.card[1]).toBe(0); // the data read never happened
    expect(tb.deviceFaults.counters(h.name)).toMatchObject({ dmaReadErrors: 1, dmaWriteErrors: 0 });
    expect(tb.deviceFaults.injected).toEqual([expect.objectContaining({ device: h.name, kind: "dma-read-error", n: 2 })]);
    expect(await io.write()).toBe(SIZE);
    expect(dev.card[1]).toBe(7);
    await finish(tb, p);
  });

  it("dma-write-error: the read syscall (card to host) fails with -EIO", async () => {
    const { tb, h, p, io } = await boot();
    expect(await io.write()).toBe(SIZE);
    tb.deviceFaults.inject({ device: h.model, kind: "dma-write-error" });
    expect(await io.read()).toBe(-EIO);
    expect(tb.deviceFaults.counters(h.name).dmaWriteErrors).toBe(1);
    expect(await io.read()).toBe(SIZE);
    await finish(tb, p);
  });

  it("iommu-fault: logged like a real fault (requester, address, direction), -EIO, not a driver bug", async () => {
    const { tb, h, p, io } = await boot({}, true);
    tb.deviceFaults.inject({ device: h.name, kind: "iommu-fault", nth: 1 });
    expect(await io.write()).toBe(-EIO);
    const f = tb.soc.iommu.faults.at(-1)!;
    expect(f).toMatchObject({ requester: h.requester, direction: "read", cause: "injected" });
    expect(tb.dmesg()).toMatch(/DMAR: \[DMA Read NO_PASID\] Request device \[00:0\d\.0\] fault addr 0x[0-9a-f]+ \[fault reason 0x06\] PTE Read access is not set \(injected\)/);
    expect(tb.reports("iommu")).toEqual([]);
    expect(await io.write()).toBe(SIZE);
    await finish(tb, p);
  });

  for (const irq of ["msi", "intx"] as const) {
    it(`lost-irq (${irq}): the completion wait times out, -ETIMEDOUT; the next transfer works`, async () => {
      const { tb, h, p, io } = await boot({ irq });
      tb.deviceFaults.inject({ device: h.name, kind: "lost-irq" });
      const t0 = tb.core.now();
      expect(await io.write()).toBe(-ETIMEDOUT);
      expect(tb.core.now() - t0).toBeGreaterThanOrEqual(50e6);
      expect(tb.deviceFaults.counters(h.name)).toMatchObject({ lostIrqs: 1, irqsRaised: 1 });
      expect(await io.write()).toBe(SIZE);
      expect(tb.deviceFaults.counters(h.name).irqsRaised).toBe(2);
      await finish(tb, p);
    });
  }

  it("completion-timeout: the interrupt arrives after the driver gave up (-ETIMEDOUT); clean", async () => {
    const { tb, h, p, io } = await boot();
    tb.deviceFaults.inject({ device: h.name, kind: "completion-timeout", delayNs: 2e9 });
    expect(await io.write()).toBe(-ETIMEDOUT);
    expect(tb.deviceFaults.counters(h.name).delayedIrqs).toBe(1);
    expect(await io.write()).toBe(SIZE);
    await tb.facade({ driver: "test" }).msleep(3000); // the late interrupt comes and is refused
    await finish(tb, p);
  });

  for (const irq of ["msi", "intx"] as const) {
    it(`spurious-irq (${irq}): the handler returns IRQ_NONE; nobody-cared accounting applies`, async () => {
      const { tb, h, p, io } = await boot({ irq });
      const irqs = tb.container.resolve(IRQS);
      const irqNo = (h.dev as PciDev).irq;
      const desc = irqs.desc(irqNo)!;
      const before = desc.count;
      tb.deviceFaults.inject({ device: h.name, kind: "spurious-irq" });
      await tb.facade({ driver: "test" }).msleep(1);
      expect(desc.count).toBe(before + 1);
      expect(desc.unhandled).toBe(1);
      expect(tb.deviceFaults.counters(h.name).spuriousIrqs).toBe(1);
      expect(tb.reports()).toEqual([]);
      // Enough of them and Linux gives up on the line.
      irqs.nobodyCared.window = 3;
      irqs.nobodyCared.threshold = 3;
      desc.window = 0;
      desc.unhandled = 0;
      for (let i = 0; i < 3; i++) {
        tb.deviceFaults.inject({ device: h.name, kind: "spurious-irq" });
        await tb.facade({ driver: "test" }).msleep(1);
      }
      expect(tb.reports("irq").map((r) => r.title)).toEqual([`irq ${irqNo}: nobody cared (try booting with the "irqpoll" option)`]);
      tb.core.clearReports();
      await p.exit();
      void io;
      await tb.dispose();
    });
  }

  it("surprise removal mid-transfer: the syscall fails, no hang, the driver core unbinds the device; only leaks would be reported", async () => {
    const { tb, h, p, io } = await boot();
    tb.deviceFaults.inject({ device: h.name, kind: "surprise-removal", nth: 3 });
    // The 3rd DMA access (a data read) aborts; the driver's completion wait times out.
    expect(await io.write()).toBe(-ETIMEDOUT);
    await tb.deviceFaults.settled();
    expect(tb.deviceFaults.injected).toEqual([expect.objectContaining({ kind: "surprise-removal", n: 3, len: 4096 })]);
    expect(tb.deviceFaults.isRemoved(h.name)).toBe(true);
    expect(tb.drivers.bindingOf(h.name)).toBeUndefined();
    expect(tb.dmesg()).toMatch(/surprise removal: device no longer present/);
    // The device answers nothing any more.
    expect(h.pci!.read(0, 4)).toBe(0xffffffff);
    expect(tb.reports()).toEqual([]);
    await p.exit();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("surprise removal while idle, then the syscall: the driver is gone (-ENODEV or similar), no host exception", async () => {
    const { tb, h, p, io } = await boot();
    tb.deviceFaults.inject({ device: h.name, kind: "surprise-removal" });
    await tb.deviceFaults.settled();
    expect(tb.drivers.bindingOf(h.name)).toBeUndefined();
    const r = await io.write();
    expect(r).toBeLessThan(0);
    await p.exit();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("a surprise-removed device cannot be bound again: bind returns -ENODEV, bind-all skips it", async () => {
    const { tb, h, p } = await boot();
    tb.deviceFaults.inject({ device: h.name, kind: "surprise-removal" });
    await tb.deviceFaults.settled();
    expect(await tb.bind(h.name)).toBe(-ENODEV);
    expect(await tb.bind()).toBe(0);
    expect(tb.drivers.bindingOf(h.name)).toBeUndefined();
    await p.exit();
    expect(tb).toBeClean();
    await tb.dispose();
  });

  it("is deterministic: the same plan replays the same faults at the same times", async () => {
    const run = async () => {
      const { tb, h, p, io } = await boot();
      tb.deviceFaults.inject({ device: h.name, kind: "dma-read-error", nth: 3, times: 2 });
      tb.deviceFaults.inject({ device: h.name, kind: "lost-irq", nth: 2 });
      const out = [await io.write(), await io.write(), await io.write(), await io.write()];
      const log = tb.deviceFaults.injected.map((f) => `${f.kind}@${f.time}#${f.n}`);
      await p.exit();
      await tb.dispose();
      return { out, log };
    };
    const a = await run();
    expect(a.out.some((r) => r < 0)).toBe(true);
    expect(await run()).toEqual(a);
  });

  it("rejects bad plans", async () => {
    const { tb, p } = await boot();
    expect(() => tb.deviceFaults.inject({ device: "nope", kind: "lost-irq" })).toThrow(/no such device/);
    expect(() => tb.deviceFaults.inject({ device: tb.drivers.devices()[0]!.name, kind: "lost-irq", nth: 0 })).toThrow(/nth/);
    // pc has no IOMMU: an injected IOMMU fault is refused, naming why, and nothing is armed.
    const name = tb.drivers.devices()[0]!.name;
    expect(() => tb.deviceFaults.inject({ device: name, kind: "iommu-fault" })).toThrow(/iommu-fault on .*: the board has no IOMMU/);
    expect(tb.deviceFaults.counters(name)).toMatchObject({ dmaAccesses: 0, iommuFaults: 0 });
    await p.exit();
    await tb.dispose();
  });
});

describe("surprise removal of an ISA card", () => {
  /** A bare ISA card on DMA channel 1 whose context the test drives by hand. */
  const card = (): VirtualDevice & { ctx?: DeviceContext } => ({
    model: "dma-card",
    describe: () => ({ bus: "isa", isaId: "dma-card", ports: [], irqs: [], dmaChannels: [1] }),
    attach(ctx) {
      this.ctx = ctx;
    },
    reset() {},
  });

  it("cuts its DMA channel: the asserted DREQ drops, later requests and transfers move nothing", async () => {
    const tb = await Testbench.boot({ board: "pc", register: (c) => registerDriverCore(c) });
    const isa = ensureIsaDmaBoot(tb.container);
    const chip = isa.controller as I8237Device;
    const model = card();
    const h = tb.container.resolve(DRIVER_CORE).plugDevice(model);
    const k = tb.facade({ driver: "dma-card", device: h.name });
    expect(k.request_dma(1, "dma-card")).toBe(0);
    expect(k.dma_set_mask_and_coherent(h.dev, DMA_BIT_MASK(24))).toBe(0);
    const buf = k.dma_alloc_coherent(h.dev, 4096, GFP_KERNEL)!;
    const flags = k.claim_dma_lock();
    k.disable_dma(1);
    k.clear_dma_ff(1);
    k.set_dma_mode(1, DMA_MODE_WRITE);
    k.set_dma_addr(1, buf.handle);
    k.set_dma_count(1, 0x100);
    k.enable_dma(1);
    k.release_dma_lock(flags);
    const port = model.ctx!.isaDma(1);
    port.setDreq(true);
    expect(port.readFromMemory(new Uint8Array(0x40)).moved).toBe(0x40); // DMA_MODE_WRITE: memory to card

    tb.deviceFaults.inject({ device: h.name, kind: "surprise-removal" });
    await tb.deviceFaults.settled();
    expect(chip.channelState(1).dreq).toBe(false);
    port.setDreq(true);
    expect(chip.channelState(1).dreq).toBe(false);
    expect(port.readFromMemory(new Uint8Array(0x40))).toEqual({ moved: 0, terminalCount: false });
    expect(chip.channelState(1).currentCount).toBe(0xff - 0x40); // nothing moved after removal
    k.free_dma(1);
    k.dma_free_coherent(h.dev, 4096, buf.cpu, buf.handle);
    expect(tb.reports()).toEqual([]);
    await tb.dispose();
  });
});
