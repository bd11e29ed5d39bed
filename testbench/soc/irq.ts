/**
 * Interrupt controller: numbered lines (level or edge triggered) with masking, MSI messages, one
 * CPU-side delivery callback, and the CPU's "local interrupts disabled" state. Delivery always
 * happens from a clock event at the current time, never nested inside the code that raised the
 * interrupt; while local interrupts are disabled, deliveries pend until they are re-enabled.
 *
 * Level lines stay in service after delivery until the kernel calls {@link InterruptController.eoi};
 * a line still asserted then is delivered again. Edge lines latch an edge while masked.
 */
import { inject, injectable } from "./di.js";
import { Clock } from "./clock.js";
import { SOURCE_CPU, TraceKind, TraceRing } from "./trace.js";
import { CLOCK, TRACE } from "./tokens.js";

/** Trigger mode of a line. @public */
export type Trigger = "level" | "edge";

/** CPU-side delivery: `line` is -1 for MSIs. @public */
export type DeliverFn = (vector: number, line: number) => void;

/** Number of interrupt lines. @public */
export const IRQ_LINES = 256;
/** Vector of line n by default: {@link IRQ_VECTOR_BASE} + n (x86-like). @public */
export const IRQ_VECTOR_BASE = 32;

/**
 * The interrupt controller.
 * @public
 */
@injectable()
export class InterruptController {
  /** Deliveries per line (for /proc/interrupts). */
  readonly counts = new Float64Array(IRQ_LINES);
  /** MSI deliveries. */
  msiCount = 0;
  private readonly edge = new Uint8Array(IRQ_LINES);
  private readonly masked = new Uint8Array(IRQ_LINES);
  private readonly asserted = new Uint8Array(IRQ_LINES);
  private readonly latched = new Uint8Array(IRQ_LINES);
  private readonly inService = new Uint8Array(IRQ_LINES);
  /** One delivery owed to a line nobody asserts (fault injection's spurious interrupt). */
  private readonly forced = new Uint8Array(IRQ_LINES);
  private readonly vector = new Int32Array(IRQ_LINES);
  private readonly msiQueue: number[] = [];
  private deliver: DeliverFn | null = null;
  private localOn = true;
  private scheduled = false;
  /**
   * False when no line has been raised or forced since a dispatch found every line idle: then
   * dispatch skips the scan of all lines (MSI-only traffic).
   */
  private linesLive = false;

  constructor(
    @inject(CLOCK) private readonly clock: Clock,
    @inject(TRACE) private readonly trace: TraceRing,
  ) {
    for (let i = 0; i < IRQ_LINES; i++) this.vector[i] = IRQ_VECTOR_BASE + i;
  }

  /** Install the CPU-side delivery callback (the kernel's interrupt entry). */
  setDeliver(fn: DeliverFn | null): void {
    this.deliver = fn;
    this.kick();
  }

  /** Set a line's trigger mode and (optionally) vector. */
  configure(line: number, trigger: Trigger, vector?: number): void {
    this.check(line);
    this.edge[line] = trigger === "edge" ? 1 : 0;
    if (vector !== undefined) this.vector[line] = vector;
  }

  /** Vector delivered for a line. */
  vectorOf(line: number): number {
    this.check(line);
    return this.vector[line]!;
  }

  /** Drive a line high (level: asserted until lowered; edge: one rising edge). */
  raise(line: number, source = SOURCE_CPU): void {
    this.check(line);
    if (this.edge[line] !== 0) {
      if (this.asserted[line] === 0) this.latched[line] = 1;
    }
    if (this.asserted[line] === 0) this.trace.record(TraceKind.Irq, line, 0, 1, source, "raise");
    this.asserted[line] = 1;
    this.linesLive = true;
    this.kick();
  }

  /** Drive a line low. */
  lower(line: number, source = SOURCE_CPU): void {
    this.check(line);
    if (this.asserted[line] !== 0) this.trace.record(TraceKind.Irq, line, 0, 0, source, "lower");
    this.asserted[line] = 0;
  }

  /** One edge on an edge-triggered line (raise then lower). */
  pulse(line: number, source = SOURCE_CPU): void {
    this.raise(line, source);
    this.lower(line, source);
  }

