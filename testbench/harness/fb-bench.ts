/**
 * `Testbench.boot` for framebuffer tests and tools: the kernel plus the DMA mapping layer (which
 * the boot steps do not register yet), devices plugged, drivers registered, bound only on
 * request.
 * @internal
 */
import type { DependencyContainer } from "../soc/di.js";
import type { Driver, VirtualDevice } from "../../sdk/index.js";
import type { BoardConfig } from "./board.js";
import { Testbench } from "./testbench.js";
import type { DriverCore } from "../kernel/driver/core.js";
import type { Processes } from "../kernel/process/processes.js";
import { registerDma } from "../kernel/dma/register.js";
import { PROCESSES } from "../kernel/tokens.js";

/** Options of {@link bootFbBench}. @internal */
export interface FbBenchOptions {
  readonly board?: string | BoardConfig;
  readonly overrides?: Partial<BoardConfig>;
  readonly seed?: number;
  readonly devices?: readonly VirtualDevice[];
  readonly drivers?: readonly Driver[];
  /** Bind at boot (default false: cases bind themselves). */
  readonly bind?: boolean;
}

/** The booted bench: the testbench plus the services tests drive. @internal */
export interface FbBench {
  readonly tb: Testbench;
  readonly dc: DriverCore;
  readonly procs: Processes;
}

/** The DMA layer, until the kernel boot steps register it (registering twice is a no-op). */
function registerExtras(c: DependencyContainer): void {
  registerDma(c);
}

/** Boot with the framebuffer's subsystems, plug `devices`, register `drivers`. @internal */
export async function bootFbBench(options: FbBenchOptions = {}): Promise<FbBench> {
  const tb = await Testbench.boot({
    board: options.board ?? "pc",
    seed: options.seed ?? 1,
    ...(options.overrides ? { overrides: options.overrides } : {}),
    register: registerExtras,
    devices: options.devices ?? [],
    drivers: options.drivers ?? [],
    bind: options.bind ?? false,
  });
  return { tb, dc: tb.drivers, procs: tb.container.resolve(PROCESSES) };
}
