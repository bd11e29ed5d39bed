/**
 * Benchmark harness: warm-up, repeated samples, median, and a metric registry written in the
 * BENCHMARKS.md results format. Each benchmark is its own function (its own type feedback).
 */

/** One reported metric. */
export interface MetricValue {
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

/** Sampling parameters. */
export interface SampleOptions {
  /** Untimed runs before sampling. */
  warmup: number;
  /**
   * Go on warming up until this much process CPU time (ms) has passed as well: an action run only
   * a few times (a 64 MiB DMA read) leaves V8 tiering its code up for several more runs.
   */
  warmupMs?: number;
  /** Timed samples; the median is reported. */
  samples: number;
}

/** Named metrics in insertion order. */
export class MetricRegistry {
  readonly metrics: Record<string, MetricValue> = {};

  /** Record a metric; with `baselineOf`, also records the baseline value and the ratio value/baseline. */
  add(name: string, value: number, unit: string, baselineOf?: string): void {
    const m: MetricValue = { value: round(value), unit };
    if (baselineOf !== undefined) {
      const b = this.metrics[baselineOf];
      if (b) {
        m.baseline = b.value;
        m.ratio = round(value / b.value);
      }
    }
    this.metrics[name] = m;
  }

  /** A printable table. */
  table(): string {
    const rows = Object.entries(this.metrics).map(([name, m]) => [name, String(m.value), m.unit, m.baseline === undefined ? "" : String(m.baseline), m.ratio === undefined ? "" : String(m.ratio)]);
    const head = ["metric", "value", "unit", "baseline", "ratio"];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
    return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
  }

  /** The results.json document. */
  toJSON(): { node: string; when: string; metrics: Record<string, MetricValue> } {
    return { node: process.version, when: new Date().toISOString(), metrics: this.metrics };
  }
}

function round(v: number): number {
  return v >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 1000) / 1000;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Host wall-clock time in nanoseconds (benchmarks only; the simulation never reads host time). */
export function wallNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * CPU time consumed by this process (user + system), in nanoseconds. Samples are timed with it
 * so that a shared, oversubscribed machine (other test runs on the same two cores) does not
 * inflate the figures: time spent descheduled is not counted. Resolution is 1 µs, so samples
 * last tens of milliseconds.
 */
export function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** The clock used for samples. */
export const nowNs = cpuNs;

/**
 * Median nanoseconds per operation of `run(iterations)`, which performs `opsPerIteration`
 * operations per iteration. `iterations` is calibrated so that one sample lasts about `sampleMs`.
 */
export function nsPerOp(run: (iterations: number) => void, opsPerIteration: number, opts: SampleOptions & { sampleMs: number }): number {
  let iters = 1000;
  for (;;) {
    const t0 = nowNs();
    run(iters);
    const dt = nowNs() - t0;
    if (dt > opts.sampleMs * 1e6 * 0.5 || iters > 1e9) {
      iters = Math.max(1, Math.round((iters * opts.sampleMs * 1e6) / Math.max(dt, 1)));
      break;
    }
    iters *= 4;
  }
  for (let i = 0; i < opts.warmup; i++) run(iters);
  const samples: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    const t0 = nowNs();
    run(iters);
    samples.push((nowNs() - t0) / (iters * opsPerIteration));
  }
  return median(samples);
}

/** Median milliseconds of an async action. */
export async function msPerRun(run: () => Promise<void>, opts: SampleOptions): Promise<number> {
  await warmUp(run, opts);
  return median(await samplesMs(run, opts.samples));
}

/** Run an async action `opts.warmup` times, and on until `opts.warmupMs` of CPU time have passed. */
export async function warmUp(run: () => Promise<void>, opts: SampleOptions): Promise<void> {
  const w0 = nowNs();
  for (let i = 0; i < opts.warmup || (nowNs() - w0) / 1e6 < (opts.warmupMs ?? 0); i++) await run();
}

/** Milliseconds of each of `n` runs of an async action. */
export async function samplesMs(run: () => Promise<void>, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowNs();
    await run();
    samples.push((nowNs() - t0) / 1e6);
  }
  return samples;
}

/** Result sink so that benchmark loops are not optimised away. */
export const sink = { value: 0 };
