/**
 * The DMA mapping API (KernelDma): per-device masks and segment limits, coherent allocations,
 * streaming mappings and scatterlists, syncs, and dma_pool, over the board's dma_ops:
 *
 * - direct: bus address = physical address;
 * - IOMMU (board.iommu): IOVAs allocated top-down per device domain, IO page tables through the
 *   SoC IOMMU, IOTLB invalidated on unmap; dma_map_sg lays the entries out contiguously and merges
 *   what the device may see as one segment;
 * - swiotlb: a buffer beyond the device's mask (no IOMMU), or every streaming buffer when the
 *   board forces bouncing, goes through the bounce pool (swiotlb.ts).
 *
 * Cache maintenance on non-coherent boards is what Linux does (arm64 since 5.19): map and
 * for_device clean every direction; unmap and for_cpu invalidate unless DMA_TO_DEVICE (partial
 * lines at the edges are cleaned first). Coherent boards do none.
 *
 * Every call feeds the DMA-API debug tracker (debug.ts), whose findings become "dma-api" reports,
 * and the leak ledger ("dma-mapping", "dma-coherent", "dma-pool"). Map-source checks: linear-map
 * memory is accepted; vmalloc memory is rejected as Linux does (DMA_MAPPING_ERROR plus the debug
 * class); any other address (no struct page) is "invalid area" and also fails. The "stack" and
 * "rodata" classes cannot arise: driver stacks and constants live on the JS side, never in
 * simulated memory, and the layouts have no kernel text. dma_map_resource is not part of the
 * facade, so its class is not reachable either. Hooks for other subsystems:
 * {@link DmaApi.registerDevice} (device host), {@link DmaApi.onDeviceUnbound} (driver core), and
 * the detectors' `checkAccess` / `afterAccess` (device DMA port) and `beforeCpuAccess` (k.mem).
 */
import type { DmaAddr, KernelVA, PgProt, UserVA, VmArea, Kernel } from "../../../sdk/index.js";
import {
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_MAPPING_ERROR,
  DMA_TO_DEVICE,
  EIO,
  ENOMEM,
  ENXIO,
  EINVAL,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGHMEM,
  __GFP_NOWARN,
  __GFP_DIRECT_RECLAIM,
  __GFP_ZERO,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_IO,
  VM_PFNMAP,
} from "../../../sdk/index.js";
import type { CoherentBuffer, DmaDirection, DmaPool, KernelDma, Scatterlist, SgTable } from "../../../sdk/kernel/dma.js";
import type { Device, PciDev } from "../../../sdk/kernel/driver-core.js";
import type { Gfp, Page } from "../../../sdk/kernel/types.js";
import { inject, injectable } from "../../soc/di.js";
import type { BoardConfig } from "../../harness/board.js";
import type { DataCache } from "../../soc/dcache.js";
import type { Iommu } from "../../soc/iommu.js";
import { MemType, PteFlag } from "../../soc/pagetable.js";
import type { SparseRam } from "../../soc/ram.js";
import { BOARD, DCACHE, IOMMU, RAM } from "../../soc/tokens.js";
import { ZoneId } from "../mm/buddy.js";
import type { KernelCore } from "../core.js";
import type { Devres } from "../driver/devres.js";
import type { KernelApiPart, Owner } from "../facade.js";
import type { Ordering } from "../io/ordering.js";
import { siteFrames, type CallSite } from "../stack.js";
import { DEVRES, DMA_MM, DMA_USER_MAPPER, KERNEL_CORE, ORDERING } from "../tokens.js";
import { pageOf, pfnOf, type DmaMmBackend, type DmaUserMapper } from "./backend.js";
import { DmaDebug, MapErrCheck, dirName, type DmaDebugError, type DmaDevRef, type DmaMapType } from "./debug.js";
import { DmaDetectors } from "./detectors.js";
import { IovaSpace } from "./iova.js";
import { CpuPhys } from "./phys.js";
import { DmaPools } from "./pool.js";
import type { DmaRecord } from "./records.js";
import { DeviceDmaStates, type DeviceDmaState } from "./state.js";
import { isNull, nullDeref } from "../oops.js";
import { StoreBuffer } from "./store-buffer.js";
import { Swiotlb, IO_TLB_DEFAULT_SIZE } from "./swiotlb.js";
import { dmaHex } from "./format.js";

const PAGE = 4096;
const ERR = DMA_MAPPING_ERROR as number;

/** What a device host tells the DMA layer about a device. @public */
export interface DmaDeviceInfo {
  /** IOMMU requester id (PCI: bus << 8 | devfn). */
  readonly requester?: number;
  /** Address bits the hardware can drive (default: whatever DMA mask the driver set). */
  readonly addressBits?: number;
}

/** A coherent allocation as kept for free and mmap. */
interface CoherentAlloc {
  readonly dev: string;
  readonly pfn: number;
  readonly order: number;
  readonly size: number;
  readonly cpu: number;
  /** True when `cpu` is a vmalloc-area mapping (uncached / write-combining). */
  readonly remapped: boolean;
  readonly memType: MemType;
  readonly handle: number;
  readonly iova: boolean;
  ledgerId: number;
}

/** A dma_map_sg call as kept for unmap. */
interface SgMapping {
  readonly nents: number;
  readonly count: number;
  readonly iovaBase: number;
  readonly ledgerId: number;
  /**
   * False when mapped with DMA-API debug and the device cross-check both off: no debug entries or
   * detector records exist for it, so unmap and sync skip that bookkeeping too.
   */
  readonly tracked: boolean;
}

/** The DMA subsystem. @public */
@injectable()
export class DmaApi implements KernelApiPart {
  /** The DMA-API debug tracker. */
  readonly tracker = new DmaDebug();
  /** Per-device masks and IOMMU state. */
  readonly devices = new DeviceDmaStates();
  /** Device- and CPU-side detectors (hooks for the device DMA port and k.mem). */
  readonly detectors: DmaDetectors;
  /** The weak-ordering store buffer. */
  readonly storeBuffer: StoreBuffer;
  /** The bounce pool. */
  readonly swiotlb: Swiotlb;
  /** dma_pool. */
  readonly pools: DmaPools;
  /** CPU-view physical copies. @internal */
  readonly phys: CpuPhys;
  private readonly iova = new Map<number, IovaSpace>();
  private readonly coherent = new Map<string, CoherentAlloc>();
  private readonly sgMaps = new WeakMap<Scatterlist[], SgMapping>();
  private lastSgError = 0;
  /** Page frames of the sg list being mapped through the IOMMU (reused, grown on demand). */
  private sgFrames = new Float64Array(256);
  /** IOVA of each sg entry while mapSgIommu merges them (reused, grown on demand). */
  private sgAddrs = new Float64Array(64);
  /** Ledger id → how to free the resource (the driver core's leak reclaimers call it after unbind). */
  private readonly releasers = new Map<number, () => void>();

