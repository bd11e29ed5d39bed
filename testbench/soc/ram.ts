/**
 * Sparse physical RAM. Pages are backed on first touch, carved out of 64 KiB slabs (16 pages per
 * ArrayBuffer) so that allocation is amortised. A page is found by pfn through a two-level table
 * of Int32Arrays per bank (no Map), so a 4 GiB bank costs a 1024-entry directory at boot.
 */
import { inject, injectable } from "./di.js";
import type { BoardConfig, RamBank } from "../harness/board.js";
import { BOARD } from "./tokens.js";

const PAGE = 4096;
const SLAB_PAGES = 16;
const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;

interface Bank {
  readonly base: number;
  readonly size: number;
  readonly firstPfn: number;
  readonly pages: number;
  /** dir[relPfn >> 10][relPfn & 1023] = 1 + global page id, 0 = untouched. */
  readonly dir: (Int32Array | undefined)[];
}

/**
 * Physical memory of the board's RAM banks. Untouched pages read as zeros and cost nothing.
 * @public
 */
@injectable()
export class SparseRam {
  /** The RAM banks, as configured. */
  readonly banks: readonly RamBank[];
  private readonly bankList: Bank[];
  /** Per backed page: its bytes (a view into a slab). */
  private readonly pageBytes: Uint8Array[] = [];
  /** Per slab: one DataView over the whole 64 KiB slab. */
  private readonly slabViews: DataView[] = [];
  /** Per slab: its bytes (bulk copies index 1/16 as many objects as per-page views). */
  private readonly slabArrays: Uint8Array[] = [];
  private slabFill = SLAB_PAGES;
  private readonly zeroPage = new Uint8Array(PAGE);

  constructor(@inject(BOARD) board: BoardConfig) {
    this.banks = board.ram;
    this.bankList = board.ram.map((b) => {
      if (b.base % PAGE !== 0 || b.size % PAGE !== 0 || b.size <= 0) {
        throw new RangeError(`RAM bank ${b.base.toString(16)}+${b.size.toString(16)} is not page aligned`);
      }
      const pages = b.size / PAGE;
      return { base: b.base, size: b.size, firstPfn: b.base / PAGE, pages, dir: new Array(Math.ceil(pages / L2_SIZE)) };
    });
  }

  /** Number of pages backed so far. */
  get touchedPages(): number {
    return this.pageBytes.length;
  }

  /** Total RAM size in bytes. */
  get size(): number {
    let s = 0;
    for (const b of this.bankList) s += b.size;
    return s;
  }

  /** True when `[pa, pa+len)` lies inside one RAM bank. */
  contains(pa: number, len = 1): boolean {
    return this.bankOf(pa, len) !== undefined;
  }

  /**
   * Global id of the page `pfn`, backing it when `back` is set; -1 when untouched (and not backed)
   * or outside RAM.
   * @internal
   */
  pageId(pfn: number, back: boolean): number {
    const list = this.bankList;
    for (let k = 0; k < list.length; k++) {
      const b = list[k]!;
      const rel = pfn - b.firstPfn;
      if (rel >= 0 && rel < b.pages) {
        const hi = rel >>> L2_BITS;
        let l2 = b.dir[hi];
        if (l2 === undefined) {
          if (!back) return -1;
          l2 = b.dir[hi] = new Int32Array(L2_SIZE);
        }
        const id = l2[rel & (L2_SIZE - 1)]! - 1;
        if (id >= 0 || !back) return id;
        return (l2[rel & (L2_SIZE - 1)] = this.allocPage() + 1) - 1;
      }
    }
    return -1;
  }

  /** Bytes of a backed page by global id. @internal */
  bytesOf(id: number): Uint8Array {
    return this.pageBytes[id]!;
  }
  /** DataView of the slab holding page `id` (see {@link SparseRam.slabOffset}). @internal */
  slabView(id: number): DataView {
    return this.slabViews[id >> 4]!;
  }
  /** Bytes of the slab holding page `id` (see {@link SparseRam.slabOffset}). @internal */
  slabBytes(id: number): Uint8Array {
    return this.slabArrays[id >> 4]!;
  }
  /** Byte offset of page `id` inside its slab. @internal */
  slabOffset(id: number): number {
    return (id & (SLAB_PAGES - 1)) * PAGE;
  }

