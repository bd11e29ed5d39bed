/**
 * The CPU access path: va → TLB hit | page walk → permission check → memory type →
 * data cache (write-back) | direct bytes (uncached RAM, device memory) | MMIO handler via the bus.
 *
 * The hit path reads the TLB and cache arrays directly and touches no Map, no closure and no
 * allocation; walks, faults, MMIO and page/line-crossing accesses leave it through small calls.
 */
import { inject, injectable } from "./di.js";
import { Bus, RegionKind } from "./bus.js";
import type { BusRegion } from "./bus.js";
import { DataCache } from "./dcache.js";
import { Mmu } from "./mmu.js";
import { Access, PageFault, PteFlag } from "./pagetable.js";
import type { FaultCause } from "./pagetable.js";
import { SparseRam } from "./ram.js";
import { MAX_ASID, Tlb, TlbAttr } from "./tlb.js";
import type { TLB_NO_KEY } from "./tlb.js";
import { SOURCE_CPU, TraceKind, TraceRing } from "./trace.js";
import { BUS, DCACHE, MMU, RAM, TLB, TRACE } from "./tokens.js";

/*
 * The numbers of the access paths are const enums: a bundler (esbuild, for the package and the
 * benchmarks) turns top-level consts into vars, which V8 reloads and type-checks at every use,
 * while enum members are inlined as literals (7 of the 70 ns of a TLB miss).
 */
const enum C {
  Page = 4096,
  /** 1/Page: multiplying by it is exact and much cheaper than dividing. */
  InvPage = 1 / 4096,
  /** TLB_NO_KEY. */
  NoKey = 0.5,
  /** Chunk length from which readBytes/writeBytes copy a cache line with set() rather than a byte loop. */
  CopySetMin = 24,
  /** Entries of the paging-structure cache (a power of two). */
  PscSize = 32,
  /** missLine's answer for a TLB hit on device registers (the entry is in `lastIo`). */
  IoEntry = -2,
  /** The access crosses a line, so missLine was not asked. */
  NotTried = -3,
}
/** {@link PteFlag} bits. */
const enum F { P = 0x1, W = 0x2, U = 0x4, MT = 0x18, A = 0x20, D = 0x40, PS = 0x80, G = 0x100, NX = 0x800 }
/** {@link TlbAttr} bits. */
const enum T { KR = 0x1, KW = 0x2, UR = 0x4, UW = 0x8, KX = 0x10, UX = 0x20, KindCached = 0, KindDirect = 0x100, KindIo = 0x200, KindMask = 0x300 }
/** {@link RegionKind} values. */
const enum R { Ram = 0, Mmio = 2 }
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T extends readonly true[]> = T;
/** Compile-time check that the enums copy the values they stand for. */
type EnumsAgree = AllTrue<[
  Same<C.NoKey, typeof TLB_NO_KEY>,
  Same<F.P, typeof PteFlag.Present>, Same<F.W, typeof PteFlag.Write>, Same<F.U, typeof PteFlag.User>,
  Same<F.MT, typeof PteFlag.MtMask>, Same<F.A, typeof PteFlag.Accessed>, Same<F.D, typeof PteFlag.Dirty>,
  Same<F.PS, typeof PteFlag.Huge>, Same<F.G, typeof PteFlag.Global>, Same<F.NX, typeof PteFlag.Nx>,
  Same<T.KR, typeof TlbAttr.KernelRead>, Same<T.KW, typeof TlbAttr.KernelWrite>, Same<T.UR, typeof TlbAttr.UserRead>,
  Same<T.UW, typeof TlbAttr.UserWrite>, Same<T.KX, typeof TlbAttr.KernelExec>, Same<T.UX, typeof TlbAttr.UserExec>,
  Same<T.KindCached, typeof TlbAttr.KindCached>, Same<T.KindDirect, typeof TlbAttr.KindDirect>,
  Same<T.KindIo, typeof TlbAttr.KindIo>, Same<T.KindMask, typeof TlbAttr.KindMask>,
  Same<R.Ram, typeof RegionKind.Ram>, Same<R.Mmio, typeof RegionKind.Mmio>,
]>;

/**
 * The CPU's view of memory: loads and stores at virtual addresses in the current address space
 * and mode. Faults throw {@link PageFault}.
 * @public
 */
