/**
 * Putting a device's {@link RegionImpl} on the bus: a register file behind one MMIO handler that
 * names registers in the trace and turns refused accesses into guest errors; device-owned RAM as a
 * directly accessed region; raw handlers with their declared access sizes.
 */
import type { Bus, BusRegion, MmioHandler } from "../../soc/bus.js";
import type { AccessSize, GuestRegisters, RegionImpl } from "../../../sdk/index.js";
import { GuestAccess } from "../../../sdk/index.js";

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

/**
 * The MMIO handler of a register block. Register names for the trace are precomputed per byte
 * offset (`block.REG`), so tracing an access costs an array read.
 * @public
 */
export class RegisterRegionHandler implements MmioHandler {
  /** The bus region it serves (set once mapped; used for absolute addresses in guest errors). */
  region: BusRegion | null = null;
  private readonly names: (string | undefined)[];
  private readonly space: "mem" | "io";

  constructor(
    private readonly file: GuestRegisters,
    private readonly bus: Bus,
    readonly blockName: string,
    space: "mem" | "io" = "mem",
  ) {
    this.space = space;
    const size = file.map.size;
    this.names = new Array<string | undefined>(size);
    for (let off = 0; off < size; off++) {
      const reg = file.nameAt(off);
      this.names[off] = reg === undefined ? undefined : `${blockName}.${reg}`;
    }
  }

  read(offset: number, size: number): number {
    const v = this.file.guestRead(offset, size as AccessSize);
    if (v >= 0) return v;
    this.refuse(offset, size, false, v, 0);
    return ALL_ONES[size] ?? 0xffffffff;
  }

  write(offset: number, size: number, value: number): void {
    const r = this.file.guestWrite(offset, size as AccessSize, value);
    if (r < 0) this.refuse(offset, size, true, r, value);
  }

  registerName(offset: number): string | undefined {
    return this.names[offset];
  }

  private refuse(offset: number, size: number, write: boolean, code: number, value: number): void {
    const reg = this.names[offset];
    const reason =
      code === GuestAccess.BAD_SIZE
        ? `${reg ?? this.blockName}: ${size}-byte ${write ? "write" : "read"} at offset 0x${offset.toString(16)} not allowed`
        : `${this.blockName}: no register at offset 0x${offset.toString(16)}`;
    this.bus.badAccess((this.region?.base ?? 0) + offset, size, write, reason, undefined, value, this.space);
  }
}

/** What serves a region once created: its handler (for register files) and sizes. @internal */
export interface RegionPlan {
  readonly size: number;
  readonly impl: RegionImpl;
  readonly handler: MmioHandler | null;
  readonly sizes: readonly AccessSize[];
}

/** Prepare the handler of an impl once (kept across BAR moves and decode toggles). @internal */
export function planRegion(bus: Bus, name: string, size: number, impl: RegionImpl, space: "mem" | "io" = "mem"): RegionPlan {
  switch (impl.kind) {
    case "registers":
      return { size, impl, handler: new RegisterRegionHandler(impl.file, bus, name, space), sizes: [1, 2, 4] };
    case "handler":
      return { size, impl, handler: { read: (o, s) => impl.read(o, s as AccessSize), write: (o, s, v) => impl.write(o, s as AccessSize, v) }, sizes: impl.sizes };
    case "ram":
      if (space === "io") throw new RangeError(`${name}: a RAM-backed region cannot live in the I/O port space`);
      return { size: Math.min(size, impl.backing.length), impl, handler: null, sizes: [1, 2, 4, 8] };
  }
}

/** Put a planned region on the bus at `base` (memory or port space). @internal */
export function mapRegion(bus: Bus, name: string, base: number, plan: RegionPlan, space: "mem" | "io" = "mem"): BusRegion {
  let r: BusRegion;
  if (space === "io") r = bus.addPorts(name, base, plan.size, plan.handler!, plan.sizes);
  else if (plan.impl.kind === "ram") r = bus.addRamBacked(name, base, plan.size === plan.impl.backing.length ? plan.impl.backing : plan.impl.backing.subarray(0, plan.size));
  else r = bus.addMmio(name, base, plan.size, plan.handler!, plan.sizes);
  if (plan.handler instanceof RegisterRegionHandler) plan.handler.region = r;
  return r;
}
