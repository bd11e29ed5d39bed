/**
 * The user-buffer path of read/write: pin the user pages, describe them with an sg table, map it,
 * program descriptors from the mapped segments, run the engine and wait for its interrupt, then
 * unmap (with the original entry count) and unpin (dirty for card→host).
 *
 * A request is pinned and mapped in chunks of up to `chunkPages` pages (256 MiB); a chunk whose
 * descriptors outnumber the ring runs the engine several times, as XDMA splits such requests.
 */
import {
  DMA_FROM_DEVICE, DMA_TO_DEVICE, EFAULT, EINVAL, EIO, ENOSPC, ETIMEDOUT, FOLL_WRITE, GFP_KERNEL, PAGE_SIZE,
  addrAdd, userVA,
} from "../../sdk/index.js";
import type { DmaDirection, Kernel, LoffT, Page, PciDev, SgTable, UserVA } from "../../sdk/index.js";
import { engineStart, engineStop, ringBus, type Engine } from "./engine.js";
import { DescFlag, Eng, SgdmaDesc, Stat, adjacentAfter, descControl } from "./hw.js";

/** A chunk of user memory mapped for the device: its DMA segments and how to release it. @internal */
export interface UserDma {
  /** Number of DMA segments to program (what dma_map_sg returned, for the sg path). */
  readonly count: number;
  /** Bus address of segment `i`. */
  addr(i: number): number;
  /** Length of segment `i`. */
  len(i: number): number;
  /** Unmap and unpin; `ok` says whether the device finished. 0 or a negative errno. */
  finish(ok: boolean): number;
}

/** Replaceable steps, for the deliberately wrong fixtures (test/fixtures/sgdma-bugs). @internal */
export interface SgdmaHooks {
  /** Map a user chunk another way (e.g. through a bounce buffer). */
  mapUser?(k: Kernel, card: SgdmaCard, e: Engine, buf: UserVA, len: number, toCard: boolean): Promise<UserDma | number> | UserDma | number;
  /** The direction the sg list is mapped with. */
  mapDirection?(toCard: boolean): DmaDirection;
  /** The entry count given to dma_unmap_sg. */
  unmapNents?(origNents: number, mapped: number): number;
  /** Publish the descriptors and ring the doorbell (default: dma_wmb, then writel). */
  kick?(k: Kernel, e: Engine, firstAdj: number): void;
}

/** What the transfer path needs of a bound card. @internal */
export interface SgdmaCard {
  readonly pdev: PciDev;
  readonly name: string;
  /** BAR2 size: the card offsets a transfer may use. */
  readonly cardSize: number;
  /** Longest descriptor the driver builds. */
  readonly maxDescLen: number;
  /** Pages pinned and mapped at once; a longer request is moved in several chunks. */
  readonly chunkPages: number;
  readonly timeoutMs: number;
  readonly hooks: SgdmaHooks;
  readonly h2c: Engine;
  readonly c2h: Engine;
  /** Pinned-page array per engine, reused by every chunk. */
  readonly pages: { readonly h2c: Page[]; readonly c2h: Page[] };
  /** sg table per engine, reused by every chunk (grown when a chunk needs more entries; freed at remove). */
  readonly sgt: { readonly h2c: SgTable; readonly c2h: SgTable };
}

const PAGE = PAGE_SIZE;

function pageOffset(va: number): number {
  return va - Math.floor(va / PAGE) * PAGE;
}

