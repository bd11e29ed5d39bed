/**
 * The `sgdma` PCI driver (1234:5344): an XDMA-style driver for the vdtb SG-DMA endpoint. Probe
 * enables the function, maps BAR0 (registers; BAR2, the card memory, is only sized), enables bus
 * mastering, sets a 64-bit DMA mask falling back to 32 and a segment limit of one descriptor's
 * length, allocates one coherent descriptor ring per engine, gets one or two MSI vectors (INTx
 * fallback), enables the engine interrupts and registers the misc device `/dev/sgdmaN`. `write` moves a user buffer host→card and `read`
 * card→host at the file position (`lseek` selects the card offset); see xfer.ts.
 *
 * Everything probe sets up is managed (pcim/devm/dmam), so a failing probe unwinds by itself and
 * remove only deregisters the misc device, then waits for transfers still in flight (each engine's
 * lock) before devres unmaps the registers and frees the rings: on a surprise removal a transfer
 * may still be waiting for its (never coming) completion.
 */
import {
  DMA_BIT_MASK, EINVAL, ENODEV, ENOMEM, GFP_KERNEL, IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, MISC_DYNAMIC_MINOR, PAGE_SIZE,
  PCI_IRQ_INTX, PCI_IRQ_MSI, SEEK_CUR, SEEK_END, SEEK_SET, addrAdd,
} from "../../sdk/index.js";
import type { FileOperations, IoMem, IrqReturn, Kernel, MiscDevice, PciDev, PciDriver } from "../../sdk/index.js";
import { engineIrqOn, engineOff, engineService, newEngine, type Engine } from "./engine.js";
import { BAR_CARD, BAR_REGS, CHANNEL_BIT, DESC_LEN_FIELD_MAX, ENGINE_BASE, ENGINE_ID, Eng, Irq, SgdmaDesc } from "./hw.js";
import { sgdmaReadWrite, type SgdmaCard, type SgdmaHooks } from "./xfer.js";

/** Options of {@link sgdmaDriver}. @public */
export interface SgdmaDriverOptions {
  /** Driver name (default "sgdma"). */
  readonly name?: string;
  /**
   * DMA addressing the driver claims: 64 (default; falls back to 32 when the platform refuses) or
   * 32 (a card wired for 32 address bits: buffers above 4 GiB are bounced or IOMMU-translated).
   */
  readonly dmaBits?: 64 | 32;
  /** Descriptors per engine ring: a power of two, 64 … 4096 (default 2048, a 64 KiB ring). */
  readonly ringDescriptors?: number;
  /** Longest descriptor built, 1 … 2^28−1 (default 2^28 − 4096, so splits stay page aligned). */
  readonly maxDescLen?: number;
  /** Interrupts: MSI with INTx fallback (default) or INTx only. */
  readonly irq?: "msi" | "intx";
  /** Completion timeout of each engine run in milliseconds, on top of 1 ms per 100 KB (default 1000). */
  readonly timeoutMs?: number;
}

/** Default longest descriptor: 2^28 − PAGE_SIZE. @public */
export const SGDMA_MAX_DESC_LEN = 0x10000000 - PAGE_SIZE;
/** Default ring size in descriptors. @public */
export const SGDMA_RING_DESCRIPTORS = 2048;
/** Pages a read or write pins and maps at once (256 MiB); a longer request goes in several steps. */
const SGDMA_CHUNK_PAGES = 65536;

/** One bound card. */
interface Card extends SgdmaCard {
  readonly k: Kernel;
  readonly bar0: IoMem;
  readonly misc: MiscDevice;
  readonly index: number;
  readonly nvec: number;
}

interface Resolved {
  readonly name: string;
  readonly dmaBits: 64 | 32;
  readonly ringDescs: number;
  readonly maxDescLen: number;
  readonly irq: "msi" | "intx";
  readonly timeoutMs: number;
}

function resolve(o: SgdmaDriverOptions): Resolved {
  let ring = SGDMA_RING_DESCRIPTORS;
  if (o.ringDescriptors !== undefined && Number.isInteger(o.ringDescriptors) && o.ringDescriptors >= 64 && o.ringDescriptors <= 4096 && (o.ringDescriptors & (o.ringDescriptors - 1)) === 0) {
    ring = o.ringDescriptors;
  }
  const max = o.maxDescLen !== undefined && Number.isInteger(o.maxDescLen) && o.maxDescLen >= 1 && o.maxDescLen <= DESC_LEN_FIELD_MAX ? o.maxDescLen : SGDMA_MAX_DESC_LEN;
  return {
    name: o.name ?? "sgdma",
    dmaBits: o.dmaBits === 32 ? 32 : 64,
    ringDescs: ring,
    maxDescLen: max,
    irq: o.irq === "intx" ? "intx" : "msi",
    timeoutMs: o.timeoutMs !== undefined && o.timeoutMs > 0 ? o.timeoutMs : 1000,
  };
}

