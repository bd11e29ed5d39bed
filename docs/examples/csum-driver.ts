/**
 * Guide sample (docs/writing-a-driver.md): the driver of the csum device. Writing bytes to
 * /dev/csum makes the device add them up by DMA; reading 4 bytes returns the sum. It imports only
 * `vdtb/sdk`.
 *
 * `bugs` switches on deliberate mistakes for docs/detectors.md; a real driver has no such thing.
 */
import {
  DMA_BIT_MASK, DMA_TO_DEVICE, EFAULT, EINVAL, EIO, ENODEV, ENOMEM, ETIMEDOUT, GFP_KERNEL,
  IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, MISC_DYNAMIC_MINOR, addrAdd,
  type Completion, type IoMem, type IrqReturn, type Kernel, type MiscDevice, type Mutex, type PciDev, type PciDriver, type UserVA,
} from "vdtb/sdk";

const ID = 0x00, CTRL = 0x04, STATUS = 0x08, ADDR_LO = 0x0c, ADDR_HI = 0x10, LEN = 0x14, DOORBELL = 0x18, SUM = 0x1c;
const CTRL_IE = 1, STATUS_DONE = 1, STATUS_ERR = 2;
const CSUM_ID = 0x4353554d;
const MAX_WRITE = 4096;

/** Deliberate bugs, for the detector guide. */
export interface CsumBugs {
  /** Forget to kfree the bounce buffer after a transfer. */
  readonly leakBuffer?: boolean;
  /** Copy the user data in after dma_map_single (the CPU writes a buffer the device owns). */
  readonly fillAfterMap?: boolean;
  /** Zero the buffer before dma_unmap_single, while the device still owns it. */
  readonly scrubBeforeUnmap?: boolean;
  /** Allocate with GFP_KERNEL inside the interrupt handler. */
  readonly allocInIrq?: boolean;
}

interface CsumPriv {
  readonly regs: IoMem;
  readonly done: Completion;
  readonly lock: Mutex;
  status: number;
  sum: number;
  misc: MiscDevice;
}

async function transfer(k: Kernel, pdev: PciDev, priv: CsumPriv, buf: UserVA, count: number, bugs: CsumBugs): Promise<number> {
  const data = k.kmalloc(count, GFP_KERNEL);
  if (!data) return -ENOMEM;
  if (!bugs.fillAfterMap && k.copy_from_user(data, buf, count) !== 0) {
    k.kfree(data);
    return -EFAULT;
  }
  const bus = k.dma_map_single(pdev, data, count, DMA_TO_DEVICE);
  if (k.dma_mapping_error(pdev, bus)) {
    k.kfree(data);
    return -ENOMEM;
  }
  if (bugs.fillAfterMap) k.copy_from_user(data, buf, count);
  k.reinit_completion(priv.done);
  k.writel(bus % 2 ** 32, addrAdd(priv.regs, ADDR_LO));
  k.writel(Math.floor(bus / 2 ** 32), addrAdd(priv.regs, ADDR_HI));
  k.writel(count, addrAdd(priv.regs, LEN));
  k.writel(1, addrAdd(priv.regs, DOORBELL));
  const left = await k.wait_for_completion_timeout(priv.done, k.msecs_to_jiffies(100));
  if (bugs.scrubBeforeUnmap) k.memset(data, 0, count);
  k.dma_unmap_single(pdev, bus, count, DMA_TO_DEVICE);
  if (!bugs.leakBuffer) k.kfree(data);
  if (left === 0) return -ETIMEDOUT;
  return priv.status & STATUS_ERR ? -EIO : count;
}

/** The csum PCI driver (pass `bugs` only to reproduce the detector guide's reports). */
export function csumDriver(bugs: CsumBugs = {}): PciDriver {
  return {
    name: "csum",
    bus: "pci",
    idTable: [{ vendor: 0x1234, device: 0xc5c5 }],

    async probe(k: Kernel, pdev: PciDev): Promise<number> {
      let err = k.pcim_enable_device(pdev);
      if (err) return err;
      err = k.pcim_iomap_regions(pdev, 1 << 0, "csum");
      if (err) return err;
      const regs = k.pcim_iomap_table(pdev)[0];
      if (!regs) return -ENOMEM;
      if (k.readl(addrAdd(regs, ID)) !== CSUM_ID) return -ENODEV;
      err = k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(32));
      if (err) return err;
      k.pci_set_master(pdev);

      const priv: CsumPriv = {
        regs,
        done: k.init_completion(),
        lock: k.mutex_init("csum"),
        status: 0,
        sum: 0,
        misc: {
          minor: MISC_DYNAMIC_MINOR,
          name: "csum",
          parent: pdev,
          fops: {
            write: async (kf, _file, buf, count) => {
              if (count < 1 || count > MAX_WRITE) return -EINVAL;
              await kf.mutex_lock(priv.lock);
              try {
                return await transfer(kf, pdev, priv, buf, count, bugs);
              } finally {
                kf.mutex_unlock(priv.lock);
              }
            },
            read: (kf, _file, buf, count) => {
              if (count < 4) return -EINVAL;
              return kf.put_user(priv.sum, buf, 4) === 0 ? 4 : -EFAULT;
            },
          },
        },
      };

      const handler = (): IrqReturn => {
        const status = k.readl(addrAdd(regs, STATUS));
        if ((status & (STATUS_DONE | STATUS_ERR)) === 0) return IRQ_NONE; // shared line: not ours
        if (bugs.allocInIrq) k.kfree(k.kmalloc(16, GFP_KERNEL));
        priv.status = status;
        priv.sum = k.readl(addrAdd(regs, SUM));
        k.writel(status & (STATUS_DONE | STATUS_ERR), addrAdd(regs, STATUS)); // write 1 to clear
        k.complete(priv.done);
        return IRQ_HANDLED;
      };
      err = k.devm_request_irq(pdev, pdev.irq, handler, IRQF_SHARED, "csum", priv);
      if (err) return err;
      k.writel(CTRL_IE, addrAdd(regs, CTRL));
      k.pci_set_drvdata(pdev, priv);
      err = k.misc_register(priv.misc);
      if (err) {
        k.writel(0, addrAdd(regs, CTRL));
        return err;
      }
      k.dev_info(pdev, `csum ready, irq ${pdev.irq}`);
      return 0;
    },

    remove(k: Kernel, pdev: PciDev): void {
      const priv = k.pci_get_drvdata<CsumPriv>(pdev);
      k.misc_deregister(priv.misc);
      k.writel(0, addrAdd(priv.regs, CTRL));
    },
  };
}
