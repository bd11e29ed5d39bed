/**
 * The built-in conformance registry: every built-in driver with the devices it drives, and every
 * suite. `vdtb conformance` runs the hygiene suite for each driver plus the class suite its driver
 * declares (`deviceClass`), across each suite's boards and variants.
 */
import { isaStream } from "../../devices/index.js";
import { isaStreamDriver } from "../../drivers/index.js";
import type { Testbench } from "../harness/testbench.js";
import type { ConformanceSuite, ConformanceTarget } from "./plan.js";
import { framebufferSuite, framebufferTargets } from "./suites/framebuffer.js";
import { hygieneSuite } from "./suites/hygiene.js";
import { isaStreamSuite } from "./suites/isa-stream.js";
import { sgdmaSuite, sgdmaTargets } from "./suites/sgdma.js";

/** Every built-in suite. @public */
export function builtinSuites(): ConformanceSuite<Testbench>[] {
  return [hygieneSuite, framebufferSuite, sgdmaSuite, isaStreamSuite];
}

/** Every built-in driver with the devices it needs. @public */
export function builtinTargets(): ConformanceTarget<Testbench>[] {
  return [
    ...framebufferTargets(),
    ...sgdmaTargets(),
    { driver: isaStreamDriver, devices: () => [isaStream()], boards: ["pc", "pc32"] },
  ];
}
