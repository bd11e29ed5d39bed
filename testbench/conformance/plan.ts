/**
 * Conformance planning: suites declare cases and a matrix (boards × variants); targets pair a
 * driver with the device models it drives. A plan is the deterministic, ordered list of
 * (target, suite, case, board, variant, seed); sharding takes every n-th entry, so shards are
 * disjoint and together cover the plan exactly.
 */
import type { BoardConfig } from "../harness/board.js";
import type { Testbench } from "../harness/testbench.js";
import type { DeviceClass, Driver, VirtualDevice } from "../../sdk/index.js";
import { caseId } from "./results.js";

/** Matrix coordinates besides board and seed. @public */
export type Variant = Readonly<Record<string, string | number | boolean>>;

/** What a case gets when it runs. @public */
export interface CaseContext<TB = Testbench> {
  /** The booted testbench (devices plugged, drivers registered, not yet bound). */
  readonly tb: TB;
  readonly target: ConformanceTarget<TB>;
  readonly board: string;
  readonly seed: number;
  readonly variant: Variant;
}

/** One case of a suite: it throws (an assertion error) to fail. @public */
export interface ConformanceCase<TB = Testbench> {
  readonly name: string;
  /** Restrict to these boards (default: every board of the matrix). */
  readonly boards?: readonly string[];
  /** Restrict to variants for which this returns true. */
  readonly when?: (variant: Variant) => boolean;
  /** Cases that expect detector reports set this; otherwise the case must end clean. */
  readonly expectsReports?: boolean;
  run(ctx: CaseContext<TB>): Promise<void>;
}

/** Board overrides a variant applies (e.g. `{ iommu: true }` → `{ iommu: true }`). @public */
export type VariantOverrides = (variant: Variant) => Partial<BoardConfig>;

/** A suite: its cases and the matrix they run across. @public */
export interface ConformanceSuite<TB = Testbench> {
  /** `hygiene` for every driver, or a device class suite. */
  readonly id: string;
  /** Drivers claiming this class run the suite; undefined = every driver (hygiene). */
  readonly deviceClass?: DeviceClass;
  readonly boards: readonly string[];
  /** Variants (default: one empty variant). */
  readonly variants?: readonly Variant[];
  /** How a variant changes the board. */
  readonly overrides?: VariantOverrides;
  readonly cases: readonly ConformanceCase<TB>[];
}

/** A driver under test and the devices it needs. @public */
export interface ConformanceTarget<TB = Testbench> {
  readonly driver: Driver;
  /** Fresh device models for one testbench (called once per case). */
  readonly devices: () => VirtualDevice[];
  /** Boards this target can run on (e.g. ISA targets need port I/O). */
  readonly boards?: readonly string[];
  /**
   * A user-space workload over the driver's file operations (open/read/write/ioctl/mmap...), run
   * with the driver bound. It must tolerate failing syscalls (an injected failure makes one return
   * a negative errno) and throw only on behaviour no errno explains. The hygiene suite runs it
   * under fail-nth.
   */
  readonly exercise?: (tb: TB) => Promise<void>;
}

/** One planned case. @public */
export interface PlannedCase<TB = Testbench> {
  readonly index: number;
  readonly target: ConformanceTarget<TB>;
  readonly suite: ConformanceSuite<TB>;
  readonly case: ConformanceCase<TB>;
  readonly board: string;
  readonly variant: Variant;
  readonly seed: number;
  /** `suite/case[variant]@board#seed`, used by `vdtb replay`. */
  readonly id: string;
}

/** Options of {@link planConformance}. @public */
export interface PlanOptions {
  /** Seeds to run each case with (default [1]). */
  readonly seeds?: readonly number[];
  /** Only cases whose id contains this string. */
  readonly filter?: string;
}

/** Expand targets × suites × cases × boards × variants × seeds into an ordered plan. @public */
export function planConformance<TB = Testbench>(targets: readonly ConformanceTarget<TB>[], suites: readonly ConformanceSuite<TB>[], options: PlanOptions = {}): PlannedCase<TB>[] {
  const seeds = options.seeds?.length ? options.seeds : [1];
  const plan: PlannedCase<TB>[] = [];
  for (const target of targets) {
    for (const suite of suites) {
      if (suite.deviceClass !== undefined && suite.deviceClass !== target.driver.deviceClass) continue;
      for (const c of suite.cases) {
        for (const board of suite.boards) {
          if (c.boards && !c.boards.includes(board)) continue;
          if (target.boards && !target.boards.includes(board)) continue;
          for (const variant of suite.variants ?? [{}]) {
            if (c.when && !c.when(variant)) continue;
            for (const seed of seeds) {
              const id = `${target.driver.name}:` + caseId({ suite: suite.id, name: c.name, board, seed, variant });
              if (options.filter && !id.includes(options.filter)) continue;
              plan.push({ index: plan.length, target, suite, case: c, board, variant, seed, id });
            }
          }
        }
      }
    }
  }
  return plan;
}

/**
 * Shard `index` of `count` (1-based, like vitest's `--shard i/n`): round-robin, so shards are
 * disjoint, together cover the plan, and stay balanced across suites.
 * @public
 */
export function shardPlan<TB>(plan: readonly PlannedCase<TB>[], index: number, count: number): PlannedCase<TB>[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw new RangeError(`invalid shard ${index}/${count}: expected 1 ≤ i ≤ n`);
  }
  return plan.filter((p) => p.index % count === index - 1);
}

/** Parse `i/n`. @public */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`invalid shard "${text}": expected i/n, e.g. 1/2`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new RangeError(`invalid shard "${text}": expected 1 ≤ i ≤ n`);
  return { index, count };
}
