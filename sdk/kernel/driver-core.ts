/** Devices as drivers see them, the driver contract, devres, IRQs, char devices and logging. */
import type { PhysAddr, UserVA } from "../address.js";
import type { IoMem } from "../address.js";
import type { KernelVA } from "../address.js";
import type { Resource } from "./io.js";
import type { Gfp, Opaque } from "./types.js";
import type { Kernel } from "./kernel.js";
import type { VmArea } from "./user.js";

/** `struct device`: a bound (or bindable) device. @public */
export interface Device extends Opaque<"device"> {
  /** Name as in dmesg, e.g. `0000:00:03.0`, `isa-stream.0`. */
  readonly name: string;
  readonly bus: "pci" | "platform" | "isa";
}

/** `struct pci_dev`. @public */
export interface PciDev extends Device {
  readonly bus: "pci";
  readonly vendor: number;
  readonly device: number;
  readonly revision: number;
  readonly class: number;
  readonly devfn: number;
  /** The legacy INTx IRQ number (or the first vector after `pci_alloc_irq_vectors`). */
  readonly irq: number;
}

/** `struct platform_device`. @public */
export interface PlatformDev extends Device {
  readonly bus: "platform";
}

/** An ISA device (fixed resources). @public */
export interface IsaDev extends Device {
  readonly bus: "isa";
  /** The device's port ranges, IRQs and DMA channels from its declaration. */
  readonly ports: readonly Resource[];
  readonly irqs: readonly number[];
  readonly dmaChannels: readonly number[];
}

/** A PCI id-table entry (`PCI_DEVICE(vendor, device)`); `PCI_ANY_ID` is 0xffffffff. @public */
export interface PciDeviceId {
  readonly vendor: number;
  readonly device: number;
  readonly subvendor?: number;
  readonly subdevice?: number;
  readonly class?: number;
  readonly classMask?: number;
}
/** @public */ export const PCI_ANY_ID = 0xffffffff;

/** Device classes with a conformance suite. @public */
// `string & {}` keeps the built-in names as suggestions while allowing a plugin's own class.
export type DeviceClass = "framebuffer" | "sgdma" | "isa-stream" | "other" | (string & {});

/** What every driver has: a name, an optional device class, probe and remove. @public */
export interface DriverBase<D extends Device> {
  /** Driver name, as in `/sys/bus/.../drivers/NAME` and dmesg. */
  readonly name: string;
  /** Which class suite the driver claims to pass (conformance registry). */
  readonly deviceClass?: DeviceClass;
  /** Bind to `dev`: 0 on success or a negative errno. On failure devres unwinds everything. */
  probe(k: Kernel, dev: D): number | Promise<number>;
  /** Unbind: undo what probe did that devres does not. */
  remove(k: Kernel, dev: D): void | Promise<void>;
}

/** A PCI driver. @public */
export interface PciDriver extends DriverBase<PciDev> {
  readonly bus: "pci";
  readonly idTable: readonly PciDeviceId[];
}
/** A platform driver, matched by compatible string. @public */
export interface PlatformDriver extends DriverBase<PlatformDev> {
  readonly bus: "platform";
  readonly ofMatchTable: readonly string[];
}
/** An ISA driver, matched by the device's ISA id. @public */
export interface IsaDriver extends DriverBase<IsaDev> {
  readonly bus: "isa";
  readonly idTable: readonly string[];
}
/** Any driver. @public */
export type Driver = PciDriver | PlatformDriver | IsaDriver;

/** What an interrupt handler returns. @public */
export const IRQ_NONE = 0;
/** @public */ export const IRQ_HANDLED = 1;
/** @public */ export const IRQ_WAKE_THREAD = 2;
/** @public */ export type IrqReturn = 0 | 1 | 2;
/** A hardirq handler: runs in hardirq context (no sleeping). @public */
export type IrqHandler = (irq: number, devId: unknown) => IrqReturn;
/** @public */ export const IRQF_SHARED = 0x80;
/** @public */ export const IRQF_TRIGGER_RISING = 0x1;
/** @public */ export const IRQF_TRIGGER_HIGH = 0x4;

