import { describe, expect, it } from "vitest";
import { EBUSY, EINVAL, ENOMEM, IRQ_HANDLED, IRQ_NONE, IRQF_SHARED, IRQF_TRIGGER_RISING, type Device, type IrqReturn } from "../../../sdk/index.js";
import { DEVRES } from "../tokens.js";
import { bootKernelForTest } from "../sched/testenv.js";
import { renderProcInterrupts } from "../procfs/interrupts.js";

const dev = (name: string): Device => ({ name, bus: "platform" }) as unknown as Device;

describe("IRQ dispatch", () => {
  it("runs every handler of a shared line in hardirq context and counts per IRQ", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const a = k({ driver: "first" });
    const b = k({ driver: "second" });
    const irq = irqs.allocateForLine(19, { trigger: "level" });
    expect(irq).toBe(19);
    const seen: string[] = [];
    const devA = { name: "A" };
    const devB = { name: "B" };
    expect(
      a.request_irq(irq, function firstIrq(n, id): IrqReturn {
        seen.push(`A irq=${n} id=${(id as { name: string }).name} hardirq=${core.ctx.hardirq} irqsOff=${a.irqs_disabled()}`);
        return IRQ_NONE; // not my device
      }, IRQF_SHARED, "first", devA),
    ).toBe(0);
    expect(
      b.request_irq(irq, function secondIrq(n, id): IrqReturn {
        seen.push(`B irq=${n} id=${(id as { name: string }).name}`);
        soc.irq.lower(19); // ack the device
        return IRQ_HANDLED;
      }, IRQF_SHARED, "second", devB),
    ).toBe(0);
    soc.irq.raise(19);
    await sched.advance(1000);
    soc.irq.raise(19);
    await sched.advance(1000);
    expect(seen).toEqual([
      "A irq=19 id=A hardirq=1 irqsOff=true",
      "B irq=19 id=B",
      "A irq=19 id=A hardirq=1 irqsOff=true",
      "B irq=19 id=B",
    ]);
    expect(irqs.desc(19)!.count).toBe(2);
    expect(core.ctx.hardirq).toBe(0);
    expect(core.reports()).toHaveLength(0);
    expect(core.ledger.outstanding().filter((e) => e.kind === "irq")).toHaveLength(2);
  });

  it("reports a line whose handlers never handle it: nobody cared, line disabled", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "deaf" });
    const irq = irqs.allocateForLine(11, { trigger: "level" });
    let calls = 0;
    kk.request_irq(irq, function deafIrq(): IrqReturn {
      calls++;
      return IRQ_NONE;
    }, 0, "deaf", null);
    soc.irq.raise(11); // the device keeps the line asserted
    await sched.advance(1e6);
    expect(calls).toBe(1000);
    const r = core.reports("irq");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe('irq 11: nobody cared (try booting with the "irqpoll" option)');
    expect(r[0]!.text).toContain("handlers:\n[<deafIrq>] deafIrq [deaf]\nDisabling IRQ #11");
    expect(soc.irq.isMasked(11)).toBe(true);
    expect(irqs.desc(11)!.depth).toBe(1);
  });

  it("uses the configured nobody-cared window; sporadic IRQ_NONE on a handled line is fine", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    irqs.nobodyCared.window = 10;
    irqs.nobodyCared.threshold = 8;
    const kk = k();
    irqs.allocateForLine(12, { trigger: "edge" });
    let n = 0;
    kk.request_irq(12, () => (++n % 2 === 0 ? IRQ_HANDLED : IRQ_NONE), 0, "half", null);
    for (let i = 0; i < 40; i++) {
      soc.irq.pulse(12);
      await sched.advance(1000);
    }
    expect(n).toBe(40);
    expect(core.reports("irq")).toHaveLength(0);
    kk.free_irq(12, null);
    kk.request_irq(12, () => IRQ_NONE, 0, "never", null);
    for (let i = 0; i < 10; i++) {
      soc.irq.pulse(12);
      await sched.advance(1000);
    }
    expect(core.reports("irq").map((r) => r.title)).toEqual(['irq 12: nobody cared (try booting with the "irqpoll" option)']);
  });

  it("holds interrupts pending while local interrupts are off and delivers them at local_irq_restore", async () => {
    const { sched, soc, irqs, k } = bootKernelForTest();
    const kk = k();
    irqs.allocateForLine(5, { trigger: "edge" });
    const at: number[] = [];
    kk.request_irq(5, () => {
      at.push(soc.clock.now);
      return IRQ_HANDLED;
    }, IRQF_TRIGGER_RISING, "edgy", null);
    const l = kk.spin_lock_init("l");
    await sched.run(async () => {
      const f = kk.spin_lock_irqsave(l);
      soc.clock.schedule(1000, () => soc.irq.pulse(5)); // the device interrupts during the busy-wait
      kk.udelay(10);
      expect(at).toEqual([]);
      kk.spin_unlock_irqrestore(l, f);
      await kk.msleep(1);
    });
    expect(at).toEqual([10_000]);
  });

  it("reports sleeping in a hardirq handler", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "sleepy" });
    irqs.allocateForLine(6, { trigger: "edge" });
    kk.request_irq(6, function sleepyIrq(): IrqReturn {
      void kk.msleep(1);
      return IRQ_HANDLED;
    }, 0, "sleepy", null);
    soc.irq.pulse(6);
    await sched.advance(2e6);
    const r = core.reports("atomic-sleep");
    expect(r).toHaveLength(1);
    expect(r[0]!.text).toContain("in_atomic(): 1, irqs_disabled(): 1");
    expect(r[0]!.text).toContain("call: msleep");
  });

  it("an async handler (returns a Promise) and a bogus return value are reported", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k();
    irqs.allocateForLine(7, { trigger: "edge" });
    irqs.allocateForLine(8, { trigger: "edge" });
    kk.request_irq(7, (async () => IRQ_HANDLED) as never, 0, "async", null);
    kk.request_irq(8, (() => undefined) as never, 0, "forgetful", null);
    soc.irq.pulse(7);
    soc.irq.pulse(8);
    await sched.advance(1000);
    expect(core.reports("atomic-sleep")[0]!.title).toMatch(/irq 7 handler .* returned a Promise/);
    expect(core.reports("irq")[0]!.title).toBe("irq event 8: bogus return value undefined");
  });

  it("a handler that throws is reported as an oops and the next handler still runs", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    irqs.allocateForLine(9, { trigger: "edge" });
    let second = 0;
    k({ driver: "crashy" }).request_irq(9, function crashyIrq(): IrqReturn {
      throw new TypeError("cannot read properties of null");
    }, IRQF_SHARED, "crashy", 1);
    k({ driver: "fine" }).request_irq(9, () => (second++, IRQ_HANDLED), IRQF_SHARED, "fine", 2);
    soc.irq.pulse(9);
    await sched.advance(1000);
    expect(second).toBe(1);
    const r = core.reports("oops");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toBe("BUG: exception in irq 9 handler crashyIrq: cannot read properties of null");
    expect(r[0]!.driver).toBe("crashy");
    expect(core.ctx.hardirq).toBe(0);
    expect(core.ctx.irqsDisabled).toBe(false);
  });

  it("delivers MSI vectors to their Linux IRQs", async () => {
    const { sched, soc, irqs, k } = bootKernelForTest();
    const kk = k();
    const msi = irqs.allocateMsi("0000:00:03.0", 4, { aligned: true, hwirqBase: 24 << 11 })!;
    expect(msi.firstIrq).toBe(256);
    expect(msi.vectors[0]! % 4).toBe(0);
    expect(msi.vectors).toEqual([msi.vectors[0], msi.vectors[0]! + 1, msi.vectors[0]! + 2, msi.vectors[0]! + 3]);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) kk.request_irq(msi.firstIrq + i, (n) => (got.push(n), IRQ_HANDLED), 0, `q${i}`, null);
    soc.irq.msi(msi.address, msi.data(2));
    soc.irq.msi(msi.address, msi.data(0));
    await sched.advance(1000);
    expect(got).toEqual([258, 256]);
    const again = irqs.allocMsi("other", 1, false)!;
    expect(again.irqs).toEqual([260]);
    irqs.freeMsi([257]);
    expect(irqs.allocMsi("third", 1, false)!.irqs).toEqual([257]);
  });
});

