/**
 * A testbench with the driver core, buses, I/O, memory management and IRQs, for the tests of
 * this folder and its neighbours (bus/, io/, procfs/).
 * @internal
 */
import { Testbench } from "../../harness/testbench.js";
import type { Driver, Kernel, VirtualDevice } from "../../../sdk/index.js";
import type { BoardConfig } from "../../harness/board.js";
import type { DeviceHost } from "../bus/device-host.js";
import type { PciHost } from "../bus/pci-host.js";
import type { Owner } from "../facade.js";
import type { IoResources } from "../io/resources.js";
import { DEVICE_HOST, DRIVER_CORE, IO_RESOURCES, PCI_HOST } from "../tokens.js";
import type { DriverCore } from "./core.js";
import { registerDriverCore } from "./register.js";

/** @internal */
export interface DriverTestBench {
  readonly tb: Testbench;
  readonly dc: DriverCore;
  readonly host: DeviceHost;
  readonly pci: PciHost;
  readonly resources: IoResources;
  /** A facade bound to `owner` (default: driver "test"). */
  k(owner?: Owner): Kernel;
}

/** Boot, plug `devices`, register `drivers` (no binding yet). @internal */
export async function bootDrivers(options: {
  board?: string;
  overrides?: Partial<BoardConfig>;
  devices?: readonly VirtualDevice[];
  drivers?: readonly Driver[];
} = {}): Promise<DriverTestBench> {
  const tb = await Testbench.boot({
    board: options.board ?? "pc",
    ...(options.overrides ? { overrides: options.overrides } : {}),
    register: (c) => registerDriverCore(c),
  });
  const c = tb.container;
  const dc = c.resolve(DRIVER_CORE);
  for (const d of options.devices ?? []) dc.plugDevice(d);
  for (const d of options.drivers ?? []) dc.registerDriver(d);
  return {
    tb,
    dc,
    host: c.resolve(DEVICE_HOST),
    pci: c.resolve(PCI_HOST),
    resources: c.resolve(IO_RESOURCES),
    k: (owner: Owner = { driver: "test" }) => dc.facadeFor(owner),
  };
}