  /** The backing bytes of page `pfn`, backing it on first touch; undefined outside RAM. */
  page(pfn: number): Uint8Array | undefined {
    const id = this.pageId(pfn, true);
    return id < 0 ? undefined : this.pageBytes[id];
  }

  /** The backing bytes of page `pfn` if it has been touched, without backing it. */
  peekPage(pfn: number): Uint8Array | undefined {
    const id = this.pageId(pfn, false);
    return id < 0 ? undefined : this.pageBytes[id];
  }

  /** Copy RAM into `dst` (untouched pages read as zeros and stay untouched). Throws outside RAM. */
  read(pa: number, dst: Uint8Array): void {
    this.check(pa, dst.length);
    let done = 0;
    while (done < dst.length) {
      const a = pa + done;
      const pfn = Math.floor(a / PAGE);
      const off = a - pfn * PAGE;
      const n = Math.min(PAGE - off, dst.length - done);
      const id = this.pageId(pfn, false);
      const src = id < 0 ? this.zeroPage : this.pageBytes[id]!;
      dst.set(n === PAGE ? src : src.subarray(off, off + n), done);
      done += n;
    }
  }

  /** Copy `src` into RAM, backing the pages it touches. Throws outside RAM. */
  write(pa: number, src: Uint8Array): void {
    this.check(pa, src.length);
    let done = 0;
    while (done < src.length) {
      const a = pa + done;
      const pfn = Math.floor(a / PAGE);
      const off = a - pfn * PAGE;
      const n = Math.min(PAGE - off, src.length - done);
      const page = this.pageBytes[this.pageId(pfn, true)]!;
      page.set(n === src.length && done === 0 ? src : src.subarray(done, done + n), off);
      done += n;
    }
  }

  /** Fill `[pa, pa+len)` with `value`. Filling untouched pages with zero keeps them untouched. */
  fill(pa: number, len: number, value: number): void {
    this.check(pa, len);
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const pfn = Math.floor(a / PAGE);
      const off = a - pfn * PAGE;
      const n = Math.min(PAGE - off, len - done);
      const id = this.pageId(pfn, (value & 0xff) !== 0);
      if (id >= 0) this.pageBytes[id]!.fill(value, off, off + n);
      done += n;
    }
  }

  /** 32-bit little-endian read (slow path helper; page-table walks use it). */
  read32(pa: number): number {
    const pfn = Math.floor(pa / PAGE);
    const off = pa - pfn * PAGE;
    const id = this.pageId(pfn, false);
    if (id < 0) {
      this.check(pa, 4);
      return 0;
    }
    if (off > PAGE - 4) return this.readSlow(pa, 4);
    return this.slabView(id).getUint32(this.slabOffset(id) + off, true);
  }

  /** 32-bit little-endian write (slow path helper). */
  write32(pa: number, value: number): void {
    const pfn = Math.floor(pa / PAGE);
    const off = pa - pfn * PAGE;
    if (off > PAGE - 4) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, value >>> 0, true);
      this.write(pa, b);
      return;
    }
    const id = this.pageId(pfn, true);
    if (id < 0) this.check(pa, 4);
    this.slabView(id).setUint32(this.slabOffset(id) + off, value >>> 0, true);
  }

  private readSlow(pa: number, n: number): number {
    const b = new Uint8Array(n);
    this.read(pa, b);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[i]!;
    return v;
  }

  private bankOf(pa: number, len: number): Bank | undefined {
    for (const b of this.bankList) if (pa >= b.base && pa + len <= b.base + b.size) return b;
    return undefined;
  }

  private check(pa: number, len: number): void {
    if (len > 0 && this.bankOf(pa, len) === undefined) {
      throw new RangeError(`physical range ${pa.toString(16)}+${len.toString(16)} is not RAM`);
    }
  }

  private allocPage(): number {
    if (this.slabFill === SLAB_PAGES) {
      const buf = new ArrayBuffer(SLAB_PAGES * PAGE);
      this.slabViews.push(new DataView(buf));
      this.slabArrays.push(new Uint8Array(buf));
      this.slabFill = 0;
    }
    const slab = this.slabViews[this.slabViews.length - 1]!;
    const id = this.pageBytes.length;
    this.pageBytes.push(new Uint8Array(slab.buffer, this.slabFill * PAGE, PAGE));
    this.slabFill++;
    return id;
  }
}
