/**
 * `user_store32_mmap_ns`: a user process's 32-bit store into an mmap'd framebuffer-like buffer
 * (1 MiB of RAM from alloc_pages, remap_pfn_range'd MAP_SHARED by a misc driver), TLB hit.
 * Also the write-combining variant (`pgprot_writecombine`, the usual framebuffer mapping).
 */
import { GFP_KERNEL, MISC_DYNAMIC_MINOR } from "../sdk/index.js";
import { bootProcKit } from "../testbench/kernel/process/test-kit.js";
import { MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE } from "../testbench/kernel/process/uapi.js";
import { nsPerOp, type SampleOptions } from "./harness.js";

const PAGE = 4096;

/** Boot, register the driver, map 1 MiB in a process; returns the process and the address. */
async function mapFramebuffer(writeCombine: boolean) {
  const kit = bootProcKit("pc", { coherent: false });
  kit.core.setDetectors(false);
  const k = kit.facade("fbbench");
  const page = k.alloc_pages(GFP_KERNEL, 8)!;
  const pfn = k.page_to_pfn(page);
  k.misc_register({
    minor: MISC_DYNAMIC_MINOR,
    name: "fbbench",
    fops: {
      mmap: (k, _f, vma) => {
        if (writeCombine) vma.vm_page_prot = k.pgprot_writecombine(vma.vm_page_prot);
        return k.remap_pfn_range(vma, vma.vm_start, pfn, vma.vm_end - vma.vm_start, vma.vm_page_prot);
      },
    },
  });
  const p = kit.procs.spawn("fbbench");
  const fd = await p.open("/dev/fbbench", O_RDWR);
  const va = await p.mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (va < 0) throw new Error(`mmap failed: ${va}`);
  return { p, va: va + 0x40000 };
}

/** ns per user store32 into the mapping (one hot page: TLB hit). */
export async function userStore32Mmap(opts: SampleOptions & { sampleMs: number }, writeCombine = false): Promise<number> {
  const { p, va } = await mapFramebuffer(writeCombine);
  for (let i = 0; i < PAGE; i += 4) p.store32(va + i, i);
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) {
      const a = va + ((i & 15) << 2);
      p.store32(a, i); p.store32(a + 256, i); p.store32(a + 512, i); p.store32(a + 768, i);
      p.store32(a + 1024, i); p.store32(a + 1280, i); p.store32(a + 1536, i); p.store32(a + 1792, i);
      p.store32(a + 2048, i); p.store32(a + 2304, i); p.store32(a + 2560, i); p.store32(a + 2816, i);
      p.store32(a + 3072, i); p.store32(a + 3328, i); p.store32(a + 3584, i); p.store32(a + 3840, i);
    }
  }, 16, opts);
}
