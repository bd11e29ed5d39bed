/**
 * The isa-stream ISA driver: a Sound-Blaster-like card streaming through the 8237. Probe claims
 * the ports (managed), both DMA channels, the IRQ (managed) and a ZONE_DMA ring from the page
 * allocator (order 3: naturally aligned, so it never crosses a 64 KiB boundary), then registers
 * /dev/isa-stream. Writes play, reads capture, ioctls configure; see uapi.ts.
 *
 * The file operations and the IRQ handler use the facade `probe` was given, so everything the
 * driver does is attributed to it.
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOMEM,
  ENOTTY,
  ETIMEDOUT,
  DMA_BIT_MASK,
  GFP_KERNEL,
  IRQ_HANDLED,
  IRQ_NONE,
  MISC_DYNAMIC_MINOR,
  addrAdd,
  ioPort,
  type FileOperations,
  type IrqReturn,
  type IsaDev,
  type IsaDriver,
  type Kernel,
  type MiscDevice,
  type UserVA,
} from "../../sdk/index.js";
import { CARD_ID, PORT_COUNT, Reg, Status } from "./hw.js";
import { Stream, type Ring } from "./stream.js";
import {
  ISA_STREAM_DEFAULTS,
  ISA_STREAM_DRAIN,
  ISA_STREAM_GET_HWPTR,
  ISA_STREAM_GET_POS,
  ISA_STREAM_GET_RING,
  ISA_STREAM_GET_XRUNS,
  ISA_STREAM_RING_BYTES,
  ISA_STREAM_SET_AUTOINIT,
  ISA_STREAM_SET_BLOCK,
  ISA_STREAM_SET_RATE,
  ISA_STREAM_SET_WIDTH,
} from "./uapi.js";

/** Driver and /dev name. @public */
export const ISA_STREAM_NAME = "isa-stream";

interface Card {
  readonly k: Kernel;
  readonly dev: IsaDev;
  readonly base: number;
  readonly irq: number;
  readonly stream: Stream;
  readonly misc: MiscDevice;
  open: boolean;
  /** The card was unbound while a file was still open: every file operation fails. */
  gone: boolean;
}

/**
 * The ring: coherent DMA memory of the card (as ALSA's snd_dma_alloc_pages for an ISA card). With
 * the card's 24-bit mask it comes from ZONE_DMA, below 16 MiB; 32 KiB is a naturally aligned
 * order-3 block, so it never crosses a 64 KiB boundary. Managed: freed at unbind.
 */
function allocRing(k: Kernel, dev: IsaDev): Ring | null {
  const buf = k.dmam_alloc_coherent(dev, ISA_STREAM_RING_BYTES, GFP_KERNEL);
  if (!buf) return null;
  return { va: buf.cpu, phys: buf.handle, bytes: ISA_STREAM_RING_BYTES };
}

function irqHandler(card: Card): (irq: number, devId: unknown) => IrqReturn {
  return () => {
    const { k, base, stream } = card;
    if ((k.inb(ioPort(base + Reg.STATUS)) & Status.IRQ_PENDING) === 0) return IRQ_NONE;
    k.outb(0, ioPort(base + Reg.IRQ_ACK));
    k.spin_lock(stream.lock);
    stream.interrupt();
    k.spin_unlock(stream.lock);
    k.wake_up_interruptible(stream.wq);
    return IRQ_HANDLED;
  };
}

async function drain(card: Card): Promise<number> {
  const { k, stream } = card;
  let flags = k.spin_lock_irqsave(stream.lock);
  if (!stream.isPlayback || stream.appl === stream.hw) {
    k.spin_unlock_irqrestore(stream.lock, flags);
    return 0;
  }
  stream.draining = true;
  stream.maybeStartPlayback();
  const queued = stream.appl - stream.hw;
  k.spin_unlock_irqrestore(stream.lock, flags);
  // Twice the playing time of what is queued, plus slack.
  const ms = Math.ceil((2 * queued) / card.stream.config.rate) + 100;
  const left = await k.wait_event_timeout(stream.wq, () => !stream.running, k.msecs_to_jiffies(ms));
  flags = k.spin_lock_irqsave(stream.lock);
  stream.draining = false;
  if (left === 0) stream.stop();
  k.spin_unlock_irqrestore(stream.lock, flags);
  return left === 0 ? -ETIMEDOUT : 0;
}

