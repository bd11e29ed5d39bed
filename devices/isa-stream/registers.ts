/**
 * Register table of the isa-stream device (a Sound-Blaster-like streaming client of the 8237),
 * relative to its base port (0x220 by default). All registers are byte-addressed; the two 16-bit
 * registers may also be accessed as bytes (low at the even port, high at the odd one).
 */
import { defineRegisters, type RegisterMap } from "../../sdk/index.js";

/** Value the ID register reads. @public */
export const ISA_STREAM_ID = 0x5a;
/** Size of the port range. @public */
export const ISA_STREAM_PORTS = 0x10;

/** COMMAND register values. @public */
export const IsaStreamCommand = {
  /** Memory → device through the DMA channel. */
  START_PLAYBACK: 1,
  /** Device → memory through the DMA channel. */
  START_CAPTURE: 2,
  STOP: 3,
} as const;

/** MODE register bits. @public */
export const IsaStreamMode = {
  /** Use the 16-bit DMA channel (counts stay in bytes; they must be even). */
  WIDE: 0x01,
  /** Keep streaming at terminal count (a ring); without it the stream stops at TC. */
  AUTOINIT: 0x02,
} as const;

/** STATUS register bits. @public */
export const IsaStreamStatus = {
  RUNNING: 0x01,
  IRQ_PENDING: 0x02,
  /** Playback underrun or capture overrun since the last start or IRQ_ACK. */
  XRUN: 0x04,
} as const;

/** The register block. @public */
export const isaStreamRegisters: RegisterMap = defineRegisters(
  "isa-stream",
  {
    ID_RESET: { offset: 0x0, width: 8, mode: "ro", reset: ISA_STREAM_ID, doc: `Read: ID (0x5a). Write 1: reset the device.` },
    COMMAND: { offset: 0x2, width: 8, mode: "wo", doc: "1 start playback, 2 start capture, 3 stop." },
    MODE: {
      offset: 0x4,
      width: 8,
      mode: "rsvd",
      fields: {
        WIDE: { lsb: 0, width: 1, mode: "rw", doc: "16-bit DMA channel." },
        AUTOINIT: { lsb: 1, width: 1, mode: "rw", doc: "Auto-init ring: keep going at terminal count." },
      },
      doc: "Transfer mode, latched by the start command.",
    },
    BLOCK_SIZE: { offset: 0x6, width: 16, access: [1, 2], reset: 0x0400, doc: "Bytes per interrupt (1..65535), latched at start." },
    RATE: { offset: 0x8, width: 16, access: [1, 2], reset: 0x00b0, doc: "Bytes per millisecond of simulated time (1..65535), latched at start." },
    STATUS: {
      offset: 0xa,
      width: 8,
      mode: "ro",
      fields: {
        RUNNING: { lsb: 0, width: 1 },
        IRQ_PENDING: { lsb: 1, width: 1 },
        XRUN: { lsb: 2, width: 1, doc: "Underrun (playback) or overrun (capture)." },
      },
    },
    IRQ_ACK: { offset: 0xc, width: 8, mode: "wo", doc: "Any write: clear IRQ_PENDING and XRUN, lower the line." },
    DATA: { offset: 0xe, width: 8, doc: "Programmed I/O, one byte: write plays it, read captures one. Only while stopped." },
  },
  { size: ISA_STREAM_PORTS, doc: "Sound-Blaster-like ISA streaming device." },
);
