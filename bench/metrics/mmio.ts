/**
 * `mmio_readl_ns` / `mmio_writel_ns`: `k.readl` / `k.writel` of an ioremapped device register
 * through the driver facade (TLB hit, bus dispatch, register-file handler, trace record), with
 * detectors off. Baselines `raw_call_read_ns` / `raw_call_write_ns`: a monomorphic function call
 * reading / writing a Uint32Array.
 *
 * Call {@link mmioMetrics} from bench/run.ts.
 */
import { defineRegisters, RegisterFile } from "../../sdk/index.js";
import type { DeviceDecl, IoMem, Kernel, PciDev, VirtualDevice } from "../../sdk/index.js";
import { Testbench } from "../../testbench/harness/testbench.js";
import { registerDriverCore } from "../../testbench/kernel/driver/register.js";
import { DRIVER_CORE } from "../../testbench/kernel/tokens.js";
import type { MetricRegistry, SampleOptions } from "../harness.js";
import { nsPerOp, sink } from "../harness.js";

const regs = defineRegisters("bench", { ID: { offset: 0, width: 32, mode: "ro", reset: 0xbe4c }, DATA: { offset: 4, width: 32 } }, { size: 0x1000 });

class BenchDev implements VirtualDevice {
  readonly model = "benchdev";
  readonly file = new RegisterFile(regs);
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0xbe4c, revision: 0, classCode: 0xff0000 },
      bars: [{ index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.file } }],
    };
  }
  attach(): void {}
  reset(): void {}
}

async function mapRegister(): Promise<{ tb: Testbench; k: Kernel; reg: IoMem }> {
  const tb = await Testbench.boot({ board: "pc", register: (c) => registerDriverCore(c) });
  tb.core.setDetectors(false);
  const dc = tb.container.resolve(DRIVER_CORE);
  const h = dc.plugDevice(new BenchDev());
  const pdev = h.dev as PciDev;
  const k = dc.facadeFor({ driver: "bench", device: h.name });
  if (k.pci_enable_device(pdev) || k.pci_request_regions(pdev, "bench")) throw new Error("mmio bench: cannot enable the device");
  const base = k.pci_iomap(pdev, 0, 0);
  if (!base) throw new Error("mmio bench: pci_iomap failed");
  return { tb, k, reg: (base + 4) as IoMem };
}

const table = new Uint32Array(1024);
function rawRead(i: number): number {
  return table[i & 1023]!;
}
function rawWrite(i: number, v: number): void {
  table[i & 1023] = v;
}

function rawCallRead(opts: SampleOptions & { sampleMs: number }): number {
  return nsPerOp((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s ^= rawRead(i);
    sink.value ^= s;
  }, 1, opts);
}

function rawCallWrite(opts: SampleOptions & { sampleMs: number }): number {
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) rawWrite(i, i);
    sink.value ^= table[7]!;
  }, 1, opts);
}

// Called as a driver writes it (`k.readl(reg)`), so the facade's property lookup is measured too.
function mmioReadl(k: Kernel, reg: IoMem, opts: SampleOptions & { sampleMs: number }): number {
  return nsPerOp((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s ^= k.readl(reg);
    sink.value ^= s;
  }, 1, opts);
}

function mmioWritel(k: Kernel, reg: IoMem, opts: SampleOptions & { sampleMs: number }): number {
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) k.writel(i, reg);
  }, 1, opts);
}

/** Register the four metrics. */
export async function mmioMetrics(reg: MetricRegistry, opts: SampleOptions & { sampleMs: number }): Promise<void> {
  reg.add("raw_call_read_ns", rawCallRead(opts), "ns");
  reg.add("raw_call_write_ns", rawCallWrite(opts), "ns");
  const { tb, k, reg: r } = await mapRegister();
  k.writel(0x1234, r);
  if (k.readl(r) !== 0x1234) throw new Error("mmio bench: register did not read back");
  reg.add("mmio_readl_ns", mmioReadl(k, r, opts), "ns", "raw_call_read_ns");
  reg.add("mmio_writel_ns", mmioWritel(k, r, opts), "ns", "raw_call_write_ns");
  await tb.dispose();
}
