/**
 * The detectors that watch what the device and the CPU actually do with DMA memory:
 *
 * - device side (detector 2), called by the device host's DMA port for every device access:
 *   the device's addressing limit, then the access against the device's live mappings (outside
 *   any mapping, after unmap, wrong direction, a streaming buffer the CPU owns);
 * - stale cache (detector 4, non-coherent boards): a device read of a line still dirty in the CPU
 *   cache (a missing clean), and a CPU read of a clean line that differs from memory because the
 *   device wrote behind it (a missing invalidate);
 * - CPU ownership (detector 3): a CPU access to a streaming buffer the device owns, through the
 *   memory path's watch hook, with a fallback at unmap/sync_for_cpu on non-coherent boards (dirty
 *   lines inside the buffer mean the CPU wrote it while the device owned it);
 * - weak ordering (detector 8): device reads of bytes with stores still in the store buffer.
 *
 * Each finding is reported once per mapping and kind (a transfer of many pages gives one report).
 */
import { DmaStatus } from "../../../sdk/index.js";
import type { BoardConfig } from "../../harness/board.js";
import type { DataCache } from "../../soc/dcache.js";
import type { Iommu } from "../../soc/iommu.js";
import type { SparseRam } from "../../soc/ram.js";
import type { KernelCore } from "../core.js";
import { siteFrames, type CallSite } from "../stack.js";
import { dirName, type DmaDebug } from "./debug.js";
import { Watch, PfnFlags } from "./cpu-watch.js";
import type { CpuPhys } from "./phys.js";
import { PfnRecords } from "./pfn-records.js";
import { PfnWords } from "./pfn-words.js";
import { Reported, type DmaRecord } from "./records.js";
import type { DeviceDmaState, DeviceDmaStates } from "./state.js";
import type { StoreBuffer } from "./store-buffer.js";

const PAGE = 4096;
const TO_DEVICE = 1;
const FROM_DEVICE = 2;
const RECENT = 32;

/** A recently unmapped range of one device (for "after unmap"). */
interface Unmapped {
  readonly start: number;
  readonly end: number;
  readonly api: string;
  readonly driver: string;
  readonly mapSite: CallSite;
  readonly unmapSite: CallSite;
}

const hexAddr = (n: number) => "0x" + n.toString(16);
const noPage = (_p: number): void => {};

/** Does `[pa, pa+len)` touch the CPU buffer of `r`? */
function overlapsCpu(r: DmaRecord, pa: number, len: number): boolean {
  const c = r.cpuRanges;
  for (let k = 0; k < c.length; k += 2) if (pa < c[k]! + c[k + 1]! && c[k]! < pa + len) return true;
  return false;
}

/** The DMA detectors. @internal */
export class DmaDetectors {
  /** Per-pfn words shared by the flags and the records (one cache line per page). */
  private readonly pfnWords = new PfnWords();
  /** Per-pfn flags the CPU memory path consults (see cpu-watch.ts). */
  readonly flags = new PfnFlags(this.pfnWords);
  /** Streaming records by pfn of their CPU buffer (for the CPU-side checks). */
  private readonly byPfn = new PfnRecords<DmaRecord>(this.pfnWords);
  /** Per-page visitors (bound once: no closure per mapping). */
  private readonly ownPage = (p: number): void => this.flags.adjust(p, p, Watch.DeviceOwned, 1);
  private readonly releasePage = (p: number): void => this.flags.adjust(p, p, Watch.DeviceOwned, -1);
  private readonly recent = new Map<string, Unmapped[]>();
  private readonly reportedOnce = new Set<string>();
  private readonly line: Uint8Array;
  private readonly lineRam: Uint8Array;

  constructor(
    private readonly core: KernelCore,
    private readonly board: BoardConfig,
    private readonly dcache: DataCache,
    private readonly ram: SparseRam,
    private readonly iommu: Iommu,
    private readonly tracker: DmaDebug,
    private readonly states: DeviceDmaStates,
    private readonly cpu: CpuPhys,
    readonly storeBuffer: StoreBuffer,
  ) {
    this.line = new Uint8Array(dcache.lineSize);
    this.lineRam = new Uint8Array(dcache.lineSize);
  }

