/**
 * The iomem and ioport resource trees and the region-request calls of the facade
 * (`request_mem_region`, `request_region`, their release and devm forms). Every region a driver
 * holds is in the leak ledger until released.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import {
  IORESOURCE_BUSY,
  IORESOURCE_IO,
  IORESOURCE_MEM,
} from "../../../sdk/index.js";
import type { Device, IoPort, Kernel, PhysAddr, RegionHandle } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { Devres } from "../driver/devres.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { KERNEL_OWNER } from "../facade.js";
import type { CallSite } from "../stack.js";
import { DEVRES, KERNEL_CORE, LEAK_RECLAIMERS } from "../tokens.js";
import type { LeakReclaimers } from "../driver/reclaim.js";
import type { LedgerEntry } from "../../checks/ledger.js";
import { formatPa, formatRange, ResourceTree } from "./resource-tree.js";
import type { ResourceNode } from "./resource-tree.js";

/** Which tree. @public */
export type ResourceSpace = "mem" | "io";

interface Held {
  readonly owner: Owner;
  readonly ledgerId: number;
}

/** @public */
@injectable()
export class IoResources implements KernelApiPart {
  readonly iomem: ResourceTree;
  readonly ioport: ResourceTree;
  /** Per port: number of busy resources covering it (for the unrequested-port check). */
  readonly portHeld = new Uint16Array(0x10000);
  private readonly held = new Map<ResourceNode, Held>();

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(BOARD) readonly board: BoardConfig,
    @inject(LEAK_RECLAIMERS) reclaimers: LeakReclaimers,
  ) {
    const reclaim = (e: LedgerEntry): boolean => {
      const f = this.findByLedger(e.id);
      if (f) this.releaseNode(f.space, f.node);
      return f !== undefined;
    };
    reclaimers.register("mem-region", reclaim);
    reclaimers.register("io-region", reclaim);
    // Root ends as Linux sets them: all of phys_addr_t for memory, IO_SPACE_LIMIT for ports.
    this.iomem = new ResourceTree("PCI mem", 2 ** 52 - 1, IORESOURCE_MEM);
    this.ioport = new ResourceTree("PCI IO", 0xffff, IORESOURCE_IO);
    this.populateRam();
  }

  /** `System RAM` per RAM bank; on PC boards the first page is `Reserved` as the BIOS leaves it. */
  private populateRam(): void {
    for (const bank of this.board.ram) {
      let start = bank.base;
      if (this.board.ioPorts && start === 0) {
        this.iomem.insert(0, 0xfff, "Reserved", IORESOURCE_MEM | IORESOURCE_BUSY);
        start = 0x1000;
      }
      this.iomem.insert(start, bank.base + bank.size - 1, "System RAM", IORESOURCE_MEM | IORESOURCE_BUSY);
    }
  }

  tree(space: ResourceSpace): ResourceTree {
    return space === "mem" ? this.iomem : this.ioport;
  }

  /** Insert a non-busy container resource (bus window, BAR, platform window). */
  insertContainer(space: ResourceSpace, start: number, size: number, name: string, flags = 0): ResourceNode {
    const base = space === "mem" ? IORESOURCE_MEM : IORESOURCE_IO;
    const r = this.tree(space).insert(start, start + size - 1, name, base | flags);
    if (!r.ok) throw new RangeError(`resource ${name} ${formatRange(space, start, start + size - 1)} conflicts with ${r.conflict.name}`);
    return r.node;
  }

  /** Reserve a range for the platform itself (busy, owned by the kernel). */
  reserve(space: ResourceSpace, start: number, size: number, name: string): ResourceNode {
    const node = this.requestRegion(KERNEL_OWNER, space, start, size, name, this.core.site());
    if (!node) throw new RangeError(`cannot reserve ${name} ${formatRange(space, start, start + size - 1)}`);
    return node;
  }

  /** Remove a container resource (unplug). */
  removeNode(space: ResourceSpace, node: ResourceNode): void {
    this.tree(space).remove(node);
  }

  /** `__request_region`: a busy resource, or null on conflict (with a dmesg line). */
  requestRegion(owner: Owner, space: ResourceSpace, start: number, n: number, name: string, site: CallSite): ResourceNode | null {
    if (!(n > 0) || !(start >= 0)) return null;
    if (owner !== KERNEL_OWNER && this.core.faults.shouldFail("region", owner.driver, site)) return null;
    const end = start + n - 1;
    const flags = (space === "mem" ? IORESOURCE_MEM : IORESOURCE_IO) | IORESOURCE_BUSY;
    const r = this.tree(space).request(start, end, name, flags);
    if (!r.ok) {
      this.core.dmesg.log(
        "info",
        `${owner.device ? `${owner.driver} ${owner.device}: ` : ""}resource ${formatRange(space, start, end)} "${name}" conflicts with ${r.conflict.name} ${formatRange(space, r.conflict.start, r.conflict.end)}`,
      );
      return null;
    }
    const kind = space === "mem" ? "mem-region" : "io-region";
    // The platform's own reservations are not driver resources: keep them out of the ledger.
    const ledgerId = owner.driver === KERNEL_OWNER.driver ? 0 : this.core.ledger.add(kind, owner, `${space === "mem" ? "memory" : "I/O port"} region ${formatRange(space, start, end)} "${name}"`, site, this.core.now(), start, n);
    this.held.set(r.node, { owner, ledgerId });
    if (space === "io") this.markPorts(start, end, 1);
    return r.node;
  }

  /** `__release_region`: false (and the kernel's warning as a report) when nothing matches. */
  releaseRegion(owner: Owner, space: ResourceSpace, start: number, n: number, site: CallSite): boolean {
    const node = this.tree(space).releaseExact(start, start + n - 1);
    if (!node) {
      this.core.report(
        {
          kind: "resource",
          title: `Trying to free nonexistent resource <${formatPa(start)}-${formatPa(start + n - 1)}>`,
          driver: owner.driver,
          ...(owner.device ? { device: owner.device } : {}),
          address: start,
          size: n,
        },
        site,
      );
      return false;
    }
    this.forget(node, space);
    return true;
  }

  /** Release a node found by the leak reclaimer or a devres action. */
  releaseNode(space: ResourceSpace, node: ResourceNode): void {
    if (!this.held.has(node)) return;
    this.tree(space).remove(node);
    this.forget(node, space);
  }

  /** The held region whose ledger entry is `ledgerId` (for reclaiming leaks). */
  findByLedger(ledgerId: number): { node: ResourceNode; space: ResourceSpace } | undefined {
    for (const [node, h] of this.held) {
      if (h.ledgerId === ledgerId) return { node, space: (node.flags & IORESOURCE_IO) !== 0 ? "io" : "mem" };
    }
    return undefined;
  }

  /** True when a busy resource covers all of `[start, start+n)` in memory space. */
  memRequested(start: number, n: number): boolean {
    return this.iomem.busyCovering(start, start + n - 1) !== null;
  }

  /** True when `[start, start+n)` touches System RAM. */
  overlapsRam(start: number, n: number): boolean {
    const end = start + n - 1;
    for (const b of this.board.ram) if (start <= b.base + b.size - 1 && end >= b.base) return true;
    return false;
  }

  private forget(node: ResourceNode, space: ResourceSpace): void {
    const h = this.held.get(node);
    if (!h) return;
    this.held.delete(node);
    this.core.ledger.remove(h.ledgerId);
    if (space === "io") this.markPorts(node.start, node.end, -1);
  }

  private markPorts(start: number, end: number, delta: number): void {
    const last = Math.min(end, 0xffff);
    for (let p = start; p <= last; p++) this.portHeld[p] = this.portHeld[p]! + delta;
  }

  /** `devm_request_*_region`. */
  devmRequest(owner: Owner, dev: Device, space: ResourceSpace, start: number, n: number, name: string, site: CallSite): ResourceNode | null {
    const node = this.requestRegion(owner, space, start, n, name, site);
    if (!node) return null;
    this.devres.add(dev, `devm_request_${space === "mem" ? "mem_" : ""}region ${formatRange(space, node.start, node.end)}`, () => this.releaseNode(space, node), site);
    return node;
  }

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    return {
      request_mem_region: (start: PhysAddr, n: number, name: string) => this.requestRegion(owner, "mem", start, n, name, core.site()) as RegionHandle | null,
      release_mem_region: (start: PhysAddr, n: number) => void this.releaseRegion(owner, "mem", start, n, core.site()),
      request_region: (start: IoPort, n: number, name: string) => this.requestRegion(owner, "io", start, n, name, core.site()) as RegionHandle | null,
      release_region: (start: IoPort, n: number) => void this.releaseRegion(owner, "io", start, n, core.site()),
      devm_request_mem_region: (dev: Device, start: PhysAddr, n: number, name: string) => this.devmRequest(owner, dev, "mem", start, n, name, core.site()) as RegionHandle | null,
      devm_request_region: (dev: Device, start: IoPort, n: number, name: string) => this.devmRequest(owner, dev, "io", start, n, name, core.site()) as RegionHandle | null,
    };
  }
}
