/**
 * Export the trace ring (and detector reports) as Chrome/Perfetto trace JSON: one track for the
 * CPU, one per DMA requester, one for interrupts and one for detector reports. Timestamps are
 * simulated microseconds.
 */
import type { Report } from "../checks/report.js";
import { SOURCE_CPU, TraceKind, traceKindName, type TraceRecord } from "../soc/trace.js";

/** One event of the Trace Event Format. @public */
export interface ChromeTraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly ph: "i" | "X" | "M";
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly s?: "t" | "p" | "g";
  readonly dur?: number;
  readonly args?: Readonly<Record<string, unknown>>;
}

/** The JSON object Perfetto and chrome://tracing load. @public */
export interface ChromeTrace {
  readonly traceEvents: ChromeTraceEvent[];
  readonly displayTimeUnit: "ns";
}

const PID = 1;
const TID_CPU = 1;
const TID_IRQ = 2;
const TID_REPORTS = 3;
const TID_DEVICE_BASE = 16;

const hex = (n: number) => (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16));

function category(kind: number): string {
  switch (kind) {
    case TraceKind.MmioRead:
    case TraceKind.MmioWrite:
      return "mmio";
    case TraceKind.PioRead:
    case TraceKind.PioWrite:
      return "pio";
    case TraceKind.DmaRead:
    case TraceKind.DmaWrite:
      return "dma";
    case TraceKind.Irq:
    case TraceKind.Msi:
      return "irq";
    default:
      return "fault";
  }
}

function tidOf(r: TraceRecord): number {
  if (r.kind === TraceKind.Irq || r.kind === TraceKind.Msi) return TID_IRQ;
  return r.source === SOURCE_CPU ? TID_CPU : TID_DEVICE_BASE + r.source;
}

/**
 * Convert trace records (and optionally reports) into a Chrome trace. `deviceNames` labels the
 * DMA requester tracks (requester id → name).
 * @public
 */
export function toChromeTrace(records: readonly TraceRecord[], reports: readonly Report[] = [], deviceNames: ReadonlyMap<number, string> = new Map()): ChromeTrace {
  const events: ChromeTraceEvent[] = [
    { name: "process_name", cat: "__metadata", ph: "M", ts: 0, pid: PID, tid: 0, args: { name: "vdtb" } },
    { name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: PID, tid: TID_CPU, args: { name: "CPU0" } },
    { name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: PID, tid: TID_IRQ, args: { name: "interrupts" } },
    { name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: PID, tid: TID_REPORTS, args: { name: "detectors" } },
  ];
  const seenDevices = new Set<number>();
  for (const r of records) {
    const tid = tidOf(r);
    if (tid >= TID_DEVICE_BASE && !seenDevices.has(r.source)) {
      seenDevices.add(r.source);
      events.push({ name: "thread_name", cat: "__metadata", ph: "M", ts: 0, pid: PID, tid, args: { name: deviceNames.get(r.source) ?? `requester ${hex(r.source)}` } });
    }
    const kindName = traceKindName(r.kind);
    events.push({
      name: r.name ? `${kindName} ${r.name}` : kindName,
      cat: category(r.kind),
      ph: "i",
      s: "t",
      ts: r.time / 1000,
      pid: PID,
      tid,
      args: { addr: hex(r.addr), size: r.size, value: hex(r.value), seq: r.seq },
    });
  }
  for (const rep of reports) {
    events.push({
      name: rep.title,
      cat: `report.${rep.kind}`,
      ph: "i",
      s: "g",
      ts: rep.time / 1000,
      pid: PID,
      tid: TID_REPORTS,
      args: { kind: rep.kind, text: rep.text, ...(rep.driver ? { driver: rep.driver } : {}), ...(rep.device ? { device: rep.device } : {}) },
    });
  }
  return { traceEvents: events, displayTimeUnit: "ns" };
}