  /** True when some page is watched: the memory path's cheap first test. */
  get active(): boolean {
    return this.flags.flagged !== 0;
  }

  /** Watch flags of a pfn (0 when not watched). */
  flagsOf(pfn: number): number {
    return this.flags.get(pfn);
  }

  // ---- bookkeeping from the mapping layer --------------------------------------------------------

  /** A streaming mapping was made (the device owns it). */
  streamingAdded(r: DmaRecord): void {
    this.byPfn.add(r, this.ownPage);
  }

  /** Ownership of a streaming mapping moved (sync_for_cpu / sync_for_device). */
  ownerChanged(r: DmaRecord, before: "device" | "cpu"): void {
    if (before === r.owner || r.removed) return;
    this.byPfn.forEachPfn(r, r.owner === "device" ? this.ownPage : this.releasePage);
  }

  /** A streaming mapping went away. */
  streamingRemoved(r: DmaRecord, unmapSite: CallSite): void {
    if (r.removed) return;
    r.removed = true;
    this.byPfn.remove(r, r.owner === "device" ? this.releasePage : noPage);
    this.rememberUnmapped(r, unmapSite);
  }

  /** A coherent buffer went away (remembered for "after unmap"). */
  coherentRemoved(r: DmaRecord, site: CallSite): void {
    this.rememberUnmapped(r, site);
  }

  /** Coherent memory under the store buffer (weak-ordering boards). */
  bufferPages(pa: number, size: number, on: boolean): void {
    if (!this.storeBuffer.enabled) return;
    this.flags.adjust(Math.floor(pa / PAGE), Math.floor((pa + size - 1) / PAGE), Watch.Buffered, on ? 1 : -1);
  }

  private rememberUnmapped(r: DmaRecord, unmapSite: CallSite): void {
    let list = this.recent.get(r.dev.name);
    if (!list) this.recent.set(r.dev.name, (list = []));
    list.push({ start: r.devAddr, end: r.devAddr + r.size, api: r.api, driver: r.dev.driver, mapSite: r.site, unmapSite });
    if (list.length > RECENT) list.shift();
  }

  // ---- device side -------------------------------------------------------------------------------

  /**
   * Before a device DMA access of `len` bytes at bus address `addr`. Returns
   * `DmaStatus.ADDRESS_LIMIT` when the address is beyond what the device can drive (the access
   * must not happen), else `DmaStatus.OK` (findings are reported, the access proceeds as on
   * hardware).
   */
  checkAccess(devName: string, addr: number, len: number, write: boolean): number {
    const st = this.states.peek(devName);
    const limit = st ? st.addressLimit : 0xffffffff;
    if (addr + len - 1 > limit) {
      this.deviceReport(st, devName, `address-limit:${Math.floor(addr / PAGE)}`, {
        title: `DMA beyond the device's addressing limit: device ${devName} ${write ? "wrote" : "read"} ${len} bytes at bus address ${hexAddr(addr)} (limit ${hexAddr(limit)})`,
        address: addr,
        size: len,
      });
      return DmaStatus.ADDRESS_LIMIT;
    }
    if (!this.core.detectors.deviceCrossCheck) return DmaStatus.OK;
    const index = this.tracker.pageMap(devName);
    const end = addr + len;
    let cur = addr;
    while (cur < end) {
      let hit: DmaRecord | undefined;
      const at = index?.get(Math.floor(cur / PAGE));
      if (at) {
        for (let k = 0; k < at.length; k++) {
          const e = at[k]!;
          if (cur >= e.devAddr && cur < e.devAddr + e.size) {
            hit = e as DmaRecord;
            if (e.type !== "coherent") break;
          }
        }
      }
      if (hit === undefined) {
        this.outside(st, devName, addr, len, write, cur);
        return DmaStatus.OK;
      }
      const chunkEnd = Math.min(end, hit.devAddr + hit.size);
      if (hit.type !== "coherent") this.streamingAccess(hit, devName, addr, len, write);
      if (!this.board.coherent) this.cacheCheck(st, hit, cur, chunkEnd - cur, write);
      cur = chunkEnd;
    }
    return DmaStatus.OK;
  }