function fileOps(card: Card): FileOperations {
  const { k, stream } = card;
  return {
    open: () => {
      if (card.open) return -EBUSY;
      card.open = true;
      stream.reset();
      Object.assign(stream.config, { ...ISA_STREAM_DEFAULTS, autoinit: ISA_STREAM_DEFAULTS.autoinit === 1 });
      stream.configure();
      return 0;
    },

    release: async () => {
      if (card.gone) {
        card.open = false;
        return 0;
      }
      if (stream.isPlayback) await drain(card);
      const flags = k.spin_lock_irqsave(stream.lock);
      stream.stop();
      stream.reset();
      k.spin_unlock_irqrestore(stream.lock, flags);
      card.open = false;
      return 0;
    },

    write: async (_k, _file, buf: UserVA, count: number) => {
      if (card.gone) return -ENODEV;
      if (count === 0) return 0;
      if (stream.config.width === 16 && count % 2 !== 0) return -EINVAL;
      let flags = k.spin_lock_irqsave(stream.lock);
      if (!stream.claim(true)) {
        k.spin_unlock_irqrestore(stream.lock, flags);
        return -EBUSY;
      }
      k.spin_unlock_irqrestore(stream.lock, flags);
      let done = 0;
      while (done < count) {
        flags = k.spin_lock_irqsave(stream.lock);
        stream.rebaseIfEmpty();
        const room = stream.bufferBytes - (stream.appl - stream.hw);
        if (room === 0) {
          stream.maybeStartPlayback();
          k.spin_unlock_irqrestore(stream.lock, flags);
          const err = await k.wait_event_interruptible(stream.wq, () => card.gone || stream.bufferBytes - (stream.appl - stream.hw) > 0 || !stream.running);
          if (err) return done || err;
          if (card.gone) return done || -ENODEV;
          continue;
        }
        const off = stream.offsetOf(stream.appl);
        k.spin_unlock_irqrestore(stream.lock, flags);
        const n = Math.min(room, count - done, stream.bufferBytes - off);
        if (k.copy_from_user(stream.at(off), addrAdd(buf, done), n) !== 0) return done || -EFAULT;
        flags = k.spin_lock_irqsave(stream.lock);
        stream.appl += n;
        stream.maybeStartPlayback();
        k.spin_unlock_irqrestore(stream.lock, flags);
        done += n;
      }
      return done;
    },

    read: async (_k, _file, buf: UserVA, count: number) => {
      if (card.gone) return -ENODEV;
      const want = stream.config.width === 16 ? count & ~1 : count;
      if (want <= 0) return count === 0 ? 0 : -EINVAL;
      let flags = k.spin_lock_irqsave(stream.lock);
      if (!stream.claim(false)) {
        k.spin_unlock_irqrestore(stream.lock, flags);
        return -EBUSY;
      }
      for (;;) {
        stream.maybeStartCapture();
        const avail = stream.hw - stream.appl;
        if (avail > 0) break;
        k.spin_unlock_irqrestore(stream.lock, flags);
        const err = await k.wait_event_interruptible(stream.wq, () => card.gone || stream.hw - stream.appl > 0 || !stream.running);
        if (err) return err;
        if (card.gone) return -ENODEV;
        flags = k.spin_lock_irqsave(stream.lock);
      }
      const off = stream.offsetOf(stream.appl);
      const n = Math.min(stream.hw - stream.appl, want, stream.bufferBytes - off);
      k.spin_unlock_irqrestore(stream.lock, flags);
      if (k.copy_to_user(buf, stream.at(off), n) !== 0) return -EFAULT;
      flags = k.spin_lock_irqsave(stream.lock);
      stream.appl += n;
      stream.maybeStartCapture();
      k.spin_unlock_irqrestore(stream.lock, flags);
      return n;
    },

    unlocked_ioctl: async (_k, _file, cmd: number, arg: number) => {
      if (card.gone) return -ENODEV;
      switch (cmd >>> 0) {
        case ISA_STREAM_DRAIN:
          return drain(card);
        case ISA_STREAM_GET_POS: {
          const flags = k.spin_lock_irqsave(stream.lock);
          const pos = stream.position();
          k.spin_unlock_irqrestore(stream.lock, flags);
          return pos;
        }
        case ISA_STREAM_GET_XRUNS:
          return stream.xruns;
        case ISA_STREAM_GET_HWPTR:
          return stream.hw;
        case ISA_STREAM_GET_RING:
          return stream.bufferBytes;
      }
      if (stream.running || stream.filled !== 0) return -EBUSY;
      const cfg = stream.config;
      switch (cmd >>> 0) {
        case ISA_STREAM_SET_RATE:
          if (!Number.isInteger(arg) || arg < 1 || arg > 0xffff) return -EINVAL;
          cfg.rate = arg;
          return 0;
        case ISA_STREAM_SET_WIDTH:
          if (arg !== 8 && arg !== 16) return -EINVAL;
          if (arg === 16 && cfg.block % 2 !== 0) return -EINVAL;
          cfg.width = arg;
          return 0;
        case ISA_STREAM_SET_BLOCK:
          if (!Number.isInteger(arg) || arg < 2 || arg > stream.ring.bytes / 2 || (cfg.width === 16 && arg % 2 !== 0)) return -EINVAL;
          cfg.block = arg;
          stream.configure();
          return 0;
        case ISA_STREAM_SET_AUTOINIT:
          cfg.autoinit = arg !== 0;
          return 0;
        default:
          return -ENOTTY;
      }
    },
  };
}

