/**
 * KASAN-like memory safety. Instead of a byte shadow, the shadow is the allocators' own metadata,
 * looked up in O(1) from the address: the page kind (typed array by pfn), then for slab pages
 * the object's state and requested size, for large kmalloc the requested size, and for the
 * vmalloc area the area's size. So a checked access costs a few typed-array reads and freeing
 * poisons nothing byte by byte.
 *
 * Freed slab objects wait in a FIFO quarantine before they can be reused, so a use-after-free is
 * caught even when the same size is allocated again right after.
 */
import { captureSite, siteFrames, siteFunction } from "../stack.js";
import type { CallSite } from "../stack.js";
import { PageKind } from "./buddy.js";
import type { MemoryManager } from "./mm.js";
import { ObjState } from "./slab.js";
import type { KmemCacheImpl, Slab, SlabHit } from "./slab.js";

const PAGE = 4096;
const QUARANTINE_ENTRIES = 1 << 15;

/** What a KASAN report says about the object the bad address belongs to. @internal */
export interface KasanObject {
  readonly start: number;
  readonly size: number;
  readonly freed: boolean;
  readonly cache?: string;
  readonly cacheSize?: number;
  readonly allocSite?: CallSite | undefined;
  readonly freeSite?: CallSite | undefined;
  readonly allocPid?: number;
  readonly freePid?: number;
  /** Free-form "belongs to" line for non-slab memory. */
  readonly belongs?: string;
}

/** @public */
export class Kasan {
  /** Quarantined objects (FIFO ring). */
  private readonly qSlab: (Slab | null)[] = new Array<Slab | null>(QUARANTINE_ENTRIES).fill(null);
  private readonly qObj = new Int32Array(QUARANTINE_ENTRIES);
  private qHead = 0;
  private qLen = 0;
  private qBytes = 0;
  readonly quarantineLimit: number;
  private readonly hit: SlabHit = { slab: null as unknown as Slab, obj: 0, off: 0 };

  constructor(private readonly mm: MemoryManager) {
    this.quarantineLimit = Math.min(Math.floor(mm.ram.size / 32), 4 * 1024 * 1024);
  }

  // ---- quarantine --------------------------------------------------------------------------

  /** Put a freed object in quarantine (or release it at once when KASAN is off). */
  quarantine(s: Slab, obj: number): void {
    if (!this.mm.core.detectors.kasan) {
      this.mm.slab.releaseObject(s, obj);
      return;
    }
    s.state[obj] = ObjState.Quarantined;
    while (this.qLen === QUARANTINE_ENTRIES || (this.qLen > 0 && this.qBytes + s.cache.slot > this.quarantineLimit)) this.releaseOldest();
    const at = (this.qHead + this.qLen) % QUARANTINE_ENTRIES;
    this.qSlab[at] = s;
    this.qObj[at] = obj;
    this.qLen++;
    this.qBytes += s.cache.slot;
  }

  private releaseOldest(): void {
    const s = this.qSlab[this.qHead]!;
    const obj = this.qObj[this.qHead]!;
    this.qSlab[this.qHead] = null;
    this.qHead = (this.qHead + 1) % QUARANTINE_ENTRIES;
    this.qLen--;
    this.qBytes -= s.cache.slot;
    this.mm.slab.releaseObject(s, obj);
  }

  /** Release quarantined objects (of one cache, or all). */
  flushQuarantine(cache?: KmemCacheImpl): void {
    const keepS: Slab[] = [];
    const keepO: number[] = [];
    while (this.qLen > 0) {
      const s = this.qSlab[this.qHead]!;
      const obj = this.qObj[this.qHead]!;
      this.qSlab[this.qHead] = null;
      this.qHead = (this.qHead + 1) % QUARANTINE_ENTRIES;
      this.qLen--;
      this.qBytes -= s.cache.slot;
      if (cache && s.cache !== cache) {
        keepS.push(s);
        keepO.push(obj);
      } else this.mm.slab.releaseObject(s, obj);
    }
    this.qHead = 0;
    for (let i = 0; i < keepS.length; i++) {
      this.qSlab[i] = keepS[i]!;
      this.qObj[i] = keepO[i]!;
      this.qBytes += keepS[i]!.cache.slot;
    }
    this.qLen = keepS.length;
  }