  /**
   * Deliver one interrupt on `line` although no device asserts it (a spurious interrupt, as
   * electrical noise or a misrouted message would cause): delivered once when the line is
   * unmasked and not in service; for a level line it is in service until EOI like any other.
   */
  injectSpurious(line: number, source = SOURCE_CPU): void {
    this.check(line);
    this.forced[line] = 1;
    this.linesLive = true;
    this.trace.record(TraceKind.Irq, line, 0, 1, source, "spurious");
    this.kick();
  }

  /** Mask a line: it is not delivered (edges latch) until unmasked. */
  mask(line: number): void {
    this.check(line);
    this.masked[line] = 1;
  }

  /** Unmask a line. */
  unmask(line: number): void {
    this.check(line);
    this.masked[line] = 0;
    this.kick();
  }

  /** True when the line is masked. */
  isMasked(line: number): boolean {
    this.check(line);
    return this.masked[line] !== 0;
  }

  /** True when the line is asserted (level) or has a latched edge. */
  isPending(line: number): boolean {
    this.check(line);
    return this.edge[line] !== 0 ? this.latched[line] !== 0 : this.asserted[line] !== 0;
  }

  /** End of interrupt for a level line: it may be delivered again if still asserted. */
  eoi(line: number): void {
    this.check(line);
    this.inService[line] = 0;
    this.kick();
  }

  /** A message-signalled interrupt: the vector is the low byte of `data` (x86 MSI format). */
  msi(address: number, data: number, source = SOURCE_CPU): void {
    this.trace.record(TraceKind.Msi, address, 4, data, source);
    this.msiQueue.push(data & 0xff);
    this.kick();
  }

  /** True unless local interrupts are disabled. */
  get localEnabled(): boolean {
    return this.localOn;
  }

  /** local_irq_disable. */
  disableLocal(): void {
    this.localOn = false;
  }

  /** local_irq_enable: pending interrupts are delivered from a clock event at the current time. */
  enableLocal(): void {
    this.localOn = true;
    this.kick();
  }

  /** local_irq_save: disable and return the previous state for {@link InterruptController.restoreLocal}. */
  saveLocal(): boolean {
    const was = this.localOn;
    this.localOn = false;
    return was;
  }

  /** local_irq_restore. */
  restoreLocal(enabled: boolean): void {
    if (enabled) this.enableLocal();
    else this.localOn = false;
  }

  private deliverable(line: number): boolean {
    if (this.masked[line] !== 0) return false;
    if (this.forced[line] !== 0 && this.inService[line] === 0) return true;
    if (this.edge[line] !== 0) return this.latched[line] !== 0;
    return this.asserted[line] !== 0 && this.inService[line] === 0;
  }

  private kick(): void {
    if (this.scheduled || !this.localOn || this.deliver === null) return;
    this.scheduled = true;
    this.clock.schedule(0, () => this.dispatch());
  }

  private dispatch(): void {
    this.scheduled = false;
    if (this.linesLive) this.dispatchLines();
    if (!this.localOn || this.deliver === null) return;
    while (this.msiQueue.length > 0 && this.localOn && this.deliver !== null) {
      const v = this.msiQueue.shift()!;
      this.msiCount++;
      this.trace.record(TraceKind.Irq, -1, 0, v, SOURCE_CPU, "deliver-msi");
      this.deliver(v, -1);
    }
  }

  /** Deliver every deliverable line, in line order; notes whether any line is still live. */
  private dispatchLines(): void {
    let live = false;
    for (let line = 0; line < IRQ_LINES; line++) {
      if (!this.localOn || this.deliver === null) return;
      if (this.asserted[line] !== 0 || this.latched[line] !== 0 || this.forced[line] !== 0) live = true;
      if (!this.deliverable(line)) continue;
      this.forced[line] = 0;
      if (this.edge[line] !== 0) this.latched[line] = 0;
      else this.inService[line] = 1;
      this.counts[line]!++;
      this.trace.record(TraceKind.Irq, line, 0, this.vector[line]!, SOURCE_CPU, "deliver");
      this.deliver(this.vector[line]!, line);
    }
    // Any line delivered was live, so a line a handler raises during the scan is scanned again.
    this.linesLive = live;
  }

  private check(line: number): void {
    if (!(line >= 0 && line < IRQ_LINES && line === (line | 0))) throw new RangeError(`IRQ line ${line} out of range 0..${IRQ_LINES - 1}`);
  }
}