/** Interrupt handler of one vector: services the engines routed to it. */
function irqHandler(k: Kernel, bar0: IoMem, engines: readonly Engine[]): () => IrqReturn {
  return () => {
    const req = k.readl(addrAdd(bar0, Irq.CHAN_INT_REQ));
    if (req === 0xffffffff) return IRQ_NONE; // the device is gone
    let handled = false;
    for (const e of engines) {
      if (req & e.chanBit) {
        engineService(k, e);
        handled = true;
      }
    }
    return handled ? IRQ_HANDLED : IRQ_NONE;
  };
}

function fileOps(card: Card): FileOperations {
  return {
    open: () => 0,
    release: () => 0,
    read: (k, _file, buf, count, ppos) => sgdmaReadWrite(k, card, buf, count, ppos, false),
    write: (k, _file, buf, count, ppos) => sgdmaReadWrite(k, card, buf, count, ppos, true),
    llseek: (_k, file, offset, whence) => {
      let base: number;
      if (whence === SEEK_SET) base = 0;
      else if (whence === SEEK_CUR) base = file.f_pos;
      else if (whence === SEEK_END) base = card.cardSize;
      else return -EINVAL;
      const pos = base + offset;
      if (!Number.isInteger(pos) || pos < 0 || pos > card.cardSize) return -EINVAL;
      file.f_pos = pos;
      return pos;
    },
  };
}

/** The DMA mask: 64 bits falling back to 32, or 32 only. 0 or a negative errno. */
function setDmaMask(k: Kernel, pdev: PciDev, bits: 64 | 32, name: string): number {
  let r = bits === 64 ? k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(64)) : -EINVAL;
  if (r) r = k.dma_set_mask_and_coherent(pdev, DMA_BIT_MASK(32));
  if (r) k.dev_err(pdev, `${name}: no usable DMA configuration`);
  return r;
}

