/** Programming the `vfb` hardware: mode set (bochs-drm order), panning, display and IRQ off. */
import { addrAdd, type Kernel } from "../../sdk/index.js";
import { DISPI_ENABLED, DISPI_LFB_ENABLED, VFB_IRQ_SCANOUT_ERROR, VFB_IRQ_VBLANK, VfbDispi, VfbExt } from "./hw.js";
import type { VfbFb } from "./state.js";

function dispi(k: Kernel, fb: VfbFb, reg: number, value: number): void {
  k.writew(value & 0xffff, addrAdd(fb.regs, reg));
}

/**
 * Apply `fb.var`: display off, depth and sizes, virtual size and offsets, the scanout address in
 * sysram mode, display on with the linear framebuffer (the device clears VRAM on enable).
 * @internal
 */
export function programMode(k: Kernel, fb: VfbFb): void {
  const v = fb.var;
  dispi(k, fb, VfbDispi.ENABLE, 0);
  dispi(k, fb, VfbDispi.BPP, v.bits_per_pixel);
  dispi(k, fb, VfbDispi.XRES, v.xres);
  dispi(k, fb, VfbDispi.YRES, v.yres);
  dispi(k, fb, VfbDispi.BANK, 0);
  dispi(k, fb, VfbDispi.VIRT_WIDTH, v.xres_virtual);
  dispi(k, fb, VfbDispi.VIRT_HEIGHT, v.yres_virtual);
  dispi(k, fb, VfbDispi.X_OFFSET, v.xoffset);
  dispi(k, fb, VfbDispi.Y_OFFSET, v.yoffset);
  if (fb.dmaHandle !== null) {
    const bus = fb.dmaHandle as number;
    const hi = Math.floor(bus / 2 ** 32);
    k.writel((bus - hi * 2 ** 32) >>> 0, addrAdd(fb.regs, VfbExt.SCANOUT_LO));
    k.writel(hi >>> 0, addrAdd(fb.regs, VfbExt.SCANOUT_HI));
  }
  dispi(k, fb, VfbDispi.ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
}

/** Write the pan offsets of `fb.var` (scanned out from the next vblank). @internal */
export function programPan(k: Kernel, fb: VfbFb): void {
  dispi(k, fb, VfbDispi.X_OFFSET, fb.var.xoffset);
  dispi(k, fb, VfbDispi.Y_OFFSET, fb.var.yoffset);
}

/** Display off and scanout pointer cleared: the device stops reading the framebuffer. @internal */
export function displayOff(k: Kernel, fb: VfbFb): void {
  dispi(k, fb, VfbDispi.ENABLE, 0);
  k.writel(0, addrAdd(fb.regs, VfbExt.SCANOUT_LO));
  k.writel(0, addrAdd(fb.regs, VfbExt.SCANOUT_HI));
}

/** Enable the vblank (and scanout error) interrupt. @internal */
export function irqOn(k: Kernel, fb: VfbFb): void {
  k.writel(VFB_IRQ_VBLANK | VFB_IRQ_SCANOUT_ERROR, addrAdd(fb.regs, VfbExt.IRQ_ENABLE));
}

/** Mask the device's interrupts and clear what is pending, so nothing fires after free_irq. @internal */
export function irqOff(k: Kernel, fb: VfbFb): void {
  k.writel(0, addrAdd(fb.regs, VfbExt.IRQ_ENABLE));
  k.writel(VFB_IRQ_VBLANK | VFB_IRQ_SCANOUT_ERROR, addrAdd(fb.regs, VfbExt.IRQ_STATUS));
}
