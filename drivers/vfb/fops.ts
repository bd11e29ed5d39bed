/**
 * `/dev/fb0` file operations of the `vfb` driver, following fbmem: screeninfo ioctls, panning,
 * vsync waits, read/write of pixel bytes at f_pos, and mmap of the framebuffer memory.
 */
import {
  EFAULT, EFBIG, EINVAL, ENODEV, ENOMEM, ENOSPC, ENOTTY, ETIMEDOUT, GFP_KERNEL, PAGE_SIZE, SEEK_CUR, SEEK_END, SEEK_SET,
  addrAdd, pageAlignUp, userVA,
} from "../../sdk/index.js";
import type { FileOperations, Kernel, KernelVA, LoffT, UserVA, VmArea } from "../../sdk/index.js";
import { fbCheckPan, fbCheckVar, fbLineLength } from "./mode.js";
import { programMode, programPan } from "./program.js";
import type { VfbFb } from "./state.js";
import {
  FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC,
  FB_ACTIVATE_MASK, FB_ACTIVATE_TEST, FB_TYPE_PACKED_PIXELS, FB_VISUAL_TRUECOLOR,
  encodeFbId, fbFixLayout, fbVarScreeninfo, type FbFixScreeninfo, type FbVarScreeninfo,
} from "./uapi.js";

/** The id FBIOGET_FSCREENINFO reports. @public */
export const VFB_FB_ID = "vdtb-vfb";
/** How long FBIO_WAITFORVSYNC waits for a vblank interrupt, in ms (six frames at 60 Hz). */
const VSYNC_TIMEOUT_MS = 100;

/** Replaceable pieces of the file operations (for deliberately wrong fixtures). @internal */
export interface VfbFopsHooks {
  mmap?(k: Kernel, fb: VfbFb, vma: VmArea): number | Promise<number>;
}

/** Copy a struct out to user space through a kmalloc'ed bounce buffer: 0, -EFAULT or -ENOMEM. */
function copyStructToUser(k: Kernel, to: UserVA, size: number, fill: (kbuf: KernelVA) => void): number {
  const kbuf = k.kzalloc(size, GFP_KERNEL);
  if (!kbuf) return -ENOMEM;
  fill(kbuf);
  const left = k.copy_to_user(to, kbuf, size);
  k.kfree(kbuf);
  return left ? -EFAULT : 0;
}

/** Copy `fb_var_screeninfo` in from user space. */
function varFromUser(k: Kernel, from: UserVA): FbVarScreeninfo | number {
  const size = fbVarScreeninfo.size;
  const kbuf = k.kmalloc(size, GFP_KERNEL);
  if (!kbuf) return -ENOMEM;
  const left = k.copy_from_user(kbuf, from, size);
  const v = left ? -EFAULT : fbVarScreeninfo.read(k.mem, kbuf);
  k.kfree(kbuf);
  return v;
}

function varToUser(k: Kernel, to: UserVA, v: FbVarScreeninfo): number {
  return copyStructToUser(k, to, fbVarScreeninfo.size, (kbuf) => fbVarScreeninfo.write(k.mem, kbuf, v));
}

/** info->fix for the current mode. @internal */
export function fixOf(fb: VfbFb): FbFixScreeninfo {
  return {
    ...encodeFbId(VFB_FB_ID),
    smem_start: fb.smemStart,
    smem_len: fb.smemLen,
    type: FB_TYPE_PACKED_PIXELS,
    type_aux: 0,
    visual: FB_VISUAL_TRUECOLOR,
    xpanstep: 1,
    ypanstep: 1,
    ywrapstep: 0,
    line_length: fbLineLength(fb.var),
    mmio_start: fb.mmioStart,
    mmio_len: fb.mmioLen,
    accel: 0,
    capabilities: 0,
    reserved0: 0,
    reserved1: 0,
  };
}

