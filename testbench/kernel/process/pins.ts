/**
 * Live pins of user pages (pin_user_pages), per pfn, with their leak-ledger ids (0 while the
 * ledger is off), released last-in first-out. The pin path allocates nothing for a page pinned
 * once: the count and the single id sit side by side in a two-level typed table; a page pinned
 * several times at once keeps its ids in a list (a Map entry) until it is back to one pin.
 */

const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;

/** @internal */
export class PinTable {
  /** Per pfn two words, [pins, id of the first pin], in one table so a pin touches one line. */
  private readonly words: (Int32Array | undefined)[] = [];
  /** The ids of a pfn pinned more than once, oldest first. */
  private readonly multi = new Map<number, number[]>();

  /** Pins of `pfn`. */
  count(pfn: number): number {
    const l2 = this.words[Math.floor(pfn / L2_SIZE)];
    return l2 === undefined ? 0 : l2[(pfn & (L2_SIZE - 1)) * 2]!;
  }

  /** One more pin of `pfn` with ledger id `id` (0 when not in the ledger). */
  pin(pfn: number, id: number): void {
    const hi = Math.floor(pfn / L2_SIZE);
    let w = this.words[hi];
    if (w === undefined) w = this.words[hi] = new Int32Array(2 * L2_SIZE);
    const i = (pfn & (L2_SIZE - 1)) * 2;
    const before = w[i]!;
    w[i] = before + 1;
    if (before === 0) w[i + 1] = id;
    else if (before === 1) this.multi.set(pfn, [w[i + 1]!, id]);
    else this.multi.get(pfn)!.push(id);
  }

  /** Drop the latest pin of `pfn`: its ledger id (0 when none), or -1 when `pfn` is not pinned. */
  unpin(pfn: number): number {
    const w = this.words[Math.floor(pfn / L2_SIZE)];
    const i = (pfn & (L2_SIZE - 1)) * 2;
    if (w === undefined || w[i]! === 0) return -1;
    const n = w[i]!;
    w[i] = n - 1;
    if (n === 1) return w[i + 1]!;
    const list = this.multi.get(pfn)!;
    const id = list.pop()!;
    if (n === 2) {
      w[i + 1] = list[0]!;
      this.multi.delete(pfn);
    }
    return id;
  }
}

/**
 * A set of pfns as two-level bit tables (set_page_dirty marks): marking a page costs a few
 * typed-array operations, where a Set of numbers hashes every add. @internal
 */
export class PfnBits {
  private readonly bits: (Uint32Array | undefined)[] = [];
  private n = 0;

  /** Number of pfns in the set. */
  get size(): number {
    return this.n;
  }

  has(pfn: number): boolean {
    const l2 = this.bits[Math.floor(pfn / (L2_SIZE * 32))];
    return l2 !== undefined && (l2[Math.floor(pfn / 32) & (L2_SIZE - 1)]! & (1 << (pfn & 31))) !== 0;
  }

  add(pfn: number): void {
    const hi = Math.floor(pfn / (L2_SIZE * 32));
    let l2 = this.bits[hi];
    if (l2 === undefined) l2 = this.bits[hi] = new Uint32Array(L2_SIZE);
    const w = Math.floor(pfn / 32) & (L2_SIZE - 1);
    const bit = 1 << (pfn & 31);
    if ((l2[w]! & bit) !== 0) return;
    l2[w] = l2[w]! | bit;
    this.n++;
  }
}
