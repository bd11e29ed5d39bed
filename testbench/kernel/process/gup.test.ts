import { describe, expect, it } from "vitest";
import type { Page, UserVA } from "../../../sdk/index.js";
import { FOLL_WRITE, MISC_DYNAMIC_MINOR } from "../../../sdk/index.js";
import { bootProcKit } from "./test-kit.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE } from "./uapi.js";

const PAGE = 4096;

describe("get_user_pages / pin_user_pages over runs of pages", () => {
  it("returns the zero page for reads and breaks COW for FOLL_WRITE, across a last-level table boundary", async () => {
    const kit = bootProcKit();
    const k = kit.facade("gupdrv");
    const got: Page[] = [];
    const pinned: Page[] = [];
    k.misc_register({
      minor: MISC_DYNAMIC_MINOR,
      name: "gupdrv",
      fops: {
        unlocked_ioctl(k, _f, cmd, arg) {
          if (cmd === 1) return k.get_user_pages(arg as UserVA, 4, 0, got);
          if (cmd === 2) return k.pin_user_pages(arg as UserVA, 4, FOLL_WRITE, pinned);
          k.unpin_user_pages(pinned, 4);
          for (const pg of got) k.put_page(pg);
          return 0;
        },
      },
    });
    const p = kit.procs.spawn("gup");
    const fd = await p.open("/dev/gupdrv", O_RDWR);
    // 4 pages straddling a 2 MiB boundary: page 0 written, page 1 read (zero page), pages 2-3 untouched.
    const map = await p.mmap(0, 6 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const va = Math.floor(map / (2 << 20)) * (2 << 20) + (4 << 20) - 2 * PAGE;
    p.store32(va, 7);
    p.load32(va + PAGE);
    expect(await p.ioctl(fd, 1, va)).toBe(4);
    const zero = kit.procs.zeroPfn;
    expect(got.map((pg) => k.page_to_pfn(pg))).toEqual([p.mm.pfnAt(va), zero, zero, zero]);
    expect(await p.ioctl(fd, 2, va)).toBe(4);
    const pfns = pinned.map((pg) => k.page_to_pfn(pg));
    for (let i = 0; i < 4; i++) expect(pfns[i]).toBe(p.mm.pfnAt(va + i * PAGE));
    expect(pfns).not.toContain(zero);
    expect(new Set(pfns).size).toBe(4);
    expect(p.load32(va)).toBe(7);
    expect(await p.ioctl(fd, 3, 0)).toBe(0);
    expect(kit.core.reports()).toEqual([]);
  });
});
