/**
 * A resource tree (`struct resource` with parent/child/sibling), as kernel/resource.c keeps one
 * for memory (`iomem_resource`) and one for ports (`ioport_resource`). Children are kept sorted by
 * start and never overlap; a request descends into a non-busy resource that fully contains it
 * (a BAR, a bus window) and fails on a busy one or on a partial overlap.
 */
import { IORESOURCE_BUSY } from "../../../sdk/index.js";
import type { Resource } from "../../../sdk/index.js";

/** One node of a resource tree. @public */
export class ResourceNode implements Resource {
  parent: ResourceNode | null = null;
  readonly children: ResourceNode[] = [];
  constructor(
    public start: number,
    public end: number,
    public name: string,
    public flags: number,
  ) {}

  get busy(): boolean {
    return (this.flags & IORESOURCE_BUSY) !== 0;
  }

  /** Depth below the root (the root's children are at depth 0). */
  get depth(): number {
    let d = -1;
    for (let p = this.parent; p; p = p.parent) d++;
    return d;
  }
}

/** The outcome of an insertion attempt: the node, or the resource in the way. @public */
export type InsertResult = { readonly ok: true; readonly node: ResourceNode } | { readonly ok: false; readonly conflict: ResourceNode };

/** One resource tree. @public */
export class ResourceTree {
  readonly root: ResourceNode;

  constructor(name: string, end: number, flags: number) {
    this.root = new ResourceNode(0, end, name, flags);
  }

  /**
   * `__request_region`: find the deepest non-busy resource that contains `[start, end]` and add a
   * child there. A busy resource or a partial overlap in the way is a conflict.
   */
  request(start: number, end: number, name: string, flags: number): InsertResult {
    let parent = this.root;
    if (start < parent.start || end > parent.end || end < start) return { ok: false, conflict: parent };
    for (;;) {
      const hit = overlapping(parent, start, end);
      if (!hit) return { ok: true, node: attach(parent, new ResourceNode(start, end, name, flags)) };
      if (hit.busy || hit.start > start || hit.end < end) return { ok: false, conflict: hit };
      parent = hit;
    }
  }

  /**
   * `insert_resource`: place a (usually non-busy) resource at the deepest level where it fits;
   * existing siblings it fully contains become its children. A partial overlap is a conflict.
   */
  insert(start: number, end: number, name: string, flags: number): InsertResult {
    let parent = this.root;
    for (;;) {
      const inside = parent.children.find((c) => c.start <= start && c.end >= end && !(c.start === start && c.end === end));
      if (inside) {
        parent = inside;
        continue;
      }
      const node = new ResourceNode(start, end, name, flags);
      const covered: ResourceNode[] = [];
      for (const c of parent.children) {
        if (c.end < start || c.start > end) continue;
        if (c.start >= start && c.end <= end) covered.push(c);
        else return { ok: false, conflict: c };
      }
      for (const c of covered) detach(c);
      attach(parent, node);
      for (const c of covered) attach(node, c);
      return { ok: true, node };
    }
  }

  /** Remove one node; its children move up to its parent. */
  remove(node: ResourceNode): void {
    const parent = node.parent;
    if (!parent) return;
    detach(node);
    for (const c of [...node.children]) {
      detach(c);
      attach(parent, c);
    }
  }

  /**
   * `__release_region`: find the busy resource that is exactly `[start, end]`, descending through
   * non-busy resources that contain it. Returns the removed node, or null when none matches.
   */
  releaseExact(start: number, end: number): ResourceNode | null {
    let parent = this.root;
    for (;;) {
      const c = parent.children.find((n) => n.start <= start && n.end >= end);
      if (!c) return null;
      if (c.busy) {
        if (c.start !== start || c.end !== end) return null;
        this.remove(c);
        return c;
      }
      parent = c;
    }
  }

  /** The busy resource covering all of `[start, end]`, or null. */
  busyCovering(start: number, end: number): ResourceNode | null {
    let parent = this.root;
    for (;;) {
      const c = parent.children.find((n) => n.start <= start && n.end >= end);
      if (!c) return null;
      if (c.busy) return c;
      parent = c;
    }
  }

  /** Every node in tree order (depth first, by start), without the root. */
  *walk(node: ResourceNode = this.root): IterableIterator<ResourceNode> {
    for (const c of node.children) {
      yield c;
      yield* this.walk(c);
    }
  }
}

function overlapping(parent: ResourceNode, start: number, end: number): ResourceNode | undefined {
  return parent.children.find((c) => c.start <= end && c.end >= start);
}

function attach(parent: ResourceNode, node: ResourceNode): ResourceNode {
  node.parent = parent;
  const list = parent.children;
  let i = 0;
  while (i < list.length && list[i]!.start <= node.start) i++;
  list.splice(i, 0, node);
  return node;
}

function detach(node: ResourceNode): void {
  const p = node.parent;
  if (!p) return;
  const i = p.children.indexOf(node);
  if (i >= 0) p.children.splice(i, 1);
  node.parent = null;
}

/**
 * `r_show` of kernel/resource.c: two spaces of indent per level, zero-padded lowercase hex of
 * width 4 when the root ends below 0x10000 (ports) and 8 otherwise, both ends inclusive.
 * @public
 */
export function renderResourceTree(tree: ResourceTree): string {
  const width = tree.root.end < 0x10000 ? 4 : 8;
  let out = "";
  for (const n of tree.walk()) {
    const depth = Math.min(n.depth, 5);
    out += `${"  ".repeat(depth)}${hexPad(n.start, width)}-${hexPad(n.end, width)} : ${n.name || "<BAD>"}\n`;
  }
  return out;
}

function hexPad(n: number, width: number): string {
  // A driver may pass anything (undefined, null): print it rather than fail the report.
  return typeof n === "number" ? n.toString(16).padStart(width, "0") : String(n);
}

/** `%pa` of a physical address: `0x` and 16 hex digits (phys_addr_t is 64-bit on every profile). @public */
export function formatPa(n: number): string {
  return "0x" + hexPad(n, 16);
}

/** `%pR`-like: `[mem 0xfebf0000-0xfebf0fff]` or `[io  0x0220-0x022f]`. @public */
export function formatRange(space: "mem" | "io", start: number, end: number): string {
  const w = space === "io" ? 4 : 8;
  return space === "io" ? `[io  0x${hexPad(start, w)}-0x${hexPad(end, w)}]` : `[mem 0x${hexPad(start, w)}-0x${hexPad(end, w)}]`;
}
