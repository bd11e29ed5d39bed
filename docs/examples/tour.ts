/**
 * Guide sample (README five-minute tour, docs/getting-started.md): boot a board with the csum
 * device and its driver, use /dev/csum from a user process, unbind, and look at what the
 * testbench saw.
 */
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, Testbench } from "vdtb/testbench";
import { csum } from "./csum-device.js";
import { csumDriver } from "./csum-driver.js";

/** Sum `bytes` on the device through /dev/csum; returns the sum, or a negative errno. */
export async function sumOnDevice(tb: Testbench, bytes: Uint8Array): Promise<number> {
  const p = tb.spawn("csum-user");
  const fd = await p.open("/dev/csum", O_RDWR);
  if (fd < 0) return fd;
  const buf = await p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf < 0) return buf;
  p.writeBytes(buf, bytes);
  const written = await p.write(fd, buf, bytes.length);
  if (written !== bytes.length) return written;
  const got = await p.read(fd, buf + 4096, 4);
  if (got !== 4) return got;
  const sum = p.load32(buf + 4096);
  await p.exit(); // closes the file and unmaps, as a real process exit does
  return sum;
}

/** The tour: boot, bind, use, unbind. Returns what a test would assert on. */
export async function tour(board = "pc", seed = 1) {
  const tb = await Testbench.boot({ board, seed, devices: [csum()], drivers: [csumDriver()] });
  const sum = await sumOnDevice(tb, new Uint8Array([1, 2, 3, 250]));
  await tb.unbindAll();
  const result = { sum, dmesg: tb.dmesg(), reports: tb.reports().length };
  await tb.dispose();
  return result;
}
