/** Injection tokens of the kernel's subsystems (one line each; add yours). @packageDocumentation */
import type { InjectionToken } from "../soc/di.js";
import type { KernelCore } from "./core.js";
import type { Devres } from "./driver/devres.js";

/** The kernel core: dmesg, reports, context, fault injection, leak ledger. @public */
export const KERNEL_CORE: InjectionToken<KernelCore> = Symbol("vdtb.kernel.core");
/** Managed device resources (devres). @public */
export const DEVRES: InjectionToken<Devres> = Symbol("vdtb.kernel.devres");
/** Memory management: page allocator, linear map, kernel page tables, slab, vmalloc, KASAN. @public */
export const KERNEL_MM: InjectionToken<import("./mm/mm.js").MemoryManager> = Symbol("vdtb.kernel.mm");
/** The memory-management facade slice (KernelMemory, `k.mem`). @public */
export const MM_API: InjectionToken<import("./mm/api.js").MmApi> = Symbol("vdtb.kernel.mmApi");
/** Char devices and /dev (misc_register, register_chrdev). @public */
export const CHAR_DEVICES: InjectionToken<import("./vfs/chrdev.js").CharDevices> = Symbol("vdtb.kernel.charDevices");
/** The memory-manager calls the process layer uses (KERNEL_MM by default). @internal */
export const PROCESS_MM_BACKEND: InjectionToken<import("./process/backend.js").UserMmBackend> = Symbol("vdtb.kernel.processMmBackend");
/** User processes: spawn, syscalls, address spaces, faults. @public */
export const PROCESSES: InjectionToken<import("./process/processes.js").Processes> = Symbol("vdtb.kernel.processes");
/** copy_to_user & co, get_user_pages / pin_user_pages (KernelUser slice, part 1). @public */
export const USER_ACCESS: InjectionToken<import("./process/uaccess.js").UserAccess> = Symbol("vdtb.kernel.userAccess");
/** remap_pfn_range & co (KernelUser slice, part 2). @public */
export const MMAP_API: InjectionToken<import("./process/mmap-api.js").MmapApi> = Symbol("vdtb.kernel.mmapApi");
/** ISA DMA: channel allocator, dma_spin_lock, the asm/dma.h helpers on the 8237, detector 10 (KernelIsaDma slice). @public */
export const ISA_DMA: InjectionToken<import("./isa-dma/isa-dma.js").IsaDmaSubsystem> = Symbol("vdtb.kernel.isaDma");
/** The scheduler pump (Scheduler.run, block/wake, process-context work). @public */
export const SCHEDULER: InjectionToken<import("./sched/scheduler.js").Scheduler> = Symbol("vdtb.kernel.scheduler");
/** Locks, interrupt state, sleeping, completions, wait queues, work, tasklets, timers (KernelSync slice). @public */
export const SYNC: InjectionToken<import("./sync/sync.js").SyncSubsystem> = Symbol("vdtb.kernel.sync");
/** Linux IRQ numbers, descriptors, handlers and dispatch (the IRQ part of KernelDriverCore). @public */
export const IRQS: InjectionToken<import("./irq/irqs.js").IrqSubsystem> = Symbol("vdtb.kernel.irqs");
/** The memory-manager calls the DMA layer uses (KERNEL_MM by default). @internal */
export const DMA_MM: InjectionToken<import("./dma/backend.js").DmaMmBackend> = Symbol("vdtb.kernel.dmaMm");
/** The DMA mapping API, its detectors and hooks (KernelDma slice). @public */
export const DMA_API: InjectionToken<import("./dma/dma-api.js").DmaApi> = Symbol("vdtb.kernel.dmaApi");
/** remap_pfn_range for dma_mmap_coherent (the process layer's MMAP_API by default). @internal */
export const DMA_USER_MAPPER: InjectionToken<import("./dma/backend.js").DmaUserMapper> = Symbol("vdtb.kernel.dmaUserMapper");
