/**
 * The isa-stream card's programming model as the driver knows it (its datasheet, not the model's
 * code): register offsets from the base port, commands and bits.
 */

/** Register offsets from the card's base port. @internal */
export const Reg = {
  ID_RESET: 0x0,
  COMMAND: 0x2,
  MODE: 0x4,
  BLOCK_SIZE: 0x6,
  RATE: 0x8,
  STATUS: 0xa,
  IRQ_ACK: 0xc,
  DATA: 0xe,
} as const;

/** Ports the card decodes. @internal */
export const PORT_COUNT = 0x10;
/** What ID reads. @internal */
export const CARD_ID = 0x5a;

/** @internal */
export const Cmd = { PLAY: 1, CAPTURE: 2, STOP: 3 } as const;
/** @internal */
export const Mode = { WIDE: 0x01, AUTOINIT: 0x02 } as const;
/** @internal */
export const Status = { RUNNING: 0x01, IRQ_PENDING: 0x02, XRUN: 0x04 } as const;