describe("request_irq / free_irq", () => {
  it("refuses conflicting requests as Linux does", () => {
    const { core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "d" });
    irqs.allocateForLine(10, { trigger: "level" });
    const h = () => IRQ_HANDLED as IrqReturn;
    expect(kk.request_irq(10, h, 0, "owner", null)).toBe(0);
    expect(kk.request_irq(10, h, 0, "intruder", null)).toBe(-EBUSY);
    expect(kk.request_irq(10, h, IRQF_SHARED, "sharer", {})).toBe(-EBUSY);
    expect(core.dmesg.grep("genirq: Flags mismatch irq 10. 00000000 (intruder) vs. 00000000 (owner)")).toHaveLength(1);
    expect(kk.request_irq(10, h, IRQF_SHARED, "noid", null)).toBe(-EINVAL);
    expect(kk.request_irq(200, h, 0, "nowhere", null)).toBe(-EINVAL);
    irqs.allocateForLine(13, { trigger: "level" });
    expect(kk.request_irq(13, h, IRQF_SHARED, "s1", 1)).toBe(0);
    expect(kk.request_irq(13, h, IRQF_SHARED | IRQF_TRIGGER_RISING, "edge-sharer", 2)).toBe(-EBUSY);
    expect(kk.request_irq(13, h, IRQF_SHARED, "s2", 2)).toBe(0);
    core.faults.arm({ nth: 1, kinds: ["irq"] });
    expect(kk.request_irq(13, h, IRQF_SHARED, "s3", 3)).toBe(-ENOMEM);
  });

  it("free_irq with the wrong dev_id warns and returns null; the right one returns the name", () => {
    const { core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "d" });
    irqs.allocateForLine(14, { trigger: "level" });
    const mine = {};
    kk.request_irq(14, () => IRQ_HANDLED, IRQF_SHARED, "mydev", mine);
    expect(kk.free_irq(14, {})).toBeNull();
    expect(core.reports("irq").map((r) => r.title)).toEqual(["Trying to free already-free IRQ 14"]);
    expect(core.ledger.outstanding("d")).toHaveLength(1);
    expect(kk.free_irq(14, mine)).toBe("mydev");
    expect(core.ledger.outstanding("d")).toHaveLength(0);
    expect(kk.free_irq(14, mine)).toBeNull();
    expect(core.reports("irq")).toHaveLength(2);
  });

  it("devm_request_irq is freed by devres; devm_free_irq of an unknown dev_id warns", async () => {
    const { c, sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "managed" });
    const d = dev("plat.0");
    irqs.allocateForLine(15, { trigger: "edge" });
    let n = 0;
    expect(kk.devm_request_irq(d, 15, () => (n++, IRQ_HANDLED), 0, "managed", d)).toBe(0);
    kk.devm_free_irq(d, 15, "not-it");
    expect(core.reports("warn")[0]!.title).toMatch(/devm_free_irq\(15\) with no matching devm_request_irq/);
    soc.irq.pulse(15);
    await sched.advance(1000);
    expect(n).toBe(1);
    c.resolve(DEVRES).releaseAll(d);
    expect(irqs.desc(15)!.actions).toHaveLength(0);
    expect(core.ledger.outstanding("managed")).toHaveLength(0);
  });

  it("enable/disable nest; an interrupt while disabled is delivered at enable", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k();
    irqs.allocateForLine(16, { trigger: "level" });
    let n = 0;
    kk.request_irq(16, () => {
      n++;
      soc.irq.lower(16);
      return IRQ_HANDLED;
    }, 0, "lvl", null);
    await sched.run(async () => {
      kk.disable_irq(16);
      kk.disable_irq_nosync(16);
      soc.irq.raise(16);
      await kk.msleep(1);
      expect(n).toBe(0);
      kk.enable_irq(16);
      await kk.msleep(1);
      expect(n).toBe(0);
      kk.enable_irq(16);
      await kk.msleep(1);
      expect(n).toBe(1);
    });
    kk.enable_irq(16);
    expect(core.reports("warn").map((r) => r.title)).toEqual(["WARNING: Unbalanced enable for IRQ 16"]);
  });

  it("counts and reports an interrupt on a line without handlers once, and masks it", async () => {
    const { sched, soc, core, irqs } = bootKernelForTest();
    irqs.allocateForLine(17, { trigger: "level" });
    soc.irq.raise(17);
    await sched.advance(1000);
    soc.irq.raise(40); // no descriptor at all
    await sched.advance(1000);
    const titles = core.reports("irq").map((r) => r.title);
    expect(titles).toEqual(["unexpected IRQ trap at vector 31", "__common_interrupt: 0.72 No irq handler for vector"]);
    expect(irqs.errCount).toBe(2);
    expect(soc.irq.isMasked(17)).toBe(true);
    expect(soc.irq.isMasked(40)).toBe(true);
  });

  it("detector 12: the device still raises its line after the last handler was freed", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "sloppy" });
    irqs.allocateForLine(18, { trigger: "level" });
    kk.request_irq(18, () => IRQ_HANDLED, 0, "sloppy", null);
    await sched.run(async function sloppyRemove() {
      kk.free_irq(18, null); // without quiescing the device first
    });
    soc.irq.raise(18);
    await sched.advance(1000);
    const r = core.reports("irq");
    expect(r.map((x) => x.title)).toEqual(["irq 18: interrupt after its last handler was freed"]);
    expect(r[0]!.text).toMatch(/handler "sloppy" of sloppy was freed at sloppyRemove .* but the device still asserts the line/);
  });
});

