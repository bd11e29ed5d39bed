/** The per-device state of the `vfb` driver (its `fb_info`). */
import type { DmaAddr, IoMem, KernelVA, Mutex, PciDev, WaitQueueHead } from "../../sdk/index.js";
import type { VfbLimits } from "./mode.js";
import type { FbVarScreeninfo } from "./uapi.js";

/** Where the framebuffer lives. @public */
export type VfbMemory = "vram" | "sysram";

/**
 * One bound `vfb`: hardware handles, the framebuffer memory, the current mode and the vblank
 * wait queue. `gone` is set at unbind; every file operation then returns -ENODEV.
 * @public
 */
export interface VfbFb {
  readonly pdev: PciDev;
  readonly name: string;
  readonly memory: VfbMemory;
  /** BAR2, uncached (pcim_iomap). */
  readonly regs: IoMem;
  /** VRAM mode: the write-combining kernel mapping of BAR0. */
  readonly screenIo: IoMem | null;
  /** sysram mode: the kernel address of the dma_alloc_wc buffer. */
  readonly screenCpu: KernelVA | null;
  /** sysram mode: the buffer's bus address (programmed into SCANOUT_LO/HI). */
  readonly dmaHandle: DmaAddr | null;
  /** fix.smem_start: BAR0's physical address, or the scanout buffer's bus address. */
  readonly smemStart: number;
  readonly smemLen: number;
  readonly mmioStart: number;
  readonly mmioLen: number;
  readonly limits: VfbLimits;
  /** Bits of the user ABI's `unsigned long` (fb_fix_screeninfo layout). */
  readonly longBits: 32 | 64;
  /** The current mode (info->var). */
  var: FbVarScreeninfo;
  /** lock_fb_info. */
  readonly lock: Mutex;
  readonly vblankWq: WaitQueueHead;
  /** Vblank interrupts handled so far. */
  vblankCount: number;
  scanoutErrors: number;
  gone: boolean;
}