@injectable()
export class Cpu {
  /** Physical address of the current root page table (0 until set). */
  root = 0;
  /** Current ASID. */
  asid = 0;
  private userMode = false;
  private readBit: number = TlbAttr.KernelRead;
  private writeBit: number = TlbAttr.KernelWrite;
  private execBit: number = TlbAttr.KernelExec;
  /** The TLB's fast-path key arrays for the current mode (see {@link Tlb.fastKey}). */
  private readKeys: Float64Array;
  private writeKeys: Float64Array;
  private readonly lineSize: number;
  private readonly lineShift: number;
  private readonly lineMask: number;
  private readonly invLineSize: number;
  private readonly linesPerPage: number;
  /** log2(linesPerPage): index of a line hint is (entry << hintShift) + line. */
  private readonly hintShift: number;
  /** Largest offset in a line where a 32-bit access still fits. */
  private readonly lastWordInLine: number;
  private readonly fillBuf = new Uint8Array(C.Page);
  // The hit path reads these arrays of the TLB and the cache directly (they are never reallocated).
  private readonly tlbPageBase: Float64Array;
  private readonly tlbSetMask: number;
  private readonly tlbWays: number;
  private readonly tlbIoKey: Float64Array;
  private readonly tlbKey: Float64Array;
  private readonly tlbView: (DataView | null)[];
  private readonly tlbAttr: Int32Array;
  private readonly tlbStats: Float64Array;
  private readonly tlbSlowWays: Int32Array;
  private readonly tlbViewBase: Float64Array;
  private readonly tlbRegion: (BusRegion | null)[];
  /**
   * Way prediction per TLB entry and line of its page: the data-cache index that last held the
   * line (-1 unknown). Only a hint, validated against the cache tag; a stale one just misses.
   */
  private readonly lineHint: Int32Array;
  private readonly dcTag: Float64Array;
  private readonly dcStamp: Float64Array;
  private readonly dcDirty: Uint8Array;
  private readonly dcData: DataView;
  /** Region of the last TLB fill (most fills land in the same RAM bank). */
  private lastRegion: BusRegion | undefined = undefined;
  private lastRegionGen = -1;
  /** The TLB entry of the last MMIO access: a hint for the I/O entries, valid while its I/O key matches. */
  private lastIo = 0;
  /** The TLB entry of the last user-mode cached store: a hint, valid while its user-write fast key matches. */
  private lastUserWrite = 0;
  /** The same for user-mode cached loads. */
  private lastUserRead = 0;
  /** TLB hits of MMIO accesses (a hit source of the TLB's counters, cheaper than its stats array). */
  private ioHits = 0;
  private readonly dcStats: Float64Array;
  private readonly tlbFk0: Float64Array;
  private readonly tlbFk1: Float64Array;
  private readonly tlbFk2: Float64Array;
  private readonly tlbFk3: Float64Array;
  /** True for the x86_64 profile: the flat miss path walks its 4 levels itself. */
  private readonly flatWalk: boolean;
  /**
   * Where the flat walk last found each level's table page (pfn, slab view, offset): a touched
   * page's backing never moves, and the entries are always read from RAM, so nothing goes stale.
   */
  private readonly walkPfn = new Int32Array(4).fill(-1);
  private readonly walkView: DataView[] = [];
  private readonly walkBase = new Int32Array(4);
  /** The root the cached {@link Cpu.walkRootPfn} belongs to (`root` is a plain field). */
  private walkRootPa = -1;
  private walkRootPfn = -1;
  /**
   * Paging-structure cache, like x86's PDE cache: per 2 MiB of virtual space (direct-mapped,
   * tagged with root and prefix) the last-level table the walk reached and the permissions the
   * upper levels granted. Dropped whenever the TLB is flushed (its epoch changes), so a driver
   * that edits tables without a flush sees what hardware may. Only the walk over already-accessed
   * entries uses it; a walk that sets accessed/dirty bits reads every level.
   */
  private readonly pscPrefix = new Float64Array(C.PscSize).fill(C.NoKey);
  private readonly pscRoot = new Int32Array(C.PscSize);
  private readonly pscAllow = new Int32Array(C.PscSize);
  private readonly pscNx = new Int32Array(C.PscSize);
  private readonly pscView: DataView[] = [];
  private readonly pscBase = new Int32Array(C.PscSize);
  private pscEpoch = -1;
  /** Bounds of {@link Cpu.lastRegion} when it is RAM (empty otherwise), as plain numbers. */
  private ramLo = 1;
  private ramHi = 0;

  constructor(
    @inject(MMU) private readonly mmu: Mmu,
    @inject(TLB) private readonly tlb: Tlb,
    @inject(DCACHE) private readonly dcache: DataCache,
    @inject(BUS) private readonly bus: Bus,
    @inject(RAM) private readonly ram: SparseRam,
    @inject(TRACE) private readonly trace: TraceRing,
  ) {
    this.lineSize = dcache.lineSize;
    this.lineShift = dcache.lineShift;
    this.lineMask = dcache.lineSize - 1;
    this.invLineSize = 1 / dcache.lineSize;
    this.linesPerPage = C.Page / dcache.lineSize;
    this.hintShift = Math.log2(this.linesPerPage);
    this.lastWordInLine = dcache.lineSize - 4;
    this.readKeys = tlb.fastKey[0]!;
    this.writeKeys = tlb.fastKey[1]!;
    this.tlbPageBase = tlb.pageBase;
    this.tlbSetMask = tlb.setMask;
    this.tlbWays = tlb.ways;
    this.tlbIoKey = tlb.ioKey;
    this.tlbKey = tlb.key;
    this.tlbView = tlb.view;
    this.tlbAttr = tlb.attr;
    this.tlbStats = tlb.stats;
    this.tlbSlowWays = tlb.slowWays;
    this.tlbViewBase = tlb.viewBase;
    this.tlbRegion = tlb.region;
    this.lineHint = new Int32Array(tlb.sets * tlb.ways * this.linesPerPage).fill(-1);
    this.dcTag = dcache.tag;
    this.dcStamp = dcache.stamp;
    this.dcDirty = dcache.dirty;
    this.dcData = dcache.dataView;
    this.dcStats = dcache.stats;
    this.tlbFk0 = tlb.fastKey[0]!;
    this.tlbFk1 = tlb.fastKey[1]!;
    this.tlbFk2 = tlb.fastKey[2]!;
    this.tlbFk3 = tlb.fastKey[3]!;
    this.flatWalk = mmu.profile.name === "x86_64";
    const empty = new DataView(new ArrayBuffer(8));
    for (let l = 0; l < 4; l++) this.walkView.push(empty);
    for (let i = 0; i < C.PscSize; i++) this.pscView.push(empty);
    // TLB entries cache bus backings: a moved or removed region must not stay reachable.
    bus.onTopologyChange(() => tlb.flushAll());
    tlb.addHitSource({
      count: () => this.ioHits,
      reset: () => {
        this.ioHits = 0;
      },
    });
    // Fast-path accesses are TLB hits too; they are counted once, by the cache's access clock.
    let fastBase = 0;
    tlb.addHitSource({
      count: () => dcache.fastAccesses() - fastBase,
      reset: () => {
        fastBase = dcache.fastAccesses();
      },
    });
  }

  /** True in user mode. */
  get user(): boolean {
    return this.userMode;
  }
  set user(u: boolean) {
    this.userMode = u;
    this.readBit = u ? TlbAttr.UserRead : TlbAttr.KernelRead;
    this.writeBit = u ? TlbAttr.UserWrite : TlbAttr.KernelWrite;
    this.execBit = u ? TlbAttr.UserExec : TlbAttr.KernelExec;
    this.readKeys = this.tlb.fastKey[u ? 2 : 0]!;
    this.writeKeys = this.tlb.fastKey[u ? 3 : 1]!;
  }

