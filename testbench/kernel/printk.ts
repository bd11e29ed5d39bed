/** The simulated dmesg ring: Linux-style lines stamped with simulated time. */

/** printk log levels. @public */
export type LogLevel = "emerg" | "alert" | "crit" | "err" | "warn" | "notice" | "info" | "debug";

/** One dmesg record. @public */
export interface LogLine {
  /** Simulated nanoseconds. */
  readonly time: number;
  readonly level: LogLevel;
  readonly text: string;
}

/** `[    0.001234] ` — seconds padded to 5, microseconds to 6, as the kernel prints. @public */
export function formatTimestamp(ns: number): string {
  const us = Math.floor(ns / 1000);
  const sec = Math.floor(us / 1_000_000);
  const frac = us - sec * 1_000_000;
  return `[${String(sec).padStart(5, " ")}.${String(frac).padStart(6, "0")}] `;
}

/** A bounded ring of log lines. @public */
export class Dmesg {
  private readonly lines: LogLine[] = [];
  private dropped = 0;
  constructor(
    private readonly now: () => number,
    private readonly capacity = 8192,
  ) {}

  /** Append a message; multi-line text becomes several records with one timestamp. */
  log(level: LogLevel, text: string): void {
    const time = this.now();
    for (const line of text.split("\n")) {
      if (this.lines.length >= this.capacity) {
        this.lines.shift();
        this.dropped++;
      }
      this.lines.push({ time, level, text: line });
    }
  }

  /** Records, oldest first. */
  records(): readonly LogLine[] {
    return this.lines;
  }

  /** The ring as `dmesg` prints it. */
  text(): string {
    return this.lines.map((l) => formatTimestamp(l.time) + l.text).join("\n");
  }

  /** Lines containing `needle`. */
  grep(needle: string | RegExp): string[] {
    return this.lines.filter((l) => (typeof needle === "string" ? l.text.includes(needle) : needle.test(l.text))).map((l) => l.text);
  }

  get droppedCount(): number {
    return this.dropped;
  }

  clear(): void {
    this.lines.length = 0;
  }
}
