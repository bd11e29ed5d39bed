/**
 * The sgdma class suite: any driver claiming `deviceClass: "sgdma"` for the `sgdma` endpoint must
 * expose `/dev/sgdma0` where `write` moves a user buffer host→card and `read` card→host at the
 * file position, `lseek` (SEEK_SET/CUR/END) picks the card offset, and `f_pos` advances by the
 * bytes moved. Checked end to end with checksums (a pattern written and read back, and card
 * memory compared directly in both directions), for every size of the class list, unaligned user
 * buffers and card offsets, bad pointers (-EFAULT), two processes at once, injected kernel faults
 * (the syscall fails with an errno and nothing leaks) and device faults (bus master off: -EIO;
 * a lost interrupt: -ETIMEDOUT), then the driver must keep working.
 *
 * The matrix: boards pc, arm, pc32 × DMA variants — the board as it is, forced non-coherent,
 * IOMMU on, swiotlb bouncing forced, RAM above 4 GiB (a bank at 0x80000000 and one at 4 GiB, so
 * every profile boots it), and weak ordering. The 32-bit addressing case runs the targets on the
 * high-RAM board: {@link sgdmaTargets} includes the driver built with `dmaBits: 32` (a card wired
 * for 32 address bits — the device model has no addressing-limit option, so the driver variant
 * claims the 32-bit mask), whose buffers above 4 GiB must be bounced or IOMMU-translated.
 *
 * Cases receive a booted testbench with the device plugged and the driver registered but not
 * bound; each binds, runs, and ends unbound and clean.
 */
import { Sgdma, sgdma } from "../../../devices/sgdma/index.js";
import { sgdmaDriver } from "../../../drivers/sgdma/index.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Testbench } from "../../harness/testbench.js";
import type { HostedDevice } from "../../kernel/bus/device-host.js";
import type { FaultKind } from "../../../testbench/checks/fault-inject.js";
import type { Process } from "../../kernel/process/process.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, SEEK_CUR, SEEK_END, SEEK_SET } from "../../kernel/process/uapi.js";
import { DEVICE_HOST } from "../../kernel/tokens.js";
import type { ConformanceCase, ConformanceSuite, ConformanceTarget, Variant } from "../plan.js";

const EFAULT = 14, EINVAL = 22, EIO = 5, ENOSPC = 28, ETIMEDOUT = 110;
const PAGE = 4096;
const MiB = 1 << 20;
const GiB = 1024 * MiB;

/** Transfer sizes every driver must get right. @public */
export const SGDMA_SIZES: readonly number[] = [1, 1024, 1025, 4095, 4096, 4097, MiB, 1024000, 1024001];

/** A conformance failure naming what differed. @public */
export class SgdmaCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SgdmaCheckError";
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new SgdmaCheckError(message);
}

function checkEq(actual: number, expected: number, what: string): void {
  check(actual === expected, `${what}: got ${actual}, expected ${expected}`);
}

/** FNV-1a over bytes: the end-to-end checksum. @public */
export function sgdmaChecksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** A deterministic pattern of `n` bytes (xorshift32 from `seed`). @public */
export function sgdmaPattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = Math.imul(seed | 0, 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Compare what arrived with what was sent (native compare); on a mismatch name both end-to-end
 * checksums and the first differing byte.
 */
function checkBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  check(actual.length === expected.length, `${what}: ${actual.length} bytes, expected ${expected.length}`);
  if (Buffer.compare(actual, expected) === 0) return;
  let at = 0;
  while (at < actual.length && actual[at] === expected[at]) at++;
  throw new SgdmaCheckError(
    `${what}: checksum 0x${sgdmaChecksum(actual).toString(16)}, expected 0x${sgdmaChecksum(expected).toString(16)}; first difference at byte ${at} of ${expected.length}: 0x${actual[at]!.toString(16)}, expected 0x${expected[at]!.toString(16)}`,
  );
}

/** `data` with every byte changed (xor `x`). */
function flipped(data: Uint8Array, x: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ x;
  return out;
}