  /**
   * After a device access: a read's bytes are patched for stores still in the store buffer; an
   * IOMMU fault is reported with requester and address.
   */
  afterAccess(devName: string, addr: number, buf: Uint8Array, write: boolean, status: number): void {
    if (status === DmaStatus.IOMMU_FAULT) return this.iommuFault(devName, addr, buf.length, write);
    if (write || status !== DmaStatus.OK || this.storeBuffer.pending.length === 0) return;
    const st = this.states.peek(devName);
    for (let done = 0; done < buf.length; ) {
      const a = addr + done;
      const n = Math.min(PAGE - (a - Math.floor(a / PAGE) * PAGE), buf.length - done);
      const pa = this.busToPhys(st, a);
      if (pa >= 0) {
        const hit = this.storeBuffer.patch(pa, buf.subarray(done, done + n));
        if (hit && this.core.detectors.deviceCrossCheck) {
          const where = hit.va !== undefined ? this.hexVa(hit.va) : `physical ${hexAddr(hit.pa)}`;
          const missing = hit.doorbellRelaxed ? "missing dma_wmb() before writel_relaxed()" : "missing dma_wmb()/wmb() before the device was told to read it";
          this.deviceReport(st, devName, `ordering:${hit.pa}`, {
            kind: "ordering",
            title: `descriptor written at ${where} was not visible to the device: ${missing}`,
            address: hit.va ?? hit.pa,
            size: hit.old.length,
            stack: siteFrames(hit.site),
            details: { device: devName, busAddress: a, physical: hit.pa },
          });
        }
      }
      done += n;
    }
  }

  private iommuFault(devName: string, addr: number, len: number, write: boolean): void {
    const st = this.states.peek(devName);
    const f = this.iommu.faults[this.iommu.faults.length - 1];
    const requester = f?.requester ?? st?.requester ?? -1;
    const rid = requester >= 0 && requester < 0x10000 ? `${(requester >> 8).toString(16).padStart(2, "0")}:${((requester >> 3) & 31).toString(16).padStart(2, "0")}.${requester & 7}` : String(requester);
    this.deviceReport(st, devName, `iommu:${Math.floor(addr / PAGE)}:${write ? 1 : 0}`, {
      kind: "iommu",
      title: `DMAR: [DMA ${write ? "Write" : "Read"}] Request device [${rid}] fault addr ${hexAddr(addr)} [fault reason ${f?.cause ?? "not-present"}] (device ${devName}, ${len} bytes)`,
      address: addr,
      size: len,
      details: { requester, cause: f?.cause },
    });
  }

  private streamingAccess(r: DmaRecord, devName: string, addr: number, len: number, write: boolean): void {
    const verb = write ? "wrote" : "read";
    if ((write && r.dir === TO_DEVICE) || (!write && r.dir === FROM_DEVICE)) {
      if ((r.reported & Reported.Direction) === 0) {
        r.reported |= Reported.Direction;
        this.mappingReport(r, {
          title: `DMA in the wrong direction: device ${devName} ${verb} ${len} bytes at bus address ${hexAddr(addr)} inside a ${dirName(r.dir)} mapping (${r.api} of ${r.size} bytes at ${hexAddr(r.devAddr)})`,
          address: addr,
          size: len,
        });
      }
    }
    if (r.owner === "cpu" && (r.reported & Reported.CpuOwned) === 0) {
      r.reported |= Reported.CpuOwned;
      this.mappingReport(r, {
        title: `DMA to a buffer the CPU owns: device ${devName} ${verb} ${len} bytes at bus address ${hexAddr(addr)} after dma_sync_*_for_cpu() and before dma_sync_*_for_device() (${r.api} of ${r.size} bytes at ${hexAddr(r.devAddr)})`,
        address: addr,
        size: len,
      });
    }
  }

