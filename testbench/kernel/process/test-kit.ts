/**
 * A minimal kernel for process/VFS tests: SoC, core, memory manager, scheduler, char devices and
 * processes in one container, plus a facade for a test driver owner.
 * @internal
 */
import { container as rootContainer } from "../../soc/di.js";
import { resolveBoard, type BoardConfig } from "../../harness/board.js";
import { registerSoc, resolveSoc, type Soc } from "../../soc/register.js";
import { BOARD, SEED } from "../../soc/tokens.js";
import type { Kernel } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import { registerMm } from "../mm/register.js";
import { buildFacade, registerKernel } from "../register.js";
import { registerSched } from "../sched/register.js";
import { CHAR_DEVICES, KERNEL_CORE, KERNEL_MM, PROCESSES, USER_ACCESS } from "../tokens.js";
import { registerVfs } from "../vfs/register.js";
import type { CharDevices } from "../vfs/chrdev.js";
import { registerProcesses } from "./register.js";
import type { Processes } from "./processes.js";
import type { UserAccess } from "./uaccess.js";
import type { MemoryManager } from "../mm/mm.js";

/** @internal */
export interface ProcKit {
  readonly soc: Soc;
  readonly core: KernelCore;
  readonly mm: MemoryManager;
  readonly procs: Processes;
  readonly chr: CharDevices;
  readonly uaccess: UserAccess;
  /** The facade of a test driver. */
  facade(driver: string): Kernel;
}

/** Boot the kit on a board (default "pc"). @internal */
export function bootProcKit(board: string = "pc", overrides?: Partial<BoardConfig>): ProcKit {
  const c = rootContainer.createChildContainer();
  c.register(BOARD, { useValue: resolveBoard(board, overrides) });
  c.register(SEED, { useValue: 1 });
  registerSoc(c);
  registerKernel(c);
  registerMm(c);
  registerSched(c);
  registerVfs(c);
  registerProcesses(c);
  const soc = resolveSoc(c);
  const mm = c.resolve(KERNEL_MM);
  const procs = c.resolve(PROCESSES);
  return {
    soc,
    core: c.resolve(KERNEL_CORE),
    mm,
    procs,
    chr: c.resolve(CHAR_DEVICES),
    uaccess: c.resolve(USER_ACCESS),
    facade: (driver) => buildFacade(c, { driver }),
  };
}
