/**
 * The `vfb` PCI driver (1234:1111): an fbdev driver for the Bochs-DISPI-compatible vdtb
 * framebuffer. `/dev/fb0` is a char device on the fbdev major (29, minor 0), registered with
 * `register_chrdev`, so one `vfb` can be bound at a time (a second probe gets -EBUSY).
 *
 * Two memory models: "vram" scans out of BAR0 (mapped write-combining for the kernel and for
 * user mmap), "sysram" keeps the framebuffer in a `dma_alloc_wc` buffer the device reads at each
 * vblank through SCANOUT_LO/HI, mapped to user space with `dma_mmap_wc`.
 */
import {
  DMA_BIT_MASK, EBUSY, ENODEV, ENOMEM, GFP_KERNEL, IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, PCI_IRQ_INTX, PCI_IRQ_MSI,
  addrAdd,
} from "../../sdk/index.js";
import type { CoherentBuffer, IoMem, Kernel, PciDev, PciDriver } from "../../sdk/index.js";
import { vfbFileOperations, VFB_FB_ID, type VfbFopsHooks } from "./fops.js";
import {
  DISPI_GETCAPS, DISPI_ID5, VFB_EXT_ID, VFB_IRQ_SCANOUT_ERROR, VFB_IRQ_VBLANK, VfbDispi, VfbExt,
} from "./hw.js";
import { fbCheckVar, fbDefaultVar, type VfbLimits } from "./mode.js";
import { displayOff, irqOff, irqOn, programMode } from "./program.js";
import type { VfbFb, VfbMemory } from "./state.js";
import { FB_MAJOR } from "./uapi.js";

/** Options of {@link vfbDriver}. @public */
export interface VfbDriverOptions {
  /** Framebuffer in VRAM (BAR0, default) or in system RAM scanned out by DMA. */
  readonly memory?: VfbMemory;
  /** Driver name (default "vfb"). */
  readonly name?: string;
  /** sysram mode: buffer size in bytes (default 4 MiB, at most the VRAM size and 4 MiB). */
  readonly sysramSize?: number;
}

/** The default mode set at probe. @public */
export const VFB_DEFAULT_MODE = { xres: 640, yres: 480, bpp: 32 } as const;
/** Largest sysram framebuffer: the largest coherent allocation (order 10). */
const SYSRAM_MAX = 4 << 20;
const BAR_VRAM = 0;
const BAR_REGS = 2;
/** The node fbdev's first framebuffer gets. */
const NODE_NAME = "fb0";

/** A kernel virtual address above 4 GiB (or negative: the x86_64 kernel half) means a 64-bit ABI. */
function longBitsOf(kernelAddr: number): 32 | 64 {
  return kernelAddr < 0 || kernelAddr > 0xffffffff ? 64 : 32;
}

