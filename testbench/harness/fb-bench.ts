/**
 * A testbench with every kernel subsystem a framebuffer driver and its user processes need
 * (memory, IRQs, PCI and the driver core, DMA, char devices, processes), the given devices
 * plugged and drivers registered (not bound). Subsystems the testbench already registers are
 * left alone, so this keeps working as `Testbench.boot` grows its own kernel steps.
 * @internal
 */
import type { DependencyContainer } from "../soc/di.js";
import type { Driver, VirtualDevice } from "../../sdk/index.js";
import type { BoardConfig } from "./board.js";
import { Testbench } from "./testbench.js";
import type { DriverCore } from "../kernel/driver/core.js";
import type { Processes } from "../kernel/process/processes.js";
import { registerDma } from "../kernel/dma/register.js";
import { registerDriverCore } from "../kernel/driver/register.js";
import { registerIrq } from "../kernel/irq/register.js";
import { registerMm } from "../kernel/mm/register.js";
import { registerProcesses } from "../kernel/process/register.js";
import { registerVfs } from "../kernel/vfs/register.js";
import { CHAR_DEVICES, DMA_API, DRIVER_CORE, IRQS, KERNEL_MM, PROCESSES } from "../kernel/tokens.js";

/** Options of {@link bootFbBench}. @internal */
export interface FbBenchOptions {
  readonly board?: string | BoardConfig;
  readonly overrides?: Partial<BoardConfig>;
  readonly seed?: number;
  readonly devices?: readonly VirtualDevice[];
  readonly drivers?: readonly Driver[];
}

/** The booted bench: the testbench plus the services tests drive. @internal */
export interface FbBench {
  readonly tb: Testbench;
  readonly dc: DriverCore;
  readonly procs: Processes;
}

function registerMissing(c: DependencyContainer): void {
  if (!c.isRegistered(KERNEL_MM, true)) registerMm(c);
  if (!c.isRegistered(IRQS, true)) registerIrq(c);
  if (!c.isRegistered(DRIVER_CORE, true)) registerDriverCore(c);
  if (!c.isRegistered(DMA_API, true)) registerDma(c);
  if (!c.isRegistered(CHAR_DEVICES, true)) registerVfs(c);
  if (!c.isRegistered(PROCESSES, true)) registerProcesses(c);
}

/** Boot, fill in the missing subsystems, plug `devices` and register `drivers`. @internal */
export async function bootFbBench(options: FbBenchOptions = {}): Promise<FbBench> {
  const tb = await Testbench.boot({
    board: options.board ?? "pc",
    seed: options.seed ?? 1,
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  const c = tb.container;
  registerMissing(c);
  // The IRQ subsystem installs the controller's delivery callback when resolved.
  c.resolve(IRQS);
  const dc = c.resolve(DRIVER_CORE);
  const procs = c.resolve(PROCESSES);
  for (const d of options.devices ?? []) dc.plugDevice(d);
  for (const d of options.drivers ?? []) dc.registerDriver(d);
  return { tb, dc, procs };
}
