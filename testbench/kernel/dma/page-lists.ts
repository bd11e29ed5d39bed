/**
 * Lists keyed by page number (bus pages, pfns), for the DMA bookkeeping that runs once per page
 * of every mapping: a two-level table (a Map per 1024 pages, an array inside) instead of one Map
 * entry per page, whose set/delete pair costs hundreds of nanoseconds at 16k pages per request.
 */

const L2 = 1024;

/** What readers of a page index need. @internal */
export interface PageListsView<T> {
  get(page: number): readonly T[] | undefined;
}

interface Leaf<T> {
  readonly lists: (T[] | undefined)[];
  /** Pages of the leaf holding a list. */
  used: number;
}

/** @internal */
export class PageLists<T> implements PageListsView<T> {
  /** Leaves by `page / 1024`. */
  private readonly leaves = new Map<number, Leaf<T>>();
  /** The leaf last looked up (pages of one mapping share leaves). */
  private lastHi = -1;
  private last: Leaf<T> | undefined;

  private leaf(hi: number): Leaf<T> | undefined {
    if (hi !== this.lastHi) {
      this.last = this.leaves.get(hi);
      this.lastHi = hi;
    }
    return this.last;
  }

  get(page: number): T[] | undefined {
    const hi = Math.floor(page / L2);
    const l = this.leaf(hi);
    return l === undefined ? undefined : l.lists[page - hi * L2];
  }

  set(page: number, list: T[]): void {
    const hi = Math.floor(page / L2);
    let l = this.leaf(hi);
    if (l === undefined) {
      l = { lists: new Array<T[] | undefined>(L2).fill(undefined), used: 0 };
      this.leaves.set(hi, l);
      this.last = l;
    }
    const i = page - hi * L2;
    if (l.lists[i] === undefined) l.used++;
    l.lists[i] = list;
  }

  delete(page: number): void {
    const hi = Math.floor(page / L2);
    const l = this.leaf(hi);
    const i = page - hi * L2;
    if (l === undefined || l.lists[i] === undefined) return;
    l.lists[i] = undefined;
    if (--l.used > 0) return;
    // An empty leaf goes (IOVAs and pfns move on); the cache forgets it.
    this.leaves.delete(hi);
    this.last = undefined;
  }
}
