/** Resources, ioremap, MMIO accessors, barriers and port I/O. */
import type { IoMem, IoPort, KernelVA, PhysAddr } from "../address.js";
import type { Device } from "./driver-core.js";
import type { Opaque } from "./types.js";

/** `struct resource`: a node of the iomem or ioport tree. @public */
export interface Resource {
  readonly start: number;
  /** Inclusive end, as in Linux. */
  readonly end: number;
  readonly name: string;
  readonly flags: number;
}
/** @public */ export const IORESOURCE_IO = 0x100;
/** @public */ export const IORESOURCE_MEM = 0x200;
/** @public */ export const IORESOURCE_IRQ = 0x400;
/** @public */ export const IORESOURCE_DMA = 0x800;
/** @public */ export const IORESOURCE_PREFETCH = 0x2000;
/** @public */ export const IORESOURCE_MEM_64 = 0x100000;
/** @public */ export const IORESOURCE_BUSY = 0x80000000;

/** `resource_size(res)`. @public */
export function resource_size(res: Resource): number {
  return res.end - res.start + 1;
}

/** A resource handle returned by a region request (release with the matching call). @public */
export type RegionHandle = Resource & Opaque<"region">;

/** The I/O part of the kernel facade. @public */
export interface KernelIo {
  request_mem_region(start: PhysAddr, n: number, name: string): RegionHandle | null;
  release_mem_region(start: PhysAddr, n: number): void;
  request_region(start: IoPort, n: number, name: string): RegionHandle | null;
  release_region(start: IoPort, n: number): void;
  devm_request_mem_region(dev: Device, start: PhysAddr, n: number, name: string): RegionHandle | null;
  devm_request_region(dev: Device, start: IoPort, n: number, name: string): RegionHandle | null;

  /** Uncached mapping in the vmalloc area; keeps the offset inside the page. */
  ioremap(offset: PhysAddr, size: number): IoMem | null;
  ioremap_wc(offset: PhysAddr, size: number): IoMem | null;
  ioremap_cache(offset: PhysAddr, size: number): IoMem | null;
  iounmap(addr: IoMem): void;
  devm_ioremap(dev: Device, offset: PhysAddr, size: number): IoMem | null;
  devm_ioremap_wc(dev: Device, offset: PhysAddr, size: number): IoMem | null;
  /** Requests the region and maps it; an `ERR_PTR` on failure. */
  devm_ioremap_resource(dev: Device, res: Resource): IoMem;
  devm_iounmap(dev: Device, addr: IoMem): void;

  readb(addr: IoMem): number;
  readw(addr: IoMem): number;
  readl(addr: IoMem): number;
  /** 64-bit MMIO read; exact below 2^53. */
  readq(addr: IoMem): number;
  writeb(value: number, addr: IoMem): void;
  writew(value: number, addr: IoMem): void;
  /** Orders earlier normal-memory writes before the MMIO write (as `wmb(); writel_relaxed()`). */
  writel(value: number, addr: IoMem): void;
  writeq(value: number, addr: IoMem): void;
  readb_relaxed(addr: IoMem): number;
  readw_relaxed(addr: IoMem): number;
  readl_relaxed(addr: IoMem): number;
  writeb_relaxed(value: number, addr: IoMem): void;
  writew_relaxed(value: number, addr: IoMem): void;
  /** No ordering against earlier normal-memory writes. */
  writel_relaxed(value: number, addr: IoMem): void;
  ioread8(addr: IoMem): number;
  ioread16(addr: IoMem): number;
  ioread32(addr: IoMem): number;
  iowrite8(value: number, addr: IoMem): void;
  iowrite16(value: number, addr: IoMem): void;
  iowrite32(value: number, addr: IoMem): void;
  memcpy_fromio(to: KernelVA, from: IoMem, count: number): void;
  memcpy_toio(to: IoMem, from: KernelVA, count: number): void;
  memset_io(addr: IoMem, value: number, count: number): void;
  /**
   * Poll `readl(addr)` until `cond(value)` holds, sleeping `sleepUs` between reads; 0 on success,
   * -ETIMEDOUT after `timeoutUs`. The last value read is passed to `cond`.
   */
  readl_poll_timeout(addr: IoMem, cond: (value: number) => boolean, sleepUs: number, timeoutUs: number): Promise<number>;
  /** The atomic variant: busy-waits with `udelay`. */
  readl_poll_timeout_atomic(addr: IoMem, cond: (value: number) => boolean, delayUs: number, timeoutUs: number): number;

  mb(): void;
  rmb(): void;
  wmb(): void;
  dma_wmb(): void;
  dma_rmb(): void;

  inb(port: IoPort): number;
  inw(port: IoPort): number;
  inl(port: IoPort): number;
  outb(value: number, port: IoPort): void;
  outw(value: number, port: IoPort): void;
  outl(value: number, port: IoPort): void;
  insb(port: IoPort, addr: KernelVA, count: number): void;
  insw(port: IoPort, addr: KernelVA, count: number): void;
  insl(port: IoPort, addr: KernelVA, count: number): void;
  outsb(port: IoPort, addr: KernelVA, count: number): void;
  outsw(port: IoPort, addr: KernelVA, count: number): void;
  outsl(port: IoPort, addr: KernelVA, count: number): void;
}
