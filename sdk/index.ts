/**
 * `vdtb/sdk` — the plugin contract. Types and tiny runtime helpers only, no simulator code:
 * address kinds, errno, the register and struct DSLs, the device-model contract, and the driver
 * and kernel-facade contracts.
 * @packageDocumentation
 */
export * from "./address.js";
export * from "./errno.js";
export * from "./registers.js";
export * from "./struct.js";
export * from "./device.js";
export * from "./size.js";
export * from "./kernel/index.js";
