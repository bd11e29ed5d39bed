/**
 * Simulated time: nanoseconds, a binary-heap event queue ordered by (time, insertion sequence),
 * and the seeded PRNG. Nothing here reads host time.
 */
import { inject, injectable } from "./di.js";
import { SEED } from "./tokens.js";

/** A scheduled callback. @public */
export type ClockCallback = () => void;

/** Handle of a scheduled event, for {@link Clock.cancel}. @public */
export type EventId = number;

/**
 * Discrete-event clock in simulated nanoseconds. Events at equal times run in the order they
 * were scheduled (FIFO by insertion sequence), so a run is deterministic.
 * @public
 */
@injectable()
export class Clock {
  /** Current simulated time in nanoseconds. */
  now: number;
  // Heap of event slots; parallel arrays keep the comparisons on numbers.
  private heapTime: number[] = [0.5];
  private heapSeq: number[] = [];
  private heapFn: (ClockCallback | null)[] = [];
  private seq = 0;
  /** seq -> true while scheduled; cancel marks the slot dead (lazy deletion). */
  private readonly live = new Set<number>();

  constructor() {
    // Times pass 2^31 ns (2.1 s of simulated time). Were `now` and the heap's times small
    // integers until then, V8 would change their representation at that moment and throw away
    // the compiled code of everything that reads the clock: start both as doubles.
    this.now = 0.5;
    this.now = 0;
    this.heapTime.pop();
  }

  /** Number of events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.live.size;
  }

  /** Schedule `fn` at absolute time `at` (clamped to now). Returns an id for {@link cancel}. */
  scheduleAt(at: number, fn: ClockCallback): EventId {
    if (!(at >= this.now)) at = this.now;
    const id = ++this.seq;
    this.live.add(id);
    this.push(at, id, fn);
    return id;
  }

  /** Schedule `fn` after `delay` nanoseconds. */
  schedule(delay: number, fn: ClockCallback): EventId {
    return this.scheduleAt(this.now + (delay > 0 ? delay : 0), fn);
  }

  /** Cancel a scheduled event; returns false when it already ran or was cancelled. */
  cancel(id: EventId): boolean {
    return this.live.delete(id);
  }

  /** Time of the next live event, or Infinity. */
  nextTime(): number {
    this.dropDead();
    return this.heapTime.length > 0 ? this.heapTime[0]! : Infinity;
  }

  /**
   * Advance to the next event time and run every event due then (including events scheduled at
   * that same time while running). Returns false when the queue is empty.
   */
  step(): boolean {
    const t = this.nextTime();
    if (t === Infinity) return false;
    this.now = t;
    while (this.heapTime.length > 0 && this.heapTime[0] === t) this.runTop();
    return true;
  }

  /** Run every event with time ≤ `t`, then set the time to `t` (never moves backwards). */
  runUntil(t: number): void {
    for (;;) {
      const next = this.nextTime();
      if (next > t) break;
      this.now = next;
      this.runTop();
    }
    if (t > this.now) this.now = t;
  }

  /** Advance time by `ns`, running the events due on the way. */
  advance(ns: number): void {
    this.runUntil(this.now + ns);
  }

  private runTop(): void {
    const id = this.heapSeq[0]!;
    const fn = this.heapFn[0]!;
    this.pop();
    if (this.live.delete(id)) fn!();
  }

  private dropDead(): void {
    while (this.heapSeq.length > 0 && !this.live.has(this.heapSeq[0]!)) this.pop();
  }

  private push(time: number, id: number, fn: ClockCallback): void {
    const t = this.heapTime, s = this.heapSeq, f = this.heapFn;
    let i = t.length;
    t.push(time); s.push(id); f.push(fn);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! < time || (t[p] === time && s[p]! < id)) break;
      t[i] = t[p]!; s[i] = s[p]!; f[i] = f[p]!;
      i = p;
    }
    t[i] = time; s[i] = id; f[i] = fn;
  }

  private pop(): void {
    const t = this.heapTime, s = this.heapSeq, f = this.heapFn;
    const n = t.length - 1;
    const lt = t[n]!, ls = s[n]!, lf = f[n]!;
    t.pop(); s.pop(); f.pop();
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (t[c + 1]! < t[c]! || (t[c + 1] === t[c] && s[c + 1]! < s[c]!))) c++;
      if (lt < t[c]! || (lt === t[c] && ls < s[c]!)) break;
      t[i] = t[c]!; s[i] = s[c]!; f[i] = f[c]!;
      i = c;
    }
    t[i] = lt; s[i] = ls; f[i] = lf;
  }
}

/**
 * Small seeded PRNG (sfc32, seeded through splitmix32). Deterministic across platforms.
 * @public
 */
@injectable()
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  constructor(@inject(SEED) seed: number) {
    this.reseed(seed);
  }

  /** Restart the sequence from `seed`. */
  reseed(seed: number): void {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Next unsigned 32-bit value. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (rejection sampling, no modulo bias). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int: n must be ≥ 1, got ${n}`);
    if (n > 4294967296) throw new RangeError("Rng.int: n must be ≤ 2^32");
    const bucket = Math.floor(4294967296 / n);
    const limit = bucket * n;
    for (;;) {
      const v = this.nextU32();
      if (v < limit) return Math.floor(v / bucket);
    }
  }
}