  constructor(
    @inject(KERNEL_CORE) readonly core: KernelCore,
    @inject(BOARD) readonly board: BoardConfig,
    @inject(DMA_MM) readonly mm: DmaMmBackend,
    @inject(RAM) ram: SparseRam,
    @inject(DCACHE) readonly dcache: DataCache,
    @inject(IOMMU) readonly iommu: Iommu,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(ORDERING) ordering: Ordering,
    @inject(DMA_USER_MAPPER) private readonly userMapper: DmaUserMapper,
  ) {
    this.phys = new CpuPhys(ram, dcache);
    this.storeBuffer = new StoreBuffer(board.weakOrdering);
    this.detectors = new DmaDetectors(core, board, dcache, ram, iommu, this.tracker, this.devices, this.phys, this.storeBuffer);
    // Without weak ordering the store buffer never holds anything: no listener, so barriers and
    // MMIO writes stay a counter bump.
    if (this.storeBuffer.enabled) {
      ordering.onBarrier((kind) => {
        if (kind !== "rmb" && kind !== "dma_rmb") this.storeBuffer.barrier();
      });
      if (typeof ordering.onMmioWrite === "function") ordering.onMmioWrite((relaxed) => this.storeBuffer.mmioWrite(relaxed));
    }
    this.swiotlb = new Swiotlb(
      {
        allocArea: (order) => {
          // The pool lives below 4 GiB, as the default swiotlb does.
          const pfn = this.allocBelow(order, 0xffffffff, 0);
          return pfn < 0 ? -1 : pfn * PAGE;
        },
      },
      this.phys,
      IO_TLB_DEFAULT_SIZE,
    );
    this.pools = new DmaPools(this);
  }

  // ---- hooks for other subsystems ----------------------------------------------------------------

  /** Device host: a device was plugged (requester id for the IOMMU, wired addressing limit). */
  registerDevice(name: string, info: DmaDeviceInfo): void {
    const st = this.devices.get(name);
    if (info.requester !== undefined) st.requester = info.requester;
    if (info.addressBits !== undefined) st.wiredLimit = 2 ** info.addressBits - 1;
  }

  /** Driver core: `driver` was unbound from device `devName` (DMA-API debug's pending check). */
  onDeviceUnbound(devName: string, driver: string): void {
    const { error, pending } = this.tracker.unbind({ name: devName, driver });
    if (error) this.debugReport([error], error.entry?.site);
    for (const p of pending as DmaRecord[]) {
      if (p.type !== "coherent") this.detectors.streamingRemoved(p, p.site);
    }
    const st = this.devices.peek(devName);
    if (st) st.driver = "";
  }

  /** Kernel-side call sites for an owner's device state. @internal */
  state(owner: Owner, dev: Device): DeviceDmaState {
    // Linux dereferences dev->dma_mask first thing: a NULL device is an oops.
    if (isNull(dev)) throw nullDeref(this.core, "DMA API", "struct device", dev, this.core.site(), owner.driver);
    const st = this.devices.get(dev.name);
    if (owner.driver !== "kernel") st.driver = owner.driver;
    if (st.requester === undefined) st.requester = dev.bus === "pci" ? (dev as PciDev).devfn : this.devices.allocRequester();
    return st;
  }

  /** Leak reclaimer: free what ledger entry `id` stands for; false when it is not ours. */
  reclaim(id: number): boolean {
    const f = this.releasers.get(id);
    if (!f) return false;
    // Reclaim runs after unbind: DMA-API debug's pending check comes first (it needs the entries).
    const e = this.core.ledger.get(id);
    if (e) for (const [name, st] of this.devices.entries()) if (st.driver === e.owner && this.tracker.entries(name).length > 0) this.onDeviceUnbound(name, e.owner);
    this.releasers.delete(id);
    f();
    return true;
  }

  /** Register a release action for a ledger entry (dma_pool). @internal */
  onReclaim(id: number, f: () => void): void {
    if (id) this.releasers.set(id, f);
  }

  /** Forget a release action (the resource was freed normally). @internal */
  dropReclaim(id: number): void {
    this.releasers.delete(id);
  }

  /**
   * The memory path's hook (k.mem, memcpy, memset): call before a CPU access of `len` bytes at
   * kernel address `va` when {@link DmaApi.cpuWatchActive} is true.
   */
  cpuAccess(va: number, len: number, write: boolean): void {
    if (this.detectors.flags.flagged === 0 || len <= 0) return;
    for (let done = 0; done < len; ) {
      const a = va + done;
      const off = a - Math.floor(a / PAGE) * PAGE;
      const n = Math.min(PAGE - off, len - done);
      let pa = -1;
      if (this.mm.isLinear(a)) pa = this.mm.linearToPhys(a);
      else {
        const pfn = this.mm.vm.pfnAt(a);
        if (pfn >= 0) pa = pfn * PAGE + off;
      }
      if (pa >= 0 && this.detectors.flags.get(Math.floor(pa / PAGE)) !== 0) this.detectors.beforeCpuAccess(pa, n, write, a);
      done += n;
    }
  }

  /** True while some page is watched (the memory path's cheap first test). */
  get cpuWatchActive(): boolean {
    return this.detectors.flags.flagged !== 0;
  }

  // ---- masks -------------------------------------------------------------------------------------

  /** dma_supported(): what the platform can honour. */
  supported(mask: number): boolean {
    if (this.iommu.enabled) return true;
    if (mask >= 0xffffffff) return true;
    const minMask = Math.min(this.mm.layout.zoneDmaLimit - 1, this.mm.ramEnd - 1);
    return mask >= minMask;
  }

  setMask(owner: Owner, dev: Device, mask: number): number {
    const st = this.state(owner, dev);
    const m = clampMask(mask);
    if (!this.supported(m)) return -EIO;
    st.dmaMask = m;
    return 0;
  }

  setCoherentMask(owner: Owner, dev: Device, mask: number): number {
    const st = this.state(owner, dev);
    const m = clampMask(mask);
    if (!this.supported(m)) return -EIO;
    st.coherentMask = m;
    return 0;
  }

  // ---- cache maintenance -------------------------------------------------------------------------

  /** arch_sync_dma_for_device: clean for every direction. */
  private syncForDevice(pa: number, size: number): void {
    if (this.board.coherent || size <= 0) return;
    this.dcache.clean(pa, size);
  }

  /** arch_sync_dma_for_cpu: invalidate unless TO_DEVICE; partial edge lines are cleaned first. */
  private syncForCpu(pa: number, size: number, dir: number): void {
    if (this.board.coherent || size <= 0 || dir === DMA_TO_DEVICE) return;
    const ls = this.dcache.lineSize;
    const end = pa + size;
    const headLine = Math.floor(pa / ls) * ls;
    if (headLine !== pa) this.dcache.cleanInvalidate(headLine, ls);
    const tailLine = Math.floor(end / ls) * ls;
    if (tailLine !== end && tailLine >= pa) this.dcache.cleanInvalidate(tailLine, ls);
    this.dcache.invalidate(pa, size);
    this.detectors.invalidated(pa, size);
  }

  // ---- physical placement ------------------------------------------------------------------------

