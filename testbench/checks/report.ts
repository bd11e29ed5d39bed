/**
 * Detector reports: structured data (kind, the kernel's wording, device, driver, addresses, the
 * driver's stack) collected per testbench and rendered into dmesg as the kernel would print them.
 */

/** Which detector produced a report. @public */
export type ReportKind =
  | "dma-api"
  | "dma-device"
  | "dma-cpu-ownership"
  | "stale-cache"
  | "kasan"
  | "leak"
  | "atomic-sleep"
  | "lock"
  | "ordering"
  | "mmio"
  | "virt"
  | "isa-dma"
  | "mmap"
  | "irq"
  | "iommu"
  | "oops"
  | "warn"
  | "slab"
  | "resource"
  | "user-fault";

/** One finding. @public */
export interface Report {
  readonly kind: ReportKind;
  /** First line in the kernel's wording, e.g. `BUG: KASAN: slab-use-after-free in probe`. */
  readonly title: string;
  /** The full text as it appears in dmesg (title first). */
  readonly text: string;
  /** Simulated time in nanoseconds. */
  readonly time: number;
  readonly driver?: string;
  readonly device?: string;
  readonly address?: number;
  readonly size?: number;
  /** The driver's JS stack at the offending call (innermost first), testbench frames removed. */
  readonly stack?: readonly string[];
  /** For leaks and use-after-free: where the object was allocated / freed. */
  readonly allocStack?: readonly string[];
  readonly freeStack?: readonly string[];
  /** For DMA findings: where the buffer was mapped (the `dma_map_*` call), rendered "Mapped at". */
  readonly mapStack?: readonly string[];
  /** Detector-specific structured details (direction, sizes, register, channel...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A report before the collector stamps the time. @public */
export type ReportInput = Omit<Report, "time" | "text"> & { readonly text?: string };

/** Format a stack for a report body. @internal */
export function renderStack(label: string, stack: readonly string[] | undefined): string {
  if (!stack || stack.length === 0) return "";
  return `${label}:\n` + stack.map((f) => ` ${f}`).join("\n");
}

/** Render a report's text from its parts when the detector gave none. @internal */
export function renderReport(r: ReportInput): string {
  if (r.text) return r.text;
  const parts = [r.title];
  if (r.stack?.length) parts.push(renderStack("Call trace", r.stack));
  if (r.mapStack?.length) parts.push(renderStack("Mapped at", r.mapStack));
  if (r.allocStack?.length) parts.push(renderStack("Allocated by", r.allocStack));
  if (r.freeStack?.length) parts.push(renderStack("Freed by", r.freeStack));
  return parts.join("\n");
}