async function ioctl(k: Kernel, fb: VfbFb, cmd: number, arg: number): Promise<number> {
  const argp = userVA(arg);
  switch (cmd) {
    case FBIOGET_VSCREENINFO: {
      await k.mutex_lock(fb.lock);
      const v = { ...fb.var };
      k.mutex_unlock(fb.lock);
      return varToUser(k, argp, v);
    }
    case FBIOPUT_VSCREENINFO: {
      const req = varFromUser(k, argp);
      if (typeof req === "number") return req;
      const checked = fbCheckVar(req, fb.limits);
      if (typeof checked === "number") return checked;
      if ((req.activate & FB_ACTIVATE_MASK) !== FB_ACTIVATE_TEST) {
        await k.mutex_lock(fb.lock);
        if (fb.gone) {
          k.mutex_unlock(fb.lock);
          return -ENODEV;
        }
        fb.var = { ...checked, activate: 0 };
        programMode(k, fb);
        k.mutex_unlock(fb.lock);
      }
      return varToUser(k, argp, checked);
    }
    case FBIOGET_FSCREENINFO: {
      const layout = fbFixLayout(fb.longBits);
      await k.mutex_lock(fb.lock);
      const fix = fixOf(fb);
      k.mutex_unlock(fb.lock);
      return copyStructToUser(k, argp, layout.size, (kbuf) => layout.write(k.mem, kbuf, fix));
    }
    case FBIOPAN_DISPLAY: {
      const req = varFromUser(k, argp);
      if (typeof req === "number") return req;
      await k.mutex_lock(fb.lock);
      let r = 0;
      if (fb.gone) r = -ENODEV;
      else if (!fbCheckPan(fb.var, req.xoffset, req.yoffset)) r = -EINVAL;
      else {
        fb.var = { ...fb.var, xoffset: req.xoffset, yoffset: req.yoffset };
        programPan(k, fb);
      }
      k.mutex_unlock(fb.lock);
      return r;
    }
    case FBIO_WAITFORVSYNC: {
      const crtc = k.get_user(argp, 4);
      if (crtc.err) return -EFAULT;
      if (crtc.value !== 0) return -ENODEV;
      const start = fb.vblankCount;
      const left = await k.wait_event_interruptible_timeout(fb.vblankWq, () => fb.vblankCount !== start || fb.gone, k.msecs_to_jiffies(VSYNC_TIMEOUT_MS));
      if (fb.gone) return -ENODEV;
      if (left < 0) return left;
      return left === 0 ? -ETIMEDOUT : 0;
    }
    default:
      return -ENOTTY;
  }
}

/** Move `count` bytes between the framebuffer at `off` and a kernel buffer. */
function screenCopy(k: Kernel, fb: VfbFb, off: number, kbuf: KernelVA, count: number, toScreen: boolean): void {
  if (fb.screenIo !== null) {
    const io = addrAdd(fb.screenIo, off);
    if (toScreen) k.memcpy_toio(io, kbuf, count);
    else k.memcpy_fromio(kbuf, io, count);
  } else {
    const cpu = addrAdd(fb.screenCpu!, off);
    if (toScreen) k.memcpy(cpu, kbuf, count);
    else k.memcpy(kbuf, cpu, count);
  }
}

/**
 * The loop fbmem's read and write share: `count` bytes a page at a time through a kmalloc'ed
 * bounce buffer. `chunk` moves `c` bytes at offset `done` and returns how many it could not copy;
 * a short chunk ends the loop. The bytes moved, else -EFAULT after a fault, -ENOMEM, or 0.
 */
function pageByPage(k: Kernel, count: number, chunk: (bounce: KernelVA, done: number, c: number) => number): number {
  const bounce = k.kmalloc(Math.min(count, PAGE_SIZE), GFP_KERNEL);
  if (!bounce) return -ENOMEM;
  let done = 0, faulted = false;
  while (count > 0 && !faulted) {
    const c = Math.min(count, PAGE_SIZE);
    const left = chunk(bounce, done, c);
    done += c - left;
    faulted = left !== 0;
    count -= c;
  }
  k.kfree(bounce);
  return done ? done : faulted ? -EFAULT : 0;
}

