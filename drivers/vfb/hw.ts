/**
 * The `vfb` device's BAR2 register offsets as the driver sees them (the driver cannot import the
 * device model): Bochs DISPI registers at 0x500 + 2·index (16-bit), the vdtb extension at 0x700
 * (32-bit).
 */

/** DISPI register offsets in BAR2. @public */
export const VfbDispi = {
  ID: 0x500,
  XRES: 0x502,
  YRES: 0x504,
  BPP: 0x506,
  ENABLE: 0x508,
  BANK: 0x50a,
  VIRT_WIDTH: 0x50c,
  VIRT_HEIGHT: 0x50e,
  X_OFFSET: 0x510,
  Y_OFFSET: 0x512,
  VIDEO_MEMORY_64K: 0x514,
} as const;

/** Extension register offsets in BAR2. @public */
export const VfbExt = {
  EXT_ID: 0x700,
  SCANOUT_LO: 0x704,
  SCANOUT_HI: 0x708,
  FRAME_COUNT: 0x70c,
  IRQ_STATUS: 0x710,
  IRQ_ENABLE: 0x714,
} as const;

/** ENABLE bits. @public */
export const DISPI_ENABLED = 0x01;
/** @public */ export const DISPI_GETCAPS = 0x02;
/** @public */ export const DISPI_LFB_ENABLED = 0x40;
/** @public */ export const DISPI_NOCLEARMEM = 0x80;
/** The DISPI ID the driver expects. @public */
export const DISPI_ID5 = 0xb0c5;
/** EXT_ID: "VDFB". @public */
export const VFB_EXT_ID = 0x56444642;
/** IRQ_STATUS / IRQ_ENABLE bits. @public */
export const VFB_IRQ_VBLANK = 0x1;
/** @public */ export const VFB_IRQ_SCANOUT_ERROR = 0x2;
/** Smallest visible size the device accepts. @public */
export const VFB_MIN_RES = 64;
