/** Locking, interrupt state, sleeping, completions, wait queues, deferred work and time. */
import type { IrqFlags, Opaque } from "./types.js";

/** `spinlock_t`. Create with `spin_lock_init()`. @public */
export type SpinLock = Opaque<"spinlock">;
/** `struct mutex`. Create with `mutex_init()`. @public */
export type Mutex = Opaque<"mutex">;
/** `struct completion`. @public */
export type Completion = Opaque<"completion">;
/** `wait_queue_head_t`. @public */
export type WaitQueueHead = Opaque<"wait_queue_head">;
/** `struct work_struct` (also used for tasklet-like deferred work). @public */
export type WorkStruct = Opaque<"work_struct">;
/** `struct timer_list`. @public */
export type TimerList = Opaque<"timer_list">;

/** Timer interrupts per second of simulated time. @public */
export const HZ = 250;

/**
 * The synchronisation and time part of the kernel facade.
 *
 * Driver code runs synchronously between `await`s. Calls that may sleep return a Promise and
 * advance simulated time while the driver waits; calling one from atomic context (hardirq, under
 * a spinlock, interrupts off) is reported as "BUG: sleeping function called from invalid context".
 * @public
 */
export interface KernelSync {
  spin_lock_init(name?: string): SpinLock;
  spin_lock(lock: SpinLock): void;
  spin_unlock(lock: SpinLock): void;
  spin_lock_irq(lock: SpinLock): void;
  spin_unlock_irq(lock: SpinLock): void;
  spin_lock_irqsave(lock: SpinLock): IrqFlags;
  spin_unlock_irqrestore(lock: SpinLock, flags: IrqFlags): void;
  spin_trylock(lock: SpinLock): boolean;
  local_irq_save(): IrqFlags;
  local_irq_restore(flags: IrqFlags): void;
  local_irq_disable(): void;
  local_irq_enable(): void;
  irqs_disabled(): boolean;
  in_interrupt(): boolean;
  in_atomic(): boolean;
  /** Report if called from atomic context (what every sleeping call does first). */
  might_sleep(): void;

  mutex_init(name?: string): Mutex;
  mutex_lock(lock: Mutex): Promise<void>;
  mutex_lock_interruptible(lock: Mutex): Promise<number>;
  mutex_trylock(lock: Mutex): boolean;
  mutex_unlock(lock: Mutex): void;
  mutex_is_locked(lock: Mutex): boolean;

  init_completion(): Completion;
  reinit_completion(c: Completion): void;
  complete(c: Completion): void;
  complete_all(c: Completion): void;
  wait_for_completion(c: Completion): Promise<void>;
  /** Resolves to the jiffies left (≥ 1) on completion, 0 on timeout. */
  wait_for_completion_timeout(c: Completion, timeoutJiffies: number): Promise<number>;
  /** Resolves to jiffies left, 0 on timeout, or -ERESTARTSYS (never in the simulation). */
  wait_for_completion_interruptible_timeout(c: Completion, timeoutJiffies: number): Promise<number>;
  try_wait_for_completion(c: Completion): boolean;
  completion_done(c: Completion): boolean;

  init_waitqueue_head(): WaitQueueHead;
  wake_up(wq: WaitQueueHead): void;
  wake_up_all(wq: WaitQueueHead): void;
  wake_up_interruptible(wq: WaitQueueHead): void;
  /** Sleep until `condition()` holds. */
  wait_event(wq: WaitQueueHead, condition: () => boolean): Promise<void>;
  /** 0 if the timeout elapsed with the condition false, else the jiffies left (≥ 1). */
  wait_event_timeout(wq: WaitQueueHead, condition: () => boolean, timeoutJiffies: number): Promise<number>;
  wait_event_interruptible(wq: WaitQueueHead, condition: () => boolean): Promise<number>;
  wait_event_interruptible_timeout(wq: WaitQueueHead, condition: () => boolean, timeoutJiffies: number): Promise<number>;

  msleep(ms: number): Promise<void>;
  usleep_range(minUs: number, maxUs: number): Promise<void>;
  /** Busy-wait: allowed in atomic context; simulated time passes and device events run. */
  udelay(us: number): void;
  ndelay(ns: number): void;
  mdelay(ms: number): void;
  readonly jiffies: number;
  msecs_to_jiffies(ms: number): number;
  usecs_to_jiffies(us: number): number;
  jiffies_to_msecs(j: number): number;
  ktime_get_ns(): number;

  INIT_WORK(fn: (work: WorkStruct) => void | Promise<void>): WorkStruct;
  /** Queue work on the system workqueue; false if it was already pending. */
  schedule_work(work: WorkStruct): boolean;
  schedule_delayed_work(work: WorkStruct, delayJiffies: number): boolean;
  cancel_work_sync(work: WorkStruct): Promise<boolean>;
  flush_work(work: WorkStruct): Promise<boolean>;
  /** Tasklet-like deferred work run in softirq context (may not sleep). */
  tasklet_init(fn: () => void): WorkStruct;
  tasklet_schedule(t: WorkStruct): void;
  tasklet_kill(t: WorkStruct): void;

  timer_setup(fn: (t: TimerList) => void): TimerList;
  mod_timer(t: TimerList, expiresJiffies: number): number;
  del_timer_sync(t: TimerList): number;
}
