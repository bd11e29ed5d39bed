/**
 * ioremap and friends: page-granular mappings of device memory in the vmalloc area with the
 * memory type the call asks for (uncached, write-combining, write-back), through the memory
 * manager's mapping backend ({@link IoVmap}). Mapping a range nobody requested is reported
 * (detector 9); every mapping a driver holds is in the leak ledger until unmapped.
 */
import { inject, injectable } from "../../soc/di.js";
import { MemType } from "../../soc/pagetable.js";
import { EBUSY, EINVAL, ENOMEM, ERR_PTR, formatAddr } from "../../../sdk/index.js";
import type { Device, IoMem, Kernel, PhysAddr, Resource } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { Devres } from "../driver/devres.js";
import type { KernelApiPart, Owner } from "../facade.js";
import type { CallSite } from "../stack.js";
import { DEVRES, IO_RESOURCES, IO_VMAP, KERNEL_CORE, LEAK_RECLAIMERS } from "../tokens.js";
import type { LeakReclaimers } from "../driver/reclaim.js";
import { isNull, nullDeref } from "../oops.js";
import { formatRange } from "./resource-tree.js";
import type { IoResources } from "./resources.js";
import type { IoVmap } from "./vmap.js";

const PAGE = 4096;

/** One live ioremap. @public */
export interface IoMapping {
  readonly va: number;
  readonly pa: number;
  readonly size: number;
  readonly memType: MemType;
  readonly owner: Owner;
  readonly ledgerId: number;
  readonly site: CallSite;
}

const TYPE_NAMES = ["ioremap_cache", "ioremap", "ioremap_wc"] as const;

/** One past the largest physical address any profile can have (MAXPHYADDR 52). */
const MAX_PHYS = 2 ** 52;

