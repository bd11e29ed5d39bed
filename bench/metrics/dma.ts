/**
 * `dma_sg_gbps` / `dma_sg_gbps_nochecks`: a card→host `read` of 64 MiB (--quick takes fewer samples)
 * through the sgdma device and driver on a pc board with the IOMMU on, into a user buffer whose
 * 4 KiB pages were faulted in a shuffled order (so they are physically scattered), with every
 * detector on, then with detectors off. The whole syscall is timed: pinning, the sg table,
 * dma_map_sg through the IOMMU, descriptors, the engine's DMA in simulated time, interrupts,
 * unmapping and unpinning. Baseline `raw_page_copy_gbps`: the same scattered page list copied
 * from a card-sized array with `Uint8Array.prototype.set`.
 *
 * Call {@link dmaMetrics} from bench/run.ts.
 */
import { sgdma, type Sgdma } from "../../devices/sgdma/index.js";
import { sgdmaDriver } from "../../drivers/sgdma/index.js";
import { Testbench } from "../../testbench/harness/testbench.js";
import type { Process } from "../../testbench/kernel/process/process.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, SEEK_SET } from "../../testbench/kernel/process/uapi.js";
import { DEVICE_HOST } from "../../testbench/kernel/tokens.js";
import type { MetricRegistry, SampleOptions } from "../harness.js";
import { median, samplesMs, sink, warmUp } from "../harness.js";

const PAGE = 4096;
const MiB = 1 << 20;

/** A seeded permutation of 0..n-1 (xorshift32 Fisher-Yates). */
function shuffled(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

interface Rig {
  tb: Testbench;
  p: Process;
  fd: number;
  buf: number;
  dev: Sgdma;
}

async function rig(bytes: number, checks: boolean): Promise<Rig> {
  const tb = await Testbench.boot({
    board: "pc",
    seed: 1,
    overrides: { iommu: true, ram: [{ base: 0, size: 2 * bytes + 256 * MiB }] },
    devices: [sgdma({ cardMemorySize: bytes })],
    drivers: [sgdmaDriver()],
  });
  if (!checks) tb.core.setDetectors(false);
  const dev = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "sgdma")!.model as Sgdma;
  for (let i = 0; i < bytes; i += PAGE) dev.card[i] = i >>> 12;
  const p = tb.spawn("dma-bench");
  const fd = await p.open("/dev/sgdma0", O_RDWR);
  const buf = await p.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fd < 0 || buf < 0) throw new Error(`dma bench: open ${fd}, mmap ${buf}`);
  // Fault the pages in a shuffled order: virtually contiguous, physically scattered.
  const order = shuffled(bytes / PAGE, 7);
  for (let i = 0; i < order.length; i++) p.store8(buf + order[i]! * PAGE, 1);
  return { tb, p, fd, buf, dev };
}

/** One `read` of the whole card memory (the first `bytes` of it). */
function sgRead(r: Rig, bytes: number): () => Promise<void> {
  return async () => {
    if ((await r.p.lseek(r.fd, 0, SEEK_SET)) !== 0) throw new Error("dma bench: lseek failed");
    const n = await r.p.read(r.fd, r.buf, bytes);
    if (n !== bytes) throw new Error(`dma bench: read returned ${n}`);
  };
}

/** Spot check after the reads: page i of the buffer holds page i of the card. */
function checkData(r: Rig, bytes: number): void {
  const page = 1234 % (bytes / PAGE);
  if (r.p.load8(r.buf + page * PAGE) !== (page & 0xff)) throw new Error("dma bench: wrong data");
  sink.value ^= r.tb.reports().length;
}

/** The same scattered page list, copied with Uint8Array.prototype.set (the arrays made once). */
function rawPageCopy(bytes: number): () => Promise<void> {
  const src = new Uint8Array(bytes);
  const dst = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += PAGE) src[i] = i >>> 12;
  const slots = shuffled(bytes / PAGE, 7);
  return async () => {
    for (let i = 0; i < slots.length; i++) {
      const at = slots[i]! * PAGE;
      dst.set(src.subarray(i * PAGE, i * PAGE + PAGE), at);
    }
    sink.value ^= dst[slots[5]! * PAGE]!;
  };
}

/**
 * Record `raw_page_copy_gbps`, `dma_sg_gbps` and `dma_sg_gbps_nochecks`. The raw copy is sampled
 * just before and just after each block of DMA reads, so that on a shared host it sees the same
 * machine as they do; the baseline is the median of all its samples.
 * @param quick - a shorter warm-up and fewer samples; the transfer is 64 MiB either way, as
 *   BENCHMARKS.md defines it (a 16 MiB baseline copy stays in the host's cache and would skew the ratio).
 */
export async function dmaMetrics(reg: MetricRegistry, quick: boolean): Promise<void> {
  const bytes = 64 * MiB;
  // A read is ~20-40 ms and runs its per-read code once, so V8 keeps compiling it (on helper
  // threads, which count as CPU time) for the first 5-8 reads: warm up for a second of reads.
  const opts: SampleOptions = quick ? { warmup: 2, warmupMs: 1000, samples: 5 } : { warmup: 2, warmupMs: 2000, samples: 9 };
  const raw = rawPageCopy(bytes);
  await warmUp(raw, { warmup: 3, warmupMs: 500, samples: 0 });
  const gbps = (ms: number) => bytes / (ms * 1e6);
  const rawSamples: number[] = [];
  const results: [string, number][] = [];
  for (const checks of [true, false]) {
    const r = await rig(bytes, checks);
    const read = sgRead(r, bytes);
    await warmUp(read, opts);
    // The raw copies bracket the reads: close in time, without a copy between two reads.
    rawSamples.push(...(await samplesMs(raw, opts.samples)));
    const reads = await samplesMs(read, opts.samples);
    rawSamples.push(...(await samplesMs(raw, opts.samples)));
    checkData(r, bytes);
    if (checks) {
      const found = r.tb.reports();
      if (found.length) throw new Error(`dma bench: the driver is not clean: ${found[0]!.title}`);
    }
    results.push([checks ? "dma_sg_gbps" : "dma_sg_gbps_nochecks", gbps(median(reads))]);
    await r.tb.dispose();
  }
  reg.add("raw_page_copy_gbps", gbps(median(rawSamples)), "GB/s");
  for (const [name, value] of results) reg.add(name, value, "GB/s", "raw_page_copy_gbps");
}
