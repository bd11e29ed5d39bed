/**
 * dma_pool (mm/dmapool.c): small coherent blocks carved from coherent chunks of
 * max(size, PAGE_SIZE) bytes. Creation rules: align 0 → 1, a non-power-of-two align → NULL; size
 * 0 → NULL, raised to the minimum block size then rounded up to align; boundary 0 → the chunk
 * size, a boundary smaller than size or not a power of two → NULL, else clamped to the chunk
 * size. Blocks never cross a boundary. Freeing an address the pool does not own logs "(bad dma)",
 * a second free "already free"; destroying a pool with busy blocks logs "busy" and leaks them.
 */
import type { DmaAddr, KernelVA } from "../../../sdk/index.js";
import type { CoherentBuffer, DmaPool } from "../../../sdk/kernel/dma.js";
import type { Device } from "../../../sdk/kernel/driver-core.js";
import type { Owner } from "../facade.js";
import { NO_SITE, siteFrames, type CallSite } from "../stack.js";
import type { DmaApi } from "./dma-api.js";
import { isNull } from "../oops.js";
import { dmaHex } from "./format.js";

const PAGE = 4096;

interface Chunk {
  readonly cpu: number;
  readonly handle: number;
  /** Free block offsets, next to hand out last. */
  readonly free: number[];
  inUse: number;
}

interface Pool {
  readonly name: string;
  readonly dev: Device;
  readonly owner: Owner;
  readonly size: number;
  readonly allocation: number;
  readonly boundary: number;
  readonly chunks: Chunk[];
  readonly ledgerId: number;
  destroyed: boolean;
}

/** The pools of one testbench. @internal */
export class DmaPools {
  private readonly pools = new Map<DmaPool, Pool>();
  private nextId = 1;

  constructor(private readonly dma: DmaApi) {}

  create(owner: Owner, name: string, dev: Device, size: number, align: number, boundary: number, site: CallSite): DmaPool | null {
    const core = this.dma.core;
    if (align === 0) align = 1;
    else if (!(align > 0) || (align & (align - 1)) !== 0) return null;
    if (!(size > 0)) return null;
    const minBlock = this.dma.mm.layout.pointerBits === 64 ? 16 : 8;
    size = Math.ceil(Math.max(size, minBlock) / align) * align;
    const allocation = Math.max(size, PAGE);
    if (boundary === 0) boundary = allocation;
    else if (boundary < size || (boundary & (boundary - 1)) !== 0) return null;
    boundary = Math.min(boundary, allocation);
    core.mightSleep("dma_pool_create", site);
    if (core.faults.shouldFail("dma-pool", owner.driver, site)) return null;
    const handle = { id: this.nextId++ } as unknown as DmaPool;
    const ledgerId = core.ledger.add("dma-pool", owner, `dma_pool "${name}" (${size}-byte blocks)`, site, core.now());
    this.pools.set(handle, { name, dev, owner, size, allocation, boundary, chunks: [], ledgerId, destroyed: false });
    // A pool left at unbind: free its chunks (busy or not) when the leak is reclaimed.
    this.dma.onReclaim(ledgerId, () => {
      const pool = this.pools.get(handle);
      if (!pool) return;
      this.pools.delete(handle);
      for (const c of pool.chunks) this.dma.freeCoherent(pool.owner, pool.dev, pool.allocation, c.cpu, c.handle, NO_SITE, true);
    });
    return handle;
  }

  alloc(owner: Owner, handle: DmaPool, flags: number, zero: boolean, site: CallSite): CoherentBuffer | null {
    const pool = this.live(owner, handle, "dma_pool_alloc", site);
    if (!pool) return null;
    const core = this.dma.core;
    if (core.faults.shouldFail("dma-pool", owner.driver, site)) return null;
    let chunk = pool.chunks.find((c) => c.free.length > 0);
    if (!chunk) {
      const buf = this.dma.allocCoherent(pool.owner, pool.dev, pool.allocation, flags, false, site, { ledger: false, api: "dma_pool_alloc" });
      if (!buf) return null;
      const offsets: number[] = [];
      let next = pool.boundary;
      for (let off = 0; off + pool.size <= pool.allocation; ) {
        if (off + pool.size > next) {
          off = next;
          next += pool.boundary;
          continue;
        }
        offsets.push(off);
        off += pool.size;
      }
      chunk = { cpu: buf.cpu, handle: buf.handle, free: offsets.reverse(), inUse: 0 };
      pool.chunks.push(chunk);
    }
    const off = chunk.free.pop()!;
    chunk.inUse++;
    const cpu = chunk.cpu + off;
    if (zero) this.zero(cpu, chunk, off, pool.size);
    return { cpu: cpu as KernelVA, handle: (chunk.handle + off) as DmaAddr };
  }