function makeDriver(o: Resolved, hooks: SgdmaHooks): PciDriver {
  const used = new Set<number>();

  async function probe(k: Kernel, pdev: PciDev): Promise<number> {
    const name = o.name;
    let r = k.pcim_enable_device(pdev);
    if (r) return r;
    r = k.pcim_iomap_regions(pdev, 1 << BAR_REGS, name);
    if (r) return r;
    const bar0 = k.pcim_iomap_table(pdev)[BAR_REGS];
    if (!bar0) return -ENOMEM;
    const h2cId = k.readl(addrAdd(bar0, ENGINE_BASE.h2c + Eng.ID)) >>> 16;
    const c2hId = k.readl(addrAdd(bar0, ENGINE_BASE.c2h + Eng.ID)) >>> 16;
    if (h2cId !== ENGINE_ID.h2c || c2hId !== ENGINE_ID.c2h) {
      k.dev_err(pdev, `${name}: engine ids 0x${h2cId.toString(16)}/0x${c2hId.toString(16)}, expected 0x1fc0/0x1fc1`);
      return -ENODEV;
    }
    const cardSize = k.pci_resource_len(pdev, BAR_CARD);
    if (!cardSize) return -ENODEV;

    k.pci_set_master(pdev);
    r = setDmaMask(k, pdev, o.dmaBits, name);
    if (r) return r;
    // A descriptor carries up to SGDMA_MAX_DESC_LEN bytes, so say so: with the PCI default of
    // 64 KiB an IOMMU-merged list would come back cut into 64 KiB segments, one descriptor each.
    r = k.dma_set_max_seg_size(pdev, SGDMA_MAX_DESC_LEN);
    if (r) return r;

    const ringBytes = o.ringDescs * SgdmaDesc.size;
    const h2cRing = k.dmam_alloc_coherent(pdev, ringBytes, GFP_KERNEL);
    if (!h2cRing) return -ENOMEM;
    const c2hRing = k.dmam_alloc_coherent(pdev, ringBytes, GFP_KERNEL);
    if (!c2hRing) return -ENOMEM;
    const h2c = newEngine(k, bar0, "h2c", h2cRing, o.ringDescs);
    const c2h = newEngine(k, bar0, "c2h", c2hRing, o.ringDescs);
    engineOff(k, h2c);
    engineOff(k, c2h);

    let nvec = k.pci_alloc_irq_vectors(pdev, 1, 2, o.irq === "msi" ? PCI_IRQ_MSI | PCI_IRQ_INTX : PCI_IRQ_INTX);
    if (nvec < 0 && o.irq === "msi") nvec = k.pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_INTX);
    if (nvec < 0) return nvec;

    let index = 0;
    while (used.has(index)) index++;
    const card: Card = {
      k,
      pdev,
      bar0,
      name,
      index,
      nvec,
      cardSize,
      maxDescLen: o.maxDescLen,
      chunkPages: SGDMA_CHUNK_PAGES,
      timeoutMs: o.timeoutMs,
      hooks,
      h2c,
      c2h,
      pages: { h2c: [], c2h: [] },
      sgt: { h2c: { sgl: [], nents: 0, orig_nents: 0 }, c2h: { sgl: [], nents: 0, orig_nents: 0 } },
      misc: undefined as unknown as MiscDevice,
    };
    (card as { misc: MiscDevice }).misc = { minor: MISC_DYNAMIC_MINOR, name: `sgdma${index}`, fops: fileOps(card), parent: pdev };

    // Two vectors: H2C on 0, C2H on 1 (the device's routing); one vector (MSI or INTx) serves both.
    const routes: Engine[][] = nvec >= 2 ? [[h2c], [c2h]] : [[h2c, c2h]];
    for (let v = 0; v < routes.length; v++) {
      const irq = k.pci_irq_vector(pdev, v);
      if (irq < 0) return irq;
      r = k.devm_request_irq(pdev, irq, irqHandler(k, bar0, routes[v]!), IRQF_SHARED, name, card);
      if (r) return r;
    }
    engineIrqOn(k, h2c);
    engineIrqOn(k, c2h);
    k.writel(CHANNEL_BIT.h2c | CHANNEL_BIT.c2h, addrAdd(bar0, Irq.CHAN_INT_EN_W1S));
    r = k.devm_add_action_or_reset(pdev, function sgdma_irq_off() {
      k.writel(CHANNEL_BIT.h2c | CHANNEL_BIT.c2h, addrAdd(bar0, Irq.CHAN_INT_EN_W1C));
      engineOff(k, h2c);
      engineOff(k, c2h);
    }, null);
    if (r) return r;

    r = k.misc_register(card.misc);
    if (r) return r;
    used.add(index);
    k.pci_set_drvdata(pdev, card);
    k.dev_info(pdev, `${name}: /dev/sgdma${index}, ${cardSize >> 10} KiB card memory, ${o.ringDescs}-descriptor rings, ${nvec === 2 ? "2 vectors" : "1 vector"} (irq ${pdev.irq}), ${k.dma_get_mask(pdev) > 0xffffffff ? 64 : 32}-bit DMA`);
    return 0;
  }

  async function remove(k: Kernel, pdev: PciDev): Promise<void> {
    const card = k.pci_get_drvdata<Card | undefined>(pdev);
    if (!card) return;
    k.misc_deregister(card.misc);
    for (const e of [card.h2c, card.c2h]) {
      await k.mutex_lock(e.lock);
      k.mutex_unlock(e.lock);
    }
    k.sg_free_table(card.sgt.h2c);
    k.sg_free_table(card.sgt.c2h);
    used.delete(card.index);
  }

  return {
    bus: "pci",
    name: o.name,
    deviceClass: "sgdma",
    idTable: [{ vendor: 0x1234, device: 0x5344 }],
    probe,
    remove,
  };
}

/** The driver with replaced steps (deliberately wrong fixtures). @internal */
export function sgdmaDriverWithHooks(options: SgdmaDriverOptions, hooks: SgdmaHooks): PciDriver {
  return makeDriver(resolve(options), hooks);
}

/**
 * The `sgdma` driver: `sgdmaDriver()` claims 64-bit DMA, `sgdmaDriver({ dmaBits: 32 })` models a
 * card wired for 32 address bits.
 * @public
 */
export function sgdmaDriver(options: SgdmaDriverOptions = {}): PciDriver {
  return makeDriver(resolve(options), {});
}

/** The default `sgdma` driver. @public */
export const sgdmaPciDriver: PciDriver = sgdmaDriver();