/** `pci_alloc_irq_vectors` flags. @public */
export const PCI_IRQ_INTX = 1;
/** @public */ export const PCI_IRQ_MSI = 2;
/** @public */ export const PCI_IRQ_MSIX = 4;
/** @public */ export const PCI_IRQ_ALL_TYPES = 7;

/** `struct inode` as a driver sees it. @public */
export interface Inode {
  readonly i_rdev: number;
  readonly minor: number;
  readonly major: number;
}

/** `struct file` as a driver sees it. @public */
export interface File {
  /** Driver-private pointer, set in `open`. */
  private_data: unknown;
  /** Current position (the VFS passes it to read/write as `ppos`). */
  f_pos: number;
  readonly f_flags: number;
  readonly inode: Inode;
}

/** `loff_t *ppos`: the position a read/write advances. @public */
export interface LoffT {
  value: number;
}

/** @public */ export const SEEK_SET = 0;
/** @public */ export const SEEK_CUR = 1;
/** @public */ export const SEEK_END = 2;
/** @public */ export const POLLIN = 0x1;
/** @public */ export const POLLOUT = 0x4;
/** @public */ export const POLLERR = 0x8;

/**
 * `struct file_operations`. Each callback returns a count or a negative errno, like Linux. User
 * buffers are `UserVA`s: use `copy_to_user`/`copy_from_user`.
 * @public
 */
export interface FileOperations {
  open?(k: Kernel, inode: Inode, file: File): number | Promise<number>;
  release?(k: Kernel, inode: Inode, file: File): number | Promise<number>;
  read?(k: Kernel, file: File, buf: UserVA, count: number, ppos: LoffT): number | Promise<number>;
  write?(k: Kernel, file: File, buf: UserVA, count: number, ppos: LoffT): number | Promise<number>;
  llseek?(k: Kernel, file: File, offset: number, whence: number): number;
  unlocked_ioctl?(k: Kernel, file: File, cmd: number, arg: number): number | Promise<number>;
  mmap?(k: Kernel, file: File, vma: VmArea): number | Promise<number>;
  poll?(k: Kernel, file: File): number;
}

/** `struct miscdevice`. @public */
export interface MiscDevice {
  /** `MISC_DYNAMIC_MINOR` (255) for any. */
  minor: number;
  /** Creates `/dev/NAME`. */
  readonly name: string;
  readonly fops: FileOperations;
  /** The parent device (for devres and leak attribution). */
  readonly parent?: Device;
}
/** @public */ export const MISC_DYNAMIC_MINOR = 255;

/** The driver-core part of the kernel facade. @public */
export interface KernelDriverCore {
  dev_set_drvdata(dev: Device, data: unknown): void;
  dev_get_drvdata<T>(dev: Device): T;
  pci_set_drvdata(pdev: PciDev, data: unknown): void;
  pci_get_drvdata<T>(pdev: PciDev): T;
  dev_name(dev: Device): string;

  devm_kmalloc(dev: Device, size: number, flags: Gfp): KernelVA | null;
  devm_kzalloc(dev: Device, size: number, flags: Gfp): KernelVA | null;
  devm_kcalloc(dev: Device, n: number, size: number, flags: Gfp): KernelVA | null;
  devm_kfree(dev: Device, p: KernelVA): void;
  /** Run `action(data)` at unbind; if registering fails, run it now and return the errno. */
  devm_add_action_or_reset(dev: Device, action: (data: unknown) => void, data: unknown): number;
  devm_add_action(dev: Device, action: (data: unknown) => void, data: unknown): number;