  free(owner: Owner, handle: DmaPool, cpu: number, dma: number, site: CallSite): void {
    const pool = this.live(owner, handle, "dma_pool_free", site);
    if (!pool) return;
    const hex = this.dma.mm.hex;
    const chunk = pool.chunks.find((c) => dma >= c.handle && dma < c.handle + pool.allocation);
    if (!chunk) {
      this.err(pool, `dma_pool_free ${pool.name}, ${hex(cpu)}/${dmaHex(dma)} (bad dma)`, site);
      return;
    }
    const off = dma - chunk.handle;
    if (cpu - chunk.cpu !== off) {
      this.err(pool, `dma_pool_free ${pool.name}, ${hex(cpu)} (bad vaddr)/${dmaHex(dma)}`, site);
      return;
    }
    if (chunk.free.includes(off)) {
      this.err(pool, `dma_pool_free ${pool.name}, dma ${dmaHex(dma)} already free`, site);
      return;
    }
    chunk.free.push(off);
    chunk.inUse--;
  }

  destroy(owner: Owner, handle: DmaPool | null, site: CallSite): void {
    if (handle === null) return;
    const pool = this.live(owner, handle, "dma_pool_destroy", site);
    if (!pool) return;
    pool.destroyed = true;
    this.pools.delete(handle);
    this.dma.core.ledger.remove(pool.ledgerId);
    this.dma.dropReclaim(pool.ledgerId);
    for (const c of pool.chunks) {
      if (c.inUse > 0) {
        // Linux keeps busy chunks allocated: the driver may still use them.
        this.err(pool, `dma_pool_destroy ${pool.name}, ${this.dma.mm.hex(c.cpu)} busy`, site);
        continue;
      }
      this.dma.freeCoherent(pool.owner, pool.dev, pool.allocation, c.cpu, c.handle, site);
    }
  }

  /** Pools of a device, for a `pools` dump ("poolinfo - 0.1"). */
  info(dev: Device): string {
    const lines = ["poolinfo - 0.1"];
    for (const p of this.pools.values()) {
      if (p.dev !== dev) continue;
      let inUse = 0;
      let total = 0;
      for (const c of p.chunks) {
        inUse += c.inUse;
        total += c.inUse + c.free.length;
      }
      lines.push(`${p.name.padEnd(16)} ${String(inUse).padStart(4)} ${String(total).padStart(4)} ${String(p.size).padStart(4)} ${String(p.chunks.length).padStart(2)}`);
    }
    return lines.join("\n");
  }

  private zero(cpu: number, chunk: Chunk, off: number, size: number): void {
    // The chunk is physically contiguous: zero through the CPU view at its physical address.
    const alloc = this.dma.coherentAt(this.findDev(chunk), chunk.handle);
    if (!alloc) return;
    this.dma.phys.write(alloc.pfn * PAGE + off, new Uint8Array(size));
    void cpu;
  }

  private findDev(chunk: Chunk): string {
    for (const p of this.pools.values()) if (p.chunks.includes(chunk)) return isNull(p.dev) ? "" : p.dev.name;
    return "";
  }

  private live(owner: Owner, handle: DmaPool, fn: string, site: CallSite): Pool | undefined {
    const pool = this.pools.get(handle);
    if (!pool) {
      this.dma.core.report({ kind: "dma-api", title: `WARNING: ${owner.driver}: ${fn} on a pool that does not exist (destroyed or never created)`, driver: owner.driver, stack: siteFrames(site) });
      return undefined;
    }
    return pool;
  }

  private err(pool: Pool, msg: string, site: CallSite): void {
    // dma_pool_create accepts a NULL device; dev_err then prints "(NULL device *)".
    const dev = isNull(pool.dev) ? undefined : pool.dev.name;
    const title = `${dev === undefined ? "(NULL device *)" : `${pool.owner.driver} ${dev}`}: ${msg}`;
    this.dma.core.report({ kind: "dma-api", title, driver: pool.owner.driver, ...(dev === undefined ? {} : { device: dev }), stack: siteFrames(site) });
  }
}
