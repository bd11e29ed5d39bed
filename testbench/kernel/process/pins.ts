/**
 * Live pins of user pages (pin_user_pages), per pfn: a count in a two-level typed table (no Map
 * on the pin path), and the pins' leak-ledger ids in pin order for the pfns that have any. While
 * the ledger is off pins have id 0 and only the count moves; a pfn's id list, once it exists,
 * holds every pin of the pfn (zeros included) so unpinning releases the ids last-in first-out.
 */

const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;

/** @internal */
export class PinTable {
  private readonly dir: (Int32Array | undefined)[] = [];
  private readonly ids = new Map<number, number[]>();

  /** Pins of `pfn`. */
  count(pfn: number): number {
    const l2 = this.dir[Math.floor(pfn / L2_SIZE)];
    return l2 === undefined ? 0 : l2[pfn & (L2_SIZE - 1)]!;
  }

  /** One more pin of `pfn` with ledger id `id` (0 when not in the ledger). */
  pin(pfn: number, id: number): void {
    const hi = Math.floor(pfn / L2_SIZE);
    let l2 = this.dir[hi];
    if (l2 === undefined) l2 = this.dir[hi] = new Int32Array(L2_SIZE);
    const i = pfn & (L2_SIZE - 1);
    const before = l2[i]!;
    l2[i] = before + 1;
    let list = this.ids.get(pfn);
    if (list === undefined && id !== 0) {
      // The earlier pins (id 0) sit below this one.
      list = new Array<number>(before).fill(0);
      this.ids.set(pfn, list);
    }
    if (list !== undefined) list.push(id);
  }

  /** Drop the latest pin of `pfn`: its ledger id (0 when none), or -1 when `pfn` is not pinned. */
  unpin(pfn: number): number {
    const l2 = this.dir[Math.floor(pfn / L2_SIZE)];
    const i = pfn & (L2_SIZE - 1);
    if (l2 === undefined || l2[i]! === 0) return -1;
    l2[i]!--;
    const list = this.ids.get(pfn);
    if (list === undefined) return 0;
    const id = list.pop()!;
    if (list.length === 0) this.ids.delete(pfn);
    return id;
  }
}
