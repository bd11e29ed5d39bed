/**
 * The leak report at unbind: everything a driver still holds after `remove` and devres, as ONE
 * report. Memory is worded like kmemleak ("unreferenced object 0x... (size N):" / "backtrace:");
 * other resources in the testbench's own wording, each with the driver line that acquired it.
 */
import type { LedgerEntry, ResourceKind } from "../../checks/ledger.js";
import type { ReportInput } from "../../checks/report.js";
import { formatAddr } from "../../../sdk/index.js";
import { siteFrames } from "../stack.js";

const MEMORY: ReadonlySet<ResourceKind> = new Set<ResourceKind>(["kmalloc", "slab", "vmalloc", "pages", "mempool"]);

const VERB: Partial<Record<ResourceKind, string>> = {
  "mem-region": "requested at",
  "io-region": "requested at",
  ioremap: "mapped at",
  irq: "requested at",
  "dma-mapping": "mapped at",
  "dma-coherent": "allocated at",
  "dma-pool": "allocated at",
  "isa-dma": "requested at",
  chrdev: "registered at",
  misc: "registered at",
  "kmem-cache": "created at",
  vma: "mapped at",
  "pinned-pages": "pinned at",
  work: "queued at",
  timer: "armed at",
};

/** Render one entry: kmemleak style for memory with an address, testbench wording otherwise. @internal */
export function renderLeakEntry(driver: string, e: LedgerEntry): string[] {
  const frames = siteFrames(e.site);
  const trace = frames.length > 0 ? frames.map((f) => `    ${f}`) : ["    (stack not recorded: detectors.stacks is off)"];
  if (MEMORY.has(e.kind) && e.address !== undefined) {
    return [`unreferenced object 0x${formatAddr(e.address)} (size ${e.size ?? 0}):`, `  ${e.label}`, "  backtrace:", ...trace];
  }
  return [`vdtb: driver ${driver} leaked ${e.label}, ${VERB[e.kind] ?? "acquired at"}:`, ...trace];
}

/** The one leak report for `entries` (oldest first). @internal */
export function leakReport(driver: string, device: string, entries: readonly LedgerEntry[]): ReportInput {
  const n = entries.length;
  const memory = entries.filter((e) => MEMORY.has(e.kind)).length;
  const title = `vdtb: driver ${driver} leaked ${n} resource${n === 1 ? "" : "s"} at unbind of ${device}${memory > 0 ? ` (kmemleak: ${memory} new suspected memory leak${memory === 1 ? "" : "s"})` : ""}`;
  const lines = [title];
  for (const e of entries) lines.push(...renderLeakEntry(driver, e));
  return {
    kind: "leak",
    title,
    text: lines.join("\n"),
    driver,
    device,
    allocStack: siteFrames(entries[0]?.site),
    details: {
      entries: entries.map((e) => ({
        kind: e.kind,
        label: e.label,
        ...(e.address !== undefined ? { address: e.address } : {}),
        ...(e.size !== undefined ? { size: e.size } : {}),
        stack: siteFrames(e.site),
      })),
    },
  };
}
