/**
 * DMA-API debug: the bookkeeping of kernel/dma/debug.c, with every error class in the kernel's
 * wording (`DMA-API: <driver> <device>: <message>` followed by "Mapped at:" and the mapping's
 * stack). It also keeps a page index of live mappings per device, which the device-side
 * cross-check uses to judge every device DMA access.
 */
import { formatAddr } from "../../../sdk/index.js";
import type { CallSite } from "../stack.js";
import { siteFrames } from "../stack.js";
import { PageLists, type PageListsView } from "./page-lists.js";

/** How a mapping was made (debug.c's type2name). @public */
export type DmaMapType = "single" | "scatter-gather" | "coherent" | "noncoherent" | "phy";

/** Mapping error check state of a single mapping. @internal */
export const MapErrCheck = { NOT_CHECKED: 0, CHECKED: 1, NOT_NEEDED: 2 } as const;

const DIR_NAMES = ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"] as const;

/** `DMA_TO_DEVICE` style name of a direction number. @internal */
export function dirName(dir: number): string {
  return DIR_NAMES[dir] ?? `DMA_DIR_${dir}`;
}

/** Who a mapping belongs to. @internal */
export interface DmaDevRef {
  /** Device name, e.g. `0000:00:02.0`. */
  readonly name: string;
  /** Driver bound to it (dev_driver_string). */
  readonly driver: string;
}

/** One live mapping. @internal */
export interface DmaDebugEntry {
  readonly dev: DmaDevRef;
  readonly type: DmaMapType;
  /** Bus address the device uses. */
  readonly devAddr: number;
  readonly size: number;
  readonly dir: number;
  /** Physical address of the CPU-side buffer (for cacheline tracking and the CPU-ownership check). */
  readonly paddr: number;
  /** Kernel virtual address for coherent allocations (checked at free). */
  readonly cpuAddr?: number;
  /** sg: the nents passed to dma_map_sg, and the number of segments it returned. */
  readonly sgCallEnts?: number;
  readonly sgMappedEnts?: number;
  /** Identifies all segments of one dma_map_sg call. */
  readonly sgGroup?: number;
  mapErrCheck: number;
  /** Streaming mappings: who owns the buffer now (map/sync_for_device: device; sync_for_cpu: cpu). */
  owner: "device" | "cpu";
  readonly site: CallSite;
  /** Leak-ledger id, released with the mapping. */
  ledgerId: number;
}

/** A finding, before it becomes a report. @internal */
export interface DmaDebugError {
  readonly title: string;
  readonly text: string;
  readonly entry?: DmaDebugEntry;
  readonly dev: DmaDevRef;
}

// A driver may pass anything (undefined, null, -1) as a handle or size: print it as the kernel's
// %llx / %llu of the 64-bit value would, rather than fail the report.
const hex16 = (n: number) => (typeof n === "number" ? "0x" + formatAddr(n, 16) : String(n));
const u64 = (n: number) => (Number.isSafeInteger(n) && n < 0 ? BigInt.asUintN(64, BigInt(n)).toString() : String(n));
const PAGE = 4096;
const CACHELINE = 64;

/** The tracker (one per testbench). @internal */
export class DmaDebug {
  /** All live entries per device name. */
  private readonly byDev = new Map<string, DmaDebugEntry[]>();
  /** Per device: bus page number → entries covering it. */
  private readonly pageIndex = new Map<string, PageLists<DmaDebugEntry>>();
  /** Active cacheline → overlapping non-TO_DEVICE mappings (debug.c's radix tree). */
  private readonly cachelines = new Map<number, number>();
  private sgGroups = 1;
  /** Errors found (the caller turns them into reports). */
  readonly errors: DmaDebugError[] = [];

  newSgGroup(): number {
    return this.sgGroups++;
  }

  entries(devName?: string): DmaDebugEntry[] {
    if (devName !== undefined) return [...(this.byDev.get(devName) ?? [])];
    return [...this.byDev.values()].flat();
  }