describe("leaks and handler hygiene", () => {
  it("reclaims a leaked handler quietly and masks the line", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "forgetful" });
    irqs.allocateForLine(20, { trigger: "level" });
    let n = 0;
    kk.request_irq(20, () => (n++, IRQ_HANDLED), 0, "forgetful", null);
    const [leak] = core.ledger.outstanding("forgetful");
    expect(leak!.kind).toBe("irq");
    expect(irqs.reclaimLeak(leak!)).toBe(true);
    expect(irqs.reclaimLeak(leak!)).toBe(false);
    expect(core.ledger.outstanding("forgetful")).toHaveLength(0);
    soc.irq.raise(20);
    await sched.advance(1000);
    expect(n).toBe(0);
    expect(soc.irq.isMasked(20)).toBe(true);
    expect(core.reports()).toHaveLength(0);
  });

  it("a handler returning with a spinlock held or interrupts enabled is reported once", async () => {
    const { sched, soc, core, irqs, k } = bootKernelForTest();
    const kk = k({ driver: "messy" });
    const l = kk.spin_lock_init("l");
    irqs.allocateForLine(21, { trigger: "edge" });
    irqs.allocateForLine(22, { trigger: "edge" });
    kk.request_irq(21, function lockLeaker(): IrqReturn {
      kk.spin_lock(l);
      return IRQ_HANDLED;
    }, 0, "leaker", null);
    kk.request_irq(22, function irqEnabler(): IrqReturn {
      kk.local_irq_enable();
      return IRQ_HANDLED;
    }, 0, "enabler", null);
    soc.irq.pulse(21);
    soc.irq.pulse(22);
    await sched.advance(1000);
    expect(core.reports("lock").map((r) => r.title)).toEqual(["BUG: irq 21 handler lockLeaker returned with preempt_count 0 -> 1 (spinlock held?)"]);
    expect(core.reports("warn").map((r) => r.title)).toEqual(["WARNING: irq 22 handler irqEnabler enabled interrupts"]);
    expect(core.ctx.preempt).toBe(0);
    expect(core.ctx.irqsDisabled).toBe(false);
  });
});

