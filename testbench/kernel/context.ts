/**
 * Execution context: what a real kernel tracks in preempt_count and the interrupt flag. Driver
 * code runs synchronously between awaits, so one global context is consistent: a sleeping call
 * checks it first, and a spinlock held across a sleep is exactly the bug being reported.
 */

/** The current execution context. @public */
export class ExecContext {
  /** Nesting depth of hardirq handlers running. */
  hardirq = 0;
  /** Nesting depth of softirq/tasklet work running. */
  softirq = 0;
  /** Spinlocks held (preemption disabled). */
  preempt = 0;
  /** Local interrupts disabled (local_irq_save / spin_lock_irqsave). */
  irqsDisabled = false;
  /** The task in process context: pid and command name. */
  task: { pid: number; comm: string } = { pid: 1, comm: "swapper/0" };

  inInterrupt(): boolean {
    return this.hardirq > 0 || this.softirq > 0;
  }

  inAtomic(): boolean {
    return this.hardirq > 0 || this.softirq > 0 || this.preempt > 0 || this.irqsDisabled;
  }

  /** A one-line description for reports: `in_atomic(): 1, irqs_disabled(): 0, ...`. */
  describe(): string {
    return `in_atomic(): ${this.inAtomic() ? 1 : 0}, irqs_disabled(): ${this.irqsDisabled ? 1 : 0}, non_block: 0, pid: ${this.task.pid}, name: ${this.task.comm}`;
  }

  /** Run `fn` as a hardirq handler: interrupts off, hardirq count raised. */
  inHardirq<T>(fn: () => T): T {
    const saved = this.irqsDisabled;
    this.hardirq++;
    this.irqsDisabled = true;
    try {
      return fn();
    } finally {
      this.hardirq--;
      this.irqsDisabled = saved;
    }
  }

  /** Run `fn` in softirq context. */
  inSoftirq<T>(fn: () => T): T {
    this.softirq++;
    try {
      return fn();
    } finally {
      this.softirq--;
    }
  }
}
