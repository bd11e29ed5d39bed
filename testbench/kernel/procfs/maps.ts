/**
 * `/proc/<pid>/maps` in the kernel's format (fs/proc/task_mmu.c): per VMA
 * `start-end perms offset MAJ:MIN inode `, then, when the VMA has a name, spaces up to column
 * 25 + 6·sizeof(void*) − 1 (72 on 64-bit, 48 on 32-bit profiles), one more space and the name.
 * Addresses and the offset are lowercase hex with at least 8 digits (`%08lx`); the offset is
 * `vm_pgoff << PAGE_SHIFT` for file mappings and 0 otherwise; a char device's mapping shows the
 * device of the filesystem holding its node (devtmpfs, 00:05), its inode number and its path.
 */
import type { Process } from "../process/process.js";

/** The st_dev of /dev (devtmpfs) as maps prints it. @internal */
export const DEVTMPFS_DEV = { major: 0, minor: 5 } as const;

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, "0");
}

/** Render `/proc/<pid>/maps` of a process. @public */
export function renderMaps(p: Process, pointerBits: 32 | 64): string {
  const width = 25 + (pointerBits / 8) * 6 - 1;
  const lines: string[] = [];
  for (const v of p.mm.vmas) {
    const file = v.open;
    const offset = file ? v.vm_pgoff * 4096 : 0;
    const dev = file ? DEVTMPFS_DEV : { major: 0, minor: 0 };
    const ino = file ? file.node.ino : 0;
    let line = `${hex(v.vm_start, 8)}-${hex(v.vm_end, 8)} ${v.perms()} ${hex(offset, 8)} ${hex(dev.major, 2)}:${hex(dev.minor, 2)} ${ino} `;
    const name = file ? file.node.path : v.name;
    if (name) line = line.padEnd(width, " ") + " " + name;
    lines.push(line);
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}
