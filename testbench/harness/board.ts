/** Boards are data: a profile, RAM, cache and TLB geometry, coherency, IOMMU, port space. */

/** Address-space profile a board runs. @public */
export type ProfileName = "x86_32" | "arm32" | "x86_64";

/** Geometry of a set-associative structure (TLB, data cache). @public */
export interface CacheGeometry {
  /** Number of sets (power of two). */
  readonly sets: number;
  /** Ways per set. */
  readonly ways: number;
  /** Line size in bytes (power of two); unused for a TLB. */
  readonly lineSize: number;
}

/** A RAM bank in the physical address space. @public */
export interface RamBank {
  readonly base: number;
  readonly size: number;
}

/**
 * Everything that distinguishes one board from another. A board is pure data; `Testbench.boot`
 * turns it into components.
 * @public
 */
export interface BoardConfig {
  readonly name: string;
  readonly profile: ProfileName;
  /** RAM banks (physical). Pages are backed on first touch, so a large bank costs nothing until used. */
  readonly ram: readonly RamBank[];
  /** True when device DMA snoops the CPU data cache (x86); false when it sees RAM only (many ARM SoCs). */
  readonly coherent: boolean;
  /** True when the board has an IOMMU translating device DMA. */
  readonly iommu: boolean;
  /** True when the board has an x86-style I/O port space (`inb`/`outb`). */
  readonly ioPorts: boolean;
  readonly dcache: CacheGeometry;
  readonly tlb: { readonly sets: number; readonly ways: number };
  readonly iotlb: { readonly sets: number; readonly ways: number };
  /** Base and size of the PCI host bridge memory window (BARs are assigned inside it). */
  readonly pciWindow: RamBank;
  /** A bad bus access faults instead of reading all ones (default false: log a guest error). */
  readonly strictBus: boolean;
  /** Force swiotlb bounce buffering for every streaming mapping. */
  readonly forceBounce: boolean;
  /** Hold normal-memory writes to uncached memory in a store buffer until a barrier. */
  readonly weakOrdering: boolean;
  /** Trace ring capacity, in records. */
  readonly traceCapacity: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const common = {
  dcache: { sets: 64, ways: 8, lineSize: 64 },
  tlb: { sets: 64, ways: 4 },
  iotlb: { sets: 16, ways: 4 },
  strictBus: false,
  forceBounce: false,
  weakOrdering: false,
  traceCapacity: 1 << 14,
} as const;

/** x86_64 PC: coherent DMA, IOMMU off, port I/O, 512 MiB of RAM. @public */
export const pcBoard: BoardConfig = {
  ...common,
  name: "pc",
  profile: "x86_64",
  ram: [{ base: 0, size: 512 * MiB }],
  coherent: true,
  iommu: false,
  ioPorts: true,
  pciWindow: { base: 0xc0000000, size: 0x3ec00000 },
};

/** 32-bit PC (PAE): coherent, port I/O, 1 GiB of RAM so that highmem exists. @public */
export const pc32Board: BoardConfig = {
  ...common,
  name: "pc32",
  profile: "x86_32",
  ram: [{ base: 0, size: 1 * GiB }],
  coherent: true,
  iommu: false,
  ioPorts: true,
  pciWindow: { base: 0xc0000000, size: 0x3ec00000 },
};

/** 32-bit ARM (LPAE): non-coherent DMA, no port space, RAM at 0x80000000. @public */
export const armBoard: BoardConfig = {
  ...common,
  name: "arm",
  profile: "arm32",
  ram: [{ base: 0x80000000, size: 512 * MiB }],
  coherent: false,
  iommu: false,
  ioPorts: false,
  pciWindow: { base: 0x40000000, size: 0x20000000 },
};

/** The built-in boards by name. @public */
export const boards: Readonly<Record<string, BoardConfig>> = {
  pc: pcBoard,
  pc32: pc32Board,
  arm: armBoard,
};

/**
 * Resolve a board by name or object, applying overrides:
 * `resolveBoard("pc", { coherent: false, iommu: true })`.
 * @public
 */
export function resolveBoard(board: string | BoardConfig, overrides?: Partial<BoardConfig>): BoardConfig {
  const base = typeof board === "string" ? boards[board] : board;
  if (!base) throw new RangeError(`unknown board "${String(board)}" (known: ${Object.keys(boards).join(", ")})`);
  return Object.freeze({ ...base, ...overrides });
}