async function probe(k: Kernel, pdev: PciDev, opts: Required<Pick<VfbDriverOptions, "memory" | "name" | "sysramSize">>, hooks: VfbFopsHooks): Promise<number> {
  const { memory, name } = opts;
  let r = k.pcim_enable_device(pdev);
  if (r) return r;
  r = k.pci_request_regions(pdev, name);
  if (r) return r;
  r = k.devm_add_action_or_reset(pdev, function vfb_release_regions() { k.pci_release_regions(pdev); }, null);
  if (r) return r;
  const regs = k.pcim_iomap(pdev, BAR_REGS, 0);
  if (!regs) return -ENOMEM;
  const reg = (off: number): IoMem => addrAdd(regs, off);

  const id = k.readw(reg(VfbDispi.ID));
  if (id !== DISPI_ID5) {
    k.dev_err(pdev, `${name}: DISPI ID 0x${id.toString(16)}, expected 0x${DISPI_ID5.toString(16)}`);
    return -ENODEV;
  }
  const ext = k.readl(reg(VfbExt.EXT_ID));
  if (ext !== VFB_EXT_ID) {
    k.dev_err(pdev, `${name}: no vdtb extension (EXT_ID 0x${ext.toString(16)})`);
    return -ENODEV;
  }
  const vramStart = k.pci_resource_start(pdev, BAR_VRAM);
  const vramLen = k.pci_resource_len(pdev, BAR_VRAM);
  if (!vramLen) return -ENODEV;
  const vram64k = k.readw(reg(VfbDispi.VIDEO_MEMORY_64K));
  if (vram64k * 65536 !== vramLen) k.dev_warn(pdev, `${name}: VIDEO_MEMORY_64K says ${vram64k * 64} KiB, BAR0 is ${vramLen / 1024} KiB`);

  k.writew(DISPI_GETCAPS, reg(VfbDispi.ENABLE));
  const maxXres = k.readw(reg(VfbDispi.XRES));
  const maxYres = k.readw(reg(VfbDispi.YRES));
  k.writew(0, reg(VfbDispi.ENABLE));

  let screenIo: IoMem | null = null;
  let buf: CoherentBuffer | null = null;
  let smemStart: number, smemLen: number;
  if (memory === "vram") {
    screenIo = k.devm_ioremap_wc(pdev, vramStart, vramLen);
    if (!screenIo) return -ENOMEM;
    smemStart = vramStart;
    smemLen = vramLen;
  } else {
    r = k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(64));
    if (r) r = k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(32));
    if (r) return r;
    // The device checks modes against VRAM even when scanning out of RAM.
    const size = Math.min(opts.sysramSize, SYSRAM_MAX, vramLen);
    const b = k.dma_alloc_wc(pdev, size, GFP_KERNEL);
    if (!b) return -ENOMEM;
    buf = b;
    r = k.devm_add_action_or_reset(pdev, function vfb_free_scanout() { k.dma_free_wc(pdev, size, b.cpu, b.handle); }, null);
    if (r) return r;
    k.pci_set_master(pdev);
    smemStart = b.handle;
    smemLen = size;
  }

  const limits: VfbLimits = { maxXres, maxYres, memory: smemLen };
  const initial = fbCheckVar(fbDefaultVar(VFB_DEFAULT_MODE.xres, VFB_DEFAULT_MODE.yres, VFB_DEFAULT_MODE.bpp), limits);
  if (typeof initial === "number") {
    k.dev_err(pdev, `${name}: ${smemLen} bytes of framebuffer memory cannot hold the default mode`);
    return -ENOMEM;
  }
  const fb: VfbFb = {
    pdev,
    name,
    memory,
    regs,
    screenIo,
    screenCpu: buf ? buf.cpu : null,
    dmaHandle: buf ? buf.handle : null,
    smemStart,
    smemLen,
    mmioStart: k.pci_resource_start(pdev, BAR_REGS),
    mmioLen: k.pci_resource_len(pdev, BAR_REGS),
    limits,
    longBits: longBitsOf(regs),
    var: initial,
    lock: k.mutex_init(`${name}_lock`),
    vblankWq: k.init_waitqueue_head(),
    vblankCount: 0,
    scanoutErrors: 0,
    gone: false,
  };
  programMode(k, fb);
  r = k.devm_add_action_or_reset(pdev, function vfb_display_off() { displayOff(k, fb); }, null);
  if (r) return r;

  const nvec = k.pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
  if (nvec < 0) return nvec;
  const irq = k.pci_irq_vector(pdev, 0);
  if (irq < 0) return irq;
  r = k.devm_request_irq(pdev, irq, (_irq, devId) => vblankIrq(k, devId as VfbFb), IRQF_SHARED, name, fb);
  if (r) return r;
  irqOn(k, fb);
  r = k.devm_add_action_or_reset(pdev, function vfb_irq_off() { irqOff(k, fb); }, null);
  if (r) return r;

  r = k.register_chrdev(FB_MAJOR, NODE_NAME, vfbFileOperations(fb, hooks));
  if (r) return r;
  k.pci_set_drvdata(pdev, fb);
  const where = memory === "vram" ? "VRAM" : "system RAM";
  k.dev_info(pdev, `${NODE_NAME}: ${VFB_FB_ID} frame buffer device, ${fb.var.xres}x${fb.var.yres}x${fb.var.bits_per_pixel}, ${smemLen >> 10} KiB of ${where} at 0x${smemStart.toString(16)}`);
  return 0;
}

/** The vblank handler: ack, count, wake the FBIO_WAITFORVSYNC sleepers. */
function vblankIrq(k: Kernel, fb: VfbFb): 0 | 1 {
  const status = k.readl(addrAdd(fb.regs, VfbExt.IRQ_STATUS));
  const mine = status & (VFB_IRQ_VBLANK | VFB_IRQ_SCANOUT_ERROR);
  if (!mine || status === 0xffffffff) return IRQ_NONE;
  k.writel(mine, addrAdd(fb.regs, VfbExt.IRQ_STATUS));
  if (mine & VFB_IRQ_SCANOUT_ERROR && fb.scanoutErrors++ === 0) k.dev_warn(fb.pdev, `${fb.name}: scanout DMA read failed`);
  if (mine & VFB_IRQ_VBLANK) {
    fb.vblankCount++;
    k.wake_up_all(fb.vblankWq);
  }
  return IRQ_HANDLED;
}

function remove(k: Kernel, pdev: PciDev): void {
  const fb = k.pci_get_drvdata<VfbFb | undefined>(pdev);
  if (!fb) return;
  fb.gone = true;
  k.unregister_chrdev(FB_MAJOR, NODE_NAME);
  // Interrupts off before devres frees the handler; the display stops before the buffer goes.
  irqOff(k, fb);
  displayOff(k, fb);
  k.wake_up_all(fb.vblankWq);
}

/** Build the driver with replaced file-operation pieces (deliberately wrong fixtures). @internal */
export function vfbDriverWithHooks(options: VfbDriverOptions, hooks: VfbFopsHooks): PciDriver {
  const opts = { memory: options.memory ?? "vram", name: options.name ?? "vfb", sysramSize: options.sysramSize ?? SYSRAM_MAX };
  return {
    bus: "pci",
    name: opts.name,
    deviceClass: "framebuffer",
    idTable: [{ vendor: 0x1234, device: 0x1111 }],
    probe: (k, pdev) => probe(k, pdev, opts, hooks),
    remove,
  };
}

/**
 * The `vfb` fbdev driver: `vfbDriver()` for VRAM, `vfbDriver({ memory: "sysram" })` for a
 * framebuffer in system RAM scanned out by DMA.
 * @public
 */
export function vfbDriver(options: VfbDriverOptions = {}): PciDriver {
  return vfbDriverWithHooks(options, {});
}

/** The `vfb` driver in VRAM mode. @public */
export const vfbPciDriver: PciDriver = vfbDriver();

