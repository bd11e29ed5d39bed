/**
 * The isa-stream class suite: any driver claiming `deviceClass: "isa-stream"` must stream through
 * the card's 8237 channels so that bytes in equal bytes out (playback: the card's sink is exactly
 * what the process wrote; capture: the process reads exactly the card's source sequence), the
 * residue-derived position never runs backwards within a period, a stalled writer is reported as
 * an underrun, and /proc/dma and /proc/ioports show its resources while bound and not after.
 *
 * The driver is driven through `/dev/isa-stream` with the ioctls of `drivers/isa-stream/uapi.ts`
 * (the class's user ABI). Cases receive a booted testbench with the card plugged and the driver
 * registered but not bound; each ends unbound and clean.
 */
import type { UserVA } from "../../../sdk/index.js";
import { IsaStreamDevice, lfsrSource } from "../../../devices/isa-stream/index.js";
import {
  ISA_STREAM_GET_HWPTR,
  ISA_STREAM_GET_POS,
  ISA_STREAM_GET_RING,
  ISA_STREAM_GET_XRUNS,
  ISA_STREAM_SET_AUTOINIT,
  ISA_STREAM_SET_BLOCK,
  ISA_STREAM_SET_RATE,
  ISA_STREAM_SET_WIDTH,
} from "../../../drivers/isa-stream/uapi.js";
import type { Testbench } from "../../harness/testbench.js";
import type { Process } from "../../kernel/process/process.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDONLY, O_WRONLY, PROT_READ, PROT_WRITE } from "../../kernel/process/uapi.js";
import { procIoports } from "../../kernel/procfs/ioports.js";
import { ensureIsaDmaBoot } from "../../kernel/isa-dma/test-boot.js";
import { DEVICE_HOST, DRIVER_CORE, IO_RESOURCES, SCHEDULER } from "../../kernel/tokens.js";
import type { HostedDevice } from "../../kernel/bus/device-host.js";
import type { ConformanceCase, ConformanceSuite, Variant } from "../plan.js";

/** Stream parameters of one variant. @public */
export interface IsaStreamParams {
  readonly width: 8 | 16;
  readonly autoinit: boolean;
  /** Bytes per millisecond. */
  readonly rate: number;
  /** Block (period) size in bytes. */
  readonly block: number;
}

/** The matrix: 8/16-bit channels, auto-init and single-shot, several rates and block sizes. @public */
export const isaStreamVariants: readonly Variant[] = [
  { width: 8, autoinit: true, rate: 176, block: 1024 },
  { width: 8, autoinit: false, rate: 44, block: 512 },
  { width: 8, autoinit: true, rate: 1000, block: 4096 },
  { width: 16, autoinit: true, rate: 352, block: 2048 },
  { width: 16, autoinit: false, rate: 96, block: 256 },
];

/** Read a variant as stream parameters. @public */
export function isaStreamParams(v: Variant): IsaStreamParams {
  return {
    width: v["width"] === 16 ? 16 : 8,
    autoinit: v["autoinit"] !== false,
    rate: typeof v["rate"] === "number" ? v["rate"] : 176,
    block: typeof v["block"] === "number" ? v["block"] : 1024,
  };
}

/** A conformance failure with a message naming what differed. @public */
export class IsaStreamCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IsaStreamCheckError";
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new IsaStreamCheckError(message);
}

function checkBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.length !== expected.length) {
    throw new IsaStreamCheckError(`${what}: ${actual.length} bytes, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new IsaStreamCheckError(`${what}: byte ${i} is 0x${actual[i]!.toString(16)}, expected 0x${expected[i]!.toString(16)}`);
    }
  }
}

/** Deterministic payload of `n` bytes from `seed` (distinct from the capture LFSR). */
function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** What a case works with. @public */
export interface IsaStreamKit {
  readonly tb: Testbench;
  readonly card: IsaStreamDevice;
  readonly hosted: HostedDevice;
  readonly params: IsaStreamParams;
  readonly seed: number;
  /** Bind the driver to the card (throws unless probe returns 0). */
  bind(): Promise<void>;
  unbind(): Promise<void>;
  /** A process with `/dev/isa-stream` open and configured, and a user buffer of `bytes`. */
  open(flags: number, bytes: number): Promise<{ p: Process; fd: number; buf: UserVA }>;
  /** Let simulated time pass (device events, interrupts, woken tasks run). */
  advance(ns: number): Promise<void>;
  /** Fail with the rendered reports unless the testbench is clean. */
  checkClean(when: string): void;
  /** /proc/dma. */
  procDma(): string;
  procIoports(): string;
}

/** Prepare a case: the ISA DMA subsystem up, the card found. @public */
export function isaStreamKit(tb: Testbench, variant: Variant, seed: number): IsaStreamKit {
  const isa = ensureIsaDmaBoot(tb.container);
  const dc = tb.container.resolve(DRIVER_CORE);
  const host = tb.container.resolve(DEVICE_HOST);
  const hosted = host.devices().find((h) => h.model instanceof IsaStreamDevice);
  if (!hosted) throw new IsaStreamCheckError("no isa-stream card plugged in the testbench");
  const card = hosted.model as IsaStreamDevice;
  const params = isaStreamParams(variant);
  const sched = tb.container.resolve(SCHEDULER);
  const kit: IsaStreamKit = {
    tb,
    card,
    hosted,
    params,
    seed,
    async bind() {
      const r = await dc.bind(hosted);
      check(r === 0, `probe of ${hosted.name} returned ${r}`);
      check(dc.bindingOf(hosted) !== undefined, `${hosted.name} is not bound after probe`);
    },
    async unbind() {
      await dc.unbind(hosted);
    },
    async open(flags, bytes) {
      const p = tb.spawn("isa-stream-test");
      const fd = await p.open("/dev/isa-stream", flags);
      check(fd >= 0, `open(/dev/isa-stream) returned ${fd}`);
      const set = async (cmd: number, arg: number, what: string) => {
        const r = await p.ioctl(fd, cmd, arg);
        check(r === 0, `ioctl ${what}(${arg}) returned ${r}`);
      };
      await set(ISA_STREAM_SET_WIDTH, params.width, "SET_WIDTH");
      await set(ISA_STREAM_SET_BLOCK, params.block, "SET_BLOCK");
      await set(ISA_STREAM_SET_RATE, params.rate, "SET_RATE");
      await set(ISA_STREAM_SET_AUTOINIT, params.autoinit ? 1 : 0, "SET_AUTOINIT");
      const buf = (await p.mmap(0, Math.max(bytes, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) as UserVA;
      check(buf > 0, `mmap of the user buffer failed (${buf})`);
      return { p, fd, buf };
    },
    advance: (ns) => sched.advance(ns),
    checkClean(when) {
      const r = tb.reports();
      if (r.length) throw new IsaStreamCheckError(`${when}: ${r.length} report(s):\n${r.map((x) => x.text).join("\n\n")}`);
    },
    procDma: () => isa.procDma(),
    procIoports: () => procIoports(tb.container.resolve(IO_RESOURCES)),
  };
  return kit;
}

/** ms of simulated time to play or capture `bytes` at the variant's rate. */
function msFor(kit: IsaStreamKit, bytes: number): number {
  return bytes / kit.params.rate;
}

/** Round down to the channel's unit. */
function frames(kit: IsaStreamKit, n: number): number {
  return kit.params.width === 16 ? n & ~1 : n;
}

/** Write all of `data` through `fd` in chunks of `chunk`; returns the bytes written. */
async function writeAll(p: Process, fd: number, buf: UserVA, data: Uint8Array, chunk: number): Promise<number> {
  p.writeBytes(buf, data);
  let done = 0;
  while (done < data.length) {
    const n = Math.min(chunk, data.length - done);
    const r = await p.write(fd, buf + done, n);
    check(r > 0, `write of ${n} bytes at ${done} returned ${r}`);
    done += r;
  }
  return done;
}

/** A case function. @public */
export type IsaStreamCaseFn = (kit: IsaStreamKit) => Promise<void>;

function isaCase(name: string, fn: IsaStreamCaseFn, extra: Partial<ConformanceCase<Testbench>> = {}): ConformanceCase<Testbench> {
  return {
    name,
    ...extra,
    async run(ctx) {
      const kit = isaStreamKit(ctx.tb, ctx.variant, ctx.seed);
      await fn(kit);
      await kit.unbind();
      kit.checkClean("after unbind");
    },
  };
}

// ---- cases -----------------------------------------------------------------------------------

/** Playback: the card's sink is exactly what the process wrote (including a partial last block). */
export const playbackCase: IsaStreamCaseFn = async (kit) => {
  await kit.bind();
  const ring = 0x8000;
  const total = frames(kit, 3 * ring + kit.params.block / 2 + 6);
  const { p, fd, buf } = await kit.open(O_WRONLY, total);
  const data = payload(total, kit.seed);
  const written = await writeAll(p, fd, buf, data, frames(kit, 3000));
  check(written === total, `wrote ${written} of ${total}`);
  check((await p.close(fd)) === 0, "close failed");
  checkBytes(kit.card.playedBytes(), data, "played bytes");
  kit.checkClean("after playback");
};

/** Capture: the process reads exactly the card's source sequence. */
export const captureCase: IsaStreamCaseFn = async (kit) => {
  kit.card.setCaptureSource(lfsrSource(kit.seed));
  await kit.bind();
  const total = frames(kit, 2 * 0x8000 + 1234);
  const { p, fd, buf } = await kit.open(O_RDONLY, total);
  let got = 0;
  while (got < total) {
    const r = await p.read(fd, buf + got, Math.min(frames(kit, 2500), total - got));
    check(r > 0, `read at ${got} returned ${r}`);
    got += r;
  }
  const xruns = await p.ioctl(fd, ISA_STREAM_GET_XRUNS, 0);
  check(xruns === 0, `${xruns} overrun(s) while the reader kept up`);
  const read = p.readBytes(buf, total);
  check((await p.close(fd)) === 0, "close failed");
  const expected = new Uint8Array(total);
  lfsrSource(kit.seed)(expected);
  checkBytes(read, expected, "captured bytes vs the source sequence");
  checkBytes(read, kit.card.capturedBytes().subarray(0, total), "captured bytes vs what the card delivered");
  kit.checkClean("after capture");
};

/** The residue-derived position never runs backwards within a period; the hardware pointer never does. */
export const residueCase: IsaStreamCaseFn = async (kit) => {
  await kit.bind();
  const { p, fd, buf } = await kit.open(O_WRONLY, 0x8000);
  const ring = await p.ioctl(fd, ISA_STREAM_GET_RING, 0);
  check(ring > 0 && ring % kit.params.block === 0, `ring size ${ring} is not a whole number of ${kit.params.block}-byte blocks`);
  const data = payload(ring, kit.seed + 1);
  await writeAll(p, fd, buf, data, ring);
  const block = kit.params.block;
  const step = Math.max(20_000, Math.floor((msFor(kit, block) * 1e6) / 7));
  let last = -1;
  let lastHw = 0;
  let samples = 0;
  const seen = new Set<number>();
  const end = msFor(kit, ring) * 1e6 + 4 * step;
  for (let t = 0; t < end; t += step) {
    const pos = await p.ioctl(fd, ISA_STREAM_GET_POS, 0);
    const hw = await p.ioctl(fd, ISA_STREAM_GET_HWPTR, 0);
    check(pos >= 0 && pos <= ring, `position ${pos} outside the ${ring}-byte ring`);
    check(hw >= lastHw, `hardware pointer ran backwards: ${lastHw} → ${hw}`);
    if (last >= 0 && Math.floor(last / block) === Math.floor(pos / block)) {
      check(pos >= last, `position ran backwards within a block: ${last} → ${pos} (block ${block})`);
    }
    if (last >= 0 && pos < last) check(pos < block || hw === ring, `position jumped back ${last} → ${pos} in the middle of the ring`);
    last = pos;
    lastHw = hw;
    samples++;
    seen.add(pos);
    await kit.advance(step);
  }
  check(samples > 8, `only ${samples} position samples`);
  check(seen.size >= ring / block, `the position took only ${seen.size} distinct values over ${ring / block} blocks`);
  check(lastHw === ring, `hardware pointer ${lastHw} after playing the ${ring}-byte ring`);
  check((await p.close(fd)) === 0, "close failed");
  checkBytes(kit.card.playedBytes(), data, "played bytes");
  kit.checkClean("after the residue run");
};

/** A writer that stalls gets an underrun; writing again restarts cleanly. */
export const underrunCase: IsaStreamCaseFn = async (kit) => {
  await kit.bind();
  const block = kit.params.block;
  const first = payload(2 * block, kit.seed + 2);
  const second = payload(3 * block, kit.seed + 3);
  const { p, fd, buf } = await kit.open(O_WRONLY, second.length);
  await writeAll(p, fd, buf, first, first.length);
  check((await p.ioctl(fd, ISA_STREAM_GET_XRUNS, 0)) === 0, "underrun before the writer stalled");
  // Stall for twice the time the queued data lasts.
  await kit.advance(2 * msFor(kit, first.length) * 1e6 + 2e6);
  const xruns = await p.ioctl(fd, ISA_STREAM_GET_XRUNS, 0);
  check(xruns >= 1, `no underrun reported after the writer stalled (xruns ${xruns})`);
  check(kit.tb.dmesg().includes("underrun"), "the underrun is not in dmesg");
  await writeAll(p, fd, buf, second, second.length);
  check((await p.close(fd)) === 0, "close failed");
  const all = new Uint8Array(first.length + second.length);
  all.set(first);
  all.set(second, first.length);
  checkBytes(kit.card.playedBytes(), all, "played bytes around the underrun");
  kit.checkClean("after the underrun");
};

/** /proc/dma and /proc/ioports while bound and after unbind. */
export const procCase: IsaStreamCaseFn = async (kit) => {
  const dma8 = kit.card.dma8;
  const dma16 = kit.card.dma16;
  const base = kit.card.base;
  const range = `${base.toString(16).padStart(4, "0")}-${(base + 15).toString(16).padStart(4, "0")} : `;
  const countRange = (text: string) => text.split("\n").filter((l) => l.trim().startsWith(range)).length;
  const before = kit.procIoports();
  check(kit.procDma() === " 4: cascade\n", `/proc/dma before bind:\n${kit.procDma()}`);
  for (const line of ["0000-001f : dma1", "0080-008f : dma page reg", "00c0-00df : dma2"]) {
    check(before.includes(line + "\n"), `/proc/ioports lacks "${line}":\n${before}`);
  }
  await kit.bind();
  const name = kit.hosted.dev.name;
  const dmaBound = kit.procDma();
  const rows = [
    [dma8, "isa-stream"],
    [4, "cascade"],
    [dma16, "isa-stream"],
  ] as const;
  const expected = [...rows].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${String(c).padStart(2, " ")}: ${n}\n`).join("");
  check(dmaBound === expected, `/proc/dma while bound:\n${dmaBound}expected:\n${expected}`);
  const bound = kit.procIoports();
  check(countRange(bound) === countRange(before) + 1, `/proc/ioports while bound has no request for ${range}(${name}):\n${bound}`);
  await kit.unbind();
  check(kit.procDma() === " 4: cascade\n", `/proc/dma after unbind:\n${kit.procDma()}`);
  check(kit.procIoports() === before, `/proc/ioports after unbind:\n${kit.procIoports()}\nbefore bind:\n${before}`);
  kit.checkClean("after unbind");
};

/** The isa-stream class suite. @public */
export const isaStreamSuite: ConformanceSuite<Testbench> = {
  id: "isa-stream",
  deviceClass: "isa-stream",
  boards: ["pc", "pc32"],
  variants: isaStreamVariants,
  cases: [
    isaCase("playback: bytes in equal bytes out", playbackCase),
    isaCase("capture: bytes read equal the source", captureCase),
    isaCase("residue never runs backwards within a period", residueCase),
    isaCase("underrun reported when the writer stalls", underrunCase),
    isaCase("/proc/dma and /proc/ioports while bound and after unbind", procCase, { when: (v) => v === isaStreamVariants[0] }),
  ],
};
