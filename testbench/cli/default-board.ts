/** What the default board carries: every built-in device its buses can host, and every driver. */
import { isaStream, sgdma, vfb } from "../../devices/index.js";
import { isaStreamDriver, sgdmaDriver, vfbDriver } from "../../drivers/index.js";
import type { Driver, VirtualDevice } from "../../sdk/index.js";
import { resolveBoard, type BoardConfig } from "../harness/board.js";

/** Built-in devices for a board (ISA devices only where there is an I/O port space). @public */
export function builtinDevices(board: string | BoardConfig): VirtualDevice[] {
  const b = resolveBoard(board);
  return [vfb(), sgdma(), ...(b.ioPorts ? [isaStream()] : [])];
}

/** Every built-in driver. @public */
export function builtinDrivers(): Driver[] {
  return [vfbDriver(), sgdmaDriver(), isaStreamDriver];
}
