/**
 * Page-table format, walker and editor. Tables live in simulated RAM (4 KiB pages of 512 entries)
 * and are read by the walker on every TLB/IOTLB miss.
 *
 * Entry format: 64 bits, little-endian, read and written as two 32-bit halves.
 *
 * | bits   | meaning                                                                  |
 * |--------|--------------------------------------------------------------------------|
 * | 0      | P  present                                                               |
 * | 1      | W  writable (effective only if set at every level)                       |
 * | 2      | U  user accessible (effective only if set at every level)                |
 * | 3..4   | MT memory type of a leaf: 0 write-back cached, 1 uncached, 2 write-combining |
 * | 5      | A  accessed (set by the walker)                                          |
 * | 6      | D  dirty (set by the walker on a write; leaves only)                     |
 * | 7      | PS page size: a 2 MiB leaf at the level above the last                   |
 * | 8      | G  global (TLB entry survives ASID flushes; leaves only)                 |
 * | 9..11  | available to software, written 0                                         |
 * | 12..51 | PFN of the next table or of the page                                     |
 * | 52..62 | reserved, written 0                                                      |
 * | 63     | NX no execute (effective if set at any level)                            |
 *
 * Flag words passed to and returned by the API use bits 0..8 at the same positions and carry
 * NX as {@link PteFlag.Nx} (bit 11) since bit 63 does not fit a 32-bit number.
 *
 * Profiles: x86_64 walks 4 levels of 9 bits over 48-bit canonical addresses (the kernel half
 * are negative numbers: the signed 64-bit value); x86_32 and arm32 walk 3 levels of 2/9/9 bits
 * over 32-bit addresses (PAE/LPAE-like); the IOMMU walks 4 levels over 48-bit IOVAs.
 * Indices are computed with Math.floor division, never `>>>`, so negative addresses work.
 */
import type { ProfileName } from "../harness/board.js";
import type { SparseRam } from "./ram.js";

/** Flag bits of a page-table entry (low word), plus NX in API flag words. @public */
export const PteFlag = {
  Present: 0x1,
  Write: 0x2,
  User: 0x4,
  /** Memory type field (2 bits at bit 3). */
  MtMask: 0x18,
  MtWriteBack: 0x0,
  MtUncached: 0x8,
  MtWriteCombining: 0x10,
  Accessed: 0x20,
  Dirty: 0x40,
  Huge: 0x80,
  Global: 0x100,
  /** No-execute, in API flag words (bit 63 of the entry). */
  Nx: 0x800,
} as const;

/** Memory types (value of the MT field). @public */
export const MemType = { WriteBack: 0, Uncached: 1, WriteCombining: 2 } as const;
/** A memory type. @public */
export type MemType = (typeof MemType)[keyof typeof MemType];

/** Why a translation failed. @public */
export const FaultCause = {
  NotPresent: 1,
  /** Write to a read-only page. */
  Protection: 2,
  /** User-mode access to a supervisor page. */
  UserSupervisor: 3,
  /** Instruction fetch from a no-execute page. */
  Nx: 4,
  /** Address outside the profile's (canonical) address range. */
  NonCanonical: 5,
} as const;
/** A fault cause. @public */
export type FaultCause = (typeof FaultCause)[keyof typeof FaultCause];

/** Access kinds. @public */
export const Access = { Read: 0, Write: 1, Exec: 2 } as const;
/** An access kind. @public */
export type Access = (typeof Access)[keyof typeof Access];

const causeNames = ["", "not-present", "protection", "user-access-to-supervisor", "nx", "non-canonical"];
const accessNames = ["read", "write", "exec"];

/** Name of a fault cause. @public */
export function faultCauseName(c: number): string {
  return causeNames[c] ?? `cause-${c}`;
}

/** A page fault: the kernel layer turns it into an oops or SIGSEGV. @public */
export class PageFault extends Error {
  constructor(
    /** Faulting virtual address. */
    readonly addr: number,
    readonly access: Access,
    /** True when the access was made in user mode. */
    readonly user: boolean,
    override readonly cause: FaultCause,
  ) {
    super(`page fault: ${user ? "user" : "kernel"} ${accessNames[access]} at ${fmt(addr)}: ${faultCauseName(cause)}`);
    this.name = "PageFault";
  }
  /** "read" | "write" | "exec". */
  get accessName(): string {
    return accessNames[this.access]!;
  }
  /** "not-present" | "protection" | ... */
  get causeName(): string {
    return faultCauseName(this.cause);
  }
}

