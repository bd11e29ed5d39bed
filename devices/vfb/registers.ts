/**
 * Register map of the `vfb` framebuffer's BAR2 (4 KiB): Bochs DISPI registers at 0x500 + 2·index,
 * the QEMU extension words at 0x600/0x604, and the vdtb scanout/vblank extension at 0x700.
 */
import { defineRegisters } from "../../sdk/index.js";

/** Value of the DISPI ID register (index 0). @public */
export const DISPI_ID_VALUE = 0xb0c5;
/** Value of EXT_ID (0x700): "VDFB" in ASCII. @public */
export const VFB_EXT_ID_VALUE = 0x56444642;
/** Value of the byte-order word (0x604): little endian. @public */
export const VFB_BYTE_ORDER_LE = 0x1e1e1e1e;

/**
 * Bits of the DISPI ENABLE register (index 4).
 * @public
 */
export const VfbEnable = {
  ENABLED: 0x01,
  /** While set, XRES/YRES/BPP read back their maxima. */
  GETCAPS: 0x02,
  /** Stored only: the model has no palette. */
  DAC_8BIT: 0x20,
  /** Linear framebuffer; stored (the model is always linear). */
  LFB_ENABLED: 0x40,
  /** Enabling with this bit set keeps VRAM contents. */
  NOCLEAR: 0x80,
} as const;

/**
 * Bits of IRQ_STATUS (0x710, write 1 to clear) and IRQ_ENABLE (0x714).
 * @public
 */
export const VfbIrq = {
  /** Set at every vblank. */
  VBLANK: 0x1,
  /** A DMA read of the SCANOUT buffer failed (vdtb extension); the previous frame stays visible. */
  SCANOUT_ERROR: 0x2,
} as const;

/**
 * Mode limits: the maxima GETCAPS reports (those of Bochs DISPI), and the minimum visible size.
 * @public
 */
export const VFB_LIMITS = {
  maxXres: 16000,
  maxYres: 12000,
  maxBpp: 32,
  minXres: 64,
  minYres: 64,
} as const;

/**
 * Bits per pixel the model accepts: 15 (XRGB1555), 16 (RGB565), 24 (packed BGR), 32 (XRGB8888).
 * 8 bpp is not supported (no palette); a write of any other value is a guest error and ignored.
 * @public
 */
export const VFB_SUPPORTED_BPP: readonly number[] = [15, 16, 24, 32];

/** Base offset of the DISPI registers in BAR2. @public */
export const DISPI_MMIO_BASE = 0x500;

const dispi = (index: number): number => DISPI_MMIO_BASE + 2 * index;
const irqFields = {
  VBLANK: { lsb: 0, width: 1 },
  SCANOUT_ERROR: { lsb: 1, width: 1 },
} as const;

/**
 * The BAR2 register block. DISPI registers are 16-bit (16-bit access only), the others 32-bit
 * (32-bit access only). Writes to XRES, YRES and BPP are checked as std-VGA does (values above the
 * maxima or unsupported depths are guest errors and ignored); everything else is stored as
 * bochs-display does and judged when the mode is derived at scanout.
 * @public
 */
export const vfbRegisters = defineRegisters(
  "vfb",
  {
    DISPI_ID: { offset: dispi(0), width: 16, mode: "ro", reset: DISPI_ID_VALUE, doc: "Interface version, always 0xB0C5" },
    XRES: { offset: dispi(1), width: 16, doc: "Visible width in pixels (max with GETCAPS)" },
    YRES: { offset: dispi(2), width: 16, doc: "Visible height in pixels (max with GETCAPS)" },
    BPP: { offset: dispi(3), width: 16, doc: "Bits per pixel: 15, 16, 24, 32" },
    ENABLE: {
      offset: dispi(4),
      width: 16,
      mode: "rsvd",
      fields: {
        ENABLED: { lsb: 0, width: 1, mode: "rw" },
        GETCAPS: { lsb: 1, width: 1, mode: "rw" },
        DAC_8BIT: { lsb: 5, width: 1, mode: "rw" },
        LFB_ENABLED: { lsb: 6, width: 1, mode: "rw" },
        NOCLEAR: { lsb: 7, width: 1, mode: "rw" },
      },
    },
    BANK: { offset: dispi(5), width: 16, doc: "Banked window selector (stored; no banked window is decoded)" },
    VIRT_WIDTH: { offset: dispi(6), width: 16, doc: "Virtual width in pixels; stride = max(VIRT_WIDTH, XRES)·Bpp" },
    VIRT_HEIGHT: { offset: dispi(7), width: 16, doc: "Virtual height (stored)" },
    X_OFFSET: { offset: dispi(8), width: 16, doc: "Pan: first visible column" },
    Y_OFFSET: { offset: dispi(9), width: 16, doc: "Pan: first visible line" },
    VIDEO_MEMORY_64K: { offset: dispi(10), width: 16, mode: "ro", doc: "VRAM size in 64 KiB units (live)" },
    QEXT_SIZE: { offset: 0x600, width: 32, mode: "ro", reset: 8, doc: "Size of the QEMU extension block" },
    BYTE_ORDER: { offset: 0x604, width: 32, mode: "ro", reset: VFB_BYTE_ORDER_LE, doc: "Framebuffer byte order (little endian only)" },
    EXT_ID: { offset: 0x700, width: 32, mode: "ro", reset: VFB_EXT_ID_VALUE, doc: "vdtb extension present" },
    SCANOUT_LO: { offset: 0x704, width: 32, doc: "Bus address of a system-RAM scanout buffer, low half (0 = VRAM)" },
    SCANOUT_HI: { offset: 0x708, width: 32, doc: "Bus address of the scanout buffer, high half" },
    FRAME_COUNT: { offset: 0x70c, width: 32, mode: "ro", doc: "Incremented at every vblank while enabled" },
    IRQ_STATUS: { offset: 0x710, width: 32, mode: "rsvd", fields: { VBLANK: { ...irqFields.VBLANK, mode: "w1c" }, SCANOUT_ERROR: { ...irqFields.SCANOUT_ERROR, mode: "w1c" } } },
    IRQ_ENABLE: { offset: 0x714, width: 32, mode: "rsvd", fields: { VBLANK: { ...irqFields.VBLANK, mode: "rw" }, SCANOUT_ERROR: { ...irqFields.SCANOUT_ERROR, mode: "rw" } } },
  },
  { size: 0x1000, doc: "vfb BAR2: Bochs DISPI MMIO plus the vdtb scanout extension" },
);

/** The register names of {@link vfbRegisters}. @public */
export type VfbRegisterName = keyof (typeof vfbRegisters)["defs"] & string;
