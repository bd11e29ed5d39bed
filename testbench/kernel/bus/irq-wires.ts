/**
 * Interrupt wires between devices and the interrupt controller. Several devices may drive one
 * line (shared PCI INTx, wired-OR): the line is high while any of them asserts it.
 */
import type { InterruptController } from "../../soc/irq.js";
import { IRQ_LINES } from "../../soc/irq.js";
import type { IrqPort } from "../../../sdk/index.js";

/** @public */
export class IrqWires {
  /** Per line, the set of driver ids asserting it. */
  private readonly drivers: Set<number>[] = [];

  constructor(private readonly ic: InterruptController) {}

  /** `who` drives `line` high. */
  assert(line: number, who: number, source: number): void {
    let s = this.drivers[line];
    if (!s) this.drivers[line] = s = new Set();
    if (s.has(who)) return;
    s.add(who);
    if (s.size === 1) this.ic.raise(line, source);
  }

  /** `who` releases `line`. */
  deassert(line: number, who: number, source: number): void {
    const s = this.drivers[line];
    if (!s || !s.delete(who)) return;
    if (s.size === 0) this.ic.lower(line, source);
  }

  /** True when `who` is driving `line`. */
  driving(line: number, who: number): boolean {
    return this.drivers[line]?.has(who) ?? false;
  }
}

/**
 * The IRQ port of a platform or ISA device: `vector` indexes its declared lines.
 * @public
 */
export class LineIrqPort implements IrqPort {
  constructor(
    private readonly wires: IrqWires,
    private readonly lines: readonly number[],
    private readonly who: number,
    private readonly requester: number,
    private readonly guestError: (msg: string) => void,
  ) {
    for (const l of lines) if (!(l >= 0 && l < IRQ_LINES)) throw new RangeError(`IRQ line ${l} out of range 0..${IRQ_LINES - 1}`);
  }

  raise(vector = 0): void {
    const line = this.lines[vector];
    if (line === undefined) return this.guestError(`raise of undeclared interrupt ${vector}`);
    this.wires.assert(line, this.who, this.requester);
  }

  lower(vector = 0): void {
    const line = this.lines[vector];
    if (line === undefined) return this.guestError(`lower of undeclared interrupt ${vector}`);
    this.wires.deassert(line, this.who, this.requester);
  }
}
