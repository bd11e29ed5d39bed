/**
 * The SoC-only part of booting: a child container holding the board, the seed and the SoC
 * components. `Testbench.boot` starts with these steps and adds the kernel; SoC tests and tools
 * that want a bare machine (no kernel allocations, no claimed ports) use {@link bootSoc}.
 */
import { container as rootContainer } from "./di.js";
import type { DependencyContainer } from "./di.js";
import { resolveBoard } from "../harness/board.js";
import type { BoardConfig } from "../harness/board.js";
import { registerSoc, resolveSoc } from "./register.js";
import type { Soc } from "./register.js";
import { BOARD, SEED } from "./tokens.js";

/** Options shared by {@link bootSoc} and `Testbench.boot`. @public */
export interface SocBootOptions {
  /** A built-in board name or a board object (default "pc"). */
  readonly board?: string | BoardConfig;
  /** Seed of the simulation PRNG (default 1). */
  readonly seed?: number;
  /** Fields replacing the board's. */
  readonly overrides?: Partial<BoardConfig>;
  /** Register replacement components before the defaults are registered. */
  readonly register?: (c: DependencyContainer) => void;
}

/**
 * Steps 1–3 of every boot: resolve the board, create the child container with BOARD and SEED,
 * run the caller's registrations, then register the default SoC components.
 * @internal
 */
export function createSocContainer(options: SocBootOptions): { board: BoardConfig; seed: number; container: DependencyContainer } {
  const board = resolveBoard(options.board ?? "pc", options.overrides);
  const seed = (options.seed ?? 1) >>> 0;
  const container = rootContainer.createChildContainer();
  container.register(BOARD, { useValue: board });
  container.register(SEED, { useValue: seed });
  options.register?.(container);
  registerSoc(container);
  return { board, seed, container };
}

/** A bare simulated machine: the SoC without a kernel. @public */
export interface BareSoc {
  readonly board: BoardConfig;
  readonly seed: number;
  readonly container: DependencyContainer;
  readonly soc: Soc;
  /** Text listing of the physical memory map and port map. */
  memoryMap(): string;
  /** Dispose the container (idempotent). */
  dispose(): Promise<void>;
}

/** Boot the SoC only (no kernel). @public */
export async function bootSoc(options: SocBootOptions = {}): Promise<BareSoc> {
  const { board, seed, container } = createSocContainer(options);
  const soc = resolveSoc(container);
  let disposed = false;
  return {
    board,
    seed,
    container,
    soc,
    memoryMap: () => `${board.name} (${board.profile})\n${soc.bus.memoryMap()}`,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await container.dispose();
    },
  };
}
