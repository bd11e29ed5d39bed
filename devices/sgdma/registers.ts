/**
 * Register map of the `sgdma` endpoint's BAR0 (64 KiB, 32-bit access only), laid out like Xilinx
 * XDMA with one memory-mapped channel per direction: engines at 0x0000 (H2C) and 0x1000 (C2H),
 * the interrupt block at 0x2000, the config block ID at 0x3000, SGDMA (descriptor start)
 * registers at 0x4000 (H2C) and 0x5000 (C2H).
 */
import { defineRegisters, prefixRegisters } from "../../sdk/index.js";

/** Version byte of every block identifier (bits 7:0). @public */
export const SGDMA_BLOCK_VERSION = 0x01;

/** Block identifiers (bits 31:16 of each block's ID register), as XDMA numbers its targets. @public */
export const SgdmaBlockId = {
  H2C: 0x1fc0,
  C2H: 0x1fc1,
  IRQ: 0x1fc2,
  CONFIG: 0x1fc3,
  H2C_SGDMA: 0x1fc4,
  C2H_SGDMA: 0x1fc5,
} as const;

/** The ID register value of a block for channel 0. @public */
export function sgdmaBlockIdValue(block: number): number {
  return ((block << 16) | (0 << 8) | SGDMA_BLOCK_VERSION) >>> 0;
}

/**
 * Engine CONTROL (0x04) bits, XDMA positions. Interrupt-enable bits double as the bit positions
 * of STATUS and of the interrupt enable mask (0x90).
 * @public
 */
export const EngineControl = {
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
  /** Non-incrementing card address: stored, not modelled (logged as unimplemented at RUN). */
  NON_INC_ADDR: 1 << 25,
  /** Poll-mode write-back: stored; the write-back happens whenever WB_ADDR is non-zero. */
  POLL_MODE_WB: 1 << 26,
  STM_WB: 1 << 27,
} as const;

/**
 * Engine STATUS (0x40 / read-clear 0x44) bits, XDMA positions.
 * @public
 */
export const EngineStatus = {
  BUSY: 1 << 0,
  DESC_STOPPED: 1 << 1,
  DESC_COMPLETED: 1 << 2,
  ALIGN_MISMATCH: 1 << 3,
  MAGIC_STOPPED: 1 << 4,
  INVALID_LEN: 1 << 5,
  IDLE_STOPPED: 1 << 6,
  /** Read error field [13:9]: a failed read of the data source. */
  READ_ERROR_SHIFT: 9,
  /** Write error field [18:14]: a failed write of the data destination (or of the write-back). */
  WRITE_ERROR_SHIFT: 14,
  /** Descriptor error field [23:19]: a failed descriptor fetch or a broken chain. */
  DESC_ERROR_SHIFT: 19,
  READ_ERROR: 0x1f << 9,
  WRITE_ERROR: 0x1f << 14,
  DESC_ERROR: 0x1f << 19,
} as const;

/**
 * Bit index inside a 5-bit error field (added to its shift). UR: unsupported request (bus master
 * off, address limit, master abort; or a card address past BAR2; or a broken chain); CA: completer
 * abort (IOMMU fault); POISONED: injected platform error.
 * @public
 */
export const SgdmaErrorCode = { UR: 0, CA: 1, PARITY: 2, POISONED: 3, UNEXPECTED: 4 } as const;

/** STATUS bits that are events (can interrupt and are cleared by a STATUS_RC read): all but BUSY. @public */
export const ENGINE_EVENT_BITS = 0x00fffe7e;

/** Bit of each engine in the interrupt block's channel registers (all H2C engines first). @public */
export const ChannelBit = { H2C: 1 << 0, C2H: 1 << 1 } as const;

/** ALIGNMENTS (0x4C): 1-byte address alignment, 1-byte length granularity, 64 address bits. @public */
export const SGDMA_ALIGNMENTS = 0x00010140;

