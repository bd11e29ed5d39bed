/**
 * Linux IRQ numbers for what devices wire: interrupt-controller lines (platform, ISA, PCI INTx)
 * and MSI/MSI-X vectors. The IRQ subsystem owns the numbering (it maps a delivered vector back to
 * an IRQ and its handlers) and provides the real implementation by registering
 * {@link IRQ_NUMBERS}; {@link LinearIrqNumbers} is the stand-alone default.
 */
import { injectable } from "../../soc/di.js";
import { IRQ_LINES, IRQ_VECTOR_BASE } from "../../soc/irq.js";

/** A block of MSI vectors. @public */
export interface MsiBlock {
  /** Linux IRQ numbers, one per vector. */
  readonly irqs: readonly number[];
  /** Interrupt-controller vectors the messages carry (data low byte), one per IRQ. */
  readonly vectors: readonly number[];
}

/** @public */
export interface IrqNumbers {
  /** The Linux IRQ number of interrupt-controller line `line`. */
  lineIrq(line: number): number;
  /**
   * Allocate `count` MSI IRQs for `device`. With `aligned` (multi-message MSI) the vectors are
   * contiguous and aligned to `count` (a power of two), since the device ORs the vector index into
   * the message data. Null when exhausted.
   */
  allocMsi(device: string, count: number, aligned: boolean): MsiBlock | null;
  /** Free IRQs returned by {@link IrqNumbers.allocMsi}. */
  freeMsi(irqs: readonly number[]): void;
}

/** MSI vectors: the upper part of the vector space, away from the line vectors in use. */
const MSI_FIRST_VECTOR = 0x80;
const MSI_LAST_VECTOR = 0xef;
/** MSI IRQ numbers start above every line IRQ. */
const MSI_FIRST_IRQ = IRQ_LINES;

/**
 * IRQ n = line n; MSI IRQs from 256 up; MSI vectors from 0x80 to 0xef.
 * @public
 */
@injectable()
export class LinearIrqNumbers implements IrqNumbers {
  private readonly vectorUsed = new Uint8Array(256);
  private readonly irqOfVector = new Int32Array(256).fill(-1);
  private readonly vectorOfIrq = new Map<number, number>();
  private nextIrq = MSI_FIRST_IRQ;

  lineIrq(line: number): number {
    return line;
  }

  /** The vector a line is delivered on (the controller's default). */
  lineVector(line: number): number {
    return IRQ_VECTOR_BASE + line;
  }

  /** The MSI IRQ delivered on `vector`, or -1. */
  irqForVector(vector: number): number {
    return this.irqOfVector[vector & 0xff]!;
  }

  allocMsi(device: string, count: number, aligned: boolean): MsiBlock | null {
    void device;
    const step = aligned ? count : 1;
    let first = -1;
    for (let v = Math.ceil(MSI_FIRST_VECTOR / step) * step; v + count - 1 <= MSI_LAST_VECTOR; v += step) {
      let free = true;
      for (let k = 0; k < count && free; k++) if (this.vectorUsed[v + k]) free = false;
      if (free) {
        first = v;
        break;
      }
    }
    if (first < 0) return null;
    const irqs: number[] = [];
    const vectors: number[] = [];
    for (let k = 0; k < count; k++) {
      const irq = this.nextIrq++;
      this.vectorUsed[first + k] = 1;
      this.irqOfVector[first + k] = irq;
      this.vectorOfIrq.set(irq, first + k);
      irqs.push(irq);
      vectors.push(first + k);
    }
    return { irqs, vectors };
  }

  freeMsi(irqs: readonly number[]): void {
    for (const irq of irqs) {
      const v = this.vectorOfIrq.get(irq);
      if (v === undefined) continue;
      this.vectorOfIrq.delete(irq);
      this.vectorUsed[v] = 0;
      this.irqOfVector[v] = -1;
    }
  }
}
