/**
 * The CPU's MMU: the board profile's page-table format over simulated RAM (see pagetable.ts for
 * the entry format). The TLB and the CPU access path use its walker on a miss; the kernel uses
 * its editor (createRoot, map, unmap, protect, lookup).
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig } from "../harness/board.js";
import { PageTable, pagingProfiles } from "./pagetable.js";
import { SparseRam } from "./ram.js";
import { BOARD, RAM } from "./tokens.js";

/**
 * Page tables of the board's address-space profile.
 * @public
 */
@injectable()
export class Mmu extends PageTable {
  constructor(@inject(BOARD) board: BoardConfig, @inject(RAM) ram: SparseRam) {
    super(pagingProfiles[board.profile], ram);
  }
}
