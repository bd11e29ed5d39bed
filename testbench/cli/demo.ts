/**
 * A small user-space workload on the default board, for `vdtb run`, `vdtb trace` and
 * `vdtb proc maps`: a process maps anonymous memory and /dev/fb0, draws the test pattern through
 * the mapping and waits for a vblank, so the trace, the maps and the picture have content.
 */
import type { Testbench } from "../harness/testbench.js";
import { FbUser, drawRgba, testPattern } from "../harness/fb-user.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../kernel/process/uapi.js";
import type { Process } from "../kernel/process/process.js";

/** The process of the demo, still running, with its mappings. @public */
export interface DemoProcess {
  readonly process: Process;
  readonly anon: number;
  readonly fb: number;
}

/** Run the demo: returns the process (left running so its maps can be read). @public */
export async function runDemo(tb: Testbench): Promise<DemoProcess> {
  const p = tb.spawn("fbdemo");
  const anon = await p.mmap(0, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon < 0) throw new Error(`anonymous mmap failed (${anon})`);
  p.fill(anon, 0x5a, 4096);
  const fb = await FbUser.open(p, tb.board.profile);
  const v = await fb.getVar();
  const fix = await fb.getFix();
  const map = await fb.map(fix.smem_len);
  if (map < 0) throw new Error(`mmap of /dev/fb0 failed (${map})`);
  drawRgba(p, map, v, fix.line_length, testPattern(v.xres, v.yres));
  const vs = await fb.waitVsync();
  if (vs !== 0) throw new Error(`FBIO_WAITFORVSYNC failed (${vs})`);
  return { process: p, anon, fb: map };
}