  get quarantined(): number {
    return this.qLen;
  }

  // ---- access checks -----------------------------------------------------------------------

  /**
   * Check a kernel access of `size` bytes at `va`. Returns true when it is valid; otherwise files
   * one KASAN report and returns false (the caller still performs the access, as KASAN does).
   */
  checkAccess(va: number, size: number, write: boolean, driver?: string): boolean {
    const mm = this.mm;
    const L = mm.layout;
    if (va >= L.pageOffset && va < mm.linearEnd) {
      const db = mm.db;
      const delta = mm.ramStart - L.pageOffset;
      // Past the linear map there is no shadow to check; the access itself faults there.
      const end = Math.min(va + size, mm.linearEnd);
      let a = va;
      while (a < end) {
        const pa = a + delta;
        const pfn = Math.floor(pa / PAGE);
        const idx = pfn - db.basePfn;
        const n = Math.min(end - a, (pfn + 1) * PAGE - pa);
        const kind = db.kind[idx];
        if (kind === PageKind.Slab) {
          if (!this.checkSlab(idx, a, n, va, size, write, driver)) return false;
        } else if (kind === PageKind.Free) {
          this.report("use-after-free", va, size, write, { start: a - (pa - pfn * PAGE), size: PAGE, freed: true, belongs: "The buggy address belongs to a free page" }, driver);
          return false;
        } else if (kind === PageKind.KmallocLarge) {
          const head = idx - db.headOff[idx]!;
          const start = mm.pageVa(head + db.basePfn)!;
          const req = db.reqSize[head]!;
          if (a + n > start + req) {
            this.report("slab-out-of-bounds", va, size, write, { start, size: req, freed: false, belongs: `The buggy address belongs to a ${req}-byte kmalloc allocation of order ${db.order[head]}` }, driver);
            return false;
          }
        }
        a += n;
      }
      return true;
    }
    if (va >= L.vmallocStart && va < L.vmallocEnd) return this.mm.vm.checkAccess(va, size, write, driver);
    return true;
  }

  private checkSlab(idx: number, a: number, n: number, va: number, size: number, write: boolean, driver?: string): boolean {
    const h = this.hit;
    if (!this.mm.slab.locate(idx, a, h)) return true;
    const s = h.slab;
    const c = s.cache;
    let obj = h.obj;
    let off = h.off;
    if (obj >= c.perSlab) {
      // Slab tail padding: belongs to the last object's right side.
      obj = c.perSlab - 1;
      off = a - (s.va + obj * c.slot);
    }
    const st = s.state[obj];
    if (st === ObjState.Allocated && off + n <= s.req[obj]!) return true;
    const freed = st === ObjState.Quarantined || st === ObjState.Freed;
    this.report(freed ? "slab-use-after-free" : "slab-out-of-bounds", va, size, write, this.slabObject(s, obj), driver);
    return false;
  }

  /** Describe a slab object for a report. */
  slabObject(s: Slab, obj: number): KasanObject {
    const c = s.cache;
    const st = s.state[obj];
    const freed = st === ObjState.Quarantined || st === ObjState.Freed;
    return {
      start: s.va + obj * c.slot,
      size: st === ObjState.Allocated || freed ? s.req[obj]! : c.objectSize,
      freed,
      cache: c.name,
      cacheSize: c.objectSize,
      allocSite: s.allocSite[obj],
      freeSite: freed ? s.freeSite[obj] : undefined,
      allocPid: s.allocPid[obj]!,
      freePid: s.freePid[obj]!,
    };
  }

