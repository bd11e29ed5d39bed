/**
 * The interrupt outputs a device model gets: its bus's port (INTx/MSI/MSI-X, or declared lines)
 * behind a gate that device-level fault injection can hook (lost, delayed interrupts; nothing
 * after a surprise removal). Without a hook the gate forwards directly.
 */
import type { IrqPort } from "../../../sdk/index.js";

/** What the gate calls instead of the port while a device fault is armed. @public */
export interface IrqFaultHook {
  /** The device raises `vector`; forward to `port`, drop or delay. */
  raise(vector: number, port: IrqPort): void;
  /** The device lowers `vector`. */
  lower(vector: number, port: IrqPort): void;
}

/** @public */
export class IrqGate implements IrqPort {
  /** Set while a device fault is armed for the device. */
  hook: IrqFaultHook | null = null;

  constructor(
    /** The bus's interrupt port of the device. */
    readonly port: IrqPort,
  ) {}

  raise(vector = 0): void {
    if (this.hook === null) this.port.raise(vector);
    else this.hook.raise(vector, this.port);
  }

  lower(vector = 0): void {
    if (this.hook === null) this.port.lower(vector);
    else this.hook.lower(vector, this.port);
  }
}