/**
 * fbmem's read: nothing past smem_len (0), the count clipped to the end, copied a page at a
 * time through a bounce buffer; a fault after some bytes returns the bytes copied.
 */
function fbRead(k: Kernel, fb: VfbFb, buf: UserVA, count: number, ppos: LoffT): number {
  if (fb.gone) return -ENODEV;
  const total = fb.smemLen;
  const p = ppos.value;
  if (p >= total) return 0;
  if (count > total) count = total;
  if (count + p > total) count = total - p;
  if (count === 0) return 0;
  const moved = pageByPage(k, count, (bounce, done, c) => {
    screenCopy(k, fb, p + done, bounce, c, false);
    return k.copy_to_user(addrAdd(buf, done), bounce, c);
  });
  if (moved > 0) ppos.value = p + moved;
  return moved;
}

/**
 * fbmem's write: past the end -EFBIG; a count larger than the memory is clipped with -EFBIG
 * pending, one running past the end is clipped with -ENOSPC pending; the bytes written are
 * returned when there are any, else the pending error.
 */
function fbWrite(k: Kernel, fb: VfbFb, buf: UserVA, count: number, ppos: LoffT): number {
  if (fb.gone) return -ENODEV;
  const total = fb.smemLen;
  const p = ppos.value;
  if (p > total) return -EFBIG;
  let err = 0;
  if (count > total) {
    err = -EFBIG;
    count = total;
  }
  if (count + p > total) {
    if (!err) err = -ENOSPC;
    count = total - p;
  }
  if (count === 0) return err;
  const moved = pageByPage(k, count, (bounce, done, c) => {
    const left = k.copy_from_user(bounce, addrAdd(buf, done), c);
    screenCopy(k, fb, p + done, bounce, c - left, true);
    return left;
  });
  if (moved > 0) ppos.value = p + moved;
  return moved !== 0 ? moved : err;
}

/** mmap: page offset 0 is the start of the framebuffer; nothing beyond it is mappable. */
function fbMmap(k: Kernel, fb: VfbFb, vma: VmArea): number {
  if (fb.gone) return -ENODEV;
  const len = vma.vm_end - vma.vm_start;
  const off = vma.vm_pgoff * PAGE_SIZE;
  const total = pageAlignUp(fb.smemLen);
  if (off >= total || len > total - off) return -EINVAL;
  if (fb.memory === "sysram") return k.dma_mmap_wc(fb.pdev, vma, fb.screenCpu!, fb.dmaHandle!, fb.smemLen);
  vma.vm_page_prot = k.pgprot_writecombine(vma.vm_page_prot);
  return k.io_remap_pfn_range(vma, vma.vm_start, (fb.smemStart + off) / PAGE_SIZE, len, vma.vm_page_prot);
}

/** The file operations of one framebuffer. @internal */
export function vfbFileOperations(fb: VfbFb, hooks: VfbFopsHooks = {}): FileOperations {
  return {
    open(_k, _inode, file) {
      if (fb.gone) return -ENODEV;
      file.private_data = fb;
      return 0;
    },
    release() {
      return 0;
    },
    read: (k, _file, buf, count, ppos) => fbRead(k, fb, buf, count, ppos),
    write: (k, _file, buf, count, ppos) => fbWrite(k, fb, buf, count, ppos),
    llseek(_k, file, offset, whence) {
      const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? file.f_pos : whence === SEEK_END ? fb.smemLen : NaN;
      const pos = base + offset;
      if (!(pos >= 0)) return -EINVAL;
      file.f_pos = pos;
      return pos;
    },
    unlocked_ioctl: (k, _file, cmd, arg) => (fb.gone ? -ENODEV : ioctl(k, fb, cmd, arg)),
    mmap: (k, _file, vma) => (hooks.mmap ? hooks.mmap(k, fb, vma) : fbMmap(k, fb, vma)),
  };
}