  /** Pages entirely at or below `limit` (the highest zone allowed first, then lower ones). */
  allocBelow(order: number, limit: number, gfp: number): number {
    const layout = this.mm.layout;
    let maxZone: ZoneId = ZoneId.Normal;
    if (limit < layout.zoneDmaLimit) maxZone = ZoneId.DMA;
    else if (limit <= 0xffffffff && layout.zoneDma32Limit > 0) maxZone = ZoneId.DMA32;
    const flags = (gfp & ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM | __GFP_ZERO)) | __GFP_NOWARN;
    for (;;) {
      const pfn = this.mm.allocBlock(flags, order, undefined, maxZone);
      if (pfn < 0) return -1;
      if ((pfn + (1 << order)) * PAGE - 1 <= limit) return pfn;
      this.mm.freeBlock(pfn, order);
      const z = this.mm.zoneOfPfn(pfn);
      if (!z || z.id === 0) return -1;
      maxZone = (z.id - 1) as ZoneId;
    }
  }

  private domainOf(st: DeviceDmaState): number {
    if (st.domain === undefined) {
      st.domain = this.iommu.createDomain(this.mm.allocTablePage);
      this.iommu.attach(st.requester!, st.domain);
    }
    return st.domain;
  }

  private iovaOf(domain: number): IovaSpace {
    let s = this.iova.get(domain);
    if (!s) this.iova.set(domain, (s = new IovaSpace()));
    return s;
  }

  /** Map physical `[pa, pa+size)` at a fresh IOVA below `limit`; returns the IOVA of `pa` or -1. */
  private iommuMap(owner: Owner, st: DeviceDmaState, pa: number, size: number, dir: number, limit: number, site: CallSite): number {
    if (this.core.faults.shouldFail("iommu-map", owner.driver, site)) return -1;
    const domain = this.domainOf(st);
    const off = pa - Math.floor(pa / PAGE) * PAGE;
    const pages = Math.ceil((off + size) / PAGE);
    const iova = this.iovaOf(domain).alloc(pages, limit);
    if (iova < 0) return -1;
    this.iommu.map(domain, iova, pa - off, pages * PAGE, dir === DMA_TO_DEVICE ? 0 : PteFlag.Write, this.mm.allocTablePage);
    return iova + off;
  }

  /** Unmap the IOVA range starting in the page of `iova` (its whole allocation), IOTLB flushed. */
  private iommuUnmap(st: DeviceDmaState, iova: number): void {
    if (st.domain === undefined) return;
    const base = Math.floor(iova / PAGE) * PAGE;
    const bytes = this.iovaOf(st.domain).free(base);
    if (bytes === 0) return;
    this.iommu.unmap(st.domain, base, bytes);
    this.iommu.flush(st.domain, base, bytes);
  }

  private busToPhys(st: DeviceDmaState, addr: number): number {
    if (!this.iommu.enabled) return addr;
    if (st.domain === undefined) return -1;
    const t = this.iommu.lookup(st.domain, addr);
    return t ? t.pa : -1;
  }

  /** dma_capable(): the whole buffer is reachable with the device's mask. */
  private capable(st: DeviceDmaState, pa: number, size: number): boolean {
    return pa + size - 1 <= Math.min(st.dmaMask, st.addressLimit);
  }

  /**
   * Map one physically contiguous buffer: bounce when needed, clean for the device, translate
   * through the IOMMU. Returns the bus address and whether it bounced, or -1.
   */
  private mapPhysical(owner: Owner, dev: Device, st: DeviceDmaState, pa: number, size: number, dir: number, site: CallSite): { bus: number; target: number; bounced: boolean } | null {
    let target = pa;
    let bounced = false;
    if (this.board.forceBounce || (!this.iommu.enabled && !this.capable(st, pa, size))) {
      const limit = this.iommu.enabled ? 0xffffffff : Math.min(st.dmaMask, st.addressLimit);
      const tlb = this.swiotlb.map(pa, size, limit);
      if (tlb < 0) {
        this.core.dmesg.log(
          "err",
          `${owner.driver} ${dev.name}: swiotlb buffer is full (sz: ${size} bytes), total ${this.swiotlb.totalSlots} (slots), used ${this.swiotlb.usedSlots} (slots)`,
        );
        return null;
      }
      target = tlb;
      bounced = true;
    }
    this.syncForDevice(target, size);
    if (!this.iommu.enabled) return { bus: target, target, bounced };
    const iova = this.iommuMap(owner, st, target, size, dir, Math.min(st.dmaMask, st.addressLimit), site);
    if (iova < 0) {
      if (bounced) this.swiotlb.unmap(target);
      return null;
    }
    return { bus: iova, target, bounced };
  }

  /** Undo {@link mapPhysical} for the mapping at bus address `bus` (copy back per direction). */
  private unmapPhysical(st: DeviceDmaState, bus: number, size: number, dir: number): void {
    const target = this.busToPhys(st, bus);
    if (target >= 0) {
      this.syncForCpu(target, size, dir);
      if (this.swiotlb.isBounce(target)) {
        const m = this.swiotlb.lookup(target);
        if (m) {
          if (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL) this.swiotlb.fromBounce(target, m.orig, Math.min(size, m.size));
          this.swiotlb.unmap(target);
        }
      }
    }
    if (this.iommu.enabled) this.iommuUnmap(st, bus);
  }

  // ---- streaming ---------------------------------------------------------------------------------

  private devRef(owner: Owner, dev: Device): DmaDevRef {
    return { name: dev.name, driver: owner.driver };
  }

  /** Where a kernel VA lives, for dma_map_single. */
  private classify(va: number): { area: "linear" | "vmalloc" | "invalid"; pa: number } {
    if (this.mm.isLinear(va)) return { area: "linear", pa: this.mm.linearToPhys(va) };
    const l = this.mm.layout;
    if (va >= l.vmallocStart && va < l.vmallocEnd) return { area: "vmalloc", pa: -1 };
    return { area: "invalid", pa: -1 };
  }

  mapSingle(owner: Owner, dev: Device, ptr: number, size: number, dir: number, site: CallSite, api = "dma_map_single"): number {
    const st = this.state(owner, dev);
    const where = this.classify(ptr);
    if (where.area !== "linear") {
      // Linux rejects vmalloc memory outright; anything else has no struct page to map.
      const e = this.tracker.mapSource(this.devRef(owner, dev), where.area, ptr, size);
      this.debugReport(e ? [e] : [], site, true);
      return ERR;
    }
    return this.mapPage(owner, dev, st, where.pa, size, dir, site, "single", api);
  }

  mapPage(owner: Owner, dev: Device, st: DeviceDmaState, pa: number, size: number, dir: number, site: CallSite, type: DmaMapType, api: string): number {
    if (!validDir(dir)) {
      this.badDirection(owner, dev, api, dir, site);
      return ERR;
    }
    if (!this.mm.pfnValid(Math.floor(pa / PAGE)) || !this.mm.pfnValid(Math.floor((pa + Math.max(size, 1) - 1) / PAGE))) {
      const e = this.tracker.mapSource(this.devRef(owner, dev), "invalid", pa, size);
      this.debugReport(e ? [e] : [], site, true);
      return ERR;
    }
    if (this.core.faults.shouldFail("dma-map", owner.driver, site)) return ERR;
    const m = this.mapPhysical(owner, dev, st, pa, size, dir, site);
    if (!m) return ERR;
    st.generation++;
    const ledgerId = this.core.ledger.add("dma-mapping", owner, `${api} ${size} bytes ${dirName(dir)} at bus 0x${m.bus.toString(16)}`, site, this.core.now(), m.bus, size);
    const rec: DmaRecord = {
      dev: this.devRef(owner, dev),
      type,
      devAddr: m.bus,
      size,
      dir,
      paddr: pa,
      mapErrCheck: MapErrCheck.NOT_CHECKED,
      owner: "device",
      site,
      ledgerId,
      bounced: m.bounced,
      targetPa: m.target,
      api,
      reported: 0,
      removed: false,
      cpuRanges: [pa, size],
    };
    this.addRecord(rec, site);
    if (ledgerId) {
      this.releasers.set(ledgerId, () => {
        const live = this.tracker.find(dev.name, m.bus, type);
        if (live) this.tracker.unmap({ dev: live.dev, devAddr: m.bus, size, type, dir });
        this.detectors.streamingRemoved(rec, site);
        this.unmapPhysical(st, m.bus, size, dir);
      });
    }
    return m.bus;
  }

  private addRecord(rec: DmaRecord, site: CallSite): void {
    const e = this.tracker.add(rec);
    if (e) this.debugReport([e], site);
    if (rec.type !== "coherent") this.detectors.streamingAdded(rec);
  }

  unmapSingle(owner: Owner, dev: Device, addr: number, size: number, dir: number, type: DmaMapType, site: CallSite): void {
    const st = this.state(owner, dev);
    const { entry, errors } = this.tracker.unmap({ dev: this.devRef(owner, dev), devAddr: addr, size, type, dir, isMappingError: addr === ERR });
    this.debugReport(errors, site);
    if (addr === ERR) return;
    const rec = entry as DmaRecord | undefined;
    if (rec && rec.type === "coherent") {
      // dma_unmap_* of coherent memory (wrong function): the buffer stays allocated, and leaks.
      this.detectors.coherentRemoved(rec, site);
      return;
    }
    if (rec) {
      this.detectors.dirtyWhileOwned(rec, type === "single" ? "dma_unmap_single" : "dma_unmap_page", site);
      this.detectors.streamingRemoved(rec, site);
      this.core.ledger.remove(rec.ledgerId);
      this.releasers.delete(rec.ledgerId);
    }
    st.generation++;
    this.unmapPhysical(st, addr, rec ? rec.size : size, dir);
  }

  mappingError(owner: Owner, dev: Device, addr: number): number {
    if (isNull(dev)) throw nullDeref(this.core, "dma_mapping_error", "struct device", dev, this.core.site(), owner.driver);
    this.tracker.markChecked(dev.name, addr);
    void owner;
    return addr === ERR ? -ENOMEM : 0;
  }

  /** Sync a single range (for_cpu or for_device). */
  syncSingle(owner: Owner, dev: Device, addr: number, size: number, dir: number, toDevice: boolean, site: CallSite, sgCallEnts?: number): void {
    const st = this.state(owner, dev);
    const before = this.findStreaming(dev.name, addr)?.owner;
    const { entry, errors } = this.tracker.sync({ dev: this.devRef(owner, dev), devAddr: addr, size, dir, toDevice, ...(sgCallEnts !== undefined ? { sgCallEnts } : {}) });
    this.debugReport(errors, site);
    const rec = entry as DmaRecord | undefined;
    if (rec && !toDevice) this.detectors.dirtyWhileOwned(rec, sgCallEnts !== undefined ? "dma_sync_sg_for_cpu" : "dma_sync_single_for_cpu", site);
    if (rec && before !== undefined) this.detectors.ownerChanged(rec, before);
    this.syncPhysical(st, addr, size, dir, toDevice);
  }

  private syncPhysical(st: DeviceDmaState, addr: number, size: number, dir: number, toDevice: boolean): void {
    const target = this.busToPhys(st, addr);
    if (target < 0) return;
    const bounce = this.swiotlb.isBounce(target) ? this.swiotlbOrig(target) : -1;
    if (toDevice) {
      if (bounce >= 0 && (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL)) this.swiotlb.toBounce(target, bounce, size);
      this.syncForDevice(target, size);
    } else {
      this.syncForCpu(target, size, dir);
      if (bounce >= 0 && (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL)) this.swiotlb.fromBounce(target, bounce, size);
    }
  }

  /** Original address of bounce byte `tlb` (the mapping may start before it). */
  private swiotlbOrig(tlb: number): number {
    for (let back = 0; back <= 256 * 1024; back += 2048) {
      const start = Math.floor((tlb - back) / 2048) * 2048;
      const m = this.swiotlb.lookup(start);
      if (m) return tlb - start < m.size ? m.orig + (tlb - start) : -1;
    }
    return -1;
  }

  private findStreaming(devName: string, addr: number): DmaRecord | undefined {
    const map = this.tracker.pageMap(devName);
    const at = map?.get(Math.floor(addr / PAGE));
    if (!at) return undefined;
    for (const e of at) if (e.type !== "coherent" && addr >= e.devAddr && addr < e.devAddr + e.size) return e as DmaRecord;
    return undefined;
  }

  // ---- scatterlists ------------------------------------------------------------------------------

  mapSg(owner: Owner, dev: Device, sgl: Scatterlist[], nents: number, dir: number, site: CallSite): number {
    const st = this.state(owner, dev);
    if (isNull(sgl)) throw nullDeref(this.core, "dma_map_sg", "struct scatterlist", sgl, site, owner.driver);
    this.lastSgError = -EINVAL;
    if (!validDir(dir)) {
      this.badDirection(owner, dev, "dma_map_sg", dir, site);
      return 0;
    }
    if (!(nents > 0) || nents > sgl.length) {
      this.warn(owner, dev, `dma_map_sg: nents ${nents} does not fit a list of ${sgl.length} entries`, site);
      return 0;
    }
    if (this.sgMaps.has(sgl)) this.warn(owner, dev, "dma_map_sg: an sg list cannot be mapped twice (unmap it first)", site);
    for (let i = 0; i < nents; i++) {
      const s = sgl[i]!;
      if (s.page === null || !this.mm.pfnValid(pfnOf(s.page)) || !(s.length > 0)) {
        this.warn(owner, dev, `dma_map_sg: entry ${i} has no valid page or length`, site);
        return 0;
      }
    }
    if (this.core.faults.shouldFail("dma-map", owner.driver, site)) {
      this.lastSgError = -ENOMEM;
      return 0;
    }
    const count = this.iommu.enabled && !this.board.forceBounce ? this.mapSgIommu(owner, dev, st, sgl, nents, dir, site) : this.mapSgEach(owner, dev, st, sgl, nents, dir, site);
    if (count === 0) return 0;
    for (let i = count; i < nents; i++) {
      sgl[i]!.dma_address = ERR as DmaAddr;
      sgl[i]!.dma_length = 0;
    }
    const ledger = this.core.ledger;
    const ledgerId = ledger.enabled ? ledger.add("dma-mapping", owner, `dma_map_sg ${nents} entries (${count} segments) ${dirName(dir)} at bus 0x${sgl[0]!.dma_address.toString(16)}`, site, this.core.now(), sgl[0]!.dma_address, totalLength(sgl, nents)) : 0;
    const tracked = this.core.detectors.dmaDebug || this.core.detectors.deviceCrossCheck;
    this.sgMaps.set(sgl, { nents, count, iovaBase: sgl[0]!.dma_address, ledgerId, tracked });
    if (ledgerId) this.releasers.set(ledgerId, () => this.unmapSg({ driver: "kernel" }, dev, sgl, nents, dir, site, true));
    if (!tracked) {
      st.generation++;
      return count;
    }
    this.trackSg(owner, dev, st, sgl, nents, count, dir, site);
    st.generation++;
    return count;
  }

  /** DMA-API debug entries and detector records for the `count` segments just mapped. */
  private trackSg(owner: Owner, dev: Device, st: DeviceDmaState, sgl: Scatterlist[], nents: number, count: number, dir: number, site: CallSite): void {
    const group = this.tracker.newSgGroup();
    const ref = this.devRef(owner, dev);
    let entry = 0;
    for (let i = 0; i < count; i++) {
      const s = sgl[i]!;
      // The entries merged into this segment: consecutive, their lengths add up to it. Counted
      // first so that the list is made at its size (a segment can merge thousands of pages).
      let merged = 0;
      for (let sum = 0, k = entry; sum < s.dma_length && k < nents; k++, merged++) sum += sgl[k]!.length;
      const pieces = new Array<number>(2 * merged);
      for (let j = 0; j < merged; j++, entry++) {
        const e = sgl[entry]!;
        pieces[2 * j] = pfnOf(e.page!) * PAGE + e.offset;
        pieces[2 * j + 1] = e.length;
      }
      const e = this.tracker.sgSegment(ref, s.dma_address, s.dma_length, st.maxSegSize, st.segBoundary);
      if (e) this.debugReport([e], site);
      const pa = pfnOf(s.page!) * PAGE + s.offset;
      this.addRecord(
        {
          dev: ref,
          type: "scatter-gather",
          devAddr: s.dma_address,
          size: s.dma_length,
          dir,
          paddr: pa,
          sgCallEnts: nents,
          sgMappedEnts: count,
          sgGroup: group,
          mapErrCheck: MapErrCheck.NOT_NEEDED,
          owner: "device",
          site,
          ledgerId: 0,
          bounced: this.board.forceBounce || (!this.iommu.enabled && s.dma_address !== pa),
          targetPa: this.iommu.enabled ? -1 : s.dma_address,
          api: "dma_map_sg",
          reported: 0,
          removed: false,
          cpuRanges: pieces,
        },
        site,
      );
    }
  }

  /** dma-direct / swiotlb: one bus address per entry, never merged; all or nothing. */
  private mapSgEach(owner: Owner, dev: Device, st: DeviceDmaState, sgl: Scatterlist[], nents: number, dir: number, site: CallSite): number {
    for (let i = 0; i < nents; i++) {
      const s = sgl[i]!;
      const pa = pfnOf(s.page!) * PAGE + s.offset;
      const m = this.mapPhysical(owner, dev, st, pa, s.length, dir, site);
      if (!m) {
        for (let j = 0; j < i; j++) this.unmapPhysical(st, sgl[j]!.dma_address, sgl[j]!.length, dir);
        this.lastSgError = -EIO;
        return 0;
      }
      s.dma_address = m.bus as DmaAddr;
      s.dma_length = s.length;
    }
    return nents;
  }

  /**
   * iommu-dma: every entry gets page-aligned room in one IOVA range (its page offset kept), then
   * entries the device can see as one segment are merged (the previous one ends on a page
   * boundary, this one starts at offset 0, within max_seg_size and the segment boundary).
   */
  private mapSgIommu(owner: Owner, dev: Device, st: DeviceDmaState, sgl: Scatterlist[], nents: number, dir: number, site: CallSite): number {
    if (this.core.faults.shouldFail("iommu-map", owner.driver, site)) {
      this.lastSgError = -ENOMEM;
      return 0;
    }
    let pages = 0;
    for (let i = 0; i < nents; i++) pages += Math.ceil((sgl[i]!.offset + sgl[i]!.length) / PAGE);
    const domain = this.domainOf(st);
    const base = this.iovaOf(domain).alloc(pages, Math.min(st.dmaMask, st.addressLimit));
    if (base < 0) {
      this.lastSgError = -ENOMEM;
      return 0;
    }
    const prot = dir === DMA_TO_DEVICE ? 0 : PteFlag.Write;
    let at = base;
    if (this.sgAddrs.length < nents) this.sgAddrs = new Float64Array(Math.max(nents, 2 * this.sgAddrs.length));
    const addrs = this.sgAddrs;
    // Every page's frame, in IOVA order, mapped in one pass (one walk per last-level table).
    if (this.sgFrames.length < pages) this.sgFrames = new Float64Array(Math.max(pages, 2 * this.sgFrames.length));
    const frames = this.sgFrames;
    let page = 0;
    for (let i = 0; i < nents; i++) {
      const s = sgl[i]!;
      const pa = pfnOf(s.page!) * PAGE + s.offset;
      const off = s.offset - Math.floor(s.offset / PAGE) * PAGE;
      const n = Math.ceil((off + s.length) / PAGE);
      this.syncForDevice(pa, s.length);
      for (let j = 0; j < n; j++) frames[page++] = pa - off + j * PAGE;
      addrs[i] = at + off;
      at += n * PAGE;
    }
    this.iommu.mapFrames(domain, base, frames, page, prot, this.mm.allocTablePage);
    // Merge into segments, written over the first entries.
    let count = 0;
    const maxSeg = st.maxSegSize;
    const window = st.segBoundary + 1;
    let segAddr = addrs[0]!;
    let segLen = sgl[0]!.length;
    // A segment may not cross a multiple of `window`: the end of the one it starts in.
    let segLimit = (Math.floor(segAddr / window) + 1) * window;
    for (let i = 1; i <= nents; i++) {
      const s = sgl[i];
      const prev = sgl[i - 1]!;
      const canMerge =
        i < nents &&
        onPageBoundary(prev.offset + prev.length) &&
        onPageBoundary(s!.offset) &&
        segLen + s!.length <= maxSeg &&
        segAddr + segLen + s!.length <= segLimit;
      if (canMerge) {
        segLen += s!.length;
        continue;
      }
      sgl[count]!.dma_address = segAddr as DmaAddr;
      sgl[count]!.dma_length = segLen;
      count++;
      if (i < nents) {
        segAddr = addrs[i]!;
        segLen = s!.length;
        segLimit = (Math.floor(segAddr / window) + 1) * window;
      }
    }
    return count;
  }

  unmapSg(owner: Owner, dev: Device, sgl: Scatterlist[], nents: number, dir: number, site: CallSite, reclaim = false): void {
    const st = reclaim ? this.devices.get(dev.name) : this.state(owner, dev);
    if (isNull(sgl)) throw nullDeref(this.core, "dma_unmap_sg", "struct scatterlist", sgl, site, owner.driver);
    const m = this.sgMaps.get(sgl);
    const ref = reclaim ? { name: dev.name, driver: st.driver || owner.driver } : this.devRef(owner, dev);
    // debug_dma_unmap_sg: walk the given nents, stopping at the mapped count (nothing to check
    // for a list mapped while DMA-API debug and the cross-check were off).
    const mapped = m ? (m.tracked ? m.count : 0) : nents;
    if (Math.min(nents, mapped, sgl.length) > 0) this.untrackSg(ref, sgl, nents, mapped, dir, site, reclaim);
    if (!m) return;
    st.generation++;
    if (this.iommu.enabled && !this.board.forceBounce) {
      // syncForCpu does nothing on a coherent board or for DMA_TO_DEVICE: skip the walk over the list.
      if (!this.board.coherent && dir !== DMA_TO_DEVICE) {
        for (let i = 0; i < Math.min(nents, sgl.length); i++) {
          const s = sgl[i]!;
          if (s.page) this.syncForCpu(pfnOf(s.page) * PAGE + s.offset, s.length, dir);
        }
      }
      this.iommuUnmap(st, m.iovaBase);
    } else {
      // dma-direct unmaps exactly the entries it is given; the rest stay mapped (a leak).
      for (let i = 0; i < Math.min(nents, m.nents, sgl.length); i++) this.unmapPhysical(st, sgl[i]!.dma_address, sgl[i]!.length, dir);
    }
    this.core.ledger.remove(m.ledgerId);
    this.releasers.delete(m.ledgerId);
    this.sgMaps.delete(sgl);
  }

  /** debug_dma_unmap_sg over the given nents (at most the mapped count), and the detectors' records. */
  private untrackSg(ref: DmaDevRef, sgl: Scatterlist[], nents: number, mapped: number, dir: number, site: CallSite, reclaim: boolean): void {
    for (let i = 0; i < Math.min(nents, mapped, sgl.length); i++) {
      const s = sgl[i]!;
      const { entry, errors } = this.tracker.unmap({ dev: ref, devAddr: s.dma_address, size: s.dma_length, type: "scatter-gather", dir, sgCallEnts: nents });
      if (!reclaim) this.debugReport(errors, site);
      if (entry) {
        this.detectors.dirtyWhileOwned(entry as DmaRecord, "dma_unmap_sg", site);
        this.detectors.streamingRemoved(entry as DmaRecord, site);
      }
    }
  }

  syncSg(owner: Owner, dev: Device, sgl: Scatterlist[], nents: number, dir: number, toDevice: boolean, site: CallSite): void {
    const st = this.state(owner, dev);
    if (isNull(sgl)) throw nullDeref(this.core, toDevice ? "dma_sync_sg_for_device" : "dma_sync_sg_for_cpu", "struct scatterlist", sgl, site, owner.driver);
    const m = this.sgMaps.get(sgl);
    const mapped = m ? (m.tracked ? m.count : 0) : nents;
    const ref = this.devRef(owner, dev);
    for (let i = 0; i < Math.min(nents, mapped, sgl.length); i++) {
      const s = sgl[i]!;
      const before = this.findStreaming(dev.name, s.dma_address)?.owner;
      const { entry, errors } = this.tracker.sync({ dev: ref, devAddr: s.dma_address, size: s.dma_length, dir, toDevice, sgCallEnts: nents });
      this.debugReport(errors, site);
      if (entry && !toDevice) this.detectors.dirtyWhileOwned(entry as DmaRecord, "dma_sync_sg_for_cpu", site);
      if (entry && before !== undefined) this.detectors.ownerChanged(entry as DmaRecord, before);
    }
    if (!m) return;
    if (this.iommu.enabled && !this.board.forceBounce) {
      for (let i = 0; i < Math.min(nents, sgl.length); i++) {
        const s = sgl[i]!;
        if (!s.page) continue;
        const pa = pfnOf(s.page) * PAGE + s.offset;
        if (toDevice) this.syncForDevice(pa, s.length);
        else this.syncForCpu(pa, s.length, dir);
      }
    } else {
      for (let i = 0; i < Math.min(nents, m.nents, sgl.length); i++) this.syncPhysical(st, sgl[i]!.dma_address, sgl[i]!.length, dir, toDevice);
    }
  }

  // ---- coherent ----------------------------------------------------------------------------------

  allocCoherent(owner: Owner, dev: Device, size: number, gfp: number, wc: boolean, site: CallSite, opts: { ledger?: boolean; api?: string } = {}): CoherentBuffer | null {
    const st = this.state(owner, dev);
    const api = opts.api ?? (wc ? "dma_alloc_wc" : "dma_alloc_coherent");
    if (!(size > 0)) {
      this.warn(owner, dev, `${api}: size ${size}`, site);
      return null;
    }
    if ((gfp & __GFP_DIRECT_RECLAIM) !== 0) this.core.mightSleep(api, site);
    if (this.core.faults.shouldFail("dma-alloc", owner.driver, site)) return null;
    const pages = Math.ceil(size / PAGE);
    let order = 0;
    // 2 ** order, not 1 << order: a huge size would wrap the shift and loop forever.
    while (order <= 10 && 2 ** order < pages) order++;
    if (order > 10) {
      this.warn(owner, dev, `${api}: ${size} bytes is more than the page allocator's largest block`, site);
      return null;
    }
    const limit = this.iommu.enabled ? 2 ** 53 : st.coherentMask;
    const pfn = this.allocBelow(order, limit, gfp);
    if (pfn < 0) return null;
    const pa = pfn * PAGE;
    const bytes = (1 << order) * PAGE;
    this.phys.zeroFresh(pa, bytes);
    const memType = this.board.coherent ? MemType.WriteBack : wc ? MemType.WriteCombining : MemType.Uncached;
    let cpu = this.board.coherent ? this.mm.physToLinear(pa) : null;
    let remapped = false;
    if (cpu === null) {
      const pfns: number[] = [];
      for (let i = 0; i < pages; i++) pfns.push(pfn + i);
      cpu = this.mm.vm.mapPfns(pfns, memType, api);
      remapped = true;
      if (cpu === null) {
        this.mm.freeBlock(pfn, order);
        return null;
      }
    }
    let handle = pa;
    if (this.iommu.enabled) {
      handle = this.iommuMap(owner, st, pa, pages * PAGE, DMA_BIDIRECTIONAL, Math.min(st.coherentMask, st.addressLimit), site);
      if (handle < 0) {
        if (remapped) this.mm.vm.unmap(cpu);
        this.mm.freeBlock(pfn, order);
        return null;
      }
    }
    const ledgerId = opts.ledger === false ? 0 : this.core.ledger.add("dma-coherent", owner, `${api} ${size} bytes at bus 0x${handle.toString(16)}`, site, this.core.now(), cpu, size);
    const alloc: CoherentAlloc = { dev: dev.name, pfn, order, size, cpu, remapped, memType, handle, iova: this.iommu.enabled, ledgerId };
    this.coherent.set(`${dev.name}|${handle}`, alloc);
    if (ledgerId) {
      this.releasers.set(ledgerId, () => {
        const live = this.tracker.find(dev.name, handle, "coherent");
        if (live) this.tracker.unmap({ dev: live.dev, devAddr: handle, size, type: "coherent", dir: DMA_BIDIRECTIONAL });
        this.coherent.delete(`${dev.name}|${handle}`);
        this.releaseCoherent(st, alloc);
      });
    }
    this.addRecord(
      {
        dev: this.devRef(owner, dev),
        type: "coherent",
        devAddr: handle,
        size,
        dir: DMA_BIDIRECTIONAL,
        paddr: pa,
        cpuAddr: cpu,
        mapErrCheck: MapErrCheck.NOT_NEEDED,
        owner: "device",
        site,
        ledgerId,
        bounced: false,
        targetPa: pa,
        api,
        reported: 0,
        removed: false,
        cpuRanges: [pa, size],
      },
      site,
    );
    this.detectors.bufferPages(pa, pages * PAGE, true);
    st.generation++;
    return { cpu: cpu as KernelVA, handle: handle as DmaAddr };
  }

  freeCoherent(owner: Owner, dev: Device, size: number, cpu: number, handle: number, site: CallSite, quiet = false): void {
    const st = quiet ? this.devices.get(dev.name) : this.state(owner, dev);
    const { entry, errors } = this.tracker.unmap({ dev: this.devRef(owner, dev), devAddr: handle, size, type: "coherent", dir: DMA_BIDIRECTIONAL, cpuAddr: cpu });
    if (!quiet) this.debugReport(errors, site);
    const alloc = this.coherent.get(`${dev.name}|${handle}`);
    if (!alloc) return;
    this.coherent.delete(`${dev.name}|${handle}`);
    if (entry) this.detectors.coherentRemoved(entry as DmaRecord, site);
    this.releaseCoherent(st, alloc);
  }

  private releaseCoherent(st: DeviceDmaState, alloc: CoherentAlloc): void {
    const pages = Math.ceil(alloc.size / PAGE);
    this.detectors.bufferPages(alloc.pfn * PAGE, pages * PAGE, false);
    if (alloc.iova) this.iommuUnmap(st, alloc.handle);
    if (alloc.remapped) this.mm.vm.unmap(alloc.cpu);
    // Stale lines of the pages must not survive into their next user.
    this.dcache.cleanInvalidate(alloc.pfn * PAGE, (1 << alloc.order) * PAGE);
    this.mm.freeBlock(alloc.pfn, alloc.order);
    this.core.ledger.remove(alloc.ledgerId);
    this.releasers.delete(alloc.ledgerId);
    st.generation++;
  }

  /** The coherent allocation of `dev` containing bus address `handle`, if any. @internal */
  coherentAt(devName: string, handle: number): CoherentAlloc | undefined {
    return this.coherent.get(`${devName}|${handle}`);
  }

  mmapCoherent(owner: Owner, dev: Device, vma: VmArea, cpu: number, handle: number, size: number, wc: boolean, site: CallSite): number {
    const alloc = this.coherent.get(`${dev.name}|${handle}`);
    if (!alloc || alloc.cpu !== cpu) {
      this.warn(owner, dev, `dma_mmap_${wc ? "wc" : "coherent"}: no coherent buffer at cpu ${this.mm.hex(cpu)} / bus ${dmaHex(handle)}`, site);
      return -ENXIO;
    }
    const count = Math.ceil(size / PAGE);
    const userCount = Math.ceil((vma.vm_end - vma.vm_start) / PAGE);
    const off = vma.vm_pgoff;
    if (off >= count || userCount > count - off) return -ENXIO;
    const mt = this.board.coherent ? PteFlag.MtWriteBack : wc ? PteFlag.MtWriteCombining : PteFlag.MtUncached;
    const prot = ((vma.vm_page_prot & ~PteFlag.MtMask) | mt) as PgProt;
    vma.vm_page_prot = prot;
    vma.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
    return this.userMapper.remap_pfn_range(owner, vma, vma.vm_start as UserVA, alloc.pfn + off, userCount * PAGE, prot);
  }

  // ---- reports -----------------------------------------------------------------------------------

  /** Tracker findings → "dma-api" reports (when DMA-API debug is on). */
  debugReport(errors: readonly DmaDebugError[], site: CallSite | undefined, force = false): void {
    if (!force && !this.core.detectors.dmaDebug) return;
    for (const e of errors) {
      const stack = siteFrames(site);
      this.core.report({
        kind: "dma-api",
        title: e.title,
        text: stack.length ? `${e.text}\nCall Trace:\n${stack.map((f) => ` ${f}`).join("\n")}` : e.text,
        driver: e.dev.driver,
        device: e.dev.name,
        stack,
        ...(e.entry ? { mapStack: siteFrames(e.entry.site), address: e.entry.devAddr, size: e.entry.size } : {}),
      });
    }
  }

  private warn(owner: Owner, dev: Device, msg: string, site: CallSite): void {
    this.core.report({ kind: "dma-api", title: `WARNING: ${owner.driver} ${dev.name}: ${msg}`, driver: owner.driver, device: dev.name, stack: siteFrames(site) });
  }

  private badDirection(owner: Owner, dev: Device, api: string, dir: number, site: CallSite): void {
    this.warn(owner, dev, `${api}: invalid DMA direction ${dir} (valid_dma_direction() fails)`, site);
  }

  /** Error of the last failed dma_map_sg (for dma_map_sgtable). @internal */
  get sgError(): number {
    return this.lastSgError;
  }

  // ---- facade ------------------------------------------------------------------------------------

  /** Every KernelDma method (the return type makes a missing one a compile error). */
  api(owner: Owner): Pick<Kernel, keyof KernelDma> {
    const core = this.core;
    const site = () => core.site();
    const mapPageApi = (dev: Device, page: Page, offset: number, size: number, dir: DmaDirection) =>
      this.mapPage(owner, dev, this.state(owner, dev), pfnOf(page) * PAGE + offset, size, dir, site(), "single", "dma_map_page") as DmaAddr;
    return {
      dma_set_mask: (dev, mask) => this.setMask(owner, dev, mask),
      dma_set_coherent_mask: (dev, mask) => this.setCoherentMask(owner, dev, mask),
      dma_set_mask_and_coherent: (dev, mask) => {
        const r = this.setMask(owner, dev, mask);
        return r === 0 ? this.setCoherentMask(owner, dev, mask) : r;
      },
      dma_get_mask: (dev) => this.state(owner, dev).dmaMask,
      dma_set_max_seg_size: (dev, size) => {
        this.state(owner, dev).maxSegSize = size;
        return 0;
      },
      dma_set_seg_boundary: (dev, mask) => {
        this.state(owner, dev).segBoundary = mask;
        return 0;
      },

      dma_alloc_coherent: (dev, size, flags: Gfp) => this.allocCoherent(owner, dev, size, flags, false, site()),
      dma_free_coherent: (dev, size, cpu, handle) => this.freeCoherent(owner, dev, size, cpu, handle, site()),
      dmam_alloc_coherent: (dev, size, flags) => {
        const s = site();
        const buf = this.allocCoherent(owner, dev, size, flags, false, s, { api: "dmam_alloc_coherent" });
        if (buf) this.devres.add(dev, `dmam_alloc_coherent ${size} bytes at bus 0x${(buf.handle as number).toString(16)}`, () => this.freeCoherent(owner, dev, size, buf.cpu, buf.handle, s), s);
        return buf;
      },
      dma_alloc_wc: (dev, size, flags) => this.allocCoherent(owner, dev, size, flags, true, site()),
      dma_free_wc: (dev, size, cpu, handle) => this.freeCoherent(owner, dev, size, cpu, handle, site()),
      dma_mmap_coherent: (dev, vma, cpu, handle, size) => this.mmapCoherent(owner, dev, vma, cpu, handle, size, false, site()),
      dma_mmap_wc: (dev, vma, cpu, handle, size) => this.mmapCoherent(owner, dev, vma, cpu, handle, size, true, site()),

      dma_map_single: (dev, ptr, size, dir) => this.mapSingle(owner, dev, ptr, size, dir, site()) as DmaAddr,
      dma_unmap_single: (dev, addr, size, dir) => this.unmapSingle(owner, dev, addr, size, dir, "single", site()),
      dma_map_page: mapPageApi,
      dma_unmap_page: (dev, addr, size, dir) => this.unmapSingle(owner, dev, addr, size, dir, "single", site()),
      dma_mapping_error: (dev, addr) => this.mappingError(owner, dev, addr),
      dma_map_sg: (dev, sgl, nents, dir) => this.mapSg(owner, dev, sgl, nents, dir, site()),
      dma_unmap_sg: (dev, sgl, nents, dir) => this.unmapSg(owner, dev, sgl, nents, dir, site()),
      dma_map_sgtable: (dev, sgt: SgTable, dir) => {
        const n = this.mapSg(owner, dev, sgt.sgl, sgt.orig_nents, dir, site());
        if (n === 0) return this.lastSgError || -EIO;
        sgt.nents = n;
        return 0;
      },
      dma_unmap_sgtable: (dev, sgt: SgTable, dir) => this.unmapSg(owner, dev, sgt.sgl, sgt.orig_nents, dir, site()),
      dma_sync_single_for_cpu: (dev, addr, size, dir) => this.syncSingle(owner, dev, addr, size, dir, false, site()),
      dma_sync_single_for_device: (dev, addr, size, dir) => this.syncSingle(owner, dev, addr, size, dir, true, site()),
      dma_sync_sg_for_cpu: (dev, sgl, nents, dir) => this.syncSg(owner, dev, sgl, nents, dir, false, site()),
      dma_sync_sg_for_device: (dev, sgl, nents, dir) => this.syncSg(owner, dev, sgl, nents, dir, true, site()),

      sg_init_table: (sgl, nents) => {
        if (isNull(sgl)) throw nullDeref(core, "sg_init_table", "struct scatterlist", sgl, site(), owner.driver);
        if (!validSgCount(nents)) {
          core.report({ kind: "warn", title: `WARNING: sg_init_table(${nents}): not a table size kmalloc_array could hold`, driver: owner.driver, stack: siteFrames(site()) });
          return;
        }
        for (let i = 0; i < nents; i++) sgl[i] = freshSg(i === nents - 1);
      },
      sg_alloc: (nents) => {
        if (!validSgCount(nents)) {
          // kmalloc_array of the entries fails: no table (an empty one, the facade has no NULL here).
          core.report({ kind: "warn", title: `WARNING: sg_alloc(${nents}): not a table size kmalloc_array could hold`, driver: owner.driver, stack: siteFrames(site()) });
          return [];
        }
        return Array.from({ length: nents }, (_, i) => freshSg(i === nents - 1));
      },
      sg_alloc_table: (table, nents, flags) => {
        if (!(nents > 0) || !Number.isInteger(nents)) return -EINVAL;
        if ((flags & __GFP_DIRECT_RECLAIM) !== 0) core.mightSleep("sg_alloc_table");
        if (nents > SG_MAX_ENTRIES) return -ENOMEM;
        if (core.faults.shouldFail("kmalloc", owner.driver, site())) return -ENOMEM;
        table.sgl = Array.from({ length: nents }, (_, i) => freshSg(i === nents - 1));
        table.nents = nents;
        table.orig_nents = nents;
        return 0;
      },
      sg_free_table: (table) => {
        table.sgl = [];
        table.nents = 0;
        table.orig_nents = 0;
      },
      sg_set_page: (sg, page, len, offset) => {
        if (isNull(sg)) throw nullDeref(core, "sg_set_page", "struct scatterlist", sg, site(), owner.driver);
        sg.page = page;
        sg.length = len;
        sg.offset = offset;
      },
      sg_set_buf: (sg, buf, buflen) => {
        if (isNull(sg)) throw nullDeref(core, "sg_set_buf", "struct scatterlist", sg, site(), owner.driver);
        if (!this.mm.isLinear(buf)) {
          core.report({ kind: "dma-api", title: `sg_set_buf: ${this.mm.hex(buf)} is not a linear-map address (virt_addr_valid() fails)`, driver: owner.driver, stack: siteFrames(site()) });
          sg.page = null;
          sg.length = buflen;
          sg.offset = 0;
          return;
        }
        const pa = this.mm.linearToPhys(buf);
        const pfn = Math.floor(pa / PAGE);
        sg.page = pageOf(pfn);
        sg.offset = pa - pfn * PAGE;
        sg.length = buflen;
      },
      sg_dma_address: (sg) => sg.dma_address,
      sg_dma_len: (sg) => sg.dma_length,

      dma_pool_create: (name, dev, size, align, boundary) => this.pools.create(owner, name, dev, size, align, boundary, site()),
      dma_pool_alloc: (pool: DmaPool, flags) => this.pools.alloc(owner, pool, flags, false, site()),
      dma_pool_zalloc: (pool: DmaPool, flags) => this.pools.alloc(owner, pool, flags, true, site()),
      dma_pool_free: (pool: DmaPool, cpu, handle) => this.pools.free(owner, pool, cpu, handle, site()),
      dma_pool_destroy: (pool) => this.pools.destroy(owner, pool, site()),
    };
  }
}

/** Most scatterlist entries kmalloc_array can hold (4 MiB of 32-byte entries). */
const SG_MAX_ENTRIES = (PAGE << 10) / 32;

/** `x` is a multiple of the page size (the fields may hold doubles, where `%` is a library call). */
function onPageBoundary(x: number): boolean {
  return x === Math.floor(x * (1 / PAGE)) * PAGE;
}

function validSgCount(nents: number): boolean {
  return Number.isInteger(nents) && nents >= 0 && nents <= SG_MAX_ENTRIES;
}

function validDir(dir: number): boolean {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE || dir === DMA_FROM_DEVICE;
}

/** dma_addr_t is 64 bits: anything from 2^53 up means "all ones". */
function clampMask(mask: number): number {
  return mask >= 2 ** 53 ? 2 ** 64 - 1 : mask;
}

function freshSg(end: boolean): Scatterlist {
  return { page: null, offset: 0, length: 0, dma_address: 0 as DmaAddr, dma_length: 0, end };
}

function totalLength(sgl: Scatterlist[], n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += sgl[i]!.length;
  return t;
}
