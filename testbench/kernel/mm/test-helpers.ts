/** Test helpers: a testbench with memory management, and a facade slice for one driver. */
import type { Kernel } from "../../../sdk/index.js";
import type { BoardConfig } from "../../harness/board.js";
import { Testbench } from "../../harness/testbench.js";
import type { KernelCore } from "../core.js";
import { KERNEL_MM, MM_API } from "../tokens.js";
import type { MemoryManager } from "./mm.js";
import { registerMm } from "./register.js";

/** A booted testbench with its memory manager and a `KernelMemory` slice bound to `driver`. @internal */
export interface MmBench {
  tb: Testbench;
  mm: MemoryManager;
  core: KernelCore;
  /** The memory slice of the facade for driver "drv" (every KernelMemory method present). */
  k: Required<Pick<Kernel, keyof import("../../../sdk/kernel/memory.js").KernelMemory>>;
  /** The slice for another driver. */
  as(driver: string): MmBench["k"];
}

/** Boot `board` (with overrides) and resolve memory management. @internal */
export async function bootMm(board = "pc", overrides?: Partial<BoardConfig>): Promise<MmBench> {
  const tb = await Testbench.boot({ board, ...(overrides ? { overrides } : {}), register: (c) => registerMm(c) });
  const mm = tb.container.resolve(KERNEL_MM);
  const api = tb.container.resolve(MM_API);
  const as = (driver: string): MmBench["k"] => api.api({ driver }) as MmBench["k"];
  return { tb, mm, core: mm.core, k: as("drv"), as };
}
