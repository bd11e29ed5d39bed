/**
 * Address kinds. Each is a `number` (exact below 2^53) carrying a compile-time brand, so that
 * passing a physical address where a kernel virtual address is expected fails to compile, as
 * sparse's `__iomem` and `dma_addr_t` annotations do in Linux.
 *
 * Conversions between kinds are explicit: the constructors below (`physAddr`, `kernelVA`, ...)
 * brand a plain number, and {@link addrAdd} does pointer arithmetic that keeps the brand.
 */

declare const addressKind: unique symbol;

/**
 * A number branded with an address kind.
 * @public
 */
export type Address<K extends string> = number & { readonly [addressKind]: K };

/** A CPU physical address. @public */
export type PhysAddr = Address<"PhysAddr">;
/** A kernel virtual address (linear map, vmalloc area, pkmap, fixmap). @public */
export type KernelVA = Address<"KernelVA">;
/** What `ioremap` returns: a kernel virtual address of device memory, for `readl`/`writel` only. @public */
export type IoMem = Address<"IoMem">;
/** A virtual address in a user process. @public */
export type UserVA = Address<"UserVA">;
/** A bus address as the device sees it (after the IOMMU): what goes into descriptors. @public */
export type DmaAddr = Address<"DmaAddr">;
/** A port in the I/O port space (`inb`/`outb`). @public */
export type IoPort = Address<"IoPort">;

/** Any of the address kinds. @public */
export type AnyAddress = PhysAddr | KernelVA | IoMem | UserVA | DmaAddr | IoPort;

/** Brand a number as a physical address. @public */
export function physAddr(n: number): PhysAddr {
  return n as PhysAddr;
}
/** Brand a number as a kernel virtual address. @public */
export function kernelVA(n: number): KernelVA {
  return n as KernelVA;
}
/** Brand a number as an ioremapped address. @public */
export function ioMem(n: number): IoMem {
  return n as IoMem;
}
/** Brand a number as a user virtual address. @public */
export function userVA(n: number): UserVA {
  return n as UserVA;
}
/** Brand a number as a bus (DMA) address. @public */
export function dmaAddr(n: number): DmaAddr {
  return n as DmaAddr;
}
/** Brand a number as an I/O port. @public */
export function ioPort(n: number): IoPort {
  return n as IoPort;
}

/**
 * Pointer arithmetic that keeps the address kind: `addrAdd(base, 0x40)` is still an `IoMem` when
 * `base` is one.
 * @public
 */
export function addrAdd<A extends AnyAddress>(a: A, offset: number): A {
  return (a + offset) as A;
}

/** The distance in bytes between two addresses of the same kind. @public */
export function addrDiff<A extends AnyAddress>(a: A, b: A): number {
  return a - b;
}

/** Page size of every profile: 4 KiB. @public */
export const PAGE_SIZE = 4096;
/** log2 of {@link PAGE_SIZE}. @public */
export const PAGE_SHIFT = 12;

/** Round up to a page boundary (works above 2^32, unlike a bit mask). @public */
export function pageAlignUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}
/** Round down to a page boundary (works above 2^32). @public */
export function pageAlignDown(n: number): number {
  return Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
}
/** Page frame number of a physical address. @public */
export function pfnOf(pa: PhysAddr): number {
  return Math.floor(pa / PAGE_SIZE);
}

/**
 * Format an address as the kernel prints it: 8 hex digits for 32-bit values, 16 otherwise.
 * Negative numbers are canonical x86_64 kernel-half addresses (signed 64-bit value) and print
 * as their two's complement, e.g. `ffff888000000000`.
 * @public
 */
export function formatAddr(n: number, digits?: 8 | 16): string {
  // Reports format whatever a driver passed (undefined, null, NaN): never throw here.
  if (typeof n !== "number" || !Number.isFinite(n)) return String(n);
  if (n < 0) {
    const hi = Math.floor(n / 2 ** 32);
    const lo = n - hi * 2 ** 32;
    return ((hi >>> 0).toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0"));
  }
  const width = digits ?? (n > 0xffffffff ? 16 : 8);
  return n.toString(16).padStart(width, "0");
}
