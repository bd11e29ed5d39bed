/**
 * The logging part of the facade: `printk`, `pr_*`, `dev_*` into the simulated dmesg, and
 * `BUG_ON` / `WARN_ON` / `WARN_ON_ONCE` as reports with the driver's stack.
 */
import { inject, injectable } from "../soc/di.js";
import type { Device, Kernel } from "../../sdk/index.js";
import type { KernelCore } from "./core.js";
import type { KernelApiPart, Owner } from "./facade.js";
import { kernelBug } from "./oops.js";
import type { LogLevel } from "./printk.js";
import { siteFrames } from "./stack.js";
import { KERNEL_CORE } from "./tokens.js";

/** `KERN_*` prefixes a printk message may start with ("\u0001" + level digit), as in Linux. */
const KERN_LEVELS: readonly LogLevel[] = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];

/** @public */
@injectable()
export class PrintkApi implements KernelApiPart {
  /** Call sites that already warned (WARN_ON_ONCE). */
  private readonly warnedOnce = new Set<string>();

  constructor(@inject(KERNEL_CORE) private readonly core: KernelCore) {}

  /** `dev_printk`: `<driver> <device>: message`, as the kernel prefixes a bound device's lines. */
  devLine(owner: Owner, dev: Device, level: LogLevel, message: string): void {
    // A NULL device prints as __dev_printk does.
    if (dev === null || dev === undefined) this.core.dmesg.log(level, `(NULL device *): ${stripNewline(message)}`);
    else this.core.dmesg.log(level, `${owner.driver === "kernel" ? "" : owner.driver + " "}${dev.name}: ${stripNewline(message)}`);
  }

  /** `printk` with an optional KERN_<LEVEL> prefix (default level: warn, like default_message_loglevel 4). */
  printk(message: string): void {
    let level: LogLevel = "warn";
    let text = asText(message);
    if (text.length >= 2 && text.charCodeAt(0) === 1) {
      const n = text.charCodeAt(1) - 48;
      if (n >= 0 && n < KERN_LEVELS.length) level = KERN_LEVELS[n]!;
      text = text.slice(2);
    }
    this.core.dmesg.log(level, stripNewline(text));
  }

  warn(owner: Owner, once: boolean): void {
    const site = this.core.site();
    const frames = siteFrames(site);
    const where = frames[0] ?? "unknown";
    if (once) {
      if (this.warnedOnce.has(where)) return;
      this.warnedOnce.add(where);
    }
    const title = `WARNING: CPU: 0 PID: ${this.core.ctx.task.pid} at ${where}`;
    this.core.report({
      kind: "warn",
      title,
      text: [title, `Comm: ${this.core.ctx.task.comm}`, "Call Trace:", ...frames.map((f) => ` ${f}`)].join("\n"),
      stack: frames,
      ...(owner.driver !== "kernel" ? { driver: owner.driver } : {}),
      ...(owner.device ? { device: owner.device } : {}),
    });
  }

  api(owner: Owner): Partial<Kernel> {
    const log = (level: LogLevel) => (message: string) => this.core.dmesg.log(level, stripNewline(message));
    const dev = (level: LogLevel) => (d: Device, message: string) => this.devLine(owner, d, level, message);
    return {
      printk: (message: string) => this.printk(message),
      pr_emerg: log("emerg"),
      pr_err: log("err"),
      pr_warn: log("warn"),
      pr_notice: log("notice"),
      pr_info: log("info"),
      pr_debug: log("debug"),
      dev_err: dev("err"),
      dev_warn: dev("warn"),
      dev_notice: dev("notice"),
      dev_info: dev("info"),
      dev_dbg: dev("debug"),
      BUG_ON: (condition: boolean) => {
        if (!condition) return;
        const site = this.core.site();
        const where = siteFrames(site, 1)[0] ?? "unknown";
        throw kernelBug(this.core, `kernel BUG at ${where}!`, [`Oops: invalid opcode: 0000 [#${this.core.reports("oops").length + 1}] PREEMPT SMP`], site, owner.driver === "kernel" ? undefined : owner.driver);
      },
      WARN_ON: (condition: boolean) => {
        if (condition) this.warn(owner, false);
        return condition;
      },
      WARN_ON_ONCE: (condition: boolean) => {
        if (condition) this.warn(owner, true);
        return condition;
      },
    };
  }
}

function stripNewline(message: string): string {
  const s = asText(message);
  return s.endsWith("\n") ? s.slice(0, -1) : s;
}

/** A message as vsprintf prints a string argument: NULL (or undefined) as "(null)". */
function asText(message: unknown): string {
  return message === null || message === undefined ? "(null)" : String(message);
}
