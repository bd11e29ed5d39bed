/**
 * Kernel virtual address-space layouts of the three profiles, as data.
 *
 * Kernel-half addresses of x86_64 are the signed 64-bit value of the canonical address (negative,
 * exact in a double). Never use `>>>`, `|` or `&` on them: use arithmetic and Math.floor.
 */
import type { ProfileName } from "../../harness/board.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const TWO64 = 2 ** 64;

/** Signed value of a 64-bit canonical address written as a 16-hex-digit literal. @internal */
function signed64(hi: number, lo: number): number {
  // hi/lo are the two 32-bit halves of the unsigned address.
  const u = hi * 4294967296 + lo;
  return hi >= 0x80000000 ? u - TWO64 : u;
}

/** One profile's layout. @public */
export interface MemLayout {
  readonly profile: ProfileName;
  /** Bits of a pointer (32 or 64): how addresses are printed. */
  readonly pointerBits: 32 | 64;
  /** End of user space (TASK_SIZE). */
  readonly taskSize: number;
  /** Start of the linear (direct) map: RAM's first byte is mapped here. */
  readonly pageOffset: number;
  /** Most RAM the linear map can hold (896 MiB on x86_32); the rest is highmem. */
  readonly lowmemMax: number;
  /** True when RAM above lowmem becomes ZONE_HIGHMEM (32-bit profiles). */
  readonly highmem: boolean;
  /** vmalloc (and ioremap) area. */
  readonly vmallocStart: number;
  readonly vmallocEnd: number;
  /** pkmap area for `kmap` of highmem pages (0 pages on x86_64). */
  readonly pkmapBase: number;
  readonly pkmapPages: number;
  /** Fixmap area (kmap_local slots live at its start). */
  readonly fixmapStart: number;
  readonly fixmapEnd: number;
  /** Modules area. */
  readonly modulesStart: number;
  readonly modulesEnd: number;
  /** ARM high vector page, or 0. */
  readonly vectorPage: number;
  /** Zone boundaries (physical, exclusive). DMA32 is 0 when the profile has no ZONE_DMA32. */
  readonly zoneDmaLimit: number;
  readonly zoneDma32Limit: number;
  /** `size_t` maximum + 1, for kcalloc overflow. */
  readonly sizeLimit: number;
  /** An address no mapping ever covers: what misused address conversions return. */
  readonly poisonVa: number;
}

/** A physical address that is never RAM: what misused conversions return. @public */
export const POISON_PA = 0xdead00000000;

/** x86_32: 3G/1G split, 896 MiB lowmem, vmalloc 8 MiB past lowmem, PAE pkmap, fixmap at the top. @public */
export const x86_32Layout: MemLayout = Object.freeze({
  profile: "x86_32",
  pointerBits: 32,
  taskSize: 0xc0000000,
  pageOffset: 0xc0000000,
  lowmemMax: 896 * MiB,
  highmem: true,
  vmallocStart: 0xc0000000 + 896 * MiB + 8 * MiB, // 0xf8800000 (VMALLOC_OFFSET gap)
  vmallocEnd: 0xff800000 - 8 * KiB,
  pkmapBase: 0xff800000,
  pkmapPages: 512, // LAST_PKMAP with PAE: one 2 MiB page-table page
  fixmapStart: 0xffa00000,
  fixmapEnd: 0xfffff000,
  modulesStart: 0xf8800000, // x86_32 loads modules in the vmalloc area
  modulesEnd: 0xff7fe000,
  vectorPage: 0,
  zoneDmaLimit: 16 * MiB,
  zoneDma32Limit: 0,
  sizeLimit: 2 ** 32,
  poisonVa: 0xff7ff000, // the guard gap between vmalloc and pkmap
});

/** arm32 VMSPLIT_3G: modules and pkmap just below PAGE_OFFSET, 240 MiB vmalloc, vectors at 0xffff0000. @public */
export const arm32Layout: MemLayout = Object.freeze({
  profile: "arm32",
  pointerBits: 32,
  taskSize: 0xbf000000,
  pageOffset: 0xc0000000,
  lowmemMax: 0xf0000000 - 8 * MiB - 0xc0000000, // 760 MiB: vmalloc_min minus the 8 MiB gap
  highmem: true,
  vmallocStart: 0xf0000000,
  vmallocEnd: 0xff800000,
  pkmapBase: 0xc0000000 - 2 * MiB, // PAGE_OFFSET - PMD_SIZE
  pkmapPages: 512,
  fixmapStart: 0xffc00000,
  fixmapEnd: 0xfff00000,
  modulesStart: 0xbf000000,
  modulesEnd: 0xc0000000 - 2 * MiB,
  vectorPage: 0xffff0000,
  zoneDmaLimit: 16 * MiB,
  zoneDma32Limit: 0,
  sizeLimit: 2 ** 32,
  poisonVa: 0xff800000 + 4 * KiB, // between vmalloc end and fixmap: never mapped
});

/** x86_64 4-level: direct map at 0xffff888000000000, vmalloc at 0xffffc90000000000. @public */
export const x86_64Layout: MemLayout = Object.freeze({
  profile: "x86_64",
  pointerBits: 64,
  taskSize: 0x7ffffffff000,
  pageOffset: signed64(0xffff8880, 0), // -0x778000000000
  lowmemMax: 64 * TiB,
  highmem: false,
  vmallocStart: signed64(0xffffc900, 0),
  vmallocEnd: signed64(0xffffe900, 0), // exclusive end of the 32 TiB area
  pkmapBase: 0,
  pkmapPages: 0,
  fixmapStart: signed64(0xffffffff, 0xff000000),
  fixmapEnd: signed64(0xffffffff, 0xff600000),
  modulesStart: signed64(0xffffffff, 0xa0000000),
  modulesEnd: signed64(0xffffffff, 0xff000000),
  vectorPage: 0,
  zoneDmaLimit: 16 * MiB,
  zoneDma32Limit: 4 * GiB,
  sizeLimit: TWO64,
  poisonVa: signed64(0xdead0000, 0), // non-canonical: any access faults
});

/** Layout of a profile. @public */
export function layoutOf(profile: ProfileName): MemLayout {
  return profile === "x86_64" ? x86_64Layout : profile === "x86_32" ? x86_32Layout : arm32Layout;
}

/** A kernel address as the kernel prints pointers (%px): 16 or 8 lowercase hex digits. @public */
export function hexAddr(addr: number, bits: 32 | 64 = 64): string {
  // A driver may pass anything (undefined, null, NaN): print it rather than fail the report.
  if (typeof addr !== "number" || !Number.isFinite(addr)) return String(addr);
  if (bits === 32) return (addr >= 0 ? addr - Math.floor(addr / 4294967296) * 4294967296 : addr + 4294967296).toString(16).padStart(8, "0");
  const u = addr < 0 ? addr + TWO64 : addr;
  if (addr < 0) {
    // Not exact as one double above 2^53: split in halves.
    const hi = Math.floor(addr / 4294967296);
    const lo = addr - hi * 4294967296;
    return (hi + 4294967296).toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
  }
  return u.toString(16).padStart(16, "0");
}
