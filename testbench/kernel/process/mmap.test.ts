import { describe, expect, it } from "vitest";
import type { Kernel, KernelVA, MiscDevice, Page, VmArea, VmFault, UserVA } from "../../../sdk/index.js";
import {
  FOLL_WRITE, GFP_KERNEL, MISC_DYNAMIC_MINOR, VM_DONTDUMP, VM_DONTEXPAND, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP,
} from "../../../sdk/index.js";
import { EINVAL, EFAULT } from "../../../sdk/errno.js";
import { renderMaps } from "../procfs/maps.js";
import { renderLeakEntry } from "../driver/leaks.js";
import { UserSignal } from "./signal.js";
import { bootProcKit, type ProcKit } from "./test-kit.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from "./uapi.js";

const PAGE = 4096;
const BUF_PAGES = 4;

type Mode = "remap" | "fault" | "greedy" | "insert-pfn";

/** A driver exporting a 4-page alloc_pages buffer (filled with i*4+pageIndex words) by mmap. */
function bufferDriver(kit: ProcKit, name: string, mode: Mode) {
  const k: Kernel = kit.facade(name);
  const page = k.alloc_pages(GFP_KERNEL, 2)!;
  const base = k.page_address(page)!;
  for (let i = 0; i < BUF_PAGES * PAGE; i += 4) k.mem.write32((base + i) as KernelVA, (0x1000000 * (i >> 12) + i) >>> 0);
  const pfn0 = k.page_to_pfn(page);
  const log: string[] = [];
  const ops = {
    open: (vma: VmArea) => log.push(`open ${(vma.vm_start).toString(16)}-${(vma.vm_end).toString(16)} pgoff ${vma.vm_pgoff}`),
    close: (vma: VmArea) => log.push(`close ${(vma.vm_start).toString(16)}-${(vma.vm_end).toString(16)}`),
    fault: (vmf: VmFault) => {
      if (vmf.pgoff >= BUF_PAGES) return VM_FAULT_SIGBUS;
      if (mode === "insert-pfn") return k.vmf_insert_pfn(vmf.vma, vmf.address, pfn0 + vmf.pgoff);
      vmf.page = k.pfn_to_page(pfn0 + vmf.pgoff);
      return 0;
    },
  };
  const misc: MiscDevice = {
    minor: MISC_DYNAMIC_MINOR,
    name,
    fops: {
      mmap(k, _file, vma) {
        const pages = (vma.vm_end - vma.vm_start) / PAGE;
        vma.vm_ops = mode === "remap" || mode === "greedy" ? { open: ops.open, close: ops.close } : ops;
        if (mode === "remap") {
          if (vma.vm_pgoff + pages > BUF_PAGES) return -EINVAL;
          return k.remap_pfn_range(vma, vma.vm_start, pfn0 + vma.vm_pgoff, pages * PAGE, vma.vm_page_prot);
        }
        if (mode === "greedy") return k.remap_pfn_range(vma, vma.vm_start, pfn0 + vma.vm_pgoff, pages * PAGE, vma.vm_page_prot);
        if (mode === "insert-pfn") vma.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
        return 0;
      },
    },
  };
  expect(k.misc_register(misc)).toBe(0);
  return { k, page, pfn0, log, misc, path: `/dev/${name}` };
}

async function mapDevice(kit: ProcKit, path: string, pages: number, offset = 0, flags = MAP_SHARED) {
  const p = kit.procs.spawn("mapper");
  const fd = await p.open(path, O_RDWR);
  expect(fd).toBeGreaterThanOrEqual(3);
  const va = await p.mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, flags, fd, offset);
  return { p, fd, va };
}

function signalOf(fn: () => unknown): UserSignal {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserSignal) return e;
    throw e;
  }
  throw new Error("no signal");
}