  // ---- reports -----------------------------------------------------------------------------

  /** File a KASAN access report in the kernel's wording. */
  report(bug: string, addr: number, size: number, write: boolean, o: KasanObject, driver?: string): void {
    const site = captureSite();
    const fn = siteFunction(site);
    const hex = this.mm.hex;
    const t = this.mm.core.ctx.task;
    const title = `BUG: KASAN: ${bug} in ${fn}`;
    const frames = siteFrames(site);
    const lines = [
      "==================================================================",
      title,
      `${write ? "Write" : "Read"} of size ${size} at addr ${hex(addr)} by task ${t.comm}/${t.pid}`,
      "",
      `CPU: 0 PID: ${t.pid} Comm: ${t.comm}`,
      "Call Trace:",
      ...frames.map((f) => ` ${f}`),
      ...this.objectLines(addr, o),
      "==================================================================",
    ];
    this.file(title, lines, addr, size, frames, o, driver, { bug, access: write ? "write" : "read" });
  }

  /** double-free / invalid-free reports (the free call is the bad access). */
  reportFree(bug: "double-free" | "invalid-free", addr: number, o: KasanObject | null, driver?: string, extra?: string): void {
    const site = captureSite();
    const fn = siteFunction(site);
    const hex = this.mm.hex;
    const t = this.mm.core.ctx.task;
    const title = `BUG: KASAN: ${bug} in ${fn}`;
    const frames = siteFrames(site);
    const lines = [
      "==================================================================",
      title,
      ...(extra ? [extra] : []),
      `${bug === "double-free" ? "Free" : "Invalid free"} of addr ${hex(addr)} by task ${t.comm}/${t.pid}`,
      "",
      `CPU: 0 PID: ${t.pid} Comm: ${t.comm}`,
      "Call Trace:",
      ...frames.map((f) => ` ${f}`),
      ...(o ? this.objectLines(addr, o) : []),
      "==================================================================",
    ];
    this.file(title, lines, addr, 0, frames, o, driver, { bug });
  }

  private file(title: string, lines: string[], addr: number, size: number, frames: string[], o: KasanObject | null, driver: string | undefined, details: Record<string, unknown>): void {
    const allocStack = o?.allocSite ? siteFrames(o.allocSite) : undefined;
    const freeStack = o?.freeSite ? siteFrames(o.freeSite) : undefined;
    this.mm.core.report({
      kind: "kasan",
      title,
      text: lines.join("\n"),
      address: addr,
      ...(size ? { size } : {}),
      stack: frames,
      ...(allocStack ? { allocStack } : {}),
      ...(freeStack ? { freeStack } : {}),
      ...(driver ? { driver } : {}),
      details,
    });
  }

  private objectLines(addr: number, o: KasanObject): string[] {
    const hex = this.mm.hex;
    const out: string[] = [];
    if (o.allocSite) out.push("", `Allocated by task ${o.allocPid ?? 0}:`, ...siteFrames(o.allocSite).map((f) => ` ${f}`));
    if (o.freed && o.freeSite) out.push("", `Freed by task ${o.freePid ?? 0}:`, ...siteFrames(o.freeSite).map((f) => ` ${f}`));
    out.push("");
    if (o.cache) {
      out.push(`The buggy address belongs to the object at ${hex(o.start)}`, ` which belongs to the cache ${o.cache} of size ${o.cacheSize}`);
    } else if (o.belongs) {
      out.push(o.belongs);
    }
    const end = o.start + o.size;
    const where = addr < o.start ? `${o.start - addr} bytes to the left of` : addr >= end ? `${addr - end} bytes to the right of` : `${addr - o.start} bytes inside of`;
    out.push(`The buggy address is located ${where}`, ` ${o.freed ? "freed" : "allocated"} ${o.size}-byte region [${hex(o.start)}, ${hex(end)})`);
    return out;
  }
}
