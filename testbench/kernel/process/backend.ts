/**
 * What the process layer needs from the kernel's memory manager (token KERNEL_MM, see
 * mm/mm.ts): a structural subset, so this folder compiles against the internal API it uses and
 * nothing else. Page handles are pfns (mm's convention: `page_to_pfn` is the identity).
 */
import type { Page } from "../../../sdk/index.js";

/** The memory-manager calls the process layer uses. @internal */
export interface UserMmBackend {
  readonly kernelRoot: number;
  readonly layout: {
    readonly taskSize: number;
    readonly pointerBits: 32 | 64;
    readonly vmallocStart: number;
    readonly vmallocEnd: number;
  };
  allocTablePage(): number;
  freeTablePage(pa: number): void;
  /** pfn of a 2^order block, or -1. */
  allocBlock(gfp: number, order: number): number;
  pageGet(pfn: number): void;
  /** Drops a reference, frees at zero; returns the new count. */
  pagePut(pfn: number): number;
  pageCount(pfn: number): number;
  pfnValid(pfn: number): boolean;
}

/** pfn → page handle. @internal */
export function pageOf(pfn: number): Page {
  return pfn as unknown as Page;
}
/** page handle → pfn. @internal */
export function pfnOf(page: Page): number {
  return page as unknown as number;
}

/** Drives a driver's async fop to completion (the scheduler's pump; token SYSCALL_PUMP). @public */
export interface SyscallPump {
  run<T>(p: Promise<T>): Promise<T>;
}

/** A pump that only awaits (used until a scheduler is registered for SYSCALL_PUMP). @internal */
export const directPump: SyscallPump = { run: (p) => p };