/** The plugged sgdma endpoint. */
function sgdmaDevice(tb: Testbench): { dev: Sgdma; hosted: HostedDevice } {
  const hosted = tb.container.resolve(DEVICE_HOST).devices().find((h) => h.model.model === "sgdma");
  check(hosted, "no sgdma device is plugged");
  return { dev: hosted.model as Sgdma, hosted };
}

/** A process with /dev/sgdma0 open. @public */
export class SgdmaUser {
  private constructor(
    readonly p: Process,
    readonly fd: number,
  ) {}

  /** Spawn a process and open the node (throws if open fails). */
  static async open(tb: Testbench, comm = "sgdma-test", node = "/dev/sgdma0"): Promise<SgdmaUser> {
    const p = tb.spawn(comm);
    const fd = await p.open(node, O_RDWR);
    check(fd >= 0, `open ${node}: ${fd}`);
    return new SgdmaUser(p, fd);
  }

  /**
   * Anonymous read-write memory of at least `bytes` (whole pages), or throws. With `prefault`
   * each page is touched first: a bulk user copy restarts after every page fault it takes, so
   * filling fresh pages in one go would cost pages × bytes.
   */
  async alloc(bytes: number, prefault = true): Promise<number> {
    const len = Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
    const va = await this.p.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(va > 0, `mmap of ${bytes} bytes failed (${va})`);
    if (prefault) for (let off = 0; off < len; off += PAGE) this.p.store8(va + off, 0);
    return va;
  }

  seek(offset: number, whence = SEEK_SET): Promise<number> {
    return this.p.lseek(this.fd, offset, whence);
  }

  /** lseek to `at`, write `n` bytes from `va`; the raw results. */
  async writeAt(at: number, va: number, n: number): Promise<number> {
    const s = await this.seek(at);
    if (s !== at) return s < 0 ? s : -EINVAL;
    return this.p.write(this.fd, va, n);
  }

  async readAt(at: number, va: number, n: number): Promise<number> {
    const s = await this.seek(at);
    if (s !== at) return s < 0 ? s : -EINVAL;
    return this.p.read(this.fd, va, n);
  }

  async close(): Promise<void> {
    if (this.p.alive) await this.p.exit();
  }
}

/**
 * Make the ends of a destination differ from any pattern (user stores go through the simulated
 * cache byte by byte, so large buffers are not filled whole; the checksum covers the middle,
 * which still holds the previous, different pattern).
 */
function poison(p: Process, va: number, n: number): void {
  const k = Math.min(n, 64);
  p.fill(va, 0xee, k);
  if (n > k) p.fill(va + n - k, 0xee, k);
}

/**
 * Write `data` host→card at card offset `at` from user address `src`, check the card memory,
 * read it back card→host into `dst` (pre-filled with garbage), check; then the reverse path on
 * its own: a second pattern put straight into card memory must read back exactly.
 */
async function roundTrip(u: SgdmaUser, dev: Sgdma, at: number, src: number, dst: number, data: Uint8Array, what: string, inPlace = false): Promise<void> {
  const n = data.length;
  const { p } = u;
  if (!inPlace) p.writeBytes(src, data);
  checkEq(await u.writeAt(at, src, n), n, `${what}: write of ${n} bytes at card offset ${at}`);
  checkEq(await u.seek(0, SEEK_CUR), at + n, `${what}: file position after the write`);
  checkBytes(dev.card.subarray(at, at + n), data, `${what}: card memory after host→card`);
  poison(p, dst, n);
  checkEq(await u.readAt(at, dst, n), n, `${what}: read of ${n} bytes at card offset ${at}`);
  checkEq(await u.seek(0, SEEK_CUR), at + n, `${what}: file position after the read`);
  checkBytes(p.readBytes(dst, n), data, `${what}: read back card→host`);
  const other = flipped(data, 0x5a);
  dev.card.set(other, at);
  checkEq(await u.readAt(at, dst, n), n, `${what}: read of card-side data`);
  checkBytes(p.readBytes(dst, n), other, `${what}: card→host of data put in card memory`);
}

