/**
 * vitest integration (custom matchers), published as `vdtb/vitest`. Placeholder until the
 * matchers land.
 * @packageDocumentation
 */

/** Name of this entry point. @public */
export const ENTRY_NAME = "vdtb/vitest";