function fmt(n: number): string {
  if (typeof n !== "number" || !Number.isFinite(n)) return String(n);
  if (n < 0) {
    const hi = Math.floor(n / 4294967296);
    return (hi >>> 0).toString(16).padStart(8, "0") + (n - hi * 4294967296).toString(16).padStart(8, "0");
  }
  return n.toString(16).padStart(n > 0xffffffff ? 16 : 8, "0");
}

/** Geometry of a page-table format. @public */
export interface PagingProfile {
  readonly name: string;
  /** Index bits per level, top level first. */
  readonly bits: readonly number[];
  /** Lowest and highest+1 valid address. */
  readonly minAddr: number;
  readonly maxAddr: number;
  /** First top-level index of the kernel half (shared between address spaces). */
  readonly kernelTopIndex: number;
}

/** The paging profiles. @public */
export const pagingProfiles: Readonly<Record<ProfileName | "io48", PagingProfile>> = {
  x86_64: { name: "x86_64", bits: [9, 9, 9, 9], minAddr: -(2 ** 47), maxAddr: 2 ** 47, kernelTopIndex: 256 },
  x86_32: { name: "x86_32", bits: [2, 9, 9], minAddr: 0, maxAddr: 2 ** 32, kernelTopIndex: 3 },
  arm32: { name: "arm32", bits: [2, 9, 9], minAddr: 0, maxAddr: 2 ** 32, kernelTopIndex: 3 },
  io48: { name: "io48", bits: [9, 9, 9, 9], minAddr: 0, maxAddr: 2 ** 48, kernelTopIndex: 512 },
};

/** Result of {@link PageTable.lookup}. @public */
export interface Translation {
  /** Physical address of the looked-up byte. */
  readonly pa: number;
  /** Effective flags (W/U combined over levels, NX as {@link PteFlag.Nx}). */
  readonly flags: number;
  /** 4096 or 2 MiB. */
  readonly pageSize: number;
}

/** Allocates a zeroed page for a page table; returns its physical address. @public */
export type AllocTablePage = () => number;

const PAGE = 4096;
const INV_PAGE = 1 / PAGE;
const HUGE = 2 * 1024 * 1024;
const LOW_FLAGS = 0x1ff;
// Plain constants for the walker (module-level numbers fold; object property loads do not).
const F_P = 0x1, F_W = 0x2, F_U = 0x4, F_A = 0x20, F_D = 0x40, F_PS = 0x80, F_NX = 0x800;
const C_NOT_PRESENT = 1, C_PROT = 2, C_USER = 3, C_NX = 4, C_NON_CANONICAL = 5;
const A_WRITE = 1, A_EXEC = 2;

/**
 * Walker and editor of one page-table format over simulated RAM.
 * @public
 */
export class PageTable {
  readonly levels: number;
  /** Bytes covered by one entry at each level. */
  private readonly span: Float64Array;
  private readonly mask: Int32Array;
  /** 1 / span (exact powers of two: multiply instead of divide). */
  private readonly inv: Float64Array;

  // Outputs of the last successful walkInto (no allocation on the miss path).
  /** @internal */ outPageBase = 0;
  /** @internal */ outFlags = 0;
  /** @internal */ outPageSize = PAGE;
  private readonly memoTable: Float64Array;
  private readonly minAddr: number;
  private readonly maxAddr: number;
  private readonly memoView: DataView[];
  private readonly memoBase: Int32Array;

  constructor(
    readonly profile: PagingProfile,
    private readonly ram: SparseRam,
  ) {
    this.levels = profile.bits.length;
    this.memoTable = new Float64Array(this.levels).fill(NaN);
    this.minAddr = profile.minAddr;
    this.maxAddr = profile.maxAddr;
    this.memoView = new Array<DataView>(this.levels);
    this.memoBase = new Int32Array(this.levels);
    this.span = new Float64Array(this.levels);
    this.mask = new Int32Array(this.levels);
    this.inv = new Float64Array(this.levels);
    let shift = 12;
    for (let l = this.levels - 1; l >= 0; l--) {
      this.span[l] = 2 ** shift;
      this.inv[l] = 2 ** -shift;
      this.mask[l] = (1 << profile.bits[l]!) - 1;
      shift += profile.bits[l]!;
    }
  }

