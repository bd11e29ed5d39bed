/**
 * The built-in devices, published as `vdtb/devices`. Placeholder until the first one lands.
 * @packageDocumentation
 */

/** Name of this entry point. @public */
export const ENTRY_NAME = "vdtb/devices";