  private outside(st: DeviceDmaState | undefined, devName: string, addr: number, len: number, write: boolean, at: number): void {
    const verb = write ? "wrote" : "read";
    const recent = this.recent.get(devName);
    let gone: Unmapped | undefined;
    if (recent) for (let k = recent.length - 1; k >= 0; k--) if (at >= recent[k]!.start && at < recent[k]!.end) { gone = recent[k]; break; }
    const key = `outside:${Math.floor(at / PAGE)}:${write ? 1 : 0}`;
    if (gone) {
      this.deviceReport(st, devName, key, {
        title: `DMA after unmap: device ${devName} ${verb} ${len} bytes at bus address ${hexAddr(addr)}, inside a mapping (${gone.api} at ${hexAddr(gone.start)}) that was already unmapped`,
        address: addr,
        size: len,
        stack: siteFrames(gone.unmapSite),
        mapStack: siteFrames(gone.mapSite),
      });
    } else {
      this.deviceReport(st, devName, key, {
        title: `DMA outside any mapping: device ${devName} ${verb} ${len} bytes at bus address ${hexAddr(addr)}`,
        address: addr,
        size: len,
      });
    }
  }

  /** Non-coherent board: a device read of dirty lines, or a device write under cached lines. */
  private cacheCheck(st: DeviceDmaState | undefined, r: DmaRecord, addr: number, len: number, write: boolean): void {
    const dc = this.dcache;
    const ls = dc.lineSize;
    for (let done = 0; done < len; ) {
      const a = addr + done;
      const n = Math.min(PAGE - (a - Math.floor(a / PAGE) * PAGE), len - done);
      done += n;
      const pa = this.busToPhys(st, a);
      if (pa < 0) continue;
      const first = Math.floor(pa / ls);
      const last = Math.floor((pa + n - 1) / ls);
      for (let line = first; line <= last; line++) {
        const i = dc.peek(line);
        if (i < 0) continue;
        if (!write) {
          if (dc.dirty[i] !== 0 && (r.reported & Reported.StaleRead) === 0) {
            r.reported |= Reported.StaleRead;
            const missing = r.type === "coherent" ? "a cached CPU mapping of coherent memory" : r.owner === "cpu" ? `missing dma_sync_${r.type === "scatter-gather" ? "sg" : "single"}_for_device() after CPU writes` : "CPU wrote the buffer after it was mapped (missing dma_sync_*_for_cpu()/dma_sync_*_for_device() around the CPU writes)";
            this.mappingReport(r, {
              kind: "stale-cache",
              title: `stale cache: device ${st?.name ?? r.dev.name} read line ${hexAddr(line * ls)} (${r.api} of ${r.size} bytes at bus ${hexAddr(r.devAddr)}, ${dirName(r.dir)}) while it was dirty in the CPU cache: ${missing}`,
              address: line * ls,
              size: ls,
            });
          }
        } else {
          this.flags.adjust(Math.floor(pa / PAGE), Math.floor(pa / PAGE), Watch.StaleLines, 1);
          this.staleOwner.set(line, r);
        }
      }
    }
  }

  /** Lines a device wrote behind the cache → the mapping, for the CPU-side diagnosis. */
  private readonly staleOwner = new Map<number, DmaRecord>();

  /** Bus address → physical address for this device (-1 when not translated). */
  busToPhys(st: DeviceDmaState | undefined, addr: number): number {
    if (!this.iommu.enabled) return addr;
    if (st?.domain === undefined) return -1;
    const t = this.iommu.lookup(st.domain, addr);
    return t ? t.pa : -1;
  }

  // ---- CPU side ----------------------------------------------------------------------------------

  /**
   * The memory path's hook, called before a CPU access of `len` bytes at physical `pa` to a
   * watched page. `va` is the kernel address used (for the diagnosis), `site` the caller.
   */
  beforeCpuAccess(pa: number, len: number, write: boolean, va: number | undefined = undefined, site?: CallSite): void {
    const pfn = Math.floor(pa / PAGE);
    const f = this.flags.get(pfn) | (Math.floor((pa + len - 1) / PAGE) !== pfn ? this.flags.get(pfn + 1) : 0);
    if (f === 0) return;
    // The call site is captured only when something keeps it (a buffered store, a report):
    // capturing costs microseconds and most accesses to watched pages are fine.
    if ((f & Watch.Buffered) !== 0 && write && this.storeBuffer.enabled) {
      const before = new Uint8Array(len);
      this.cpu.read(pa, before);
      site ??= this.core.site();
      this.storeBuffer.capture(pa, before, va, site);
    }
    if (!this.core.detectors.deviceCrossCheck) return;
    if ((f & Watch.DeviceOwned) !== 0) this.ownershipCheck(pa, len, write, va, site);
    if ((f & Watch.StaleLines) !== 0 && !write) this.staleCpuRead(pa, len, va, site);
  }