/** The default mapping: pin_user_pages, an sg table of the pages, dma_map_sg. */
function mapUserSg(k: Kernel, card: SgdmaCard, e: Engine, buf: UserVA, len: number, toCard: boolean): UserDma | number {
  const off = pageOffset(buf);
  const npages = Math.ceil((off + len) / PAGE);
  const pages = card.pages[e.dir];
  const pinned = k.pin_user_pages(buf, npages, toCard ? 0 : FOLL_WRITE, pages);
  if (pinned < 0) return pinned;
  if (pinned < npages) {
    k.unpin_user_pages(pages, pinned);
    return -EFAULT; // part of the buffer is not mapped
  }
  // The engine keeps its sg table across requests; it is reallocated only to grow.
  const sgt = card.sgt[e.dir];
  if (sgt.orig_nents < npages) {
    if (sgt.orig_nents > 0) k.sg_free_table(sgt);
    const r = k.sg_alloc_table(sgt, npages, GFP_KERNEL);
    if (r) {
      k.unpin_user_pages(pages, npages);
      return r;
    }
  }
  let left = len;
  let o = off;
  for (let i = 0; i < npages; i++) {
    const l = Math.min(PAGE - o, left);
    k.sg_set_page(sgt.sgl[i]!, pages[i]!, l, o);
    left -= l;
    o = 0;
  }
  const dir = card.hooks.mapDirection?.(toCard) ?? (toCard ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
  const sgl = sgt.sgl;
  const mapped = k.dma_map_sg(card.pdev, sgl, npages, dir);
  if (mapped === 0) {
    k.unpin_user_pages(pages, npages);
    return -EIO;
  }
  sgt.nents = mapped;
  return {
    count: mapped,
    addr: (i) => k.sg_dma_address(sgl[i]!),
    len: (i) => k.sg_dma_len(sgl[i]!),
    finish: () => {
      k.dma_unmap_sg(card.pdev, sgl, card.hooks.unmapNents?.(npages, mapped) ?? npages, dir);
      k.unpin_user_pages_dirty_lock(pages, npages, !toCard);
      return 0;
    },
  };
}

/** Where the next descriptor starts: mapped segment `seg`, `off` bytes into it, at card offset `cardAt`. */
interface Cursor {
  seg: number;
  off: number;
  cardAt: number;
}

/** Descriptors of the next engine run from `cur`: pieces of at most `maxLen` bytes, at most `limit`. */
function runLength(m: UserDma, cur: Cursor, maxLen: number, limit: number): number {
  let n = 0;
  for (let i = cur.seg, off = cur.off; i < m.count && n < limit; i++, off = 0) n += Math.min(Math.max(0, Math.ceil((m.len(i) - off) / maxLen)), limit - n);
  return n;
}

/**
 * Write the next `total` descriptors into the ring from `cur` (advancing it): one per piece of at
 * most `maxLen` bytes, the card offset advancing with the bytes, each pointing at the next slot
 * with its adjacent count, the last one STOP | COMPLETED | EOP. Returns the bytes they move.
 */
function writeDescriptors(k: Kernel, card: SgdmaCard, e: Engine, m: UserDma, cur: Cursor, total: number, toCard: boolean): number {
  const maxLen = card.maxDescLen;
  const mem = k.mem;
  let bytes = 0;
  for (let slot = 0; slot < total; ) {
    const left = m.len(cur.seg) - cur.off;
    if (left <= 0) {
      cur.seg++;
      cur.off = 0;
      continue;
    }
    const n = Math.min(left, maxLen);
    const bus = m.addr(cur.seg) + cur.off;
    const last = slot === total - 1;
    SgdmaDesc.write(mem, addrAdd(e.ring.cpu, slot * SgdmaDesc.size), {
      control: last ? descControl(0, DescFlag.STOP | DescFlag.COMPLETED | DescFlag.EOP) : descControl(adjacentAfter(slot + 1, total - slot - 1), 0),
      length: n,
      src: toCard ? bus : cur.cardAt,
      dst: toCard ? cur.cardAt : bus,
      next: last ? 0 : ringBus(e, slot + 1),
    });
    slot++;
    bytes += n;
    cur.cardAt += n;
    cur.off += n;
    if (cur.off >= m.len(cur.seg)) {
      cur.seg++;
      cur.off = 0;
    }
  }
  return bytes;
}

/** Make the descriptors visible to the device, then ring the doorbell. */
function kick(k: Kernel, e: Engine, firstAdj: number): void {
  k.dma_wmb();
  engineStart(k, e, firstAdj);
}

/**
 * One engine run: program the ring from `cur`, start the engine, wait for its interrupt with a
 * timeout, stop it. The bytes moved, or -ETIMEDOUT / -EIO (the engine is stopped either way).
 */
async function runEngine(k: Kernel, card: SgdmaCard, e: Engine, m: UserDma, cur: Cursor, total: number, toCard: boolean): Promise<number> {
  const bytes = writeDescriptors(k, card, e, m, cur, total, toCard);
  (card.hooks.kick ?? kick)(k, e, adjacentAfter(0, total));
  e.transfers++;
  const jiffies = k.msecs_to_jiffies(card.timeoutMs + Math.ceil(bytes / 100_000));
  const left = await k.wait_for_completion_timeout(e.done, jiffies);
  // Clear RUN (the engine keeps it after STOP) and wait until it is idle before unmapping.
  const stopped = await engineStop(k, e);
  const completed = k.readl(addrAdd(e.regs, Eng.COMPLETED_COUNT));
  if (left === 0) {
    k.dev_err(card.pdev, `${card.name}: ${e.name} transfer of ${bytes} bytes timed out (status 0x${e.status.toString(16)}, ${completed}/${total} descriptors)`);
    return -ETIMEDOUT;
  }
  if (stopped || e.status & Stat.ERRORS || !(e.status & Stat.DESC_STOPPED) || completed !== total) {
    k.dev_err(card.pdev, `${card.name}: ${e.name} transfer failed: status 0x${e.status.toString(16)}, ${completed}/${total} descriptors`);
    return -EIO;
  }
  return bytes;
}

/**
 * Move one chunk (at most `chunkPages` pages): pin and map it, then run its descriptors through
 * the ring, in several engine runs when they outnumber it (as XDMA splits a request into
 * transfers of at most its ring's descriptors); unmap and unpin. Bytes moved or a negative errno.
 */
async function transferChunk(k: Kernel, card: SgdmaCard, e: Engine, buf: UserVA, len: number, cardOff: number, toCard: boolean): Promise<number> {
  const m = await (card.hooks.mapUser ?? mapUserSg)(k, card, e, buf, len, toCard);
  if (typeof m === "number") return m;
  const cur: Cursor = { seg: 0, off: 0, cardAt: cardOff };
  let ret = 0;
  for (;;) {
    const total = runLength(m, cur, card.maxDescLen, e.ringDescs);
    if (!(total > 0)) break;
    const r = await runEngine(k, card, e, m, cur, total, toCard);
    if (r < 0) {
      ret = r;
      break;
    }
    ret += r;
  }
  if (ret >= 0 && ret !== len) {
    // The mapping describes fewer bytes than asked for: a driver bug, not a device error.
    k.WARN_ON(true);
    ret = -EIO;
  }
  const r = m.finish(ret >= 0);
  return ret < 0 ? ret : r < 0 ? r : ret;
}

/** read (card→host) and write (host→card) of a user buffer at the file position. */
export async function sgdmaReadWrite(k: Kernel, card: SgdmaCard, buf: UserVA, count: number, ppos: LoffT, toCard: boolean): Promise<number> {
  if (count === 0) return 0;
  const pos = ppos.value;
  if (!(pos >= 0)) return -EINVAL;
  if (pos >= card.cardSize) return toCard ? -ENOSPC : 0;
  const want = Math.min(count, card.cardSize - pos);
  const e = toCard ? card.h2c : card.c2h;
  const err = await k.mutex_lock_interruptible(e.lock);
  if (err) return err;
  let done = 0;
  let ret = 0;
  try {
    while (done < want) {
      const va = buf + done;
      const n = Math.min(want - done, card.chunkPages * PAGE - pageOffset(va));
      const r = await transferChunk(k, card, e, userVA(va), n, pos + done, toCard);
      if (r < 0) {
        ret = r;
        break;
      }
      done += r;
    }
  } finally {
    k.mutex_unlock(e.lock);
  }
  if (done === 0 && ret < 0) return ret;
  ppos.value = pos + done;
  return done;
}
