// The isa-stream driver beyond the class suite: probe under fault injection (every fallible call
// failed in turn), repeated bind/unbind, single open, direction exclusivity, ioctl validation.
import { afterEach, describe, expect, it } from "vitest";
import { EBUSY, EINVAL, ENODEV, ENOTTY } from "../sdk/index.js";
import { isaStream } from "../devices/isa-stream/index.js";
import {
  ISA_STREAM_GET_RING,
  ISA_STREAM_SET_BLOCK,
  ISA_STREAM_SET_RATE,
  ISA_STREAM_SET_WIDTH,
  isaStreamDriver,
} from "../drivers/isa-stream/index.js";
import { Testbench } from "../testbench/harness/testbench.js";
import { registerDriverCore } from "../testbench/kernel/driver/register.js";
import { ensureIsaDmaBoot } from "../testbench/kernel/isa-dma/test-boot.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDONLY, O_RDWR, O_WRONLY, PROT_READ, PROT_WRITE } from "../testbench/kernel/process/uapi.js";
import { DRIVER_CORE } from "../testbench/kernel/tokens.js";

let tb: Testbench | undefined;
afterEach(async () => {
  await tb?.dispose();
  tb = undefined;
});

async function boot(board = "pc") {
  tb = await Testbench.boot({ board, register: (c) => registerDriverCore(c) });
  const isa = ensureIsaDmaBoot(tb.container);
  const dc = tb.container.resolve(DRIVER_CORE);
  const card = isaStream();
  const h = dc.plugDevice(card);
  dc.registerDriver(isaStreamDriver);
  return { tb, dc, h, card, isa };
}

describe("isa-stream driver", () => {
  it("probe fails cleanly at every fallible call, then binds", async () => {
    let n = 1;
    for (; n < 50; n++) {
      const { tb, dc, h, isa } = await boot();
      tb.core.faults.arm({ nth: n, driver: "isa-stream" });
      const r = await dc.bind(h);
      const injected = tb.core.faults.injected.length;
      tb.core.faults.disarm();
      if (injected === 0) {
        expect(r).toBe(0);
        await dc.unbind(h);
        expect(tb.reports()).toEqual([]);
        break;
      }
      expect(r, `probe with call ${n} failed`).toBeLessThan(0);
      expect(tb.reports(), `after failing call ${n} (${tb.core.faults.injected[0]?.kind})`).toEqual([]);
      expect(isa.procDma()).toBe(" 4: cascade\n");
      await tb.dispose();
    }
    // ports, pages, two channels, irq, misc device (at least)
    expect(n).toBeGreaterThanOrEqual(6);
  });

  it("binds and unbinds repeatedly, leaving nothing behind", async () => {
    const { tb, dc, h, isa } = await boot("pc32");
    for (let i = 0; i < 4; i++) {
      expect(await dc.bind(h)).toBe(0);
      expect(isa.procDma()).toBe(" 1: isa-stream\n 4: cascade\n 5: isa-stream\n");
      await dc.unbind(h);
    }
    expect(isa.procDma()).toBe(" 4: cascade\n");
    expect(tb.reports()).toEqual([]);
  });

  it("one opener at a time; one direction at a time; ioctls validate and refuse while streaming", async () => {
    const { tb, dc, h } = await boot();
    expect(await dc.bind(h)).toBe(0);
    const p = tb.spawn("a");
    const fd = await p.open("/dev/isa-stream", O_RDWR);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(await tb.spawn("b").open("/dev/isa-stream", O_RDONLY)).toBe(-EBUSY);
    expect(await p.ioctl(fd, ISA_STREAM_SET_WIDTH, 12)).toBe(-EINVAL);
    expect(await p.ioctl(fd, ISA_STREAM_SET_RATE, 0)).toBe(-EINVAL);
    expect(await p.ioctl(fd, ISA_STREAM_SET_BLOCK, 0x8000)).toBe(-EINVAL);
    expect(await p.ioctl(fd, ISA_STREAM_SET_BLOCK, 3001)).toBe(0);
    expect(await p.ioctl(fd, ISA_STREAM_GET_RING, 0)).toBe(30010);
    expect(await p.ioctl(fd, ISA_STREAM_SET_WIDTH, 16)).toBe(-EINVAL); // 16-bit needs an even block
    expect(await p.ioctl(fd, ISA_STREAM_SET_BLOCK, 3000)).toBe(0);
    expect(await p.ioctl(fd, ISA_STREAM_SET_WIDTH, 16)).toBe(0);
    expect(await p.ioctl(fd, ISA_STREAM_SET_BLOCK, 3001)).toBe(-EINVAL);
    expect(await p.ioctl(fd, ISA_STREAM_GET_RING, 0)).toBe(30000);
    expect(await p.ioctl(fd, 0x1234, 0)).toBe(-ENOTTY);
    const buf = await p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(await p.write(fd, buf, 8192)).toBe(8192);
    expect(await p.ioctl(fd, ISA_STREAM_SET_RATE, 100)).toBe(-EBUSY);
    expect(await p.read(fd, buf, 16)).toBe(-EBUSY);
    expect(await p.close(fd)).toBe(0);
    await dc.unbind(h);
    expect(tb.reports()).toEqual([]);
  });

  it("unbind while a writer is blocked: the write returns, later calls get -ENODEV, close works", async () => {
    const { tb, dc, h, isa } = await boot();
    expect(await dc.bind(h)).toBe(0);
    const p = tb.spawn("writer");
    const fd = await p.open("/dev/isa-stream", O_WRONLY);
    const n = 3 * 0x8000;
    const buf = await p.mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const pending = p.write(fd, buf, n); // fills the ring, then sleeps
    await dc.unbind(h);
    expect(await pending).toBe(0x8000);
    expect(await p.write(fd, buf, 16)).toBe(-ENODEV);
    expect(await p.close(fd)).toBe(0);
    expect(isa.procDma()).toBe(" 4: cascade\n");
    expect(tb.reports()).toEqual([]);
  });
});
