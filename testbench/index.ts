/**
 * vdtb/testbench: the simulator side. Boot a {@link Testbench} and reach the SoC components
 * through `tb.soc`.
 * @packageDocumentation
 */
export { Testbench } from "./harness/testbench.js";
export type { BootOptions } from "./harness/testbench.js";
export { boards, pcBoard, pc32Board, armBoard, resolveBoard } from "./harness/board.js";
export type { BoardConfig, CacheGeometry, ProfileName, RamBank } from "./harness/board.js";
export type { Soc } from "./soc/register.js";
export { bootSoc } from "./soc/boot.js";
export type { BareSoc, SocBootOptions } from "./soc/boot.js";
export * from "./soc/tokens.js";
export { Clock, Rng } from "./soc/clock.js";
export type { ClockCallback, EventId } from "./soc/clock.js";
export { TraceRing, TraceKind, traceKindName, SOURCE_CPU } from "./soc/trace.js";
export type { TraceRecord } from "./soc/trace.js";
export { SparseRam } from "./soc/ram.js";
export { Bus, BusError, BusRegion, RegionKind } from "./soc/bus.js";
export type { AccessSize, MmioHandler } from "./soc/bus.js";
export { PageTable, PageFault, PteFlag, MemType, FaultCause, Access, faultCauseName, pagingProfiles } from "./soc/pagetable.js";
export type { AllocTablePage, PagingProfile, Translation } from "./soc/pagetable.js";
export { Mmu } from "./soc/mmu.js";
export { Tlb, MAX_ASID } from "./soc/tlb.js";
export { DataCache } from "./soc/dcache.js";
export { Cpu } from "./soc/cpu.js";
export { DeviceMemoryPort, DmaStatus } from "./soc/device-port.js";
export { Iommu, IOMMU_FAULT } from "./soc/iommu.js";
export type { IommuFaultCause, IommuFaultRecord } from "./soc/iommu.js";
export { InterruptController, IRQ_LINES, IRQ_VECTOR_BASE } from "./soc/irq.js";
export type { DeliverFn, Trigger } from "./soc/irq.js";
export { KernelCore } from "./kernel/core.js";
export type { DetectorSwitches } from "./kernel/core.js";
export { ExecContext } from "./kernel/context.js";
export { Dmesg, formatTimestamp } from "./kernel/printk.js";
export type { LogLevel, LogLine } from "./kernel/printk.js";
export type { CallSite } from "./kernel/stack.js";
export { KERNEL_OWNER, KERNEL_API_PART } from "./kernel/facade.js";
export type { Owner, KernelApiPart } from "./kernel/facade.js";
export * from "./kernel/tokens.js";
export { Devres } from "./kernel/driver/devres.js";
export type { DevresEntry } from "./kernel/driver/devres.js";
export type { Report, ReportKind, ReportInput } from "./checks/report.js";
export { FaultInjector } from "./checks/fault-inject.js";
export type { FaultKind, FaultPlan, InjectedFault } from "./checks/fault-inject.js";
export { LeakLedger } from "./checks/ledger.js";
export type { LedgerEntry, ResourceKind } from "./checks/ledger.js";
export { toChromeTrace } from "./harness/chrome-trace.js";
export type { ChromeTrace, ChromeTraceEvent } from "./harness/chrome-trace.js";