  /**
   * Switch address space (like a CR3/TTBR write). The TLB is not flushed: with distinct ASIDs
   * translations are kept apart; reusing an ASID needs an explicit `tlb.flushAsid`.
   */
  switchTo(root: number, asid: number): void {
    if (!(asid >= 0 && asid <= MAX_ASID && asid === Math.floor(asid))) throw new RangeError(`ASID ${asid} out of range 0..${MAX_ASID}`);
    this.root = root;
    this.asid = asid;
  }

  // ---- hot path -------------------------------------------------------------------------

  /** Load an unsigned 32-bit little-endian value. */
  load32(va: number): number {
    // Fast path, flattened: a TLB entry mapping cached memory readable in this mode (its key in
    // the mode's fast-read key array), the line resident in the way the entry's hint names, the
    // value inside that line. Everything else takes load32Slow.
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    const keys = this.readKeys;
    const kb = vpn * 65536;
    const k = kb + this.asid;
    const kg = kb + 0xffff;
    let e = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = e + this.tlbWays;
    for (; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        const ln = off >> this.lineShift;
        const i = this.lineHint[(e << this.hintShift) + ln]!;
        const inLine = off & this.lineMask;
        if (i < 0 || this.dcTag[i] !== this.tlbPageBase[e]! * this.invLineSize + ln || inLine > this.lastWordInLine) break;
        this.dcStamp[i] = ++this.dcStats[0]!; // counts the access (a TLB and cache hit) and stamps LRU
        return this.dcData.getUint32((i << this.lineShift) + inLine, true);
      }
    }
    // The common miss in one call (a word inside one line); the rest in load32Slow.
    const inWord = off & this.lineMask;
    let line = C.NotTried;
    if (inWord <= this.lastWordInLine) {
      line = this.missLine(va, off, false, e);
      if (line >= 0) return this.dcData.getUint32((line << this.lineShift) + inWord, true);
    }
    return this.load32Slow(va, off, line);
  }

  /** Store a 32-bit little-endian value. */
  store32(va: number, value: number): void {
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    const keys = this.writeKeys;
    const kb = vpn * 65536;
    const k = kb + this.asid;
    const kg = kb + 0xffff;
    let e = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = e + this.tlbWays;
    for (; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        const ln = off >> this.lineShift;
        const i = this.lineHint[(e << this.hintShift) + ln]!;
        const inLine = off & this.lineMask;
        if (i < 0 || this.dcTag[i] !== this.tlbPageBase[e]! * this.invLineSize + ln || inLine > this.lastWordInLine) break;
        this.dcStamp[i] = ++this.dcStats[0]!; // counts the access (a TLB and cache hit) and stamps LRU
        this.dcData.setUint32((i << this.lineShift) + inLine, value, true);
        this.dcDirty[i] = 1;
        return;
      }
    }
    const inWord = off & this.lineMask;
    let line = C.NotTried;
    if (inWord <= this.lastWordInLine) {
      line = this.missLine(va, off, true, e);
      if (line >= 0) {
        this.dcData.setUint32((line << this.lineShift) + inWord, value, true);
        this.dcDirty[line] = 1;
        return;
      }
    }
    this.store32Slow(va, off, value, line);
  }

  /**
   * `load32` for an access expected to hit device registers (readl): the MMIO entry is tried
   * first, so the cached-memory scan is skipped; anything else takes {@link Cpu.load32}.
   * @internal
   */
  loadIo32(va: number): number {
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    if (off <= C.Page - 4) {
      const kb = vpn * 65536;
      const k = kb + this.asid;
      const kg = kb + 0xffff;
      // The entry of the last MMIO access first: its key, read from the TLB itself, keeps it honest.
      let io = this.lastIo;
      const t = this.tlbIoKey[io];
      if ((t === k || t === kg) && (this.tlbAttr[io]! & this.readBit) !== 0) this.ioHits++;
      else io = this.ioEntry(vpn, k, kg, this.readBit);
      if (io >= 0) return this.bus.mmioRead(this.tlbRegion[io]!, this.tlbViewBase[io]! + off, 4);
    }
    return this.load32(va);
  }

  /** `store32` for an access expected to hit device registers (writel); see {@link Cpu.loadIo32}. @internal */
  storeIo32(va: number, value: number): void {
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    if (off <= C.Page - 4) {
      const kb = vpn * 65536;
      const k = kb + this.asid;
      const kg = kb + 0xffff;
      // The entry of the last MMIO access first: its key, read from the TLB itself, keeps it honest.
      let io = this.lastIo;
      const t = this.tlbIoKey[io];
      if ((t === k || t === kg) && (this.tlbAttr[io]! & this.writeBit) !== 0) this.ioHits++;
      else io = this.ioEntry(vpn, k, kg, this.writeBit);
      if (io >= 0) return this.bus.mmioWrite(this.tlbRegion[io]!, this.tlbViewBase[io]! + off, 4, value);
    }
    this.store32(va, value);
  }

  /**
   * load32 when {@link Cpu.missLine} declined (`line` -1), found device registers ({@link C.IoEntry})
   * or was not tried (a line or page crossing).
   */
  private load32Slow(va: number, off: number, line: number): number {
    if (line === C.IoEntry) return this.bus.mmioRead(this.tlbRegion[this.lastIo]!, this.tlbViewBase[this.lastIo]! + off, 4);
    if (off > C.Page - 4) return this.loadSlow(va, 4);
    const e = this.entryFor(va, Math.floor(va * C.InvPage), Access.Read);
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindCached) {
      const inLine = off & this.lineMask;
      if (inLine > this.lineSize - 4) return this.loadSlow(va, 4);
      return this.dcache.dataView.getUint32((this.lineFor(e, off, true) << this.lineShift) + inLine, true);
    }
    if (kind === T.KindDirect) return tlb.view[e]!.getUint32(tlb.viewBase[e]! + off, true);
    return this.ioRead(e, off, 4);
  }

  /** store32 after {@link Cpu.missLine}; see {@link Cpu.load32Slow}. */
  private store32Slow(va: number, off: number, value: number, line: number): void {
    if (line === C.IoEntry) return this.bus.mmioWrite(this.tlbRegion[this.lastIo]!, this.tlbViewBase[this.lastIo]! + off, 4, value);
    if (off > C.Page - 4) return this.storeSlow(va, 4, value);
    const e = this.entryFor(va, Math.floor(va * C.InvPage), Access.Write);
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindCached) {
      const inLine = off & this.lineMask;
      if (inLine > this.lineSize - 4) return this.storeSlow(va, 4, value);
      const i = this.lineFor(e, off, true);
      this.dcache.dataView.setUint32((i << this.lineShift) + inLine, value, true);
      this.dcache.dirty[i] = 1;
      return;
    }
    if (kind === T.KindDirect) return tlb.view[e]!.setUint32(tlb.viewBase[e]! + off, value, true);
    this.ioWrite(e, off, 4, value);
  }

  /**
   * A user-mode 32-bit store in address space `asid` that hits the TLB, without switching mode or
   * address space (a hit needs neither the root nor the mode flags). Cached and direct (UC/WC)
   * RAM only; returns false, having done nothing, when the caller must take the full path.
   * @internal
   */
  storeUser32(asid: number, va: number, value: number): boolean {
    // Kept small so that callers inline it. The entry of the last such store is tried first (its
    // user-write fast key, read from the TLB itself, keeps it honest): a match maps cached memory
    // the user may write. Anything else goes to storeUser32Scan.
    const vpn = Math.floor(va * C.InvPage);
    const kb = vpn * 65536;
    const e = this.lastUserWrite;
    const t = this.tlbFk3[e];
    if (t !== kb + asid && t !== kb + 0xffff) return this.storeUser32Scan(asid, va, value);
    const off = (va - vpn * C.Page) | 0;
    const ln = off >> this.lineShift;
    const i = this.lineHint[(e << this.hintShift) + ln]!;
    const inLine = off & this.lineMask;
    // A word crossing its line (or page) fails the last test.
    if (i < 0 || this.dcTag[i] !== this.tlbPageBase[e]! * this.invLineSize + ln || inLine > this.lastWordInLine) return false;
    this.dcStamp[i] = ++this.dcStats[0]!; // counts the access (a TLB and cache hit), as store32's fast path
    this.dcData.setUint32((i << this.lineShift) + inLine, value, true);
    this.dcDirty[i] = 1;
    return true;
  }

  /** {@link Cpu.storeUser32} past its last entry: one scan of the set. */
  private storeUser32Scan(asid: number, va: number, value: number): boolean {
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    const kb = vpn * 65536;
    const k = kb + asid;
    const kg = kb + 0xffff;
    const keys = this.tlbKey;
    let e = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = e + this.tlbWays;
    for (; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        if (this.tlbFk3[e] !== t) return this.storeUser32Direct(e, off, value);
        this.lastUserWrite = e;
        return this.storeUser32(asid, va, value);
      }
    }
    return false;
  }

  /** {@link Cpu.storeUser32} for TLB entry `e` when it is not writable cached memory: uncached/WC RAM the user may write, else false. */
  private storeUser32Direct(e: number, off: number, value: number): boolean {
    const attr = this.tlbAttr[e]!;
    if ((attr & T.UW) === 0 || (attr & T.KindMask) !== T.KindDirect || off > C.Page - 4) return false;
    this.tlbStats[0]++;
    this.tlbView[e]!.setUint32(this.tlbViewBase[e]! + off, value, true);
    return true;
  }

  /** The load counterpart of {@link Cpu.storeUser32}: the value, or -1 when the full path is needed. @internal */
  loadUser32(asid: number, va: number): number {
    const vpn = Math.floor(va * C.InvPage);
    const kb = vpn * 65536;
    const e = this.lastUserRead;
    const t = this.tlbFk2[e];
    if (t !== kb + asid && t !== kb + 0xffff) return this.loadUser32Scan(asid, va);
    const off = (va - vpn * C.Page) | 0;
    const ln = off >> this.lineShift;
    const i = this.lineHint[(e << this.hintShift) + ln]!;
    const inLine = off & this.lineMask;
    if (i < 0 || this.dcTag[i] !== this.tlbPageBase[e]! * this.invLineSize + ln || inLine > this.lastWordInLine) return -1;
    this.dcStamp[i] = ++this.dcStats[0]!;
    return this.dcData.getUint32((i << this.lineShift) + inLine, true);
  }

  /** {@link Cpu.loadUser32} past its last entry: one scan of the set. */
  private loadUser32Scan(asid: number, va: number): number {
    const vpn = Math.floor(va * C.InvPage);
    const off = (va - vpn * C.Page) | 0;
    const kb = vpn * 65536;
    const k = kb + asid;
    const kg = kb + 0xffff;
    const keys = this.tlbKey;
    let e = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = e + this.tlbWays;
    for (; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        if (this.tlbFk2[e] !== t) return this.loadUser32Direct(e, off);
        this.lastUserRead = e;
        return this.loadUser32(asid, va);
      }
    }
    return -1;
  }

  private loadUser32Direct(e: number, off: number): number {
    const attr = this.tlbAttr[e]!;
    if ((attr & T.UR) === 0 || (attr & T.KindMask) !== T.KindDirect || off > C.Page - 4) return -1;
    this.tlbStats[0]++;
    return this.tlbView[e]!.getUint32(this.tlbViewBase[e]! + off, true);
  }

  /** Load an unsigned 16-bit little-endian value. */
  load16(va: number): number {
    return this.loadN(va, 2);
  }
  /** Load a byte. */
  load8(va: number): number {
    return this.loadN(va, 1);
  }
  /** Store a 16-bit little-endian value. */
  store16(va: number, value: number): void {
    this.storeN(va, 2, value);
  }
  /** Store a byte. */
  store8(va: number, value: number): void {
    this.storeN(va, 1, value);
  }

  /** Load a 64-bit value as a number (exact below 2^53): two 32-bit loads, low half first. */
  load64(va: number): number {
    const lo = this.load32(va);
    return this.load32(va + 4) * 4294967296 + lo;
  }
  /** Load a 64-bit value as halves into `out[0]` (low) and `out[1]` (high). */
  load64Parts(va: number, out: Uint32Array | number[]): void {
    out[0] = this.load32(va);
    out[1] = this.load32(va + 4);
  }
  /** Store a 64-bit value given as a number (0 ≤ value < 2^53): two 32-bit stores, low half first. */
  store64(va: number, value: number): void {
    const hi = Math.floor(value / 4294967296);
    this.store32(va, (value - hi * 4294967296) >>> 0);
    this.store32(va + 4, hi >>> 0);
  }
  /** Store a 64-bit value given as halves. */
  store64Parts(va: number, lo: number, hi: number): void {
    this.store32(va, lo >>> 0);
    this.store32(va + 4, hi >>> 0);
  }

  // ---- bulk ---------------------------------------------------------------------------

  /** Copy `len` bytes at `va` into `dst[dstOff...]`, page by page (through the cache for cached memory). */
  readBytes(va: number, dst: Uint8Array, dstOff = 0, len = dst.length - dstOff): void {
    let done = 0;
    while (done < len) {
      const a = va + done;
      const vpn = Math.floor(a * C.InvPage);
      const off = a - vpn * C.Page;
      const n = Math.min(C.Page - off, len - done);
      const e = this.entryFor(a, vpn, Access.Read);
      this.readChunk(e, off, dst, dstOff + done, n);
      done += n;
    }
  }

  /** Copy `src[srcOff...]` (`len` bytes) to `va`, page by page (write-allocate for cached memory). */
  writeBytes(va: number, src: Uint8Array, srcOff = 0, len = src.length - srcOff): void {
    let done = 0;
    while (done < len) {
      const a = va + done;
      const vpn = Math.floor(a * C.InvPage);
      const off = a - vpn * C.Page;
      const n = Math.min(C.Page - off, len - done);
      const e = this.entryFor(a, vpn, Access.Write);
      this.writeChunk(e, off, src, srcOff + done, n);
      done += n;
    }
  }

  /** Fill `len` bytes at `va` with `value`. */
  fill(va: number, len: number, value: number): void {
    const buf = this.fillBuf;
    buf.fill(value);
    let done = 0;
    while (done < len) {
      const n = Math.min(C.Page, len - done);
      this.writeBytes(va + done, buf, 0, n);
      done += n;
    }
  }

  /**
   * Translate `va` for an access in the current mode and address space (through the TLB; the
   * walk sets accessed/dirty bits). Returns the physical address or throws {@link PageFault}.
   */
  translate(va: number, access: Access = Access.Read): number {
    const vpn = Math.floor(va * C.InvPage);
    const e = this.entryFor(va, vpn, access);
    return this.tlb.pageBase[e]! + (va - vpn * C.Page);
  }

  // ---- slow paths ---------------------------------------------------------------------

  /**
   * The common miss, flat: the cache line (allocated and loaded on a cache miss) for offset `off`
   * of the page of `va`, accessed for a read or a `write` in this mode, when the page is cached
   * RAM. The caller's scan of the set's fast keys stopped at `e`: the entry it matched (a TLB hit
   * whose line missed), or the end of the set. Else an entry for device registers the access may
   * use answers {@link C.IoEntry} (the entry in `lastIo`); with no entry for the page, a 4-level
   * walk (upper levels from the paging-structure cache when it holds them) over present entries
   * whose accessed (and, for writes, dirty) bits are already set, with the permissions granted,
   * fills the set's free or victim way. Returns -1, having changed nothing, for everything else
   * (faults, huge pages, A/D updates, uncached memory, permission refills, other profiles, TLB
   * tracing): the general path handles those.
   */
  private missLine(va: number, off: number, write: boolean, e: number): number {
    const vpn = Math.floor(va * C.InvPage);
    const kb = vpn * 65536;
    const k = kb + this.asid;
    const kg = kb + 0xffff;
    const set = vpn & this.tlbSetMask;
    const start = set * this.tlbWays;
    const end = start + this.tlbWays;
    let slot = -1;
    // Another entry of the page, or a free way, can only be among the ways the set's mask marks
    // invalid or not fast for this access class.
    if (e === end && ((this.tlbSlowWays[set]! >> ((this.userMode ? 16 : 0) + (write ? 8 : 0))) & 0xff) !== 0) {
      const keys = this.tlbKey;
      for (let i = start; i < end; i++) {
        const t = keys[i];
        if (t === k || t === kg) {
          // Not fast: device registers go to the bus, anything else to the general path.
          if (this.tlbIoKey[i] !== t || (this.tlbAttr[i]! & (write ? this.writeBit : this.readBit)) === 0) return -1;
          this.ioHits++;
          this.lastIo = i;
          return C.IoEntry;
        }
        if (slot < 0 && t === C.NoKey) slot = i;
      }
    }
    let pageBase: number;
    if (e < end) {
      this.tlbStats[0]++;
      pageBase = this.tlbPageBase[e]!;
    } else {
      if (!this.flatWalk || !(va >= -0x800000000000 && va < 0x800000000000) || this.trace.tlbEvents) return -1;
      // Table indices: vpn's low 32 bits hold levels 3..1 (9 bits each); level 0 is bits 27..35.
      const low = vpn | 0;
      const rootPfn = this.root === this.walkRootPa ? this.walkRootPfn : this.rootPfn();
      if (rootPfn < 0) return -1;
      if (this.pscEpoch !== this.tlb.epoch) {
        this.pscPrefix.fill(C.NoKey);
        this.pscEpoch = this.tlb.epoch;
      }
      const prefix = Math.floor(vpn * (1 / 512));
      const p = (low >> 9) & (C.PscSize - 1);
      if ((this.pscPrefix[p] !== prefix || this.pscRoot[p] !== rootPfn) && !this.pscFill(p, prefix, rootPfn, vpn)) return -1;
      let allow = this.pscAllow[p]!;
      let nx = this.pscNx[p]!;
      const dv = this.pscView[p]!;
      const at = this.pscBase[p]! + (low & 511) * 8;
      const lo = dv.getUint32(at, true);
      const hi = dv.getUint32(at + 4, true);
      if ((lo & (F.P | F.A | F.PS)) !== (F.P | F.A) || (hi & 0xff800) !== 0) return -1;
      allow &= lo;
      nx |= hi;
      if (this.userMode && (allow & F.U) === 0) return -1;
      if (write && ((allow & F.W) === 0 || (lo & F.D) === 0)) return -1;
      // Memory type write-back and the page inside the RAM region of the last fill (most often).
      if ((lo & F.MT) !== 0) return -1;
      const pfn = (lo >>> 12) + (hi & 0x7ff) * 1048576;
      pageBase = pfn * C.Page;
      if (pageBase < this.ramLo || pageBase + C.Page > this.ramHi || this.lastRegionGen !== this.bus.generation) return -1;
      const w = (allow & F.W) !== 0 && (lo & F.D) !== 0;
      const x = nx >= 0;
      let attr = T.KR | (w ? T.KW : 0) | (x ? T.KX : 0);
      if ((allow & F.U) !== 0) attr |= T.UR | (w ? T.UW : 0) | (x ? T.UX : 0);
      this.tlbStats[1]++;
      this.tlbStats[2]++;
      e = slot >= 0 ? slot : this.tlb.victimOf(set, start);
      // What Tlb.fill writes for a cached entry.
      const key = (lo & F.G) !== 0 ? kg : k;
      this.tlbKey[e] = key;
      this.tlbAttr[e] = attr;
      this.tlbFk0[e] = key;
      this.tlbFk1[e] = w ? key : C.NoKey;
      this.tlbFk2[e] = (attr & T.UR) !== 0 ? key : C.NoKey;
      this.tlbFk3[e] = (attr & T.UW) !== 0 ? key : C.NoKey;
      this.tlbIoKey[e] = C.NoKey;
      this.tlbPageBase[e] = pageBase;
      // The RAM page's slab is looked up when a line is first filled (fillLine), if ever.
      this.tlbView[e] = null;
      this.tlbRegion[e] = null;
      if (this.tlbWays <= 8) {
        // As Tlb.markWay: the entry is slow for kernel writes unless writable, and for the user accesses it does not allow.
        const slow = (w ? 0 : 0x100) | ((attr & T.UR) !== 0 ? 0 : 0x10000) | ((attr & T.UW) !== 0 ? 0 : 0x1000000);
        this.tlbSlowWays[set] = (this.tlbSlowWays[set]! & ~(0x01010101 << (e - start))) | (slow << (e - start));
      }
    }
    const ln = off >> this.lineShift;
    const line = pageBase * this.invLineSize + ln;
    let i = this.dcache.find(line);
    if (i < 0) i = this.fillLine(e, line, ln, true);
    this.lineHint[(e << this.hintShift) + ln] = i;
    return i;
  }

  /**
   * Walk the upper three levels for page `vpn` from root `rootPfn` into paging-structure cache
   * entry `p` (tag `prefix`): false, having cached nothing, when an entry is not present and
   * accessed, maps a huge page or a frame past 2^43, or a table page was never backed.
   */
  private pscFill(p: number, prefix: number, rootPfn: number, vpn: number): boolean {
    const low = vpn | 0;
    let allow = F.W | F.U;
    let nx = 0;
    let pfn = rootPfn;
    for (let l = 0; l < 3; l++) {
      if (!this.walkTable(l, pfn)) return false;
      const index = l === 0 ? Math.floor(vpn * 7.450580596923828e-9) & 511 : (low >> (27 - 9 * l)) & 511;
      const v = this.walkView[l]!;
      const u = this.walkBase[l]! + index * 8;
      const lo = v.getUint32(u, true);
      const hi = v.getUint32(u + 4, true);
      if ((lo & (F.P | F.A | F.PS)) !== (F.P | F.A) || (hi & 0xff800) !== 0) return false;
      allow &= lo;
      nx |= hi;
      pfn = (lo >>> 12) + (hi & 0x7ff) * 1048576;
    }
    if (!this.walkTable(3, pfn)) return false;
    this.pscPrefix[p] = prefix;
    this.pscRoot[p] = rootPfn;
    this.pscAllow[p] = allow;
    this.pscNx[p] = nx;
    this.pscView[p] = this.walkView[3]!;
    this.pscBase[p] = this.walkBase[3]!;
    return true;
  }

  /** Point walk level `l` at table page `pfn` (its slab view and offset); false when the page was never backed. */
  private walkTable(l: number, pfn: number): boolean {
    if (this.walkPfn[l] === pfn) return true;
    const id = this.ram.pageId(pfn, false);
    if (id < 0) return false;
    this.walkPfn[l] = pfn;
    this.walkView[l] = this.ram.slabView(id);
    this.walkBase[l] = this.ram.slabOffset(id);
    return true;
  }

  /** Page frame number of the root table, -1 when it is not an int32 (remembered for this root). */
  private rootPfn(): number {
    const r = this.root * C.InvPage;
    this.walkRootPa = this.root;
    this.walkRootPfn = r >= 0 && r < 0x80000000 && r === Math.floor(r) ? r | 0 : -1;
    return this.walkRootPfn;
  }

  /**
   * The TLB entry mapping page `vpn` (lookup keys `k`, `kg`) to an MMIO region with permission `bit` in this mode (a hit,
   * counted as {@link Tlb.probe} would), or -1: then the general path decides.
   */
  private ioEntry(vpn: number, k: number, kg: number, bit: number): number {
    const keys = this.tlbIoKey;
    let e = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = e + this.tlbWays;
    for (; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        if ((this.tlbAttr[e]! & bit) === 0) return -1;
        this.ioHits++;
        this.lastIo = e;
        return e;
      }
    }
    return -1;
  }

  /**
   * The TLB entry for page `vpn` usable for `access` in this mode. One scan of the set: a match is
   * counted as a hit (as {@link Tlb.probe} would) and refilled in place when it lacks the
   * permission; a miss walks and fills the invalid way seen, else the set's victim.
   */
  private entryFor(va: number, vpn: number, access: Access): number {
    const bit = access === Access.Read ? this.readBit : access === Access.Write ? this.writeBit : this.execBit;
    const keys = this.tlbKey;
    const kb = vpn * 65536;
    const k = kb + this.asid;
    const kg = kb + 0xffff;
    const start = (vpn & this.tlbSetMask) * this.tlbWays;
    const end = start + this.tlbWays;
    let free = -1;
    for (let e = start; e < end; e++) {
      const t = keys[e];
      if (t === k || t === kg) {
        this.tlbStats[0]++;
        return (this.tlbAttr[e]! & bit) !== 0 ? e : this.tlbFill(va, access, e);
      }
      if (free < 0 && t === C.NoKey) free = e;
    }
    this.tlbStats[1]++;
    return this.tlbFill(va, access, free);
  }

  /** TLB miss (or permission miss): walk, check, resolve the backing, install in `slot` (-1: the set's victim). */
  private tlbFill(va: number, access: Access, slot: number): number {
    const mmu = this.mmu;
    const tlb = this.tlb;
    tlb.stats[2]++;
    const cause = mmu.walkInto(this.root, va, access, this.userMode, true);
    if (cause !== 0) throw this.fault(va, access, cause as FaultCause);
    const flags = mmu.outFlags;
    const pageBase = mmu.outPageBase;
    const exec = (flags & F.NX) === 0;
    const write = (flags & F.W) !== 0 && (flags & F.D) !== 0;
    let attr = T.KR | (write ? T.KW : 0) | (exec ? T.KX : 0);
    if ((flags & F.U) !== 0) attr |= T.UR | (write ? T.UW : 0) | (exec ? T.UX : 0);
    let r = this.lastRegion;
    if (r === undefined || this.lastRegionGen !== this.bus.generation || pageBase < r.base || pageBase >= r.end) {
      r = this.bus.lookup(pageBase);
      this.lastRegion = r;
      this.lastRegionGen = this.bus.generation;
      const ram = r !== undefined && r.kind === R.Ram;
      this.ramLo = ram ? r!.base : 1;
      this.ramHi = ram ? r!.end : 0;
    }
    let view: DataView | null = null;
    let base = 0;
    let region: BusRegion | null = null;
    if (r !== undefined && r.kind !== R.Mmio && pageBase + C.Page <= r.end) {
      attr |= (flags & F.MT) === 0 ? T.KindCached : T.KindDirect;
      if (r.kind === R.Ram) {
        const id = this.ram.pageId(pageBase * C.InvPage, true);
        view = this.ram.slabView(id);
        base = this.ram.slabOffset(id);
      } else {
        view = r.view;
        base = pageBase - r.base;
      }
    } else {
      attr |= T.KindIo;
      if (r !== undefined && r.kind === R.Mmio && r.base <= pageBase && pageBase + C.Page <= r.end) {
        region = r;
        base = pageBase - r.base;
      }
    }
    const vpn = Math.floor(va * C.InvPage);
    const set = vpn & this.tlbSetMask;
    const e = slot >= 0 ? slot : tlb.victimOf(set, set * this.tlbWays);
    tlb.fill(e, va, (flags & F.G) !== 0 ? 0xffff : this.asid, attr, pageBase, view, base, region);
    return e;
  }

  private fault(va: number, access: Access, cause: FaultCause): PageFault {
    this.trace.record(TraceKind.Fault, va, access, cause, SOURCE_CPU, this.userMode ? "user" : "kernel");
    return new PageFault(va, access, this.userMode, cause);
  }

  private ioRead(e: number, off: number, size: number): number {
    const r = this.tlb.region[e];
    if (r) return this.bus.mmioRead(r, this.tlb.viewBase[e]! + off, size);
    return this.bus.read(this.tlb.pageBase[e]! + off, size);
  }

  private ioWrite(e: number, off: number, size: number, value: number): void {
    const r = this.tlb.region[e];
    if (r) this.bus.mmioWrite(r, this.tlb.viewBase[e]! + off, size, value);
    else this.bus.write(this.tlb.pageBase[e]! + off, size, value);
  }

  /** 1- and 2-byte loads; also the per-byte fallback of page/line-crossing accesses. */
  private loadN(va: number, size: number): number {
    const vpn = Math.floor(va * C.InvPage);
    const off = va - vpn * C.Page;
    if (off > C.Page - size) return this.loadSlow(va, size);
    const e = this.entryFor(va, vpn, Access.Read);
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindCached) {
      const inLine = off & this.lineMask;
      if (inLine > this.lineSize - size) return this.loadSlow(va, size);
      const i = this.lineFor(e, off, true);
      const at = (i << this.lineShift) + inLine;
      return size === 1 ? this.dcache.data[at]! : this.dcache.dataView.getUint16(at, true);
    }
    if (kind === T.KindDirect) {
      const v = tlb.view[e]!;
      const at = tlb.viewBase[e]! + off;
      return size === 1 ? v.getUint8(at) : v.getUint16(at, true);
    }
    return this.ioRead(e, off, size);
  }

  private storeN(va: number, size: number, value: number): void {
    const vpn = Math.floor(va * C.InvPage);
    const off = va - vpn * C.Page;
    if (off > C.Page - size) return this.storeSlow(va, size, value);
    const e = this.entryFor(va, vpn, Access.Write);
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindCached) {
      const inLine = off & this.lineMask;
      if (inLine > this.lineSize - size) return this.storeSlow(va, size, value);
      const i = this.lineFor(e, off, true);
      const at = (i << this.lineShift) + inLine;
      if (size === 1) this.dcache.data[at] = value;
      else this.dcache.dataView.setUint16(at, value, true);
      this.dcache.dirty[i] = 1;
      return;
    }
    if (kind === T.KindDirect) {
      const v = tlb.view[e]!;
      const at = tlb.viewBase[e]! + off;
      if (size === 1) v.setUint8(at, value);
      else v.setUint16(at, value, true);
      return;
    }
    this.ioWrite(e, off, size, value);
  }

  /** Line index in the cache for offset `off` of TLB entry `e`, allocating (and loading) on a miss; refreshes the way hint. */
  private lineFor(e: number, off: number, load: boolean): number {
    const ln = off >>> this.lineShift;
    const line = this.tlbPageBase[e]! * this.invLineSize + ln;
    let i = this.dcache.find(line);
    if (i < 0) i = this.fillLine(e, line, ln, load);
    this.lineHint[(e << this.hintShift) + ln] = i;
    return i;
  }

  /**
   * Allocate cache line `line`, line `ln` of the page of cached TLB entry `e`. An entry without a
   * view maps RAM whose slab was not looked up at fill time (see missLine): it is resolved now.
   */
  private fillLine(e: number, line: number, ln: number, load: boolean): number {
    let view = this.tlbView[e];
    if (!view) {
      const id = this.ram.pageId(this.tlbPageBase[e]! * C.InvPage, true);
      view = this.tlbView[e] = this.ram.slabView(id);
      this.tlbViewBase[e] = this.ram.slabOffset(id);
    }
    return this.dcache.fill(line, view, this.tlbViewBase[e]! + ln * this.lineSize, load);
  }

  /**
   * Byte-wise access for values crossing a page or a cache line (little-endian). The address is
   * floored, as every access path does with a non-integer one (a byte at 0xfff.5 would otherwise
   * "cross" its page forever).
   */
  private loadSlow(address: number, size: number): number {
    const va = Math.floor(address);
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + this.loadN(va + k, 1);
    return v;
  }

  private storeSlow(address: number, size: number, value: number): void {
    const va = Math.floor(address);
    // Translate every byte for write first, so a fault on the second page leaves memory untouched.
    for (let k = 0; k < size; k++) this.translate(va + k, Access.Write);
    let v = value;
    for (let k = 0; k < size; k++) {
      const q = Math.floor(v / 256);
      this.storeN(va + k, 1, v - q * 256);
      v = q;
    }
  }

  private readChunk(e: number, off: number, dst: Uint8Array, at: number, n: number): void {
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindDirect) {
      const v = tlb.view[e]!;
      dst.set(new Uint8Array(v.buffer, v.byteOffset + tlb.viewBase[e]! + off, n), at);
      return;
    }
    if (kind === T.KindCached) {
      const data = this.dcache.data;
      let p = 0;
      while (p < n) {
        const o = off + p;
        const inLine = o & this.lineMask;
        const k = Math.min(this.lineSize - inLine, n - p);
        const src = (this.lineFor(e, o, true) << this.lineShift) + inLine;
        // A byte loop beats set() below ~24 bytes (set has a per-call floor); above, set wins 3x.
        if (k >= C.CopySetMin) dst.set(data.subarray(src, src + k), at + p);
        else for (let j = 0; j < k; j++) dst[at + p + j] = data[src + j]!;
        p += k;
      }
      return;
    }
    for (let p = 0; p < n; ) {
      const o = off + p;
      if ((o & 3) === 0 && n - p >= 4) {
        const v = this.ioRead(e, o, 4);
        dst[at + p] = v; dst[at + p + 1] = v >>> 8; dst[at + p + 2] = v >>> 16; dst[at + p + 3] = v >>> 24;
        p += 4;
      } else {
        dst[at + p] = this.ioRead(e, o, 1);
        p++;
      }
    }
  }

  private writeChunk(e: number, off: number, src: Uint8Array, at: number, n: number): void {
    const tlb = this.tlb;
    const kind = tlb.attr[e]! & T.KindMask;
    if (kind === T.KindDirect) {
      const v = tlb.view[e]!;
      new Uint8Array(v.buffer, v.byteOffset + tlb.viewBase[e]! + off, n).set(src.subarray(at, at + n));
      return;
    }
    if (kind === T.KindCached) {
      const dc = this.dcache;
      const data = dc.data;
      let p = 0;
      while (p < n) {
        const o = off + p;
        const inLine = o & this.lineMask;
        const k = Math.min(this.lineSize - inLine, n - p);
        const i = this.lineFor(e, o, k !== this.lineSize);
        const dst = (i << this.lineShift) + inLine;
        if (k >= C.CopySetMin) data.set(src.subarray(at + p, at + p + k), dst);
        else for (let j = 0; j < k; j++) data[dst + j] = src[at + p + j]!;
        dc.dirty[i] = 1;
        p += k;
      }
      return;
    }
    for (let p = 0; p < n; ) {
      const o = off + p;
      if ((o & 3) === 0 && n - p >= 4) {
        this.ioWrite(e, o, 4, (src[at + p]! | (src[at + p + 1]! << 8) | (src[at + p + 2]! << 16) | (src[at + p + 3]! << 24)) >>> 0);
        p += 4;
      } else {
        this.ioWrite(e, o, 1, src[at + p]!);
        p++;
      }
    }
  }
}

function vpn(va: number): number {
  return Math.floor(va * C.InvPage);
}
