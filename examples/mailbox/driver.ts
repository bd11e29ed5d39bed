/**
 * An out-of-tree driver for the mailbox: `/dev/mailbox` where writing a 4-byte word sends a
 * request and reading returns the reply. Managed resources (devm_*) only, so remove has little
 * to undo. It imports nothing but the public `vdtb/sdk` entry.
 */
import {
  EFAULT, EINVAL, EIO, ENOMEM, ETIMEDOUT, GFP_KERNEL, IRQ_HANDLED, IRQ_NONE, IS_ERR, MISC_DYNAMIC_MINOR, PTR_ERR,
  addrAdd,
  type Completion, type IoMem, type Kernel, type KernelVA, type MiscDevice, type Mutex, type PlatformDev, type PlatformDriver,
} from "vdtb/sdk";

const CTRL = 0x04, STATUS = 0x08, REQUEST = 0x0c, REPLY = 0x10;
const CTRL_EN = 1, CTRL_IE = 2;

interface MailboxPriv {
  regs: IoMem;
  done: Completion;
  /** One request at a time; remove takes it to wait for a request still in flight. */
  lock: Mutex;
  /** A kernel bounce word for copy_{from,to}_user. */
  word: KernelVA;
  reply: number;
  misc: MiscDevice;
}

/** The mailbox platform driver. */
export const mailboxDriver: PlatformDriver = {
  name: "mailbox",
  bus: "platform",
  ofMatchTable: ["vdtb,mailbox"],

  probe(k: Kernel, pdev: PlatformDev): number {
    const regs = k.devm_platform_ioremap_resource(pdev, 0);
    if (IS_ERR(regs)) return PTR_ERR(regs);
    const irq = k.platform_get_irq(pdev, 0);
    if (irq < 0) return irq;
    const word = k.devm_kzalloc(pdev, 4, GFP_KERNEL);
    if (!word) return -ENOMEM;
    const priv: MailboxPriv = {
      regs,
      done: k.init_completion(),
      lock: k.mutex_init(),
      word,
      reply: 0,
      misc: {
        minor: MISC_DYNAMIC_MINOR,
        name: "mailbox",
        parent: pdev,
        fops: {
          write: async (k2, _file, buf, count) => {
            if (count !== 4) return -EINVAL;
            await k2.mutex_lock(priv.lock);
            try {
              if (k2.copy_from_user(priv.word, buf, 4) !== 0) return -EFAULT;
              k2.reinit_completion(priv.done);
              k2.writel(k2.mem.read32(priv.word), addrAdd(priv.regs, REQUEST));
              const left = await k2.wait_for_completion_timeout(priv.done, k2.msecs_to_jiffies(10));
              if (left !== 0) return 4;
              // No interrupt came (lost, or late): acknowledge whatever the device latched so its
              // line drops and the next request raises a fresh interrupt.
              k2.writel(1, addrAdd(priv.regs, STATUS));
              return -ETIMEDOUT;
            } finally {
              k2.mutex_unlock(priv.lock);
            }
          },
          read: (k2, _file, buf, count) => {
            if (count < 4) return -EINVAL;
            k2.mem.write32(priv.word, priv.reply);
            return k2.copy_to_user(buf, priv.word, 4) === 0 ? 4 : -EFAULT;
          },
        },
      },
    };
    const handler = (): 0 | 1 => {
      if ((k.readl(addrAdd(regs, STATUS)) & 1) === 0) return IRQ_NONE;
      priv.reply = k.readl(addrAdd(regs, REPLY));
      k.writel(1, addrAdd(regs, STATUS));
      k.complete(priv.done);
      return IRQ_HANDLED;
    };
    const err = k.devm_request_irq(pdev, irq, handler, 0, "mailbox", priv);
    if (err) return err;
    if (k.readl(regs) !== 0x4d424f58) return -EIO;
    k.writel(CTRL_EN | CTRL_IE, addrAdd(regs, CTRL));
    k.dev_set_drvdata(pdev, priv);
    const ret = k.misc_register(priv.misc);
    if (ret) return ret;
    k.dev_info(pdev, `mailbox ready, irq ${irq}`);
    return 0;
  },

  async remove(k: Kernel, pdev: PlatformDev): Promise<void> {
    const priv = k.dev_get_drvdata<MailboxPriv>(pdev);
    k.misc_deregister(priv.misc);
    // A request may still wait for its answer (the device was unplugged): let it finish before
    // devres unmaps the registers.
    await k.mutex_lock(priv.lock);
    k.writel(0, addrAdd(priv.regs, CTRL));
    k.mutex_unlock(priv.lock);
  },
};
