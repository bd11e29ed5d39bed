/**
 * The `sgdma` descriptor: 32 bytes, 32-byte aligned, little endian, in host memory (XDMA layout).
 */
import { defineStruct, packBits, unpackBits } from "../../sdk/index.js";

/** Magic in control bits 31:16. @public */
export const SGDMA_DESC_MAGIC = 0xad4b;
/** Descriptor size and required alignment in bytes. @public */
export const SGDMA_DESC_SIZE = 32;
/** Largest transfer length (the length field is 28 bits). @public */
export const SGDMA_DESC_MAX_LEN = 0x0fffffff;
/** Largest adjacent count (6-bit field): a block is at most 64 descriptors. @public */
export const SGDMA_DESC_MAX_ADJ = 63;

/**
 * Descriptor layout. H2C: `src` is a bus address, `dst` a card (BAR2) offset; C2H the reverse.
 * `next` is the bus address of the next descriptor (0 only together with STOP).
 * @public
 */
export const SgdmaDescriptor = defineStruct(
  "sgdma_desc",
  { control: "u32", length: "u32", src: "u64", dst: "u64", next: "u64" },
  { align: SGDMA_DESC_SIZE, size: SGDMA_DESC_SIZE },
);

/** Bit fields of the control word. @public */
export const DescControlBits = {
  STOP: [0, 1],
  COMPLETED: [1, 1],
  EOP: [4, 1],
  ADJ: [8, 6],
  MAGIC: [16, 16],
} as const;

/** Flag bits of the control word. @public */
export const DescFlag = { STOP: 0x01, COMPLETED: 0x02, EOP: 0x10 } as const;

/**
 * Build a control word with the magic set.
 * @public
 */
export function descControl(flags: { stop?: boolean; completed?: boolean; eop?: boolean; adjacent?: number } = {}): number {
  return packBits(DescControlBits, {
    MAGIC: SGDMA_DESC_MAGIC,
    STOP: flags.stop ? 1 : 0,
    COMPLETED: flags.completed ? 1 : 0,
    EOP: flags.eop ? 1 : 0,
    ADJ: flags.adjacent ?? 0,
  });
}

/**
 * Decode a control word.
 * @public
 */
export function decodeDescControl(word: number): { magic: number; adjacent: number; stop: boolean; completed: boolean; eop: boolean } {
  const f = unpackBits(DescControlBits, word);
  return { magic: f.MAGIC, adjacent: f.ADJ, stop: f.STOP === 1, completed: f.COMPLETED === 1, eop: f.EOP === 1 };
}