  request_irq(irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number;
  devm_request_irq(dev: Device, irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number;
  /** Returns the name the handler was registered with, or null (and a warning) when none matches. */
  free_irq(irq: number, devId: unknown): string | null;
  devm_free_irq(dev: Device, irq: number, devId: unknown): void;
  enable_irq(irq: number): void;
  disable_irq(irq: number): void;
  disable_irq_nosync(irq: number): void;
  synchronize_irq(irq: number): void;

  pci_enable_device(pdev: PciDev): number;
  pcim_enable_device(pdev: PciDev): number;
  pci_disable_device(pdev: PciDev): void;
  pci_set_master(pdev: PciDev): void;
  pci_clear_master(pdev: PciDev): void;
  pci_request_regions(pdev: PciDev, name: string): number;
  pci_release_regions(pdev: PciDev): void;
  pci_request_region(pdev: PciDev, bar: number, name: string): number;
  pci_release_region(pdev: PciDev, bar: number): void;
  pci_resource_start(pdev: PciDev, bar: number): PhysAddr;
  pci_resource_len(pdev: PciDev, bar: number): number;
  pci_resource_flags(pdev: PciDev, bar: number): number;
  pci_iomap(pdev: PciDev, bar: number, maxlen: number): IoMem | null;
  pci_iounmap(pdev: PciDev, addr: IoMem): void;
  /** Managed `pci_iomap`; unmapped at unbind. */
  pcim_iomap(pdev: PciDev, bar: number, maxlen: number): IoMem | null;
  /** Request and map the BARs in `mask`; 0 or a negative errno. */
  pcim_iomap_regions(pdev: PciDev, mask: number, name: string): number;
  pcim_iomap_table(pdev: PciDev): readonly (IoMem | null)[];
  pci_read_config_byte(pdev: PciDev, where: number): number;
  pci_read_config_word(pdev: PciDev, where: number): number;
  pci_read_config_dword(pdev: PciDev, where: number): number;
  pci_write_config_byte(pdev: PciDev, where: number, value: number): number;
  pci_write_config_word(pdev: PciDev, where: number, value: number): number;
  pci_write_config_dword(pdev: PciDev, where: number, value: number): number;
  pci_find_capability(pdev: PciDev, cap: number): number;
  /** Number of vectors allocated, or a negative errno. */
  pci_alloc_irq_vectors(pdev: PciDev, minVecs: number, maxVecs: number, flags: number): number;
  pci_free_irq_vectors(pdev: PciDev): void;
  /** The Linux IRQ number of vector `nr`, or a negative errno. */
  pci_irq_vector(pdev: PciDev, nr: number): number;

  platform_get_resource(pdev: PlatformDev, type: number, num: number): Resource | null;
  /** IRQ number or a negative errno. */
  platform_get_irq(pdev: PlatformDev, num: number): number;
  devm_platform_ioremap_resource(pdev: PlatformDev, index: number): IoMem;

  misc_register(misc: MiscDevice): number;
  misc_deregister(misc: MiscDevice): void;
  /** Major number (dynamic when `major` is 0) or a negative errno. */
  register_chrdev(major: number, name: string, fops: FileOperations): number;
  unregister_chrdev(major: number, name: string): void;

  printk(message: string): void;
  pr_emerg(message: string): void;
  pr_err(message: string): void;
  pr_warn(message: string): void;
  pr_notice(message: string): void;
  pr_info(message: string): void;
  pr_debug(message: string): void;
  dev_err(dev: Device, message: string): void;
  dev_warn(dev: Device, message: string): void;
  dev_notice(dev: Device, message: string): void;
  dev_info(dev: Device, message: string): void;
  dev_dbg(dev: Device, message: string): void;
  /** Oops with the driver's stack if `condition` holds (the driver's call does not return). */
  BUG_ON(condition: boolean): void;
  /** Warn with the driver's stack if `condition` holds; returns `condition`. */
  WARN_ON(condition: boolean): boolean;
  WARN_ON_ONCE(condition: boolean): boolean;
}
