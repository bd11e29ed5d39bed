/** IRQ descriptors and actions (`struct irq_desc`, `struct irqaction`), reduced to what we use. */
import type { IrqHandler } from "../../../sdk/index.js";
import type { Trigger } from "../../soc/irq.js";
import type { Owner } from "../facade.js";
import type { CallSite } from "../stack.js";

/** One installed handler. @public */
export interface IrqAction {
  readonly handler: IrqHandler;
  readonly flags: number;
  /** The name given to request_irq (shown in /proc/interrupts). */
  readonly name: string;
  readonly devId: unknown;
  readonly owner: Owner;
  readonly site: CallSite;
  /** @internal */ ledgerId: number;
  /** One-shot report flags (bogus return, lock held, irqs enabled...). @internal */ warned: number;
}

/** Where the last handler of a line was freed (detector 12). @internal */
export interface FreedHandler {
  readonly name: string;
  readonly driver: string;
  readonly site: CallSite;
  readonly time: number;
  reported: boolean;
}

/** A Linux IRQ number's descriptor. @public */
export class IrqDesc {
  /** Handlers in registration order; replaced (not mutated) on change so dispatch can iterate. */
  actions: readonly IrqAction[] = [];
  /** disable_irq nesting depth (0 = enabled). */
  depth = 0;
  /** Interrupts delivered to this IRQ on CPU0 (for /proc/interrupts). */
  count = 0;
  /** note_interrupt state: unhandled interrupts and interrupts in the current window. */
  unhandled = 0;
  window = 0;
  lastUnhandledNs = -Infinity;
  /** Disabled by the nobody-cared detector. */
  spuriousDisabled = false;
  /** A handler of this IRQ is running. */
  inProgress = false;
  /** An interrupt arrived while disabled (replayed by enable_irq for MSI). */
  pendingWhileDisabled = false;
  /** The no-handler report was filed. */
  spuriousReported = false;
  /** @internal */ lastFree: FreedHandler | null = null;

  constructor(
    readonly irq: number,
    /** "line": an interrupt-controller line; "msi": a message-signalled vector. */
    readonly kind: "line" | "msi",
    /** Hardware IRQ number within the chip (the line, or the MSI hwirq). */
    readonly hwirq: number,
    /** Controller line, or -1 for MSI. */
    readonly line: number,
    /** CPU vector delivered for it. */
    readonly vector: number,
    /** Chip name for /proc/interrupts (e.g. IO-APIC, PCI-MSI, GICv2). */
    readonly chip: string,
    public trigger: Trigger,
    /** Who allocated it (e.g. the PCI device name for MSI vectors). */
    readonly allocatedBy: string,
  ) {}
}