  private ownershipCheck(pa: number, len: number, write: boolean, va: number | undefined, site: CallSite | undefined): void {
    const seen = new Set<DmaRecord>();
    for (let p = Math.floor(pa / PAGE); p <= Math.floor((pa + len - 1) / PAGE); p++) {
      for (const r of this.byPfn.get(p) ?? []) {
        if (seen.has(r)) continue;
        seen.add(r);
        if (r.owner !== "device" || !overlapsCpu(r, pa, len)) continue;
        // Reading a buffer the device only reads is harmless on every platform.
        if (!write && r.dir === TO_DEVICE) continue;
        if ((r.reported & Reported.CpuTouch) !== 0) continue;
        r.reported |= Reported.CpuTouch;
        const fix = write
          ? `dma_sync_${r.type === "scatter-gather" ? "sg" : "single"}_for_cpu() before and dma_sync_${r.type === "scatter-gather" ? "sg" : "single"}_for_device() after the CPU writes`
          : `dma_sync_${r.type === "scatter-gather" ? "sg" : "single"}_for_cpu() (or unmap) before the CPU reads`;
        this.core.report({
          kind: "dma-cpu-ownership",
          title: `DMA-API: ${r.dev.driver} ${r.dev.name}: CPU ${write ? "wrote" : "read"} ${len} bytes at ${va !== undefined ? this.hexVa(va) : `physical ${hexAddr(pa)}`} inside a ${dirName(r.dir)} buffer the device owns (${r.api} of ${r.size} bytes at bus ${hexAddr(r.devAddr)}): missing ${fix}`,
          driver: r.dev.driver,
          device: r.dev.name,
          address: va ?? pa,
          size: len,
          stack: siteFrames(site ?? this.core.site()),
          mapStack: siteFrames(r.site),
        });
      }
    }
  }

  private staleCpuRead(pa: number, len: number, va: number | undefined, site: CallSite | undefined): void {
    const dc = this.dcache;
    const ls = dc.lineSize;
    for (let line = Math.floor(pa / ls); line <= Math.floor((pa + len - 1) / ls); line++) {
      const r = this.staleOwner.get(line);
      if (!r) continue;
      const i = dc.peek(line);
      if (i < 0 || dc.dirty[i] !== 0) {
        this.staleOwner.delete(line);
        continue;
      }
      // A clean line that differs from memory can only be stale: the device wrote behind it.
      this.ram.read(line * ls, this.lineRam);
      const cached = dc.data.subarray(i * ls, i * ls + ls);
      let differs = false;
      for (let k = 0; k < ls; k++) if (cached[k] !== this.lineRam[k]) { differs = true; break; }
      if (!differs) continue;
      if ((r.reported & Reported.StaleRead) !== 0) continue;
      r.reported |= Reported.StaleRead;
      const kind = r.type === "scatter-gather" ? "sg" : "single";
      this.core.report({
        kind: "stale-cache",
        title: `stale cache: CPU read line ${hexAddr(line * ls)}${va !== undefined ? ` (at ${this.hexVa(va)})` : ""} of a ${dirName(r.dir)} buffer (${r.api} of ${r.size} bytes at bus ${hexAddr(r.devAddr)}) that device ${r.dev.name} wrote after the line was cached: missing dma_sync_${kind}_for_cpu() (or dma_unmap_${kind === "sg" ? "sg" : "single"}()) before reading`,
        driver: r.dev.driver,
        device: r.dev.name,
        address: line * ls,
        size: ls,
        stack: siteFrames(site ?? this.core.site()),
        mapStack: siteFrames(r.site),
      });
    }
  }

