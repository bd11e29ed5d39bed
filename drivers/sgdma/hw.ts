/**
 * What the sgdma driver knows of the hardware: BAR0 register offsets, engine control and status
 * bits, and the 32-byte descriptor. The driver keeps its own copy of the layout (drivers import
 * only the SDK), as a Linux driver keeps its own register header.
 */
import { defineStruct } from "../../sdk/index.js";

/** BAR0 holds the registers; BAR2 (card memory) is not mapped by the driver. */
export const BAR_REGS = 0;
export const BAR_CARD = 2;

/** Engine register blocks: host→card at 0x0000, card→host at 0x1000. */
export const ENGINE_BASE = { h2c: 0x0000, c2h: 0x1000 } as const;
/** SGDMA (descriptor start) blocks. */
export const SGDMA_BASE = { h2c: 0x4000, c2h: 0x5000 } as const;
/** Bit of each engine in the interrupt block's channel registers. */
export const CHANNEL_BIT = { h2c: 1 << 0, c2h: 1 << 1 } as const;

/** Engine registers, relative to the engine base. */
export const Eng = {
  ID: 0x00,
  CONTROL: 0x04,
  CONTROL_W1S: 0x08,
  CONTROL_W1C: 0x0c,
  STATUS: 0x40,
  STATUS_RC: 0x44,
  COMPLETED_COUNT: 0x48,
  IRQ_MASK: 0x90,
  IRQ_MASK_W1S: 0x94,
  IRQ_MASK_W1C: 0x98,
} as const;

/** SGDMA registers, relative to the SGDMA base. */
export const Sg = { FIRST_DESC_LO: 0x80, FIRST_DESC_HI: 0x84, FIRST_DESC_ADJ: 0x88 } as const;

/** Interrupt block at 0x2000. */
export const Irq = {
  CHAN_INT_EN: 0x2010,
  CHAN_INT_EN_W1S: 0x2014,
  CHAN_INT_EN_W1C: 0x2018,
  CHAN_INT_REQ: 0x2044,
} as const;

/** Engine identifiers in ID bits 31:16. */
export const ENGINE_ID = { h2c: 0x1fc0, c2h: 0x1fc1 } as const;

/** CONTROL bits (XDMA positions); the interrupt enables double as IRQ_MASK and STATUS bits. */
export const Ctrl = {
  RUN: 1 << 0,
  IE_DESC_STOPPED: 1 << 1,
  IE_DESC_COMPLETED: 1 << 2,
  IE_ALIGN_MISMATCH: 1 << 3,
  IE_MAGIC_STOPPED: 1 << 4,
  IE_INVALID_LEN: 1 << 5,
  IE_IDLE_STOPPED: 1 << 6,
  IE_READ_ERROR: 0x1f << 9,
  IE_WRITE_ERROR: 0x1f << 14,
  IE_DESC_ERROR: 0x1f << 19,
} as const;

/** Every interrupt enable the driver uses: completion, stop and all error classes. */
export const IE_ALL = (Ctrl.IE_DESC_STOPPED | Ctrl.IE_DESC_COMPLETED | Ctrl.IE_ALIGN_MISMATCH | Ctrl.IE_MAGIC_STOPPED
  | Ctrl.IE_INVALID_LEN | Ctrl.IE_IDLE_STOPPED | Ctrl.IE_READ_ERROR | Ctrl.IE_WRITE_ERROR | Ctrl.IE_DESC_ERROR) >>> 0;

/** STATUS bits. */
export const Stat = {
  BUSY: 1 << 0,
  DESC_STOPPED: 1 << 1,
  DESC_COMPLETED: 1 << 2,
  IDLE_STOPPED: 1 << 6,
  /** Alignment, magic, length, read, write and descriptor errors. */
  ERRORS: ((1 << 3) | (1 << 4) | (1 << 5) | (0x1f << 9) | (0x1f << 14) | (0x1f << 19)) >>> 0,
} as const;

/** Descriptor control word: magic in 31:16, adjacent count in 13:8, flags in 7:0. */
export const DESC_MAGIC = 0xad4b;
export const DescFlag = { STOP: 0x01, COMPLETED: 0x02, EOP: 0x10 } as const;
/** The length field is 28 bits. */
export const DESC_LEN_FIELD_MAX = 0x0fffffff;
/** Descriptors one adjacent block may hold (the block never crosses a 4 KiB boundary when 64-aligned). */
export const DESC_BLOCK = 64;

/** The descriptor as it sits in host memory (32 bytes, 32-byte aligned, little endian). */
export const SgdmaDesc = defineStruct(
  "sgdma_desc",
  { control: "u32", length: "u32", src: "u64", dst: "u64", next: "u64" },
  { align: 32, size: 32 },
);

/** The control word of a descriptor with `adjacent` descriptors after the one at `next`. */
export function descControl(adjacent: number, flags: number): number {
  return ((DESC_MAGIC << 16) | ((adjacent & 0x3f) << 8) | (flags & 0xff)) >>> 0;
}

/**
 * How many descriptors follow the one at ring index `next` in the same 64-descriptor block, so
 * the engine's prefetch never crosses a block (hence never a 4 KiB page); `remaining` counts the
 * descriptors from `next` to the end of the chain.
 */
export function adjacentAfter(next: number, remaining: number): number {
  const inBlock = DESC_BLOCK - (next & (DESC_BLOCK - 1));
  return Math.min(inBlock, remaining) - 1;
}
