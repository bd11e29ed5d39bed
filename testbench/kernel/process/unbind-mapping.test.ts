import { afterEach, describe, expect, it } from "vitest";
import type { DeviceContext, DeviceDecl, Kernel, KernelVA, MiscDevice, Page, PciDev, PciDriver, VmArea, VmFault, VirtualDevice } from "../../../sdk/index.js";
import { defineRegisters, GFP_KERNEL, MISC_DYNAMIC_MINOR, RegisterFile, VM_FAULT_SIGBUS } from "../../../sdk/index.js";
import { ENODEV } from "../../../sdk/errno.js";
import { Testbench } from "../../harness/testbench.js";
import { renderMaps } from "../procfs/maps.js";
import { KERNEL_MM } from "../tokens.js";
import type { Process } from "./process.js";
import { UserSignal } from "./signal.js";
import { MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from "./uapi.js";

const PAGE = 4096;
const PAGES = 2;

const regs = defineRegisters("ubm", { ID: { offset: 0, width: 32, mode: "ro", reset: 0x0b0b } }, { size: 0x1000 });

/** A do-nothing PCI function: something to bind the test drivers to. */
class UbmDev implements VirtualDevice {
  readonly model = "ubm";
  readonly file = new RegisterFile(regs);
  describe(): DeviceDecl {
    return {
      bus: "pci",
      identity: { vendor: 0x1234, device: 0x0b0b, revision: 1, classCode: 0xff0000 },
      bars: [{ index: 0, size: 0x1000, space: "mem", impl: { kind: "registers", file: this.file } }],
      intxPin: 1,
    };
  }
  attach(_ctx: DeviceContext): void {}
  reset(): void {}
}

/** What the driver did, for the test to look at. */
interface Trace {
  calls: string[];
  pfn: number;
}

/**
 * A misc driver exporting a 2-page alloc_pages buffer, either mapped whole by remap_pfn_range in
 * mmap ("remap") or page by page from vm_ops->fault ("fault"). `remove` deregisters and frees the
 * buffer, as a driver that forgets about live mappings does.
 */
function ubmDriver(mode: "remap" | "fault", trace: Trace): PciDriver {
  const name = `ubm-${mode}`;
  let misc: MiscDevice | null = null;
  let page: Page | null = null;
  return {
    bus: "pci",
    name,
    idTable: [{ vendor: 0x1234, device: 0x0b0b }],
    probe(k: Kernel, _pdev: PciDev) {
      page = k.alloc_pages(GFP_KERNEL, 1);
      if (!page) return -12;
      const base = k.page_address(page)!;
      for (let i = 0; i < PAGES * PAGE; i += 4) k.mem.write32((base + i) as KernelVA, (0xa5000000 + i) >>> 0);
      const pfn0 = k.page_to_pfn(page);
      trace.pfn = pfn0;
      const vmOps = {
        open: (vma: VmArea) => void trace.calls.push(`open ${vma.vm_start.toString(16)}`),
        close: (vma: VmArea) => void trace.calls.push(`close ${vma.vm_start.toString(16)}`),
        ...(mode === "fault"
          ? {
              fault: (vmf: VmFault) => {
                trace.calls.push(`fault ${vmf.pgoff}`);
                if (vmf.pgoff >= PAGES) return VM_FAULT_SIGBUS;
                vmf.page = k.pfn_to_page(pfn0 + vmf.pgoff);
                return 0;
              },
            }
          : {}),
      };
      misc = {
        minor: MISC_DYNAMIC_MINOR,
        name,
        fops: {
          mmap(kk, _file, vma) {
            trace.calls.push("mmap");
            vma.vm_ops = vmOps;
            if (mode === "fault") return 0;
            const len = vma.vm_end - vma.vm_start;
            if (vma.vm_pgoff * PAGE + len > PAGES * PAGE) return -22;
            return kk.remap_pfn_range(vma, vma.vm_start, pfn0 + vma.vm_pgoff, len, vma.vm_page_prot);
          },
          unlocked_ioctl: () => {
            trace.calls.push("ioctl");
            return 0;
          },
          read: () => {
            trace.calls.push("read");
            return 0;
          },
          release: () => {
            trace.calls.push("release");
            return 0;
          },
        },
      };
      return k.misc_register(misc);
    },
    remove(k: Kernel) {
      if (misc) k.misc_deregister(misc);
      if (page) k.__free_pages(page, 1);
      misc = null;
      page = null;
    },
  };
}

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

async function boot(mode: "remap" | "fault", board = "pc") {
  const trace: Trace = { calls: [], pfn: -1 };
  tb = await Testbench.boot({ board, devices: [new UbmDev()], drivers: [ubmDriver(mode, trace)] });
  const path = `/dev/ubm-${mode}`;
  const p = tb.spawn("mapper");
  const fd = await p.open(path, O_RDWR);
  expect(fd).toBeGreaterThanOrEqual(3);
  const va = await p.mmap(0, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect(va).toBeGreaterThan(0);
  return { tb, trace, path, p, fd, va, device: tb.drivers.devices().find((h) => h.model.model === "ubm")!.name };
}

function signalOf(fn: () => unknown): UserSignal {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserSignal) return e;
    throw e;
  }
  throw new Error("the access completed: no signal");
}