  /**
   * Walk for an access. Returns 0 and sets outPageBase/outFlags/outPageSize, or a
   * {@link FaultCause}. With `setAD`, sets the accessed bits and, on writes, the dirty bit.
   * @internal
   */
  walkInto(root: number, va: number, access: number, user: boolean, setAD: boolean): number {
    if (!(va >= this.minAddr && va < this.maxAddr)) return C_NON_CANONICAL;
    const inv = this.inv;
    const mask = this.mask;
    const memoTable = this.memoTable;
    const memoBase = this.memoBase;
    const memoView = this.memoView;
    const last = this.levels - 1;
    let table = root;
    let allow = F_W | F_U;
    let nx = 0;
    for (let l = 0; ; l++) {
      // Where the table page's bytes live, memoised per level: a touched page's backing never
      // moves, and the entries themselves are always read from RAM, so nothing here goes stale.
      if (memoTable[l] !== table && !this.locate(l, table)) return C_NOT_PRESENT;
      const dv = memoView[l]!;
      const at = memoBase[l]! + (Math.floor(va * inv[l]!) & mask[l]!) * 8;
      const lo = dv.getUint32(at, true);
      if ((lo & F_P) === 0) return C_NOT_PRESENT;
      const hi = dv.getUint32(at + 4, true);
      allow &= lo;
      nx |= hi;
      if (l === last || (lo & F_PS) !== 0) {
        if (l < last - 1) return C_NOT_PRESENT; // PS above the 2 MiB level is not a valid leaf
        return this.leaf(dv, at, lo, hi, l === last, va, allow, nx < 0, access, user, setAD);
      }
      if (setAD && (lo & F_A) === 0) dv.setUint32(at, (lo | F_A) >>> 0, true);
      table = ((lo >>> 12) + (hi & 0xfffff) * 1048576) * PAGE;
    }
  }

  /** Find and memoise the backing of table page `table` for level `l`; false when not RAM-backed. */
  private locate(l: number, table: number): boolean {
    const id = this.ram.pageId(table * INV_PAGE, false);
    if (id < 0) return false;
    this.memoTable[l] = table;
    this.memoView[l] = this.ram.slabView(id);
    this.memoBase[l] = this.ram.slabOffset(id);
    return true;
  }

  /** Permission checks, A/D update and outputs for a leaf entry. */
  private leaf(dv: DataView, at: number, lo: number, hi: number, small: boolean, va: number, allow: number, nx: boolean, access: number, user: boolean, setAD: boolean): number {
    if (user && (allow & F_U) === 0) return C_USER;
    if (access === A_WRITE && (allow & F_W) === 0) return C_PROT;
    if (access === A_EXEC && nx) return C_NX;
    if (setAD) {
      const want = lo | F_A | (access === A_WRITE ? F_D : 0);
      if (want !== lo) dv.setUint32(at, (lo = want) >>> 0, true);
    }
    const frame = ((lo >>> 12) + (hi & 0xfffff) * 1048576) * PAGE;
    if (small) {
      this.outPageBase = frame;
      this.outPageSize = PAGE;
    } else {
      this.outPageBase = frame - (frame % HUGE) + (Math.floor(va * INV_PAGE) & 511) * PAGE;
      this.outPageSize = HUGE;
    }
    this.outFlags = (lo & (LOW_FLAGS & ~(F_W | F_U))) | allow | (nx ? F_NX : 0);
    return 0;
  }

  /** Translate without side effects; null when not mapped. */
  lookup(root: number, va: number): Translation | null {
    if (this.walkInto(root, va, Access.Read, false, false) !== 0) return null;
    const ps = this.outPageSize;
    return { pa: this.outPageBase + (va - Math.floor(va / PAGE) * PAGE), flags: this.outFlags, pageSize: ps };
  }

  /**
   * Translate for an access; returns the translation or the fault cause (no A/D update).
   */
  walk(root: number, va: number, access: Access, user: boolean): Translation | { readonly fault: FaultCause } {
    const c = this.walkInto(root, va, access, user, false);
    if (c !== 0) return { fault: c as FaultCause };
    return { pa: this.outPageBase + (va - Math.floor(va / PAGE) * PAGE), flags: this.outFlags, pageSize: this.outPageSize };
  }

  /**
   * Create a root table. With `shareKernelFrom`, copies the kernel-half top-level entries so that
   * the new address space shares the kernel's tables.
   */
  createRoot(alloc: AllocTablePage, shareKernelFrom?: number): number {
    const root = this.allocTable(alloc);
    if (shareKernelFrom !== undefined) {
      for (let i = this.profile.kernelTopIndex; i <= this.mask[0]!; i++) {
        this.ram.write32(root + i * 8, this.ram.read32(shareKernelFrom + i * 8));
        this.ram.write32(root + i * 8 + 4, this.ram.read32(shareKernelFrom + i * 8 + 4));
      }
    }
    return root;
  }