const ieFields = {
  IE_DESC_STOPPED: { lsb: 1, width: 1, mode: "rw" },
  IE_DESC_COMPLETED: { lsb: 2, width: 1, mode: "rw" },
  IE_ALIGN_MISMATCH: { lsb: 3, width: 1, mode: "rw" },
  IE_MAGIC_STOPPED: { lsb: 4, width: 1, mode: "rw" },
  IE_INVALID_LEN: { lsb: 5, width: 1, mode: "rw" },
  IE_IDLE_STOPPED: { lsb: 6, width: 1, mode: "rw" },
  IE_READ_ERROR: { lsb: 9, width: 5, mode: "rw" },
  IE_WRITE_ERROR: { lsb: 14, width: 5, mode: "rw" },
  IE_DESC_ERROR: { lsb: 19, width: 5, mode: "rw" },
} as const;

const statusFields = {
  BUSY: { lsb: 0, width: 1 },
  DESC_STOPPED: { lsb: 1, width: 1 },
  DESC_COMPLETED: { lsb: 2, width: 1 },
  ALIGN_MISMATCH: { lsb: 3, width: 1 },
  MAGIC_STOPPED: { lsb: 4, width: 1 },
  INVALID_LEN: { lsb: 5, width: 1 },
  IDLE_STOPPED: { lsb: 6, width: 1 },
  READ_ERROR: { lsb: 9, width: 5 },
  WRITE_ERROR: { lsb: 14, width: 5 },
  DESC_ERROR: { lsb: 19, width: 5 },
} as const;

/** One DMA engine's registers, relative to its base. */
function engineDefs<const Id extends number>(id: Id) {
  return {
    ID: { offset: 0x00, width: 32, mode: "ro", reset: id, doc: "Block id, channel, version" },
    CONTROL: {
      offset: 0x04,
      width: 32,
      mode: "rsvd",
      fields: {
        RUN: { lsb: 0, width: 1, mode: "rw" },
        ...ieFields,
        NON_INC_ADDR: { lsb: 25, width: 1, mode: "rw" },
        POLL_MODE_WB: { lsb: 26, width: 1, mode: "rw" },
        STM_WB: { lsb: 27, width: 1, mode: "rw" },
      },
      doc: "RUN starts the engine on a 0→1 edge; interrupt enables (XDMA positions)",
    },
    CONTROL_W1S: { offset: 0x08, width: 32, mode: "wo", doc: "Set CONTROL bits" },
    CONTROL_W1C: { offset: 0x0c, width: 32, mode: "wo", doc: "Clear CONTROL bits" },
    STATUS: { offset: 0x40, width: 32, mode: "ro", fields: statusFields, doc: "Engine status" },
    STATUS_RC: { offset: 0x44, width: 32, mode: "ro", doc: "Engine status; the read clears every bit but BUSY" },
    COMPLETED_COUNT: { offset: 0x48, width: 32, mode: "ro", doc: "Descriptors completed since RUN was set" },
    ALIGNMENTS: { offset: 0x4c, width: 32, mode: "ro", reset: SGDMA_ALIGNMENTS, doc: "Address alignment, length granularity, address bits" },
    WB_ADDR_LO: { offset: 0x88, width: 32, doc: "Write-back address low half; non-zero enables the write-back" },
    WB_ADDR_HI: { offset: 0x8c, width: 32, doc: "Write-back address high half" },
    IRQ_MASK: { offset: 0x90, width: 32, mode: "rsvd", fields: ieFields, doc: "Interrupt enable mask (1 = may interrupt), CONTROL bit positions" },
    IRQ_MASK_W1S: { offset: 0x94, width: 32, mode: "wo", doc: "Set IRQ_MASK bits" },
    IRQ_MASK_W1C: { offset: 0x98, width: 32, mode: "wo", doc: "Clear IRQ_MASK bits" },
  } as const;
}