/** Bind the driver, run `body` with a process on /dev/sgdma0, always exit and unbind. */
async function withUser(tb: Testbench, body: (u: SgdmaUser, dev: Sgdma, hosted: HostedDevice) => Promise<void>): Promise<void> {
  const { dev, hosted } = sgdmaDevice(tb);
  checkEq(await tb.bind(hosted.name), 0, "probe");
  const u = await SgdmaUser.open(tb);
  try {
    await body(u, dev, hosted);
  } finally {
    await u.close();
    await tb.unbind(hosted.name);
  }
}

// ---- cases --------------------------------------------------------------------------------

const sizes: ConformanceCase<Testbench> = {
  name: "sizes",
  async run({ tb, seed }) {
    await withUser(tb, async (u, dev) => {
      const cardSize = dev.card.length;
      // One pattern written once; size j starts j pages into it, so every transfer moves
      // different data from a page-aligned user address.
      const big = sgdmaPattern(MiB + SGDMA_SIZES.length * PAGE, seed);
      const src = await u.alloc(big.length);
      const dst = await u.alloc(MiB + PAGE);
      u.p.writeBytes(src, big);
      for (let j = 0; j < SGDMA_SIZES.length; j++) {
        const n = SGDMA_SIZES[j]!;
        // Small sizes land at a seed-dependent card offset, large ones at the start or the end.
        const room = cardSize - n;
        const at = n <= 65536 ? (seed * 40503 + n * 7) % room : seed % 2 === 0 ? 0 : room;
        await roundTrip(u, dev, at, src + j * PAGE, dst, big.subarray(j * PAGE, j * PAGE + n), `${n} bytes`, true);
      }
    });
  },
};

const unaligned: ConformanceCase<Testbench> = {
  name: "unaligned user buffers",
  async run({ tb, seed }) {
    // [size, source misalignment, destination misalignment, card offset]
    const shapes: [number, number, number, number][] = [
      [5000, 1, 4095, 3],
      [8192, 7, 2049, 4097],
      [12289, 4095, 1, 0],
      [3, 4094, 4095, 1023],
      [65549, 100, 3000, 12345],
      [300000, 2048, 17, 77777],
    ];
    await withUser(tb, async (u, dev) => {
      const src = await u.alloc(320 * 1024);
      const dst = await u.alloc(320 * 1024);
      for (const [n, sm, dm, at] of shapes) {
        await roundTrip(u, dev, at, src + sm, dst + dm, sgdmaPattern(n, seed + n), `${n} bytes, source +${sm}, destination +${dm}`);
      }
    });
  },
};

const filePosition: ConformanceCase<Testbench> = {
  name: "file position",
  async run({ tb, seed }) {
    await withUser(tb, async (u, dev) => {
      const size = dev.card.length;
      const { p, fd } = u;
      const buf = await u.alloc(3 * PAGE);
      const out = await u.alloc(3 * PAGE);
      checkEq(await u.seek(0, SEEK_END), size, "SEEK_END");
      checkEq(await u.seek(-100, SEEK_CUR), size - 100, "SEEK_CUR backwards");
      checkEq(await u.seek(size + 1), -EINVAL, "SEEK_SET past the card memory");
      checkEq(await u.seek(0, SEEK_CUR), size - 100, "position after a refused seek");
      checkEq(await u.seek(-1), -EINVAL, "SEEK_SET to a negative offset");
      checkEq(await u.seek(1, SEEK_END), -EINVAL, "SEEK_END past the card memory");
      checkEq(await u.seek(0, 7), -EINVAL, "unknown whence");
      // Consecutive writes continue where the last one ended.
      const parts = [sgdmaPattern(1000, seed), sgdmaPattern(3000, seed + 1), sgdmaPattern(17, seed + 2)];
      const base = 4096 * 3 + 5;
      checkEq(await u.seek(base), base, "seek");
      for (const part of parts) {
        p.writeBytes(buf, part);
        checkEq(await p.write(fd, buf, part.length), part.length, `write of ${part.length} bytes`);
      }
      const all = new Uint8Array(4017);
      all.set(parts[0]!, 0);
      all.set(parts[1]!, 1000);
      all.set(parts[2]!, 4000);
      checkEq(await u.seek(0, SEEK_CUR), base + 4017, "position after three writes");
      checkEq(await u.readAt(base, out, 4017), 4017, "read of the three parts");
      checkBytes(p.readBytes(out, 4017), all, "consecutive writes");
      // The end of the card memory: short transfers, then EOF for read and ENOSPC for write.
      const tail = sgdmaPattern(64, seed + 3);
      p.writeBytes(buf, tail);
      checkEq(await u.writeAt(size - 10, buf, 64), 10, "write across the end of the card memory");
      checkBytes(dev.card.subarray(size - 10), tail.subarray(0, 10), "card memory at the end");
      checkEq(await u.seek(0, SEEK_CUR), size, "position after a short write");
      checkEq(await p.write(fd, buf, 1), -ENOSPC, "write at the end of the card memory");
      checkEq(await u.readAt(size - 10, out, 64), 10, "read across the end of the card memory");
      checkEq(await p.read(fd, out, 64), 0, "read at the end of the card memory");
      checkEq(await p.read(fd, out, 0), 0, "read of 0 bytes");
      checkEq(await u.seek(0, SEEK_CUR), size, "position after EOF");
    });
  },
};