  /**
   * Map `[va, va+size)` to `[pa, pa+size)` with `flags` ({@link PteFlag}; Present is implied).
   * With {@link PteFlag.Huge}, 2 MiB leaves are used where va, pa and the remaining size allow.
   * Existing mappings are replaced (the TLB is not flushed: that is the caller's job).
   */
  map(root: number, va: number, pa: number, size: number, flags: number, alloc: AllocTablePage): void {
    this.checkRange(va, size);
    if (pa % PAGE !== 0) throw new RangeError(`map: physical address ${fmt(pa)} is not page aligned`);
    const wantHuge = (flags & PteFlag.Huge) !== 0;
    let done = 0;
    while (done < size) {
      const v = va + done, p = pa + done;
      if (wantHuge && this.levels >= 2 && v % HUGE === 0 && p % HUGE === 0 && size - done >= HUGE) {
        const at = this.entryAt(root, v, this.levels - 2, alloc);
        this.writeEntry(at, p, flags | PteFlag.Huge);
        done += HUGE;
      } else {
        const at = this.entryAt(root, v, this.levels - 1, alloc);
        this.writeEntry(at, p, flags & ~PteFlag.Huge);
        done += PAGE;
      }
    }
  }

  /**
   * Map `count` consecutive 4 KiB pages from `va` to the page frames `frames[0..count)` (any
   * order; each page aligned) with `flags` (Present implied, Huge ignored): what `count` calls of
   * {@link PageTable.map} of one page do, walking from the root once per last-level table.
   * @internal
   */
  mapFrames(root: number, va: number, frames: ArrayLike<number>, count: number, flags: number, alloc: AllocTablePage): void {
    if (count <= 0) return;
    this.checkRange(va, count * PAGE);
    for (let k = 0; k < count; k++) {
      if (frames[k]! % PAGE !== 0) throw new RangeError(`map: physical address ${fmt(frames[k]!)} is not page aligned`);
    }
    const last = this.levels - 1;
    let at = 0;
    for (let k = 0; k < count; k++) {
      const v = va + k * PAGE;
      if (k === 0 || (Math.floor(v / PAGE) & this.mask[last]!) === 0) at = this.entryAt(root, v, last, alloc);
      else at += 8;
      this.writeEntry(at, frames[k]!, flags & ~PteFlag.Huge);
    }
  }

  /** Remove mappings in `[va, va+size)`. Splits a partly covered huge page (needs `alloc`). Returns pages unmapped. */
  unmap(root: number, va: number, size: number, alloc?: AllocTablePage): number {
    let pages = 0;
    this.forEachLeaf(root, va, size, alloc, (at, span) => {
      this.ram.write32(at, 0);
      this.ram.write32(at + 4, 0);
      pages += span / PAGE;
    });
    return pages;
  }

  /** Change the flags of mappings in `[va, va+size)`, keeping frames and A/D bits. Returns pages changed. */
  protect(root: number, va: number, size: number, flags: number, alloc?: AllocTablePage): number {
    let pages = 0;
    this.forEachLeaf(root, va, size, alloc, (at, span) => {
      const lo = this.ram.read32(at);
      const hi = this.ram.read32(at + 4);
      const keep = lo & (PteFlag.Accessed | PteFlag.Dirty | PteFlag.Huge);
      const low = ((lo & ~0xfff) | keep | (flags & LOW_FLAGS & ~(PteFlag.Accessed | PteFlag.Dirty | PteFlag.Huge)) | PteFlag.Present) >>> 0;
      this.ram.write32(at, low);
      this.ram.write32(at + 4, ((hi & 0x7fffffff) | ((flags & PteFlag.Nx) !== 0 ? 0x80000000 : 0)) >>> 0);
      pages += span / PAGE;
    });
    return pages;
  }

