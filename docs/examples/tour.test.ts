import { expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, Testbench } from "vdtb/testbench";
import "vdtb/vitest";
import { csum } from "./csum-device.js";
import { csumDriver } from "./csum-driver.js";

it("sums bytes on the device and leaves nothing behind", async () => {
  const tb = await Testbench.boot({ board: "arm", seed: 7, devices: [csum()], drivers: [csumDriver()] });
  expect(tb.dmesg()).toContain("csum ready");

  const p = tb.spawn("demo");
  const fd = await p.open("/dev/csum", O_RDWR);
  const buf = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  p.writeBytes(buf, new Uint8Array([1, 2, 3, 250]));
  expect(await p.write(fd, buf, 4)).toBe(4);
  expect(await p.read(fd, buf + 8, 4)).toBe(4);
  expect(p.load32(buf + 8)).toBe(256);
  await p.exit();

  await tb.unbindAll();
  expect(tb).toBeClean(); // no leak, DMA-API error, KASAN report, context bug or oops
  await tb.dispose();
});

it("catches a driver that leaks a kmalloc", async () => {
  const tb = await Testbench.boot({ devices: [csum()], drivers: [csumDriver({ leakBuffer: true })] });
  const p = tb.spawn();
  const fd = await p.open("/dev/csum", O_RDWR);
  const buf = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  await p.write(fd, buf, 16);
  await p.exit();
  await tb.unbindAll();
  expect(tb).toHaveReported("leak", /driver csum leaked 1 resource/);
  await tb.dispose();
});