const badPointers: ConformanceCase<Testbench> = {
  name: "bad user pointers",
  async run({ tb, seed }) {
    await withUser(tb, async (u, dev) => {
      const { p, fd } = u;
      const good = await u.alloc(4 * PAGE);
      const before = dev.card.slice(0, 3 * PAGE);
      checkEq(await u.seek(0), 0, "seek");
      checkEq(await p.write(fd, 0, 16), -EFAULT, "write from NULL");
      checkEq(await p.read(fd, 0x1000, 16), -EFAULT, "read into an unmapped page");
      const ro = await p.mmap(0, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      check(ro > 0, "mmap of a read-only buffer");
      checkEq(await p.read(fd, ro, 100), -EFAULT, "read into a read-only mapping");
      // A buffer whose second page is gone: nothing of it may be transferred.
      const holed = await u.alloc(3 * PAGE);
      p.fill(holed, 0x42, 3 * PAGE);
      checkEq(await p.munmap(holed + PAGE, PAGE), 0, "munmap");
      const r = await p.write(fd, holed + 100, 2 * PAGE);
      check(r === -EFAULT || (r > 0 && r <= PAGE - 100), `write from a buffer with a hole: ${r}, expected -EFAULT or a short count`);
      checkEq(await u.seek(0, SEEK_CUR), r > 0 ? r : 0, "file position after the failed calls");
      if (r < 0) checkBytes(dev.card.subarray(0, 3 * PAGE), before, "card memory after refused writes");
      // The driver still works.
      checkEq(await u.seek(0), 0, "seek");
      await roundTrip(u, dev, 0, good, good + 2 * PAGE, sgdmaPattern(PAGE + 3, seed), "after the bad pointers");
    });
  },
};

const twoProcesses: ConformanceCase<Testbench> = {
  name: "two processes at once",
  async run({ tb, seed }) {
    const { dev, hosted } = sgdmaDevice(tb);
    checkEq(await tb.bind(hosted.name), 0, "probe");
    const users = [await SgdmaUser.open(tb, "sgdma-a"), await SgdmaUser.open(tb, "sgdma-b")];
    try {
      const n = 200_000 + seed;
      const job = async (u: SgdmaUser, i: number): Promise<void> => {
        const at = i * 512 * 1024 + i * 3;
        const data = sgdmaPattern(n, seed * 10 + i);
        const src = await u.alloc(n + PAGE);
        const dst = await u.alloc(n + PAGE);
        for (let round = 0; round < 3; round++) {
          const d = round === 0 ? data : flipped(data, round);
          u.p.writeBytes(src + i, d);
          checkEq(await u.writeAt(at, src + i, n), n, `process ${i} round ${round}: write`);
          poison(u.p, dst + 2 * i, n);
          checkEq(await u.readAt(at, dst + 2 * i, n), n, `process ${i} round ${round}: read`);
          checkBytes(u.p.readBytes(dst + 2 * i, n), d, `process ${i} round ${round}: read back`);
        }
      };
      await Promise.all(users.map((u, i) => job(u, i)));
      // Both writing the same direction at once: each transfer lands whole.
      const a = sgdmaPattern(70_000, seed + 100), b = sgdmaPattern(70_000, seed + 200);
      const [sa, sb] = [await users[0]!.alloc(70_000), await users[1]!.alloc(70_000)];
      users[0]!.p.writeBytes(sa, a);
      users[1]!.p.writeBytes(sb, b);
      const rs = await Promise.all([users[0]!.writeAt(0, sa, a.length), users[1]!.writeAt(100_000, sb, b.length)]);
      check(rs[0] === a.length && rs[1] === b.length, `concurrent writes returned ${rs.join(", ")}`);
      checkBytes(dev.card.subarray(0, a.length), a, "first concurrent write");
      checkBytes(dev.card.subarray(100_000, 100_000 + b.length), b, "second concurrent write");
    } finally {
      for (const u of users) await u.close();
      await tb.unbind(hosted.name);
    }
  },
};

/** Kernel calls of the transfer path that may fail. */
const FAULT_KINDS: readonly FaultKind[] = ["pin-user-pages", "kmalloc", "dma-map", "iommu-map"];

const injectedFaults: ConformanceCase<Testbench> = {
  name: "injected faults",
  async run({ tb, target, seed }) {
    await withUser(tb, async (u, dev) => {
      const n = 3 * PAGE + 123;
      const src = await u.alloc(n + PAGE);
      const dst = await u.alloc(n + PAGE);
      for (const kind of FAULT_KINDS) {
        for (const write of [true, false]) {
          const what = `${write ? "write" : "read"} with the first ${kind} call failing`;
          const data = sgdmaPattern(n, seed + kind.length + (write ? 1 : 0));
          u.p.writeBytes(src + 5, data);
          checkEq(await u.seek(8), 8, "seek");
          tb.core.faults.arm({ nth: 1, driver: target.driver.name, kinds: [kind] });
          let r: number;
          try {
            r = write ? await u.p.write(u.fd, src + 5, n) : await u.p.read(u.fd, dst + 5, n);
          } finally {
            tb.core.faults.disarm();
          }
          if (tb.core.faults.injected.length > 0) {
            check(r < 0 && Number.isInteger(r), `${what}: returned ${r}, expected a negative errno`);
            checkEq(await u.seek(0, SEEK_CUR), 8, `${what}: file position`);
          } else {
            checkEq(r, n, `${what} (not reached)`);
          }
          const clean = tb.reports();
          check(clean.length === 0, `${what}: the testbench is not clean: ${clean.map((x) => x.title).join(" | ")}`);
          await roundTrip(u, dev, 8, src + 5, dst + 5, data, `after ${what}`);
        }
      }
    });
  },
};

const deviceFaults: ConformanceCase<Testbench> = {
  name: "device faults",
  async run({ tb, seed }) {
    await withUser(tb, async (u, dev, hosted) => {
      const n = 2 * PAGE + 9;
      const src = await u.alloc(n + PAGE);
      const dst = await u.alloc(n + PAGE);
      const data = sgdmaPattern(n, seed);
      u.p.writeBytes(src, data);
      // Bus mastering off: the engine cannot fetch its descriptors and stops with an error.
      const pci = hosted.pci;
      check(pci, "the sgdma device has no PCI function");
      const cmd = pci.read(0x04, 2);
      pci.write(0x04, 2, cmd & ~0x4);
      checkEq(await u.writeAt(0, src, n), -EIO, "write with bus mastering off");
      checkEq(await u.readAt(0, dst, n), -EIO, "read with bus mastering off");
      checkEq(await u.seek(0, SEEK_CUR), 0, "file position after -EIO");
      pci.write(0x04, 2, cmd);
      await roundTrip(u, dev, 0, src, dst, data, "after bus mastering came back");
      // A lost interrupt: the channel enable cleared behind the driver's back.
      const en = dev.regs.get("IRQ_CHAN_INT_EN");
      dev.regs.set("IRQ_CHAN_INT_EN", 0);
      checkEq(await u.writeAt(0, src, n), -ETIMEDOUT, "write with the interrupt lost");
      check(!dev.engineBusy("H2C"), "the engine is still busy after a timed-out write");
      dev.regs.set("IRQ_CHAN_INT_EN", en);
      await roundTrip(u, dev, 64, src, dst, data, "after the lost interrupt");
    });
  },
};

const highMemory: ConformanceCase<Testbench> = {
  name: "buffers above 4 GiB",
  when: (v) => v["dma"] === "high-ram",
  async run({ tb, seed }) {
    await withUser(tb, async (u, dev) => {
      const n = 256 * 1024 + 5;
      const src = await u.alloc(n + PAGE);
      const dst = await u.alloc(n + PAGE);
      u.p.fill(src, 1, n + PAGE);
      u.p.fill(dst, 1, n + PAGE);
      const high = [src, dst].every((va) => u.p.mm.pfnAt(va) * PAGE >= 4 * GiB);
      check(high, `user buffers are not above 4 GiB (pfns 0x${u.p.mm.pfnAt(src).toString(16)}, 0x${u.p.mm.pfnAt(dst).toString(16)})`);
      await roundTrip(u, dev, 4096 - 3, src + 3, dst + 1, sgdmaPattern(n, seed), "buffers above 4 GiB");
    });
  },
};

/** The DMA variants of the matrix. @public */
export const sgdmaVariants: readonly Variant[] = [
  { dma: "direct" },
  { dma: "non-coherent" },
  { dma: "iommu" },
  { dma: "bounce" },
  { dma: "high-ram" },
  { dma: "weak-ordering" },
];

/** Board changes of a variant. @public */
export function sgdmaOverrides(v: Variant): Partial<BoardConfig> {
  switch (v["dma"]) {
    case "non-coherent":
      return { coherent: false };
    case "iommu":
      return { iommu: true };
    case "bounce":
      return { forceBounce: true };
    case "high-ram":
      return { ram: [{ base: 0x80000000, size: 512 * MiB }, { base: 4 * GiB, size: 512 * MiB }] };
    case "weak-ordering":
      return { weakOrdering: true };
    default:
      return {};
  }
}

/** The sgdma class suite. @public */
export const sgdmaSuite: ConformanceSuite<Testbench> = {
  id: "sgdma",
  deviceClass: "sgdma",
  boards: ["pc", "arm", "pc32"],
  variants: sgdmaVariants,
  overrides: sgdmaOverrides,
  cases: [sizes, unaligned, filePosition, badPointers, twoProcesses, injectedFaults, deviceFaults, highMemory],
};

/**
 * A tolerant workload for the hygiene suite's fail-nth over the file operations: open, seek,
 * write an unaligned multi-page buffer, read it back, close. Failing syscalls are fine; a
 * successful read must return what was written.
 * @public
 */
export async function sgdmaExercise(tbu: unknown): Promise<void> {
  const tb = tbu as Testbench;
  const p = tb.spawn("sgdma-exercise");
  try {
    const fd = await p.open("/dev/sgdma0", O_RDWR);
    if (fd < 0) return;
    const buf = await p.mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf < 0) return;
    const n = 2 * PAGE + 11;
    const data = sgdmaPattern(n, 9);
    p.writeBytes(buf + 3, data);
    if ((await p.lseek(fd, 100, SEEK_SET)) !== 100) return;
    const w = await p.write(fd, buf + 3, n);
    if ((await p.lseek(fd, 100, SEEK_SET)) !== 100) return;
    const r = await p.read(fd, buf + PAGE + 1, n);
    if (w === n && r === n) checkBytes(p.readBytes(buf + PAGE + 1, n), data, "exercise: read back");
    await p.close(fd);
  } finally {
    await p.exit();
  }
}

/**
 * The built-in targets: the sgdma driver as shipped (64-bit mask, MSI) and built for a card
 * wired for 32 address bits. @public
 */
export function sgdmaTargets(): ConformanceTarget[] {
  return [
    { driver: sgdmaDriver(), devices: () => [sgdma()], exercise: sgdmaExercise },
    { driver: sgdmaDriver({ name: "sgdma-dma32", dmaBits: 32 }), devices: () => [sgdma()], exercise: sgdmaExercise },
  ];
}
