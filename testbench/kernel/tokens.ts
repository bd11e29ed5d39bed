/** Injection tokens of the kernel's subsystems (one line each; add yours). @packageDocumentation */
import type { InjectionToken } from "../soc/di.js";
import type { KernelCore } from "./core.js";
import type { Devres } from "./driver/devres.js";

/** The kernel core: dmesg, reports, context, fault injection, leak ledger. @public */
export const KERNEL_CORE: InjectionToken<KernelCore> = Symbol("vdtb.kernel.core");
/** Managed device resources (devres). @public */
export const DEVRES: InjectionToken<Devres> = Symbol("vdtb.kernel.devres");
/** Physical resource trees (/proc/iomem, /proc/ioports) and region requests. @public */
export const IO_RESOURCES: InjectionToken<import("./io/resources.js").IoResources> = Symbol("vdtb.kernel.ioResources");
/** Maps physical ranges into the vmalloc area with a memory type (ioremap's backend). @public */
export const IO_VMAP: InjectionToken<import("./io/vmap.js").IoVmap> = Symbol("vdtb.kernel.ioVmap");
/** ioremap/iounmap and their managed forms. @public */
export const IOREMAP: InjectionToken<import("./io/ioremap.js").IoRemapper> = Symbol("vdtb.kernel.ioremap");
/** MMIO and port accessors, barriers. @public */
export const IO_ACCESS: InjectionToken<import("./io/accessors.js").IoAccessors> = Symbol("vdtb.kernel.ioAccess");
/** The barrier hook (mb/wmb/... and non-relaxed writel). @public */
export const ORDERING: InjectionToken<import("./io/ordering.js").Ordering> = Symbol("vdtb.kernel.ordering");
/** Device hosting: plugged virtual devices, their contexts and bus regions. @public */
export const DEVICE_HOST: InjectionToken<import("./bus/device-host.js").DeviceHost> = Symbol("vdtb.kernel.deviceHost");
/** Device-level fault injection (DMA errors, IOMMU faults, lost/late/spurious interrupts, surprise removal). @public */
export const DEVICE_FAULTS: InjectionToken<import("./bus/device-faults.js").DeviceFaults> = Symbol("vdtb.kernel.deviceFaults");
/** The PCI host bridge and bus 0. @public */
export const PCI_HOST: InjectionToken<import("./bus/pci-host.js").PciHost> = Symbol("vdtb.kernel.pciHost");
/** The PCI facade slice (pci_enable_device, BARs, config space, IRQ vectors). @public */
export const PCI_API: InjectionToken<import("./bus/pci-api.js").PciApi> = Symbol("vdtb.kernel.pciApi");
/** The platform-device facade slice. @public */
export const PLATFORM_API: InjectionToken<import("./bus/platform-api.js").PlatformApi> = Symbol("vdtb.kernel.platformApi");
/** Linux IRQ numbers for interrupt-controller lines and MSI vectors. @public */
export const IRQ_NUMBERS: InjectionToken<import("./bus/irq-numbers.js").IrqNumbers> = Symbol("vdtb.kernel.irqNumbers");
/** Driver binding: drivers, devices, probe/remove, leak check at unbind. @public */
export const DRIVER_CORE: InjectionToken<import("./driver/core.js").DriverCore> = Symbol("vdtb.kernel.driverCore");
/** Builds a driver's facade from every KERNEL_API_PART. @public */
export const FACADE_FACTORY: InjectionToken<import("./driver/facade-factory.js").FacadeFactory> = Symbol("vdtb.kernel.facadeFactory");
/** Per-kind reclaimers of resources left in the leak ledger at unbind. @public */
export const LEAK_RECLAIMERS: InjectionToken<import("./driver/reclaim.js").LeakReclaimers> = Symbol("vdtb.kernel.leakReclaimers");
/** The printk, pr_xxx, dev_xxx, BUG_ON and WARN_ON facade slice. @public */
export const PRINTK_API: InjectionToken<import("./printk-api.js").PrintkApi> = Symbol("vdtb.kernel.printkApi");
/** The scheduler pump (Scheduler.run, block/wake, process-context work). @public */
export const SCHEDULER: InjectionToken<import("./sched/scheduler.js").Scheduler> = Symbol("vdtb.kernel.scheduler");
/** Locks, interrupt state, sleeping, completions, wait queues, work, tasklets, timers (KernelSync slice). @public */
export const SYNC: InjectionToken<import("./sync/sync.js").SyncSubsystem> = Symbol("vdtb.kernel.sync");
/** Linux IRQ numbers, descriptors, handlers and dispatch (the IRQ part of KernelDriverCore). @public */
export const IRQS: InjectionToken<import("./irq/irqs.js").IrqSubsystem> = Symbol("vdtb.kernel.irqs");
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
/** The memory-manager calls the DMA layer uses (KERNEL_MM by default). @internal */
export const DMA_MM: InjectionToken<import("./dma/backend.js").DmaMmBackend> = Symbol("vdtb.kernel.dmaMm");
/** The DMA mapping API, its detectors and hooks (KernelDma slice). @public */
export const DMA_API: InjectionToken<import("./dma/dma-api.js").DmaApi> = Symbol("vdtb.kernel.dmaApi");
/** remap_pfn_range for dma_mmap_coherent (the process layer's MMAP_API by default). @internal */
export const DMA_USER_MAPPER: InjectionToken<import("./dma/backend.js").DmaUserMapper> = Symbol("vdtb.kernel.dmaUserMapper");