/** The isa-stream driver. @public */
export const isaStreamDriver: IsaDriver = {
  name: ISA_STREAM_NAME,
  bus: "isa",
  deviceClass: "isa-stream",
  idTable: ["isa-stream"],

  async probe(k: Kernel, dev: IsaDev): Promise<number> {
    const res = dev.ports[0];
    const [dma8, dma16] = dev.dmaChannels;
    const irq = dev.irqs[0];
    if (!res || dma8 === undefined || dma16 === undefined || irq === undefined) return -ENODEV;
    const base = res.start;
    if (!k.devm_request_region(dev, ioPort(base), PORT_COUNT, ISA_STREAM_NAME)) return -EBUSY;
    if (k.inb(ioPort(base + Reg.ID_RESET)) !== CARD_ID) return -ENODEV;
    k.outb(1, ioPort(base + Reg.ID_RESET));

    // ISA DMA reaches 24 address bits.
    let ret = k.dma_set_mask_and_coherent(dev, DMA_BIT_MASK(24));
    if (ret) return ret;
    const ring = allocRing(k, dev);
    if (!ring) return -ENOMEM;
    ret = k.request_dma(dma8, ISA_STREAM_NAME);
    if (ret) return ret;
    ret = k.request_dma(dma16, ISA_STREAM_NAME);
    if (ret) {
      k.free_dma(dma8);
      return ret;
    }
    const stream = new Stream(k, base, ring, { dma8, dma16 }, { ...ISA_STREAM_DEFAULTS, autoinit: true, width: 8 });
    const card: Card = { k, dev, base, irq, stream, misc: undefined as unknown as MiscDevice, open: false, gone: false };
    (card as { misc: MiscDevice }).misc = { minor: MISC_DYNAMIC_MINOR, name: ISA_STREAM_NAME, fops: fileOps(card), parent: dev };

    const unwind = (err: number): number => {
      k.free_dma(dma16);
      k.free_dma(dma8);
      return err;
    };
    ret = k.devm_request_irq(dev, irq, irqHandler(card), 0, ISA_STREAM_NAME, card);
    if (ret) return unwind(ret);
    k.dev_set_drvdata(dev, card);
    ret = k.misc_register(card.misc);
    if (ret) {
      k.devm_free_irq(dev, irq, card);
      return unwind(ret);
    }
    k.dev_info(dev, `ports 0x${base.toString(16)}, irq ${irq}, dma ${dma8}/${dma16}, ring ${ring.bytes} bytes at 0x${ring.phys.toString(16)}`);
    return 0;
  },

  remove(k: Kernel, dev: IsaDev): void {
    const card = k.dev_get_drvdata<Card>(dev);
    k.misc_deregister(card.misc);
    const flags = k.spin_lock_irqsave(card.stream.lock);
    card.stream.stop();
    card.gone = true;
    k.spin_unlock_irqrestore(card.stream.lock, flags);
    k.wake_up_interruptible(card.stream.wq);
    k.devm_free_irq(dev, card.irq, card);
    const [dma8, dma16] = dev.dmaChannels;
    k.free_dma(dma16!);
    k.free_dma(dma8!);
  },
};