  /** The CPU invalidated `[pa, pa+len)`: device-written lines there are no longer stale. */
  invalidated(pa: number, len: number): void {
    if (this.staleOwner.size === 0) return;
    const ls = this.dcache.lineSize;
    for (let line = Math.floor(pa / ls); line <= Math.floor((pa + len - 1) / ls); line++) this.staleOwner.delete(line);
    for (let p = Math.floor(pa / PAGE); p <= Math.floor((pa + len - 1) / PAGE); p++) {
      let any = false;
      for (let line = (p * PAGE) / ls; line < ((p + 1) * PAGE) / ls; line++) if (this.staleOwner.has(line)) { any = true; break; }
      if (!any) this.flags.clear(p, Watch.StaleLines);
    }
  }

  /**
   * Fallback ownership check at unmap / sync_for_cpu on non-coherent boards (when the memory
   * path's hook did not see the access): dirty lines wholly inside a directly mapped buffer mean
   * the CPU wrote it while the device owned it.
   */
  dirtyWhileOwned(r: DmaRecord, unmapping: string, site: CallSite): void {
    if (this.board.coherent || r.bounced || !this.core.detectors.deviceCrossCheck || (r.reported & Reported.CpuTouch) !== 0) return;
    const ls = this.dcache.lineSize;
    let dirty = -1;
    const c = r.cpuRanges;
    for (let k = 0; k < c.length && dirty < 0; k += 2) {
      const first = Math.ceil(c[k]! / ls);
      const last = Math.floor((c[k]! + c[k + 1]!) / ls) - 1;
      for (let line = first; line <= last; line++) {
        const i = this.dcache.peek(line);
        if (i >= 0 && this.dcache.dirty[i] !== 0) {
          dirty = line;
          break;
        }
      }
    }
    if (dirty < 0) return;
    r.reported |= Reported.CpuTouch;
    this.core.report({
      kind: "dma-cpu-ownership",
      title: `DMA-API: ${r.dev.driver} ${r.dev.name}: CPU wrote a ${dirName(r.dir)} buffer while the device owned it (line ${hexAddr(dirty * ls)} dirty at ${unmapping}; ${r.api} of ${r.size} bytes at bus ${hexAddr(r.devAddr)})`,
      driver: r.dev.driver,
      device: r.dev.name,
      address: dirty * ls,
      size: ls,
      stack: siteFrames(site),
      mapStack: siteFrames(r.site),
    });
  }

  private hexVa(va: number): string {
    const u = va < 0 ? va + 2 ** 64 : va;
    if (va < 0) {
      const hi = Math.floor(va / 4294967296);
      return "0x" + (hi + 4294967296).toString(16) + (va - hi * 4294967296).toString(16).padStart(8, "0");
    }
    return "0x" + u.toString(16);
  }

  private mappingReport(r: DmaRecord, p: { kind?: "dma-device" | "stale-cache"; title: string; address: number; size: number }): void {
    this.core.report({
      kind: p.kind ?? "dma-device",
      title: p.title,
      driver: r.dev.driver,
      device: r.dev.name,
      address: p.address,
      size: p.size,
      mapStack: siteFrames(r.site),
      details: { direction: dirName(r.dir), mapping: r.api, busAddress: r.devAddr, mappingSize: r.size },
    });
  }

  private deviceReport(
    st: DeviceDmaState | undefined,
    devName: string,
    key: string,
    p: { kind?: "dma-device" | "ordering" | "iommu"; title: string; address: number; size: number; stack?: string[]; mapStack?: string[]; details?: Record<string, unknown> },
  ): void {
    const k = `${devName}|${key}`;
    if (this.reportedOnce.has(k)) return;
    this.reportedOnce.add(k);
    this.core.report({
      kind: p.kind ?? "dma-device",
      title: p.title,
      device: devName,
      ...(st?.driver ? { driver: st.driver } : {}),
      address: p.address,
      size: p.size,
      ...(p.stack ? { stack: p.stack } : {}),
      ...(p.mapStack ? { mapStack: p.mapStack } : {}),
      ...(p.details ? { details: p.details } : {}),
    });
  }
}
