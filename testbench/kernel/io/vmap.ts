/**
 * What ioremap needs from kernel memory management: map a page-aligned physical range into the
 * vmalloc area with a memory type, and unmap it. The memory subsystem provides the real one (its
 * kernel page tables and vmalloc allocator) by registering {@link IO_VMAP}; until it does,
 * {@link LocalIoVmap} serves ioremap on its own window at the top of the vmalloc area.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD, CPU, MMU, TLB } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Cpu } from "../../soc/cpu.js";
import type { Mmu } from "../../soc/mmu.js";
import type { Tlb } from "../../soc/tlb.js";
import { MemType, PteFlag } from "../../soc/pagetable.js";

/**
 * The ioremap backend (the shape of the memory manager's `vm`).
 * @public
 */
export interface IoVmap {
  /**
   * Map the pages covering `[pa, pa+size)` read/write, no-execute, with memory type `memType`
   * ({@link MemType}), plus a guard page; returns the VA of `pa` (offset inside the page kept), or
   * null when the area is full.
   */
  mapPhys(pa: number, size: number, memType: MemType, label: string): number | null;
  /** Remove the mapping containing `va` and flush the TLB; false when there is none. */
  unmap(va: number): boolean;
}

const PAGE = 4096;
const MiB = 1024 * 1024;

/** The memory-type bits of a page-table entry. @internal */
export function memTypeFlags(type: MemType): number {
  return type === MemType.Uncached ? PteFlag.MtUncached : type === MemType.WriteCombining ? PteFlag.MtWriteCombining : PteFlag.MtWriteBack;
}

/** The last 256 MiB below the end of each profile's vmalloc area. */
function windowOf(board: BoardConfig): { start: number; end: number } {
  switch (board.profile) {
    case "x86_64": {
      const end = 0xffffe900_00000000 - 2 ** 64; // VMALLOC_END (signed 64-bit value)
      return { start: end - 256 * MiB, end };
    }
    case "x86_32":
      return { start: 0xff7fe000 - 64 * MiB, end: 0xff7fe000 };
    default:
      return { start: 0xff800000 - 64 * MiB, end: 0xff800000 };
  }
}

/**
 * A self-contained ioremap backend: a first-fit allocator over a window of the vmalloc area, page
 * tables edited in the CPU's current root (created when none is active yet), table pages taken
 * from the top 1 MiB of the last RAM bank.
 * @public
 */
@injectable()
export class LocalIoVmap implements IoVmap {
  private readonly window: { start: number; end: number };
  /** Free ranges [start, end), sorted. */
  private free: { start: number; end: number }[];
  private nextTablePage: number;
  private readonly tableLimit: number;

  constructor(
    @inject(BOARD) board: BoardConfig,
    @inject(CPU) private readonly cpu: Cpu,
    @inject(MMU) private readonly mmu: Mmu,
    @inject(TLB) private readonly tlb: Tlb,
  ) {
    this.window = windowOf(board);
    this.free = [{ ...this.window }];
    const last = board.ram[board.ram.length - 1]!;
    this.tableLimit = last.base + last.size;
    this.nextTablePage = this.tableLimit - MiB;
  }

  private readonly alloc = (): number => {
    if (this.nextTablePage >= this.tableLimit) throw new RangeError("ioremap page-table pool exhausted");
    const p = this.nextTablePage;
    this.nextTablePage += PAGE;
    return p;
  };

  private readonly sizes = new Map<number, number>();

  mapPhys(pa: number, size: number, memType: MemType, label: string): number | null {
    void label;
    if (this.cpu.root === 0) this.cpu.switchTo(this.mmu.createRoot(this.alloc), 0);
    const first = Math.floor(pa / PAGE) * PAGE;
    const len = Math.ceil((pa + size) / PAGE) * PAGE - first;
    // A guard page after each mapping, as vmalloc leaves one.
    const need = len + PAGE;
    const i = this.free.findIndex((f) => f.end - f.start >= need);
    if (i < 0) return null;
    const f = this.free[i]!;
    const va = f.start;
    f.start += need;
    if (f.start === f.end) this.free.splice(i, 1);
    this.mmu.map(this.cpu.root, va, first, len, PteFlag.Write | PteFlag.Global | PteFlag.Nx | memTypeFlags(memType), this.alloc);
    this.sizes.set(va, len);
    return va + (pa - first);
  }

  unmap(va: number): boolean {
    const base = Math.floor(va / PAGE) * PAGE;
    const size = this.sizes.get(base);
    if (size === undefined) return false;
    this.sizes.delete(base);
    this.mmu.unmap(this.cpu.root, base, size);
    this.tlb.flushRange(base, size);
    this.free.push({ start: base, end: base + size + PAGE });
    this.free.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const r of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.end === r.start) last.end = r.end;
      else merged.push({ ...r });
    }
    this.free = merged;
    return true;
  }
}
