/**
 * The built-in drivers, published as `vdtb/drivers`. Placeholder until the first one lands.
 * @packageDocumentation
 */

/** Name of this entry point. @public */
export const ENTRY_NAME = "vdtb/drivers";
