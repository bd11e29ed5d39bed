/**
 * `vdtb/drivers`: the built-in drivers — `vfb` (fbdev-style framebuffer), `sgdma` (SG-DMA PCIe
 * endpoint) and `isa-stream` (8237 ISA DMA streaming). Each imports only `vdtb/sdk`, like any
 * third-party driver.
 * @packageDocumentation
 */
export * from "./vfb/index.js";
export * from "./isa-stream/index.js";
export * from "./sgdma/index.js";