describe("/proc/interrupts", () => {
  it("renders the kernel's layout (golden)", async () => {
    const { sched, soc, irqs, k } = bootKernelForTest();
    const kk = k();
    irqs.allocateForLine(1, { trigger: "edge" });
    irqs.allocateForLine(19, { trigger: "level" });
    irqs.allocateForLine(4, { trigger: "edge" });
    kk.request_irq(1, () => IRQ_HANDLED, 0, "i8042", null);
    kk.request_irq(19, () => (soc.irq.lower(19), IRQ_HANDLED), IRQF_SHARED, "ehci_hcd:usb1", 1);
    kk.request_irq(19, () => IRQ_NONE, IRQF_SHARED, "uhci_hcd:usb2", 2);
    const msi = irqs.allocateMsi("0000:00:03.0", 1, { hwirqBase: 65536 })!;
    kk.request_irq(msi.firstIrq, () => IRQ_HANDLED, 0, "nvme0q0", null);
    for (let i = 0; i < 3; i++) soc.irq.pulse(1);
    soc.irq.pulse(4); // no handler: spurious, stays listed by its count
    for (let i = 0; i < 12; i++) {
      soc.irq.raise(19);
      await sched.advance(100);
    }
    soc.irq.msi(msi.address, msi.data(0));
    await sched.advance(100);
    expect(renderProcInterrupts(irqs)).toBe(
      [
        "           CPU0       ",
        "  1:          1   IO-APIC   1-edge      i8042",
        "  4:          1   IO-APIC   4-edge    ",
        " 19:         12   IO-APIC  19-fasteoi   ehci_hcd:usb1, uhci_hcd:usb2",
        "256:          1   PCI-MSI 65536-edge      nvme0q0",
        "ERR:          1",
        "",
      ].join("\n"),
    );
  });

  it("uses the ARM layout on the arm board", () => {
    const { irqs, k } = bootKernelForTest(1, "arm");
    irqs.allocateForLine(29, { trigger: "level" });
    k().request_irq(29, () => IRQ_HANDLED, 0, "arch_timer", null);
    expect(renderProcInterrupts(irqs)).toBe(["           CPU0       ", " 29:          0     GICv2  29 Level     arch_timer", "Err:          0", ""].join("\n"));
  });
});