describe("anonymous memory", () => {
  it("maps the shared zero page on a first read and a fresh page on a first write", async () => {
    const kit = bootProcKit();
    const a = kit.procs.spawn("a");
    const b = kit.procs.spawn("b");
    const va = await a.mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(va).toBe(0x7f0000000000);
    expect(a.load32(va + 8)).toBe(0);
    expect(a.mm.pfnAt(va)).toBe(kit.procs.zeroPfn);
    const vb = await b.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(b.load32(vb + PAGE)).toBe(0); // (allocates b's page-table pages)
    const free = kit.mm.zones.reduce((s, z) => s + (z?.freePages ?? 0), 0);
    expect(b.load32(vb)).toBe(0);
    expect(b.mm.pfnAt(vb)).toBe(kit.procs.zeroPfn);
    expect(kit.mm.zones.reduce((s, z) => s + (z?.freePages ?? 0), 0)).toBe(free); // no page allocated
    a.store32(va + 8, 0xdeadbeef);
    const pfn = a.mm.pfnAt(va);
    expect(pfn).not.toBe(kit.procs.zeroPfn);
    expect(a.load32(va + 8)).toBe(0xdeadbeef);
    expect(a.load32(va + 12)).toBe(0);
    expect(b.load32(vb + 8)).toBe(0);
    expect(a.mm.stats).toMatchObject({ zeroMaps: 1, cowCopies: 1 });
    // A first write to an untouched page allocates directly.
    a.store8(va + PAGE + 1, 7);
    expect(a.mm.stats.anonAllocs).toBe(1);
    expect(a.load8(va + PAGE + 1)).toBe(7);
  });

  it("gives SIGSEGV after mprotect to read-only, for no mapping, and for kernel addresses", async () => {
    const kit = bootProcKit();
    const p = kit.procs.spawn("segv");
    const va = await p.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p.store32(va + PAGE, 1);
    expect(await p.mprotect(va + PAGE, PAGE, PROT_READ)).toBe(0);
    expect(p.load32(va + PAGE)).toBe(1);
    const s = signalOf(() => p.store32(va + PAGE + 4, 2));
    expect(s.signal).toBe("SIGSEGV");
    expect(s.message).toBe("SIGSEGV at 0x7f0000001004: write to read-only mapping (write by 100 (segv))");
    p.store32(va, 3); // the other half is still writable
    expect(signalOf(() => p.load32(0x1000)).cause).toBe("no mapping");
    const kernelAddr = kit.mm.layout.pageOffset + 0x100000;
    const k = signalOf(() => p.load32(kernelAddr));
    expect(k.signal).toBe("SIGSEGV");
    expect(k.cause).toBe("user access to kernel address");
    expect(p.signals.map((x) => x.signal)).toEqual(["SIGSEGV", "SIGSEGV", "SIGSEGV"]);
    expect(renderMaps(p, 64)).toBe(
      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n7f0000001000-7f0000002000 r--p 00000000 00:00 0 \n",
    );
  });
});

