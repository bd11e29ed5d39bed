/**
 * A minimal kernel for the scheduler, sync and IRQ tests: the SoC, the kernel core, devres, the
 * scheduler, sync and IRQ subsystems in their own container (independent of other subsystems'
 * facade slices), and a facade merged from just these slices.
 * @internal
 */
import { container as rootContainer } from "../../soc/di.js";
import type { DependencyContainer } from "../../soc/di.js";
import { resolveBoard } from "../../harness/board.js";
import { registerSoc, resolveSoc, type Soc } from "../../soc/register.js";
import { BOARD, SEED } from "../../soc/tokens.js";
import type { Kernel } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import { KernelCore as KernelCoreClass } from "../core.js";
import { Devres } from "../driver/devres.js";
import { mergeFacade, type Owner } from "../facade.js";
import { registerDefault } from "../register.js";
import { DEVRES, IRQS, KERNEL_CORE, SCHEDULER, SYNC } from "../tokens.js";
import type { Scheduler } from "./scheduler.js";
import type { SyncSubsystem } from "../sync/sync.js";
import { registerSync } from "../sync/register.js";
import type { IrqSubsystem } from "../irq/irqs.js";
import { registerIrq } from "../irq/register.js";

/** @internal */
export interface KernelTestEnv {
  readonly c: DependencyContainer;
  readonly soc: Soc;
  readonly core: KernelCore;
  readonly sched: Scheduler;
  readonly sync: SyncSubsystem;
  readonly irqs: IrqSubsystem;
  /** A facade of the sync and IRQ slices bound to `owner` (default driver "test"). */
  k(owner?: Owner): Kernel;
}

/** Boot the minimal kernel. @internal */
export function bootKernelForTest(seed = 1, board = "pc"): KernelTestEnv {
  const c = rootContainer.createChildContainer();
  c.register(BOARD, { useValue: resolveBoard(board) });
  c.register(SEED, { useValue: seed >>> 0 });
  registerSoc(c);
  registerDefault(c, KERNEL_CORE, KernelCoreClass);
  registerDefault(c, DEVRES, Devres);
  registerSync(c);
  registerIrq(c);
  const soc = resolveSoc(c);
  const core = c.resolve(KERNEL_CORE);
  const sched = c.resolve(SCHEDULER);
  const sync = c.resolve(SYNC);
  const irqs = c.resolve(IRQS);
  return {
    c,
    soc,
    core,
    sched,
    sync,
    irqs,
    k: (owner: Owner = { driver: "test" }) => mergeFacade([sync.api(owner), irqs.api(owner)]),
  };
}