  /** Record a new mapping. Returns overlap errors (cacheline EEXIST) if any. */
  add(entry: DmaDebugEntry): DmaDebugError | undefined {
    let list = this.byDev.get(entry.dev.name);
    if (!list) this.byDev.set(entry.dev.name, (list = []));
    list.push(entry);
    let index = this.pageIndex.get(entry.dev.name);
    if (!index) this.pageIndex.set(entry.dev.name, (index = new PageLists()));
    const first = Math.floor(entry.devAddr / PAGE);
    const last = Math.floor((entry.devAddr + Math.max(entry.size, 1) - 1) / PAGE);
    // Pages covered by this entry alone share one frozen one-element list (no array per page);
    // a page gaining a second entry gets its own list.
    let solo: readonly DmaDebugEntry[] | undefined;
    for (let p = first; p <= last; p++) {
      const at = index.get(p);
      if (at === undefined) index.set(p, (solo ??= Object.freeze([entry])) as DmaDebugEntry[]);
      else if (at.length === 1) index.set(p, [at[0]!, entry]);
      else at.push(entry);
    }
    if (entry.type !== "coherent" && entry.dir !== 1) {
      const cln = Math.floor(entry.paddr / CACHELINE);
      const n = (this.cachelines.get(cln) ?? 0) + 1;
      this.cachelines.set(cln, n);
      if (n > 1) {
        return this.error(entry.dev, "cacheline tracking EEXIST, overlapping mappings aren't supported", entry);
      }
    }
    return undefined;
  }

