/**
 * One DMA engine as the driver drives it: its descriptor ring (coherent memory), the mutex that
 * serialises its users, the completion its interrupt signals, starting, stopping and the
 * interrupt-side status capture.
 */
import { addrAdd, dmaAddr } from "../../sdk/index.js";
import type { CoherentBuffer, Completion, DmaAddr, IoMem, Kernel, Mutex } from "../../sdk/index.js";
import { CHANNEL_BIT, Ctrl, ENGINE_BASE, Eng, IE_ALL, SGDMA_BASE, Sg, Stat } from "./hw.js";

/** Engine direction: host→card (write) or card→host (read). @internal */
export type EngineDir = "h2c" | "c2h";

/** Per-engine driver state. @internal */
export interface Engine {
  readonly dir: EngineDir;
  readonly name: string;
  /** Engine register block (ioremapped). */
  readonly regs: IoMem;
  /** SGDMA block (descriptor start registers). */
  readonly sg: IoMem;
  readonly chanBit: number;
  /** The descriptor ring. */
  readonly ring: CoherentBuffer;
  /** Ring size in descriptors. */
  readonly ringDescs: number;
  readonly lock: Mutex;
  readonly done: Completion;
  /** Status bits gathered by the interrupt handler since the transfer started. */
  status: number;
  /** Transfers run, descriptors written (statistics, dmesg). */
  transfers: number;
}

/** Make an engine's state (the ring is allocated by the caller). */
export function newEngine(k: Kernel, bar0: IoMem, dir: EngineDir, ring: CoherentBuffer, ringDescs: number): Engine {
  return {
    dir,
    name: dir === "h2c" ? "H2C" : "C2H",
    regs: addrAdd(bar0, ENGINE_BASE[dir]),
    sg: addrAdd(bar0, SGDMA_BASE[dir]),
    chanBit: CHANNEL_BIT[dir],
    ring,
    ringDescs,
    lock: k.mutex_init(`sgdma_${dir}_lock`),
    done: k.init_completion(),
    status: 0,
    transfers: 0,
  };
}

/** Bus address of ring slot `i`. @internal */
export function ringBus(e: Engine, i: number): DmaAddr {
  return dmaAddr(e.ring.handle + i * 32);
}

/** Program the first descriptor and set RUN with every interrupt enable (the doorbell). @internal */
export function engineStart(k: Kernel, e: Engine, firstAdj: number): void {
  const first = e.ring.handle as number;
  e.status = 0;
  k.reinit_completion(e.done);
  k.writel(first >>> 0, addrAdd(e.sg, Sg.FIRST_DESC_LO));
  k.writel(Math.floor(first / 2 ** 32) >>> 0, addrAdd(e.sg, Sg.FIRST_DESC_HI));
  k.writel(firstAdj, addrAdd(e.sg, Sg.FIRST_DESC_ADJ));
  k.writel((Ctrl.RUN | IE_ALL) >>> 0, addrAdd(e.regs, Eng.CONTROL));
}

/**
 * Stop the engine: clear RUN, wait until it is no longer busy (it finishes the descriptor in
 * flight), then clear its status. Returns 0, or -ETIMEDOUT if it stays busy.
 */
export async function engineStop(k: Kernel, e: Engine): Promise<number> {
  k.writel(Ctrl.RUN, addrAdd(e.regs, Eng.CONTROL_W1C));
  const r = await k.readl_poll_timeout(addrAdd(e.regs, Eng.STATUS), (v) => (v & Stat.BUSY) === 0, 10, 100_000);
  e.status |= k.readl(addrAdd(e.regs, Eng.STATUS_RC));
  return r;
}

/** Enable the engine's interrupt sources: the 0x90 mask (CONTROL's enables are set at RUN). */
export function engineIrqOn(k: Kernel, e: Engine): void {
  k.writel(IE_ALL, addrAdd(e.regs, Eng.IRQ_MASK_W1S));
}

/** Quiesce: RUN and interrupt enables off, mask cleared, status read-cleared. */
export function engineOff(k: Kernel, e: Engine): void {
  k.writel(0, addrAdd(e.regs, Eng.CONTROL));
  k.writel(IE_ALL, addrAdd(e.regs, Eng.IRQ_MASK_W1C));
  k.readl(addrAdd(e.regs, Eng.STATUS_RC));
}

/**
 * Interrupt side: read-clear the status (which drops the request) and wake the waiter when the
 * chain stopped, went idle or failed.
 */
export function engineService(k: Kernel, e: Engine): void {
  const st = k.readl(addrAdd(e.regs, Eng.STATUS_RC));
  e.status |= st;
  if (st & (Stat.DESC_STOPPED | Stat.IDLE_STOPPED | Stat.ERRORS)) k.complete(e.done);
}
