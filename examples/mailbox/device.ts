/**
 * An out-of-tree device model: a mailbox. The driver writes a request word, the device answers
 * after a short simulated latency with a reply word (the bitwise complement of the request) and
 * raises its interrupt. It imports nothing but the public `vdtb/sdk` entry.
 */
import { defineRegisters, RegisterFile, type DeviceContext, type DeviceDecl, type VirtualDevice } from "vdtb/sdk";

/** Register map of the mailbox. */
export const mailboxRegisters = defineRegisters(
  "mailbox",
  {
    ID: { offset: 0x00, width: 32, mode: "ro", reset: 0x4d424f58, doc: "Reads 'MBOX'" },
    CTRL: { offset: 0x04, width: 32, fields: { EN: { lsb: 0, width: 1 }, IE: { lsb: 1, width: 1 } } },
    STATUS: { offset: 0x08, width: 32, mode: "w1c", fields: { REPLY: { lsb: 0, width: 1 } } },
    REQUEST: { offset: 0x0c, width: 32, mode: "wo", doc: "Writing a word starts a request" },
    REPLY: { offset: 0x10, width: 32, mode: "ro" },
  },
  { size: 0x1000 },
);

/** Options of the mailbox model. */
export interface MailboxOptions {
  /** Physical base of the register window (default 0xfed40000). */
  readonly base?: number;
  /** Interrupt line (default 9). */
  readonly irq?: number;
  /** Reply latency in simulated nanoseconds (default 10 µs). */
  readonly latencyNs?: number;
}

/** The mailbox device model. */
export class Mailbox implements VirtualDevice {
  readonly model = "mailbox";
  readonly regs = new RegisterFile(mailboxRegisters);
  private ctx: DeviceContext | undefined;

  constructor(private readonly options: MailboxOptions = {}) {
    this.regs.onWrite("REQUEST", (value) => this.request(value));
    this.regs.onWrite("STATUS", (value) => {
      if ((value & 1) === 0) this.ctx?.irq.lower(0);
    });
  }

  describe(): DeviceDecl {
    return {
      bus: "platform",
      compatible: ["vdtb,mailbox"],
      mmio: [{ base: this.options.base ?? 0xfed40000, size: 0x1000, name: "mailbox", impl: { kind: "registers", file: this.regs } }],
      irqs: [this.options.irq ?? 9],
    };
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
  }

  reset(): void {
    this.regs.reset();
  }

  private request(word: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (!this.regs.field("CTRL", "EN")) {
      ctx.log.guestError("REQUEST written while the mailbox is disabled");
      return;
    }
    ctx.clock.schedule(this.options.latencyNs ?? 10_000, () => {
      this.regs.set("REPLY", ~word >>> 0);
      this.regs.setBits("STATUS", 1);
      if (this.regs.field("CTRL", "IE")) ctx.irq.raise(0);
    });
  }
}

/** A mailbox device. */
export function mailbox(options?: MailboxOptions): Mailbox {
  return new Mailbox(options);
}
