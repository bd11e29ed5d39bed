/**
 * The testbench: simulated SoC, kernel facade, checks and harness. Published as `vdtb/testbench`.
 * @packageDocumentation
 */
// Must stay the first import: tsyringe needs the Reflect polyfill before it loads.
import "./polyfill.js";

export { boards, resolveBoard } from "./harness/board.js";
export type { BoardConfig, CacheGeometry, ProfileName, RamBank } from "./harness/board.js";
