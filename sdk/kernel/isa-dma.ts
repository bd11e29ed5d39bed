/** The ISA DMA API (asm/dma.h), programming the 8237 through its ports. */
import type { IrqFlags } from "./types.js";

/**
 * Single mode, device → memory (the driver *reads* from the device: capture, disk read). The 8237
 * calls this a "write transfer" (it writes memory). @public
 */
export const DMA_MODE_READ = 0x44;
/**
 * Single mode, memory → device (the driver *writes* to the device: playback, disk write). The
 * 8237 calls this a "read transfer". @public
 */
export const DMA_MODE_WRITE = 0x48;
/** @public */ export const DMA_MODE_CASCADE = 0xc0;
/** @public */ export const DMA_AUTOINIT = 0x10;
/** Highest address ISA DMA can reach (16 MiB). @public */
export const MAX_DMA_ADDRESS = 0x1000000;

/** The ISA DMA part of the kernel facade. @public */
export interface KernelIsaDma {
  /** 0, -EINVAL for a channel past 7, -EBUSY when held (channel 4 is held by "cascade"). */
  request_dma(channel: number, deviceId: string): number;
  free_dma(channel: number): void;
  /** Takes the global DMA spinlock with interrupts off. */
  claim_dma_lock(): IrqFlags;
  release_dma_lock(flags: IrqFlags): void;
  enable_dma(channel: number): void;
  disable_dma(channel: number): void;
  clear_dma_ff(channel: number): void;
  set_dma_mode(channel: number, mode: number): void;
  set_dma_page(channel: number, page: number): void;
  /** Physical (bus) address below 16 MiB; programs the address and page registers. */
  set_dma_addr(channel: number, addr: number): void;
  /** Transfer length in bytes (even on 16-bit channels). */
  set_dma_count(channel: number, count: number): void;
  /** Bytes left to transfer. */
  get_dma_residue(channel: number): number;
}