  private forEachLeaf(root: number, va: number, size: number, alloc: AllocTablePage | undefined, fn: (entryPa: number, span: number) => void): void {
    this.checkRange(va, size);
    const end = va + size;
    let v = va;
    outer: while (v < end) {
      let table = root;
      for (let l = 0; l < this.levels; l++) {
        const span = this.span[l]!;
        const at = table + (Math.floor(v / span) & this.mask[l]!) * 8;
        const lo = this.ram.read32(at);
        const hi = this.ram.read32(at + 4);
        const next = Math.floor(v / span) * span + span;
        if ((lo & PteFlag.Present) === 0) {
          v = next;
          continue outer;
        }
        const isLeaf = l === this.levels - 1 || (l === this.levels - 2 && (lo & PteFlag.Huge) !== 0);
        if (isLeaf) {
          if (l !== this.levels - 1 && (v % span !== 0 || end < next)) {
            if (!alloc) throw new RangeError(`range ${fmt(va)}+${size.toString(16)} splits a huge page: pass an allocator`);
            this.splitHuge(at, lo, hi, alloc);
            continue outer;
          }
          fn(at, span);
          v = next;
          if (l === this.levels - 1) {
            // The rest of this last-level table: its entries follow, no walk from the root needed
            // (fn edits leaf entries only, never the tables above).
            let e = at + 8;
            while (v < end && (Math.floor(v / span) & this.mask[l]!) !== 0) {
              if ((this.ram.read32(e) & PteFlag.Present) !== 0) fn(e, span);
              e += 8;
              v += span;
            }
          }
          continue outer;
        }
        table = ((lo >>> 12) + (hi & 0xfffff) * 1048576) * PAGE;
        // A corrupted entry pointing outside RAM: as in entryAt, a kernel fault, not a host error.
        if (!this.ram.contains(table, PAGE)) throw new PageFault(v, Access.Write, false, FaultCause.NotPresent);
      }
    }
  }

  /** Physical address of the entry for `va` at `level`, creating tables (and splitting huge pages) on the way. */
  private entryAt(root: number, va: number, level: number, alloc: AllocTablePage): number {
    let table = root;
    for (let l = 0; l < level; l++) {
      const at = table + (Math.floor(va / this.span[l]!) & this.mask[l]!) * 8;
      let lo = this.ram.read32(at);
      let hi = this.ram.read32(at + 4);
      if ((lo & PteFlag.Present) === 0) {
        const t = this.allocTable(alloc);
        this.writeEntry(at, t, PteFlag.Write | PteFlag.User);
        lo = this.ram.read32(at);
        hi = this.ram.read32(at + 4);
      } else if (l === this.levels - 2 && (lo & PteFlag.Huge) !== 0) {
        this.splitHuge(at, lo, hi, alloc);
        lo = this.ram.read32(at);
        hi = this.ram.read32(at + 4);
      }
      table = ((lo >>> 12) + (hi & 0xfffff) * 1048576) * PAGE;
      // A corrupted entry pointing outside RAM: the hardware walk sees a not-present page there too.
      if (!this.ram.contains(table, PAGE)) throw new PageFault(va, Access.Write, false, FaultCause.NotPresent);
    }
    return table + (Math.floor(va / this.span[level]!) & this.mask[level]!) * 8;
  }

  private splitHuge(at: number, lo: number, hi: number, alloc: AllocTablePage): void {
    const t = this.allocTable(alloc);
    const frame = ((lo >>> 12) + (hi & 0xfffff) * 1048576) * PAGE;
    const flags = (lo & LOW_FLAGS & ~PteFlag.Huge) | (hi >>> 31 !== 0 ? PteFlag.Nx : 0);
    for (let i = 0; i < 512; i++) this.writeEntry(t + i * 8, frame + i * PAGE, flags);
    this.writeEntry(at, t, PteFlag.Write | PteFlag.User);
  }

  private allocTable(alloc: AllocTablePage): number {
    const t = alloc();
    if (t % PAGE !== 0 || !this.ram.contains(t, PAGE)) throw new RangeError(`table page ${fmt(t)} is not a page of RAM`);
    return t;
  }

  private writeEntry(at: number, frame: number, flags: number): void {
    const pfn = frame / PAGE;
    const pfnHi = Math.floor(pfn / 1048576);
    const lo = (((pfn - pfnHi * 1048576) * PAGE) + ((flags & LOW_FLAGS) | PteFlag.Present)) >>> 0;
    const hi = (pfnHi | ((flags & PteFlag.Nx) !== 0 ? 0x80000000 : 0)) >>> 0;
    this.ram.write32(at, lo);
    this.ram.write32(at + 4, hi);
  }

  private checkRange(va: number, size: number): void {
    if (va % PAGE !== 0 || size % PAGE !== 0 || size <= 0) throw new RangeError(`range ${fmt(va)}+${size.toString(16)} is not page aligned`);
    if (va < this.profile.minAddr || va + size > this.profile.maxAddr) throw new RangeError(`range ${fmt(va)}+${size.toString(16)} outside the ${this.profile.name} address space`);
  }
}