  private drop(entry: DmaDebugEntry): void {
    const list = this.byDev.get(entry.dev.name);
    if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    }
    const index = this.pageIndex.get(entry.dev.name);
    if (index) {
      const first = Math.floor(entry.devAddr / PAGE);
      const last = Math.floor((entry.devAddr + Math.max(entry.size, 1) - 1) / PAGE);
      for (let p = first; p <= last; p++) {
        const at = index.get(p);
        if (!at) continue;
        // A one-element list may be shared (frozen): never spliced, dropped with its last entry.
        if (at.length === 1) {
          if (at[0] === entry) index.delete(p);
          continue;
        }
        const j = at.indexOf(entry);
        if (j >= 0) at.splice(j, 1);
      }
    }
    if (entry.type !== "coherent" && entry.dir !== 1) {
      const cln = Math.floor(entry.paddr / CACHELINE);
      const n = (this.cachelines.get(cln) ?? 1) - 1;
      if (n <= 0) this.cachelines.delete(cln);
      else this.cachelines.set(cln, n);
    }
  }

  /** The live mapping of `dev` that exactly starts at `devAddr` (what unmap looks up). */
  find(devName: string, devAddr: number, type?: DmaMapType): DmaDebugEntry | undefined {
    const list = this.byDev.get(devName);
    if (!list) return undefined;
    let fallback: DmaDebugEntry | undefined;
    for (const e of list) {
      if (e.devAddr !== devAddr) continue;
      if (type === undefined || e.type === type) return e;
      fallback ??= e;
    }
    return fallback;
  }

  /**
   * The page index of `dev`'s live mappings (bus page number → entries), for the device-side
   * check to walk without allocating; undefined while the device has none.
   */
  pageMap(devName: string): PageListsView<DmaDebugEntry> | undefined {
    return this.pageIndex.get(devName);
  }

  /** Live mappings of `dev` touching bus range [addr, addr+len). */
  covering(devName: string, addr: number, len: number): DmaDebugEntry[] {
    const index = this.pageIndex.get(devName);
    if (!index) return [];
    const out: DmaDebugEntry[] = [];
    const first = Math.floor(addr / PAGE);
    const last = Math.floor((addr + Math.max(len, 1) - 1) / PAGE);
    for (let p = first; p <= last; p++) {
      const at = index.get(p);
      if (!at) continue;
      for (const e of at) if (!out.includes(e) && e.devAddr < addr + len && addr < e.devAddr + e.size) out.push(e);
    }
    return out;
  }

  /** `dma_mapping_error()` was called on this address: the driver checked. */
  markChecked(devName: string, devAddr: number): void {
    const list = this.byDev.get(devName);
    if (!list) return;
    for (const e of list) if (e.devAddr === devAddr && e.mapErrCheck === MapErrCheck.NOT_CHECKED) e.mapErrCheck = MapErrCheck.CHECKED;
  }

  /**
   * check_unmap: validates an unmap/free and removes the entry. `isMappingError` is true when the
   * address equals DMA_MAPPING_ERROR. Returns the removed entry (if found) and any errors.
   */
  unmap(ref: {
    dev: DmaDevRef;
    devAddr: number;
    size: number;
    type: DmaMapType;
    dir: number;
    cpuAddr?: number;
    sgCallEnts?: number;
    isMappingError?: boolean;
  }): { entry?: DmaDebugEntry; errors: DmaDebugError[] } {
    const entry = this.find(ref.dev.name, ref.devAddr, ref.type);
    // The common case, a matching unmap, stays small: the checks that word errors run apart.
    if (entry !== undefined && unmapMatches(entry, ref)) {
      this.drop(entry);
      return { entry, errors: [] };
    }
    return this.unmapErrors(ref, entry);
  }

  /** check_unmap's findings for an unmap that does not match its entry (or has none). */
  private unmapErrors(
    ref: { dev: DmaDevRef; devAddr: number; size: number; type: DmaMapType; dir: number; cpuAddr?: number; sgCallEnts?: number; isMappingError?: boolean },
    entry: DmaDebugEntry | undefined,
  ): { entry?: DmaDebugEntry; errors: DmaDebugError[] } {
    const errors: DmaDebugError[] = [];
    if (!entry) {
      if (ref.isMappingError) {
        errors.push(this.error(ref.dev, "device driver tries to free an invalid DMA memory address"));
      } else {
        errors.push(this.error(ref.dev, `device driver tries to free DMA memory it has not allocated [device address=${hex16(ref.devAddr)}] [size=${u64(ref.size)} bytes]`));
      }
      return { errors };
    }
    if (entry.size !== ref.size) {
      errors.push(this.error(ref.dev, `device driver frees DMA memory with different size [device address=${hex16(ref.devAddr)}] [map size=${entry.size} bytes] [unmap size=${u64(ref.size)} bytes]`, entry));
    }
    if (entry.type !== ref.type) {
      errors.push(this.error(ref.dev, `device driver frees DMA memory with wrong function [device address=${hex16(ref.devAddr)}] [size=${entry.size} bytes] [mapped as ${entry.type}] [unmapped as ${ref.type}]`, entry));
    } else if (entry.type === "coherent" && ref.cpuAddr !== undefined && entry.cpuAddr !== undefined && entry.cpuAddr !== ref.cpuAddr) {
      errors.push(this.error(ref.dev, `device driver frees DMA memory with different CPU address [device address=${hex16(ref.devAddr)}] [size=${entry.size} bytes] [cpu alloc address=0x${addrHex(entry.cpuAddr)}] [cpu free address=0x${addrHex(ref.cpuAddr)}]`, entry));
    }
    if (ref.type === "scatter-gather" && entry.sgCallEnts !== undefined && ref.sgCallEnts !== undefined && entry.sgCallEnts !== ref.sgCallEnts) {
      errors.push(this.error(ref.dev, `device driver frees DMA sg list with different entry count [map count=${entry.sgCallEnts}] [unmap count=${ref.sgCallEnts}]`, entry));
    }
    if (entry.dir !== ref.dir) {
      errors.push(this.error(ref.dev, `device driver frees DMA memory with different direction [device address=${hex16(ref.devAddr)}] [size=${entry.size} bytes] [mapped with ${dirName(entry.dir)}] [unmapped with ${dirName(ref.dir)}]`, entry));
    }
    if (entry.mapErrCheck === MapErrCheck.NOT_CHECKED) {
      errors.push(this.error(ref.dev, `device driver failed to check map error[device address=${hex16(ref.devAddr)}] [size=${entry.size} bytes] [mapped as ${entry.type}]`, entry));
    }
    this.drop(entry);
    return { entry, errors };
  }

  /** check_sync for a single range, or one sg entry. Also flips ownership. */
  sync(ref: { dev: DmaDevRef; devAddr: number; size: number; dir: number; toDevice: boolean; sgCallEnts?: number }): { entry?: DmaDebugEntry; errors: DmaDebugError[] } {
    const errors: DmaDebugError[] = [];
    const list = this.byDev.get(ref.dev.name) ?? [];
    const entry = list.find((e) => e.type !== "coherent" && ref.devAddr >= e.devAddr && ref.devAddr < e.devAddr + e.size);
    const a = hex16(ref.devAddr);
    if (!entry) {
      errors.push(this.error(ref.dev, `device driver tries to sync DMA memory it has not allocated [device address=${a}] [size=${u64(ref.size)} bytes]`));
      return { errors };
    }
    if (ref.devAddr + ref.size > entry.devAddr + entry.size) {
      errors.push(this.error(ref.dev, `device driver syncs DMA memory outside allocated range [device address=${a}] [allocation size=${entry.size} bytes] [sync offset+size=${ref.devAddr - entry.devAddr + ref.size}]`, entry));
    }
    if (entry.dir !== 0 && ref.dir !== entry.dir) {
      errors.push(this.error(ref.dev, `device driver syncs DMA memory with different direction [device address=${a}] [size=${u64(ref.size)} bytes] [mapped with ${dirName(entry.dir)}] [synced with ${dirName(ref.dir)}]`, entry));
    }
    if (!ref.toDevice && entry.dir === 1 && ref.dir !== 1) {
      errors.push(this.error(ref.dev, `device driver syncs device read-only DMA memory for cpu [device address=${a}] [size=${u64(ref.size)} bytes] [mapped with ${dirName(entry.dir)}] [synced with ${dirName(ref.dir)}]`, entry));
    }
    if (ref.toDevice && entry.dir === 2 && ref.dir !== 2) {
      errors.push(this.error(ref.dev, `device driver syncs device write-only DMA memory to device [device address=${a}] [size=${u64(ref.size)} bytes] [mapped with ${dirName(entry.dir)}] [synced with ${dirName(ref.dir)}]`, entry));
    }
    if (ref.sgCallEnts !== undefined && entry.sgCallEnts !== undefined && ref.sgCallEnts !== entry.sgCallEnts) {
      errors.push(this.error(ref.dev, `device driver syncs DMA sg list with different entry count [map count=${entry.sgCallEnts}] [sync count=${ref.sgCallEnts}]`, entry));
    }
    entry.owner = ref.toDevice ? "device" : "cpu";
    return { entry, errors };
  }

  /** Map-time checks on where the CPU buffer lives. */
  mapSource(dev: DmaDevRef, area: "linear" | "stack" | "rodata" | "invalid" | "vmalloc", addr: number, len: number): DmaDebugError | undefined {
    const p = `0x${addrHex(addr)}`;
    switch (area) {
      case "linear":
        return undefined;
      case "stack":
        return this.error(dev, `device driver maps memory from stack [addr=${p}]`);
      case "rodata":
        return this.error(dev, `device driver maps memory from kernel text or rodata [addr=${p}] [len=${len}]`);
      case "invalid":
        return this.error(dev, `device driver maps memory from invalid area [addr=${p}] [len=${len}]`);
      case "vmalloc":
        return this.error(dev, `device driver maps memory from vmalloc area [addr=${p}] [len=${len}]`);
    }
  }

  /** sg segment checks against the device's max segment size and boundary. */
  sgSegment(dev: DmaDevRef, start: number, len: number, maxSeg: number, boundaryMask: number): DmaDebugError | undefined {
    if (len > maxSeg) return this.error(dev, `mapping sg segment longer than device claims to support [len=${len}] [max=${maxSeg}]`);
    const end = start + len - 1;
    const boundary = boundaryMask + 1;
    if (boundary > 0 && Number.isFinite(boundary) && Math.floor(start / boundary) !== Math.floor(end / boundary)) {
      return this.error(dev, `mapping sg segment across boundary [start=${hex16(start)}] [end=${hex16(end)}] [boundary=${hex16(boundaryMask)}]`);
    }
    return undefined;
  }

  /** At unbind: the pending-allocations error, then the entries are forgotten. */
  unbind(dev: DmaDevRef): { error?: DmaDebugError; pending: DmaDebugEntry[] } {
    const pending = [...(this.byDev.get(dev.name) ?? [])];
    if (pending.length === 0) return { pending };
    const e = pending[0]!;
    const error = this.error(
      dev,
      `device driver has pending DMA allocations while released from device [count=${pending.length}]\n` +
        `One of leaked entries details: [device address=${hex16(e.devAddr)}] [size=${e.size} bytes] [mapped with ${dirName(e.dir)}] [mapped as ${e.type}]`,
      e,
    );
    for (const p of pending) this.drop(p);
    return { error, pending };
  }

  private error(dev: DmaDevRef, message: string, entry?: DmaDebugEntry): DmaDebugError {
    const title = `DMA-API: ${dev.driver} ${dev.name}: ${message.split("\n")[0]}`;
    const lines = [`DMA-API: ${dev.driver} ${dev.name}: ${message}`];
    if (entry) {
      const frames = siteFrames(entry.site, 5);
      if (frames.length) lines.push("Mapped at:", ...frames.map((f) => ` ${f}`));
    }
    const err: DmaDebugError = { title, text: lines.join("\n"), dev, ...(entry ? { entry } : {}) };
    this.errors.push(err);
    return err;
  }
}

/** True when an unmap matches its entry in everything check_unmap looks at. */
function unmapMatches(entry: DmaDebugEntry, ref: { size: number; type: DmaMapType; dir: number; cpuAddr?: number; sgCallEnts?: number }): boolean {
  return (
    entry.size === ref.size &&
    entry.type === ref.type &&
    !(entry.type === "coherent" && ref.cpuAddr !== undefined && entry.cpuAddr !== undefined && entry.cpuAddr !== ref.cpuAddr) &&
    !(ref.type === "scatter-gather" && entry.sgCallEnts !== undefined && ref.sgCallEnts !== undefined && entry.sgCallEnts !== ref.sgCallEnts) &&
    entry.dir === ref.dir &&
    entry.mapErrCheck !== MapErrCheck.NOT_CHECKED
  );
}

function addrHex(n: number): string {
  return formatAddr(n, 16);
}