/** @public */
@injectable()
export class IoRemapper implements KernelApiPart {
  /** Live mappings by the page-aligned VA. */
  private readonly live = new Map<number, IoMapping>();

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(IO_RESOURCES) private readonly resources: IoResources,
    @inject(IO_VMAP) private readonly vmap: IoVmap,
    @inject(LEAK_RECLAIMERS) reclaimers: LeakReclaimers,
  ) {
    reclaimers.register("ioremap", (e) => {
      const m = this.byLedger(e.id);
      if (m) this.unmap(m.owner, m.va, m.site);
      return m !== undefined;
    });
  }

  /** Map `[pa, pa+size)`; null on failure (bad size, RAM, area full, injected fault). */
  map(owner: Owner, pa: number, size: number, memType: MemType, site: CallSite): number | null {
    const fn = TYPE_NAMES[memType]!;
    // Linux refuses a range that wraps or ends past the largest physical address (2^52).
    if (!(size > 0) || !(pa >= 0) || !(pa + size <= MAX_PHYS)) return null;
    if (this.core.faults.shouldFail("ioremap", owner.driver, site)) return null;
    if (this.resources.overlapsRam(pa, size)) {
      this.core.report(
        { kind: "warn", title: `WARNING: ${fn} on RAM at ${formatRange("mem", pa, pa + size - 1)}`, driver: owner.driver, ...(owner.device ? { device: owner.device } : {}), address: pa, size },
        site,
      );
      return null;
    }
    if (owner.driver !== "kernel" && !this.resources.memRequested(pa, size)) {
      this.core.report(
        {
          kind: "mmio",
          title: `vdtb: ${fn} of ${formatRange("mem", pa, pa + size - 1)} that ${owner.driver} did not request (request_mem_region or pci_request_regions first)`,
          driver: owner.driver,
          ...(owner.device ? { device: owner.device } : {}),
          address: pa,
          size,
          details: { check: "ioremap-unrequested" },
        },
        site,
      );
    }
    const va = this.vmap.mapPhys(pa, size, memType, `${fn} ${owner.driver}`);
    if (va === null) return null;
    const ledgerId = this.core.ledger.add("ioremap", owner, `${fn} ${formatRange("mem", pa, pa + size - 1)} at ${formatAddr(va)}`, site, this.core.now(), va, size);
    this.live.set(Math.floor(va / PAGE) * PAGE, { va, pa, size, memType, owner, ledgerId, site });
    return va;
  }

  /** `iounmap`; false (with a report) when `va` is not a live mapping. */
  unmap(owner: Owner, va: number, site: CallSite): boolean {
    const key = Math.floor(va / PAGE) * PAGE;
    const m = this.live.get(key);
    if (!m) {
      this.core.report(
        { kind: "mmio", title: `iounmap: bad address ${formatAddr(va)}`, driver: owner.driver, ...(owner.device ? { device: owner.device } : {}), address: va },
        site,
      );
      return false;
    }
    this.live.delete(key);
    this.vmap.unmap(m.va);
    this.core.ledger.remove(m.ledgerId);
    return true;
  }

  /** The mapping whose ledger entry is `ledgerId` (for reclaiming leaks). */
  byLedger(ledgerId: number): IoMapping | undefined {
    for (const m of this.live.values()) if (m.ledgerId === ledgerId) return m;
    return undefined;
  }

  /** The mapping containing `va`, if any. */
  mappingAt(va: number): IoMapping | undefined {
    for (const m of this.live.values()) {
      const start = Math.floor(m.va / PAGE) * PAGE;
      if (va >= start && va < m.va + m.size) return m;
    }
    return undefined;
  }

  /** Managed map: unmapped by devres at unbind. */
  devmMap(owner: Owner, dev: Device, pa: number, size: number, memType: MemType, site: CallSite): number | null {
    const va = this.map(owner, pa, size, memType, site);
    if (va === null) return null;
    this.devres.add(dev, `devm_${TYPE_NAMES[memType]} ${formatRange("mem", pa, pa + size - 1)} at ${formatAddr(va)}`, () => void this.unmap(owner, va, site), site);
    return va;
  }

  /** `devm_ioremap_resource`: request the region (named after the device), then map it; ERR_PTR on failure. */
  devmMapResource(owner: Owner, dev: Device, res: Resource | null, site: CallSite): number {
    if (isNull(dev)) throw nullDeref(this.core, "devm_ioremap_resource", "struct device", dev, site, owner.driver);
    if (!res || !((res.flags & 0x200) !== 0)) {
      this.core.dmesg.log("err", `${owner.driver} ${dev.name}: invalid resource ${res ? res.name : "(null)"}`);
      return ERR_PTR(-EINVAL);
    }
    const size = res.end - res.start + 1;
    if (!this.resources.devmRequest(owner, dev, "mem", res.start, size, dev.name, site)) {
      this.core.dmesg.log("err", `${owner.driver} ${dev.name}: can't request region for resource ${formatRange("mem", res.start, res.end)}`);
      return ERR_PTR(-EBUSY);
    }
    const va = this.devmMap(owner, dev, res.start, size, MemType.Uncached, site);
    return va === null ? ERR_PTR(-ENOMEM) : va;
  }

  /** `devm_iounmap`: unmap now and drop the devres entry. */
  devmUnmap(owner: Owner, dev: Device, va: number, site: CallSite): void {
    if (isNull(dev)) throw nullDeref(this.core, "devm_iounmap", "struct device", dev, site, owner.driver);
    const tag = ` at ${formatAddr(va)}`;
    const e = this.devres.find(dev, (x) => x.label.startsWith("devm_ioremap") && x.label.endsWith(tag));
    if (!e) {
      this.core.report({ kind: "warn", title: `WARNING: devm_iounmap of ${formatAddr(va)}: not a managed mapping of ${dev.name}`, driver: owner.driver, device: dev.name, address: va }, site);
      return;
    }
    this.devres.release(dev, e);
  }

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    const io = (v: number | null): IoMem | null => v as IoMem | null;
    return {
      ioremap: (pa: PhysAddr, size: number) => io(this.map(owner, pa, size, MemType.Uncached, core.site())),
      ioremap_wc: (pa: PhysAddr, size: number) => io(this.map(owner, pa, size, MemType.WriteCombining, core.site())),
      ioremap_cache: (pa: PhysAddr, size: number) => io(this.map(owner, pa, size, MemType.WriteBack, core.site())),
      iounmap: (addr: IoMem) => void this.unmap(owner, addr, core.site()),
      devm_ioremap: (dev: Device, pa: PhysAddr, size: number) => io(this.devmMap(owner, dev, pa, size, MemType.Uncached, core.site())),
      devm_ioremap_wc: (dev: Device, pa: PhysAddr, size: number) => io(this.devmMap(owner, dev, pa, size, MemType.WriteCombining, core.site())),
      devm_ioremap_resource: (dev: Device, res: Resource) => this.devmMapResource(owner, dev, res, core.site()) as IoMem,
      devm_iounmap: (dev: Device, addr: IoMem) => this.devmUnmap(owner, dev, addr, core.site()),
    };
  }
}