describe("device mappings", () => {
  it("gives the same bytes through remap_pfn_range and through a fault handler", async () => {
    const kit = bootProcKit();
    const r = bufferDriver(kit, "remapdev", "remap");
    const f = bufferDriver(kit, "faultdev", "fault");
    const mr = await mapDevice(kit, r.path, 2, PAGE);
    const mf = await mapDevice(kit, f.path, 2, PAGE);
    expect(mr.va).toBeGreaterThan(0);
    for (const off of [0, 4, PAGE - 4, PAGE, PAGE + 100 * 4]) {
      const want = (0x1000000 * (1 + (off >> 12)) + PAGE + off) >>> 0;
      expect(mr.p.load32(mr.va + off)).toBe(want);
      expect(mf.p.load32(mf.va + off)).toBe(want);
    }
    // A shared mapping writes through to the driver's buffer, both ways.
    mf.p.store32(mf.va + 8, 0x55aa55aa);
    expect(f.k.mem.read32((f.k.page_address(f.page)! + PAGE + 8) as KernelVA)).toBe(0x55aa55aa);
    r.k.mem.write32((r.k.page_address(r.page)! + PAGE + 12) as KernelVA, 0x01020304);
    expect(mr.p.load32(mr.va + 12)).toBe(0x01020304);
    expect(kit.core.reports()).toEqual([]);
    const vma = mr.p.mm.find(mr.va)!;
    expect(vma.vm_flags & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
  });

  it("calls open for each new piece and close for each removed piece on a partial munmap", async () => {
    const kit = bootProcKit();
    const d = bufferDriver(kit, "splitdev", "remap");
    const { p, va } = await mapDevice(kit, d.path, 4);
    expect(await p.munmap(va + PAGE, PAGE)).toBe(0);
    const h = (a: number) => a.toString(16);
    expect(d.log).toEqual([`open ${h(va)}-${h(va + PAGE)} pgoff 0`, `open ${h(va + 2 * PAGE)}-${h(va + 4 * PAGE)} pgoff 2`, `close ${h(va + PAGE)}-${h(va + 2 * PAGE)}`]);
    expect(p.mm.vmas.map((v) => [v.vm_start - va, v.vm_end - va, v.vm_pgoff])).toEqual([[0, PAGE, 0], [2 * PAGE, 4 * PAGE, 2]]);
    expect(signalOf(() => p.load32(va + PAGE)).signal).toBe("SIGSEGV");
    expect(p.load32(va + 2 * PAGE)).toBe((0x2000000 + 2 * PAGE) >>> 0);
    expect(await p.munmap(va + 3 * PAGE, PAGE)).toBe(0);
    expect(d.log.slice(3)).toEqual([`open ${h(va + 2 * PAGE)}-${h(va + 3 * PAGE)} pgoff 2`, `close ${h(va + 3 * PAGE)}-${h(va + 4 * PAGE)}`]);
    // The VMAs are in the ledger under the driver until unmapped.
    expect(kit.core.ledger.outstanding("splitdev").filter((e) => e.kind === "vma")).toHaveLength(2);
    await p.exit();
    expect(kit.core.ledger.outstanding("splitdev").filter((e) => e.kind === "vma")).toHaveLength(0);
    expect(d.log.filter((l) => l.startsWith("close"))).toHaveLength(4);
  });

  it("reports a driver that maps more than its buffer", async () => {
    const kit = bootProcKit();
    const d = bufferDriver(kit, "greedy", "greedy");
    const { va } = await mapDevice(kit, d.path, 6);
    expect(va).toBeGreaterThan(0);
    const r = kit.core.reports("mmap");
    expect(r).toHaveLength(1);
    expect(r[0]!.title).toMatch(/^mmap: greedy: remap_pfn_range exposes 2 page\(s\) outside the driver's buffers and BARs \(first pfn 0x[0-9a-f]+\)/);
    expect(r[0]!.address).toBe((d.pfn0 + BUF_PAGES) * PAGE);
    expect(kit.core.reports("mmap")[0]!.driver).toBe("greedy");
  });

  it("reports a remap past vm_end and rejects it", async () => {
    const kit = bootProcKit();
    const k = kit.facade("pastend");
    const page = k.alloc_pages(GFP_KERNEL, 2)!;
    k.misc_register({ minor: MISC_DYNAMIC_MINOR, name: "pastend", fops: { mmap: (k, _f, vma) => k.remap_pfn_range(vma, vma.vm_start, k.page_to_pfn(page), 4 * PAGE, vma.vm_page_prot) } });
    const p = kit.procs.spawn("t");
    const fd = await p.open("/dev/pastend", O_RDWR);
    expect(await p.mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0)).toBe(-EINVAL);
    expect(kit.core.reports("mmap")[0]!.title).toMatch(/runs past vm_end/);
    expect(p.mm.vmas).toEqual([]);
  });

  it("gives SIGBUS when the fault handler returns VM_FAULT_SIGBUS, and vmf_insert_pfn works", async () => {
    const kit = bootProcKit();
    const d = bufferDriver(kit, "sigbusdev", "insert-pfn");
    const { p, va } = await mapDevice(kit, d.path, 6);
    expect(p.load32(va + 3 * PAGE + 4)).toBe((0x3000000 + 3 * PAGE + 4) >>> 0);
    const s = signalOf(() => p.load32(va + 4 * PAGE));
    expect(s.signal).toBe("SIGBUS");
    expect(s.addr).toBe(va + 4 * PAGE);
    expect(s.message).toMatch(/^SIGBUS at 0x7f0000004000: fault handler returned VM_FAULT_SIGBUS/);
    expect(kit.core.reports()).toEqual([]);
  });

  it("names the driver and the VMA in /proc/<pid>/maps", async () => {
    const kit = bootProcKit();
    const d = bufferDriver(kit, "mapsdev", "remap");
    const { p, va } = await mapDevice(kit, d.path, 2, 2 * PAGE);
    await p.mmap(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    await p.brk(kit.procs.layout.heapBase + 3 * PAGE);
    const ino = kit.chr.lookup(d.path)!.ino;
    expect(va).toBe(0x7f0000000000);
    const pad = (s: string) => s.padEnd(72, " ") + " ";
    expect(renderMaps(p, 64)).toBe(
      [
        pad("555555560000-555555563000 rw-p 00000000 00:00 0 ") + "[heap]",
        pad(`7f0000000000-7f0000002000 rw-s 00002000 00:05 ${ino} `) + "/dev/mapsdev",
        "7f0000002000-7f0000003000 r--p 00000000 00:00 0 ",
        "",
      ].join("\n"),
    );
  });
});

describe("user access from kernel code", () => {
  it("returns the bytes not copied for an unmapped user address, and pins survive munmap", async () => {
    const kit = bootProcKit();
    const k = kit.facade("gupdrv");
    const kbuf = k.kzalloc(3 * PAGE, GFP_KERNEL)!;
    const pinned: Page[] = [];
    let copyLeft = -1;
    k.misc_register({
      minor: MISC_DYNAMIC_MINOR,
      name: "gupdrv",
      fops: {
        unlocked_ioctl(k, _f, cmd, arg) {
          if (cmd === 1) return k.pin_user_pages(arg as UserVA, 2, FOLL_WRITE, pinned);
          if (cmd === 2) {
            copyLeft = k.copy_to_user(arg as UserVA, kbuf, 3 * PAGE);
            return 0;
          }
          if (cmd === 3) {
            k.unpin_user_pages_dirty_lock(pinned, 2, true);
            return 0;
          }
          return -EFAULT;
        },
      },
    });
    const p = kit.procs.spawn("gup");
    const fd = await p.open("/dev/gupdrv", O_RDWR);
    const va = await p.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // copy_to_user of 3 pages into a 2-page mapping: one page not copied.
    p.load32(va); // zero page mapped: the copy must break COW
    expect(await p.ioctl(fd, 2, va)).toBe(0);
    expect(copyLeft).toBe(PAGE);
    expect(p.mm.pfnAt(va)).not.toBe(kit.procs.zeroPfn);
    // Pin both pages, then unmap: the frames stay allocated with the data.
    p.store32(va + PAGE + 16, 0x12345678);
    expect(await p.ioctl(fd, 1, va)).toBe(2);
    const pfns = pinned.map((pg) => k.page_to_pfn(pg));
    expect(pfns[1]).toBe(p.mm.pfnAt(va + PAGE));
    // One ledger entry per pin call (its range), naming the call site, as a leak report lists it.
    const pins = kit.core.ledger.outstanding("gupdrv").filter((e) => e.kind === "pinned-pages");
    expect(pins).toHaveLength(1);
    expect(pins[0]!.label).toMatch(new RegExp(`^pinned 2 pages at 0x0*${va.toString(16)}\\.\\. by gupdrv \\(gup\\[\\d+\\]\\)$`));
    expect(pins[0]!.size).toBe(2 * PAGE);
    expect(renderLeakEntry("gupdrv", pins[0]!)[0]).toMatch(/^vdtb: driver gupdrv leaked pinned 2 pages at .*, pinned at:$/);
    expect(pins[0]!.site.stack).toContain("mmap.test.ts");
    expect(await p.munmap(va, 2 * PAGE)).toBe(0);
    expect(kit.mm.pageCount(pfns[1]!)).toBe(1);
    const kva = kit.mm.pageVa(pfns[1]!)!;
    expect(k.mem.read32((kva + 16) as KernelVA)).toBe(0x12345678);
    expect(pfns.some((pfn) => kit.uaccess.dirtied.has(pfn))).toBe(false);
    expect(await p.ioctl(fd, 3, 0)).toBe(0);
    expect(pfns.every((pfn) => kit.uaccess.dirtied.has(pfn))).toBe(true);
    expect(kit.mm.pageCount(pfns[1]!)).toBe(0);
    expect(kit.core.ledger.outstanding("gupdrv").filter((e) => e.kind === "pinned-pages")).toHaveLength(0);
    expect(kit.core.reports()).toEqual([]);
  });
});
