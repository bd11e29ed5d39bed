/**
 * The PC/AT ISA DMA port map as the x86 asm/dma.h header lays it out: which port of which
 * controller a channel's address, count, page, mask, mode and flip-flop live at. DMA1 (channels
 * 0–3) uses consecutive ports from 0x00, DMA2 (channels 4–7) the even ports from 0xC0.
 */

/** Number of ISA DMA channels (MAX_DMA_CHANNELS). @public */
export const MAX_DMA_CHANNELS = 8;

/** DMA1 control ports. @internal */
export const DMA1 = { base: 0x00, status: 0x08, mask: 0x0a, mode: 0x0b, clearFf: 0x0c } as const;
/** DMA2 control ports (every offset doubled). @internal */
export const DMA2 = { base: 0xc0, status: 0xd0, mask: 0xd4, mode: 0xd6, clearFf: 0xd8 } as const;

/** Page register port of each channel (DMA_PAGE_0..7; channel 4 has no useful page register). @internal */
export const DMA_PAGE_PORT: readonly number[] = [0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a];

/** The port ranges the kernel reserves for the controllers, with the names /proc/ioports shows. @internal */
export const DMA_PORT_RANGES: readonly { readonly start: number; readonly end: number; readonly name: string }[] = [
  { start: 0x0000, end: 0x001f, name: "dma1" },
  { start: 0x0080, end: 0x008f, name: "dma page reg" },
  { start: 0x00c0, end: 0x00df, name: "dma2" },
];

/** True for the 16-bit channels 4–7 (DMA2: word counts, address in A16:A1). @internal */
export function isWide(ch: number): boolean {
  return ch >= 4;
}

/** 0 for DMA1, 1 for DMA2. @internal */
export function controllerOf(ch: number): 0 | 1 {
  return ch >= 4 ? 1 : 0;
}

/** DMA_ADDR_n. @internal */
export function addrPort(ch: number): number {
  return ch < 4 ? (ch & 3) << 1 : DMA2.base + ((ch & 3) << 2);
}

/** DMA_CNT_n. @internal */
export function countPort(ch: number): number {
  return ch < 4 ? ((ch & 3) << 1) + 1 : DMA2.base + ((ch & 3) << 2) + 2;
}

/** The single-channel mask port of the channel's controller. @internal */
export function maskPort(ch: number): number {
  return ch < 4 ? DMA1.mask : DMA2.mask;
}

/** The mode port of the channel's controller. @internal */
export function modePort(ch: number): number {
  return ch < 4 ? DMA1.mode : DMA2.mode;
}

/** The clear-flip-flop port of the channel's controller. @internal */
export function clearFfPort(ch: number): number {
  return ch < 4 ? DMA1.clearFf : DMA2.clearFf;
}

/** Size of the page a transfer may not cross: 64 KiB on 8-bit channels, 128 KiB on 16-bit. @internal */
export function dmaPageSize(ch: number): number {
  return isWide(ch) ? 0x20000 : 0x10000;
}
