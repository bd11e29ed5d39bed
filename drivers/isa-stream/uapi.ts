/**
 * The user-space interface of /dev/isa-stream: ioctl numbers (encoded as Linux's `_IOC`) and
 * the limits they accept. `write` plays, `read` captures; the ioctls below configure the stream
 * while it is stopped and report its state.
 */

const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

/** Linux's `_IOC(dir, type, nr, size)` encoding. */
function ioc(dir: number, type: string, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}

/** The ioctl type letter of isa-stream. @public */
export const ISA_STREAM_IOC_MAGIC = "S";

/** Set the rate in bytes per millisecond (1..65535); arg is the value. @public */
export const ISA_STREAM_SET_RATE = ioc(IOC_WRITE, ISA_STREAM_IOC_MAGIC, 1, 4);
/** Set the sample width: 8 (DMA channel 1) or 16 (channel 5); arg is the value. @public */
export const ISA_STREAM_SET_WIDTH = ioc(IOC_WRITE, ISA_STREAM_IOC_MAGIC, 2, 4);
/** Set the block (period) size in bytes: an IRQ per block; even for 16-bit; at most half the ring. @public */
export const ISA_STREAM_SET_BLOCK = ioc(IOC_WRITE, ISA_STREAM_IOC_MAGIC, 3, 4);
/** 1: auto-init ring (one DMA programming for the whole ring); 0: single-shot, one per block. @public */
export const ISA_STREAM_SET_AUTOINIT = ioc(IOC_WRITE, ISA_STREAM_IOC_MAGIC, 4, 4);
/** Returns the DMA position inside the ring in bytes (from the 8237 residue). @public */
export const ISA_STREAM_GET_POS = ioc(IOC_READ, ISA_STREAM_IOC_MAGIC, 5, 4);
/** Returns the number of underruns (playback) or overruns (capture) since open. @public */
export const ISA_STREAM_GET_XRUNS = ioc(IOC_READ, ISA_STREAM_IOC_MAGIC, 6, 4);
/** Returns the total bytes the device has moved since open (the hardware pointer). @public */
export const ISA_STREAM_GET_HWPTR = ioc(IOC_READ, ISA_STREAM_IOC_MAGIC, 7, 4);
/** Returns the usable ring size in bytes (a whole number of blocks). @public */
export const ISA_STREAM_GET_RING = ioc(IOC_READ, ISA_STREAM_IOC_MAGIC, 8, 4);
/** Wait until everything written has been played, then stop (OSS's SNDCTL_DSP_SYNC). @public */
export const ISA_STREAM_DRAIN = ioc(IOC_NONE, ISA_STREAM_IOC_MAGIC, 9, 0);

/** Ring buffer size in bytes: order-3 pages, naturally aligned, so it never crosses 64 KiB. @public */
export const ISA_STREAM_RING_BYTES = 0x8000;
/** Defaults at open. @public */
export const ISA_STREAM_DEFAULTS = { rate: 176, width: 8, block: 1024, autoinit: 1 } as const;