/** One SGDMA block (descriptor list start), relative to its base. */
function sgdmaDefs<const Id extends number>(id: Id) {
  return {
    ID: { offset: 0x00, width: 32, mode: "ro", reset: id },
    FIRST_DESC_LO: { offset: 0x80, width: 32, doc: "Bus address of the first descriptor, low half (32-byte aligned)" },
    FIRST_DESC_HI: { offset: 0x84, width: 32, doc: "Bus address of the first descriptor, high half" },
    FIRST_DESC_ADJ: { offset: 0x88, width: 32, mode: "rsvd", fields: { ADJ: { lsb: 0, width: 6, mode: "rw" } }, doc: "Descriptors adjacent to the first one" },
  } as const;
}

const chanFields = { H2C: { lsb: 0, width: 1, mode: "rw" }, C2H: { lsb: 1, width: 1, mode: "rw" } } as const;

const irqBlockDefs = {
  ID: { offset: 0x00, width: 32, mode: "ro", reset: sgdmaBlockIdValue(SgdmaBlockId.IRQ) },
  USER_INT_EN: { offset: 0x04, width: 32, mode: "rsvd", fields: { EN: { lsb: 0, width: 16, mode: "rw" } }, doc: "Stored; the model has no user interrupt sources" },
  USER_INT_EN_W1S: { offset: 0x08, width: 32, mode: "wo" },
  USER_INT_EN_W1C: { offset: 0x0c, width: 32, mode: "wo" },
  CHAN_INT_EN: { offset: 0x10, width: 32, mode: "rsvd", fields: chanFields, doc: "Channel interrupt enable: bit 0 H2C, bit 1 C2H" },
  CHAN_INT_EN_W1S: { offset: 0x14, width: 32, mode: "wo" },
  CHAN_INT_EN_W1C: { offset: 0x18, width: 32, mode: "wo" },
  USER_INT_REQ: { offset: 0x40, width: 32, mode: "ro", doc: "Always 0 (no user interrupts)" },
  CHAN_INT_REQ: { offset: 0x44, width: 32, mode: "ro", doc: "Engines requesting an interrupt (STATUS & CONTROL & IRQ_MASK events)" },
  USER_INT_PEND: { offset: 0x48, width: 32, mode: "ro", doc: "Always 0" },
  CHAN_INT_PEND: { offset: 0x4c, width: 32, mode: "ro", doc: "CHAN_INT_REQ & CHAN_INT_EN" },
} as const;

/**
 * The BAR0 register block.
 *
 * Interrupt model: an engine requests an interrupt while `STATUS & CONTROL & IRQ_MASK` has an
 * event bit (so both the CONTROL interrupt enable and the 0x90 enable mask must be set, as XDMA
 * drivers do); the request shows in CHAN_INT_REQ, and is delivered while the engine's CHAN_INT_EN
 * bit is set. It goes away when the status is read-cleared (STATUS_RC) or the enable is cleared.
 * @public
 */
export const sgdmaRegisters = defineRegisters(
  "sgdma",
  {
    ...prefixRegisters("H2C_", 0x0000, engineDefs(sgdmaBlockIdValue(SgdmaBlockId.H2C))),
    ...prefixRegisters("C2H_", 0x1000, engineDefs(sgdmaBlockIdValue(SgdmaBlockId.C2H))),
    ...prefixRegisters("IRQ_", 0x2000, irqBlockDefs),
    CONFIG_ID: { offset: 0x3000, width: 32, mode: "ro", reset: sgdmaBlockIdValue(SgdmaBlockId.CONFIG) },
    ...prefixRegisters("H2C_SG_", 0x4000, sgdmaDefs(sgdmaBlockIdValue(SgdmaBlockId.H2C_SGDMA))),
    ...prefixRegisters("C2H_SG_", 0x5000, sgdmaDefs(sgdmaBlockIdValue(SgdmaBlockId.C2H_SGDMA))),
  },
  { size: 0x10000, doc: "sgdma BAR0: XDMA-shaped engine, interrupt and SGDMA registers" },
);

/** Definitions of {@link sgdmaRegisters}. @public */
export type SgdmaRegisterDefs = (typeof sgdmaRegisters)["defs"];
/** Register names of {@link sgdmaRegisters}. @public */
export type SgdmaRegisterName = keyof SgdmaRegisterDefs & string;