function mapsOf(t: Testbench, p: Process): string {
  return renderMaps(p, t.container.resolve(KERNEL_MM).layout.pointerBits);
}

/** Every report but the leak report (which an unbind under a live mapping must produce). */
function otherReports(t: Testbench) {
  return t.reports().filter((r) => r.kind !== "leak").map((r) => r.title);
}

describe("unbind under a live user mapping", () => {
  for (const board of ["pc", "arm", "pc32"]) {
    it(`remap_pfn_range mapping: zapped, SIGBUS on load and store, munmap without vm_ops->close (${board})`, async () => {
      const { tb, trace, path, p, fd, va, device } = await boot("remap", board);
      expect(p.load32(va)).toBe(0xa5000000);
      p.store32(va + PAGE, 0x1234);
      expect(p.load32(va + PAGE)).toBe(0x1234);
      expect(p.mm.pfnAt(va)).toBe(trace.pfn);

      await tb.unbind(device);
      const leak = tb.reports("leak");
      expect(leak).toHaveLength(1);
      expect(leak[0]!.text).toMatch(new RegExp(`vma [0-9a-f]+-[0-9a-f]+ rw-s ${path} still mapped`));

      // The PTEs are gone from the page tables (and the TLB: both pages were just accessed).
      expect(p.mm.pfnAt(va)).toBe(-1);
      expect(p.mm.pfnAt(va + PAGE)).toBe(-1);
      expect(tb.soc.mmu.lookup(p.mm.root, va)).toBeFalsy();
      const load = signalOf(() => p.load32(va));
      expect(load.signal).toBe("SIGBUS");
      expect(load.access).toBe("read");
      expect(load.cause).toContain("device gone");
      expect(load.cause).toContain("ubm-remap");
      expect(load.cause).toContain(path);
      const store = signalOf(() => p.store32(va + PAGE, 0xdead));
      expect(store.signal).toBe("SIGBUS");
      expect(store.access).toBe("write");
      expect(p.signals.map((s) => s.signal)).toEqual(["SIGBUS", "SIGBUS"]);

      // The VMA stays listed until munmap; the fd's operations no longer reach the driver.
      expect(mapsOf(tb, p)).toContain(path);
      const callsAtUnbind = trace.calls.length;
      expect(await p.ioctl(fd, 0x1234, 0)).toBe(-ENODEV);
      expect(await p.read(fd, va, 4)).toBe(-ENODEV);
      expect(await p.mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0)).toBe(-ENODEV);

      expect(await p.munmap(va, PAGES * PAGE)).toBe(0);
      expect(mapsOf(tb, p)).not.toContain(path);
      expect(signalOf(() => p.load32(va)).signal).toBe("SIGSEGV");
      expect(await p.close(fd)).toBe(0);
      expect(trace.calls.slice(callsAtUnbind)).toEqual([]);
      expect(otherReports(tb)).toEqual([]);
      await p.exit();
    });
  }

  it("vm_ops->fault mapping: faulted pages are released exactly once, the handler is never called again", async () => {
    const { tb, trace, path, p, va, device } = await boot("fault");
    expect(p.load32(va)).toBe(0xa5000000);
    expect(p.load32(va + PAGE)).toBe((0xa5000000 + PAGE) >>> 0);
    expect(trace.calls).toEqual(["mmap", "fault 0", "fault 1"]);
    const mm = tb.container.resolve(KERNEL_MM);
    // The allocation's reference plus one per mapping PTE (on the head of the block).
    expect(mm.pageCount(trace.pfn)).toBe(3);

    await tb.unbind(device);
    expect(tb.reports("leak").map((r) => r.text).join("\n")).toMatch(new RegExp(`${path} still mapped`));
    // remove() freed its reference, the zap dropped the two PTE references: the block is free.
    expect(mm.pageCount(trace.pfn)).toBe(0);
    const before = tb.container.resolve(KERNEL_MM).pageCount(trace.pfn);
    expect(signalOf(() => p.load8(va)).signal).toBe("SIGBUS");
    expect(signalOf(() => p.store32(va + PAGE, 1)).signal).toBe("SIGBUS");
    expect(trace.calls).toEqual(["mmap", "fault 0", "fault 1"]);
    expect(mm.pageCount(trace.pfn)).toBe(before);

    // A partial munmap splits the orphan without vm_ops->open; the rest stays listed and faulting.
    expect(await p.munmap(va, PAGE)).toBe(0);
    expect(mapsOf(tb, p).split("\n").filter((l) => l.includes(path))).toHaveLength(1);
    expect(signalOf(() => p.load32(va + PAGE)).cause).toContain("device gone");
    expect(await p.munmap(va + PAGE, PAGE)).toBe(0);
    expect(mapsOf(tb, p)).not.toContain(path);
    await p.exit();
    expect(trace.calls).toEqual(["mmap", "fault 0", "fault 1"]);
    expect(otherReports(tb)).toEqual([]);
  });

  it("orphans the mapping in every process and leaves a rebind working", async () => {
    const { tb, trace, path, p, va, device } = await boot("remap");
    const q = tb.spawn("second");
    const qfd = await q.open(path, O_RDWR);
    const qva = await q.mmap(0, PAGE, PROT_READ, MAP_SHARED, qfd, PAGE);
    expect(q.load32(qva)).toBe((0xa5000000 + PAGE) >>> 0);
    await tb.unbind(device);
    expect(tb.reports("leak")[0]!.text.match(/still mapped/g)).toHaveLength(2);
    expect(signalOf(() => p.load32(va)).signal).toBe("SIGBUS");
    expect(signalOf(() => q.load32(qva)).signal).toBe("SIGBUS");
    // mprotect of an orphan works and records nothing for the unbound driver.
    expect(await q.mprotect(qva, PAGE, PROT_READ)).toBe(0);
    expect(tb.core.ledger.outstanding("ubm-remap")).toEqual([]);

    expect(await tb.bind(device)).toBe(0);
    const r = tb.spawn("after");
    const rfd = await r.open(path, O_RDWR);
    const rva = await r.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
    expect(r.load32(rva)).toBe(0xa5000000);
    expect(await r.ioctl(rfd, 1, 0)).toBe(0);
    // The old fds stay revoked: they belong to the previous binding.
    expect(await q.ioctl(qfd, 1, 0)).toBe(-ENODEV);
    expect(signalOf(() => q.load32(qva)).signal).toBe("SIGBUS");
    await p.exit();
    await q.exit();
    await r.exit();
    expect(trace.calls.filter((c) => c.startsWith("close"))).toEqual([`close ${rva.toString(16)}`]);
    await tb.unbind(device);
    expect(tb.reports("leak")).toHaveLength(1);
    expect(otherReports(tb)).toEqual([]);
  });
});
