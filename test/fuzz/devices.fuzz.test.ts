/**
 * Property-based robustness of every device model: random register, port and descriptor traffic
 * never throws into the host, never hangs (bounded simulated events per step), and replays
 * identically from its seed. CI runs 10^4 operations per device; set VDTB_FUZZ_OPS=1000000 for a
 * long run on demand.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { i8237, isaStream, sgdma, vfb } from "../../devices/index.js";
import type { AccessSize, VirtualDevice } from "../../sdk/index.js";
import { DeviceHost } from "../support/device-host.js";

const TOTAL_OPS = Number(process.env.VDTB_FUZZ_OPS ?? 10_000);
const OPS_PER_RUN = 500;
const RUNS = Math.max(1, Math.round(TOTAL_OPS / OPS_PER_RUN));
/** Events one step may run before we call it a hang (a looping descriptor chain, a timer storm). */
const MAX_EVENTS_PER_STEP = 50_000;
const RAM = 1 << 20;

type Op =
  | { kind: "read"; region: number; offset: number; size: AccessSize }
  | { kind: "write"; region: number; offset: number; size: AccessSize; value: number }
  | { kind: "advance"; ns: number }
  | { kind: "ram"; addr: number; bytes: Uint8Array }
  | { kind: "descriptor"; addr: number; words: number[] };

interface Built {
  host: DeviceHost;
  regions: { id: number | string; size: number; offsets: number[] }[];
  /** For an ISA client: the host of its 8237, poked alongside. */
  controllerHost?: DeviceHost;
}

interface Target {
  readonly name: string;
  make(): Built;
}

/** Register offsets of a region, from its register table (empty for RAM-like regions). */
function tableOffsets(host: DeviceHost, id: number | string): number[] {
  const impl = host.region(id).impl;
  if (impl.kind !== "registers") return [];
  return impl.file.map.names.map((n) => impl.file.map.defs[n]!.offset);
}

function describeRegions(host: DeviceHost, ids: (number | string)[]): Built["regions"] {
  return ids.map((id) => ({ id, size: host.region(id).size, offsets: tableOffsets(host, id) }));
}

function hostFor(device: VirtualDevice, regions: (number | string)[]): Built {
  const host = new DeviceHost(device, { ramSize: RAM, msiVectors: 2, seed: 7 });
  return { host, regions: describeRegions(host, regions) };
}

const targets: Target[] = [
  { name: "vfb", make: () => hostFor(vfb({ vramSize: 1 << 20 }), [2, 0]) },
  { name: "sgdma", make: () => hostFor(sgdma({ cardMemorySize: 1 << 16 }), [0, 2]) },
  { name: "i8237", make: () => hostFor(i8237(), ["dma1", "dma page reg", "dma2"]) },
  {
    name: "isa-stream",
    make: () => {
      const ctl = i8237();
      const dmaHost = new DeviceHost(ctl, { ramSize: RAM, seed: 7 });
      const stream = isaStream();
      const host = new DeviceHost(stream, { peer: dmaHost, seed: 7 }, ctl);
      const decl = stream.describe();
      if (decl.bus !== "isa") throw new Error("isa-stream must be an ISA device");
      return { host, regions: describeRegions(host, [decl.ports[0]!.name]), controllerHost: dmaHost };
    },
  },
];

function opArb(regions: Built["regions"]): fc.Arbitrary<Op> {
  const size = fc.constantFrom<AccessSize>(1, 2, 4, 4, 4);
  // Mostly offsets from the register tables (so every register is exercised), some anywhere.
  const place = fc.nat(regions.length - 1).chain((region) => {
    const r = regions[region]!;
    const anywhere = fc.nat(Math.max(r.size - 1, 0));
    const offset = r.offsets.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...r.offsets) }, { weight: 1, arbitrary: anywhere }) : anywhere;
    return fc.record({ region: fc.constant(region), offset });
  });
  const value = fc.oneof(fc.constantFrom(0, 1, 2, 3, 0x40, 0x41, 0x80, 0xc1, 0xff, 0xffff, 0xffffffff), fc.nat(0xffff), fc.nat(0xffffffff));
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(place, size).map(([p, s]): Op => ({ kind: "read", ...p, size: s })) },
    { weight: 6, arbitrary: fc.tuple(place, size, value).map(([p, s, v]): Op => ({ kind: "write", ...p, size: s, value: v })) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ns: fc.oneof(fc.nat(10_000), fc.nat(20_000_000)) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("ram" as const), addr: fc.nat(RAM - 64), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("descriptor" as const),
        addr: fc.nat(RAM / 32 - 1).map((n) => n * 32),
        // control with the magic, length, src lo/hi, dst lo/hi, next lo/hi
        words: fc.tuple(
          fc.oneof(fc.constant(0xad4b0013), fc.constant(0xad4b0002), fc.nat(0xffffffff)),
          fc.oneof(fc.nat(4096), fc.nat(0xfffffff)),
          fc.nat(RAM - 1),
          fc.constant(0),
          fc.nat(0x20000),
          fc.constant(0),
          fc.oneof(fc.constant(0), fc.nat(RAM / 32 - 1).map((n) => n * 32)),
          fc.constant(0),
        ).map((t) => [...t]),
      }),
    },
  );
}

/** Apply ops and return a digest of everything observable (reads, IRQs, guest errors, time). */
function execute(target: Target, ops: Op[]): string {
  const built = target.make();
  const { host, regions } = built;
  const observed: number[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case "read": {
        const r = regions[op.region % regions.length]!;
        observed.push(host.read(r.id, op.offset % Math.max(r.size, 1), op.size));
        break;
      }
      case "write": {
        const r = regions[op.region % regions.length]!;
        host.write(r.id, op.offset % Math.max(r.size, 1), op.size, op.value);
        break;
      }
      case "advance": {
        const before = host.clock.now();
        // Throws on an event storm: a hang in simulated time.
        host.clock.advance(op.ns, MAX_EVENTS_PER_STEP);
        expect(host.clock.now()).toBe(before + op.ns);
        break;
      }
      case "ram":
        host.ram.set(op.bytes, op.addr);
        break;
      case "descriptor": {
        const dv = new DataView(host.ram.buffer, host.ram.byteOffset + op.addr, 32);
        op.words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
        break;
      }
    }
    if (built.controllerHost && op.kind === "write" && op.region === 0) {
      // Also poke the 8237 so the client's channel sometimes gets programmed.
      built.controllerHost.outb(op.offset & 0xdf, op.value & 0xff);
    }
    // Zero-delay work the access scheduled must also settle within the budget.
    host.clock.advance(0, MAX_EVENTS_PER_STEP);
  }
  return JSON.stringify([observed, host.irqs.length, host.guestErrors.length, host.clock.now()]);
}

describe.each(targets)("$name under random traffic", (target) => {
  it(`never throws, never hangs, replays identically (${RUNS * OPS_PER_RUN} ops)`, () => {
    const regions = target.make().regions;
    fc.assert(
      fc.property(fc.array(opArb(regions), { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), (ops) => {
        const first = execute(target, ops);
        const again = execute(target, ops);
        expect(again).toBe(first);
      }),
      { seed: 0x5eed, numRuns: RUNS },
    );
  });
});
