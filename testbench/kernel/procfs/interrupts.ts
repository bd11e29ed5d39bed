/**
 * `/proc/interrupts` in the kernel's layout (one CPU): a header of CPU columns, then one row per IRQ
 * that has a handler or was ever delivered:
 *
 * ```
 *            CPU0
 *   9:          3   IO-APIC   9-fasteoi   acpi
 *  10:         12   IO-APIC  10-edge      mydrv, other
 * 256:          5   PCI-MSI 65536-edge      nvme0q0
 * ERR:          0
 * ```
 *
 * x86 boards print the flow type after the hwirq ("-edge", "-fasteoi"); ARM boards print
 * "Level"/"Edge" (GENERIC_IRQ_SHOW_LEVEL) and "Err:" as the arch row.
 */
import type { IrqSubsystem } from "../irq/irqs.js";

/** Render /proc/interrupts. @public */
export function renderProcInterrupts(irqs: IrqSubsystem): string {
  const descs = irqs.descriptors().filter((d) => d.actions.length > 0 || d.count > 0);
  const nrIrqs = descs.length > 0 ? descs[descs.length - 1]!.irq + 1 : 0;
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= nrIrqs; j *= 10) prec++;
  const lines: string[] = [" ".repeat(prec + 8) + "CPU0".padEnd(11)];
  for (const d of descs) {
    let row = `${String(d.irq).padStart(prec)}: ${String(d.count).padStart(10)} `;
    row += ` ${d.chip.padStart(8)}`;
    row += ` ${String(d.hwirq).padStart(prec)}`;
    if (irqs.procStyle === "arm") row += ` ${(d.trigger === "level" ? "Level" : "Edge").padEnd(8)}`;
    else row += `-${(d.trigger === "level" ? "fasteoi" : "edge").padEnd(8)}`;
    if (d.actions.length > 0) row += `  ${d.actions.map((a) => a.name).join(", ")}`;
    lines.push(row);
  }
  const err = irqs.procStyle === "arm" ? "Err" : "ERR";
  lines.push(`${err.padStart(prec)}: ${String(irqs.errCount).padStart(10)}`);
  return lines.join("\n") + "\n";
}
