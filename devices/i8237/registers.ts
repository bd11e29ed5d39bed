/**
 * Register tables of the PC/AT 8237A pair and its page-register latches. DMA1 decodes ports
 * 0x00–0x0F; DMA2 has the same sixteen registers at doubled offsets (even ports 0xC0–0xDE), so its
 * odd ports are left undecoded. Several ports read one register and write another (status /
 * command, temporary / master clear); the table names both and the device's hooks pick the side.
 */
import { defineRegisters, type RegisterDef, type RegisterMap } from "../../sdk/index.js";

/** Size of each controller's port range (0x00–0x1F, 0xC0–0xDF). @public */
export const I8237_CONTROLLER_PORTS = 0x20;
/** Size of the page-register range 0x80–0x8F. @public */
export const I8237_PAGE_PORTS = 0x10;
/** First port of DMA1, of the page registers and of DMA2. @public */
export const I8237_PORT_BASE = { dma1: 0x00, page: 0x80, dma2: 0xc0 } as const;

/** Register index (0–15) inside one controller, before DMA2's doubling. @public */
export const I8237Reg = {
  STATUS_COMMAND: 0x8,
  REQUEST: 0x9,
  SINGLE_MASK: 0xa,
  MODE: 0xb,
  CLEAR_FLIP_FLOP: 0xc,
  TEMP_MASTER_CLEAR: 0xd,
  CLEAR_ALL_MASKS: 0xe,
  WRITE_ALL_MASKS: 0xf,
} as const;

/** Mode register fields. @public */
export const I8237Mode = {
  CHANNEL_MASK: 0x03,
  TYPE_SHIFT: 2,
  TYPE_MASK: 0x0c,
  /** Transfer type 00: verify (cycles and counting, no memory access). */
  TYPE_VERIFY: 0,
  /** Transfer type 01: write into memory (I/O → memory). */
  TYPE_WRITE: 1,
  /** Transfer type 10: read out of memory (memory → I/O). */
  TYPE_READ: 2,
  /** Transfer type 11: illegal. */
  TYPE_ILLEGAL: 3,
  AUTOINIT: 0x10,
  DECREMENT: 0x20,
  SELECT_SHIFT: 6,
  SELECT_DEMAND: 0,
  SELECT_SINGLE: 1,
  SELECT_BLOCK: 2,
  SELECT_CASCADE: 3,
} as const;

/** Command register bits. @public */
export const I8237Command = {
  MEM_TO_MEM: 0x01,
  CH0_ADDRESS_HOLD: 0x02,
  CONTROLLER_DISABLE: 0x04,
  COMPRESSED_TIMING: 0x08,
  ROTATING_PRIORITY: 0x10,
  EXTENDED_WRITE: 0x20,
  DREQ_ACTIVE_LOW: 0x40,
  DACK_ACTIVE_HIGH: 0x80,
} as const;

const byteReg = (offset: number, doc: string, extra: Partial<RegisterDef> = {}): RegisterDef => ({
  offset,
  width: 8,
  access: [1],
  doc,
  ...extra,
});

function controllerDefs(firstChannel: number, shift: 0 | 1): Record<string, RegisterDef> {
  const defs: Record<string, RegisterDef> = {};
  for (let local = 0; local < 4; local++) {
    const ch = firstChannel + local;
    const unit = shift ? "word address A16:A1" : "address A15:A0";
    defs[`CH${ch}_ADDR`] = byteReg((local * 2) << shift, `Channel ${ch} ${unit}: write sets base and current, read returns current; byte selected by the flip-flop.`);
    defs[`CH${ch}_COUNT`] = byteReg((local * 2 + 1) << shift, `Channel ${ch} count (N−1 ${shift ? "words" : "bytes"}): write sets base and current, read returns current.`);
  }
  const o = (i: number) => i << shift;
  defs.STATUS_COMMAND = byteReg(o(I8237Reg.STATUS_COMMAND), "Read: status (TC 3:0, cleared by the read; requests 7:4). Write: command.");
  defs.REQUEST = byteReg(o(I8237Reg.REQUEST), "Write: software request (bits 1:0 channel, bit 2 set/clear).", { mode: "wo" });
  defs.SINGLE_MASK = byteReg(o(I8237Reg.SINGLE_MASK), "Write: single mask (bits 1:0 channel, bit 2 set/clear).", { mode: "wo" });
  defs.MODE = byteReg(o(I8237Reg.MODE), "Write: mode (channel, type, autoinit, decrement, select).", { mode: "wo" });
  defs.CLEAR_FLIP_FLOP = byteReg(o(I8237Reg.CLEAR_FLIP_FLOP), "Write (any value): clear the byte-pointer flip-flop.", { mode: "wo" });
  defs.TEMP_MASTER_CLEAR = byteReg(o(I8237Reg.TEMP_MASTER_CLEAR), "Read: temporary register. Write (any value): master clear.");
  defs.CLEAR_ALL_MASKS = byteReg(o(I8237Reg.CLEAR_ALL_MASKS), "Write (any value): clear all four mask bits.", { mode: "wo" });
  defs.WRITE_ALL_MASKS = byteReg(o(I8237Reg.WRITE_ALL_MASKS), "Write: all four mask bits (3:0). Reset sets them.", { mode: "wo", reset: 0x0f });
  return defs;
}

/** DMA1 (channels 0–3, byte transfers), ports 0x00–0x1F; 0x10–0x1F are not decoded. @public */
export const dma1Registers: RegisterMap = defineRegisters("dma1", controllerDefs(0, 0), {
  size: I8237_CONTROLLER_PORTS,
  doc: "8237A #1: channels 0–3, 8-bit transfers.",
});

/** DMA2 (channels 4–7, word transfers), even ports 0xC0–0xDE; odd ports are not decoded. @public */
export const dma2Registers: RegisterMap = defineRegisters("dma2", controllerDefs(4, 1), {
  size: I8237_CONTROLLER_PORTS,
  doc: "8237A #2: channels 4–7, 16-bit transfers; channel 4 cascades DMA1.",
});

/** Page-register port offset (from 0x80) of each channel 0–7. @public */
export const I8237_PAGE_OFFSET: readonly number[] = Object.freeze([0x7, 0x3, 0x1, 0x2, 0xf, 0xb, 0x9, 0xa]);

function pageDefs(): Record<string, RegisterDef> {
  const defs: Record<string, RegisterDef> = {};
  const channelAt = new Map<number, number>(I8237_PAGE_OFFSET.map((off, ch) => [off, ch]));
  for (let off = 0; off < I8237_PAGE_PORTS; off++) {
    const ch = channelAt.get(off);
    if (ch === undefined) {
      defs[`LATCH_${(0x80 + off).toString(16).toUpperCase()}`] = byteReg(off, "Spare latch of the page-register file; no DMA function.");
    } else {
      const doc = ch >= 4 ? `Channel ${ch} page: bits 7:1 = A23:A17 (bit 0 unused).` : `Channel ${ch} page: A23:A16.`;
      defs[`PAGE_CH${ch}`] = byteReg(off, doc);
    }
  }
  return defs;
}

/** The page-register file, ports 0x80–0x8F. @public */
export const pageRegisters: RegisterMap = defineRegisters("dma page reg", pageDefs(), {
  size: I8237_PAGE_PORTS,
  doc: "74LS612 page registers: address bits above the 16-bit DMA counter.",
});
