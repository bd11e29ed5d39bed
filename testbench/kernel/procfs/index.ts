/**
 * `/proc` as a driver author reads it: one function that renders a file of a booted testbench
 * by name, in the kernel's exact text format.
 */
import type { DependencyContainer } from "../../soc/di.js";
import type { BoardConfig } from "../../harness/board.js";
import { IO_RESOURCES, IRQS, ISA_DMA, KERNEL_MM, PROCESSES } from "../tokens.js";
import { procIomem } from "./iomem.js";
import { procIoports } from "./ioports.js";
import { renderProcInterrupts } from "./interrupts.js";
import { procDma } from "./dma.js";
import { renderMaps } from "./maps.js";

/** The /proc files vdtb renders. @public */
export const PROC_FILES = ["buddyinfo", "slabinfo", "iomem", "ioports", "interrupts", "dma", "maps"] as const;
/** @public */
export type ProcFile = (typeof PROC_FILES)[number];

/** What {@link readProc} needs of a testbench. @public */
export interface ProcSource {
  readonly container: DependencyContainer;
  readonly board: BoardConfig;
}

/**
 * Render `/proc/<file>`. `maps` is `/proc/<pid>/maps` and needs `pid`. Throws a RangeError naming
 * the known files for an unknown name, and for `maps` of a pid that does not exist.
 * @public
 */
export function readProc(tb: ProcSource, file: string, pid?: number): string {
  const c = tb.container;
  switch (file) {
    case "buddyinfo":
      return c.resolve(KERNEL_MM).procBuddyinfo();
    case "slabinfo":
      return c.resolve(KERNEL_MM).procSlabinfo();
    case "iomem":
      return procIomem(c.resolve(IO_RESOURCES));
    case "ioports":
      return procIoports(c.resolve(IO_RESOURCES));
    case "interrupts":
      return renderProcInterrupts(c.resolve(IRQS));
    case "dma":
      return procDma(c.resolve(ISA_DMA));
    case "maps": {
      const p = pid === undefined ? undefined : c.resolve(PROCESSES).get(pid);
      if (!p) throw new RangeError(`/proc/${pid ?? "<pid>"}/maps: no such process`);
      return renderMaps(p, tb.board.profile === "x86_64" ? 64 : 32);
    }
    default:
      throw new RangeError(`unknown /proc file "${file}" (known: ${PROC_FILES.join(", ")})`);
  }
}
