/**
 * `vdtb/devices`: the built-in device models — the `vfb` framebuffer, the `sgdma` PCIe endpoint,
 * the `i8237` ISA DMA controller pair and the `isa-stream` ISA client. Each imports only
 * `vdtb/sdk`, like any third-party device.
 * @packageDocumentation
 */
export * from "./vfb/index.js";
export * from "./sgdma/index.js";
export * from "./i8237/index.js";
export * from "./isa-stream/index.js";
