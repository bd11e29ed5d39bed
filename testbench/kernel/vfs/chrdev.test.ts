import { describe, expect, it } from "vitest";
import type { FileOperations, Kernel, KernelVA, MiscDevice } from "../../../sdk/index.js";
import { GFP_KERNEL, MISC_DYNAMIC_MINOR, SEEK_CUR, SEEK_END, SEEK_SET } from "../../../sdk/index.js";
import { EBADF, EBUSY, EFAULT, EINVAL, ENOENT, ENOTTY, ESRCH } from "../../../sdk/errno.js";
import { bootProcKit } from "../process/test-kit.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDONLY, O_RDWR, PROT_READ, PROT_WRITE } from "../process/uapi.js";

const SIZE = 256;

/** A scratch-buffer misc driver: read/write/llseek over a kmalloc'd buffer, ioctl 1 = size. */
function scratchDriver(k: Kernel) {
  const buf = k.kzalloc(SIZE, GFP_KERNEL)!;
  const opened: string[] = [];
  const fops: FileOperations = {
    open(_k, inode, file) {
      opened.push(`open ${inode.major}:${inode.minor} ${file.private_data === misc}`);
      return 0;
    },
    release() {
      opened.push("release");
      return 0;
    },
    read(k, _file, ubuf, count, ppos) {
      const n = Math.min(count, SIZE - ppos.value);
      if (n <= 0) return 0;
      if (k.copy_to_user(ubuf, (buf + ppos.value) as KernelVA, n) !== 0) return -EFAULT;
      ppos.value += n;
      return n;
    },
    write(k, _file, ubuf, count, ppos) {
      const n = Math.min(count, SIZE - ppos.value);
      if (n <= 0) return -28;
      const left = k.copy_from_user((buf + ppos.value) as KernelVA, ubuf, n);
      if (left === n) return -EFAULT;
      ppos.value += n - left;
      return n - left;
    },
    llseek(_k, file, off, whence) {
      const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? file.f_pos : whence === SEEK_END ? SIZE : -1;
      if (base < 0 || base + off < 0) return -EINVAL;
      return (file.f_pos = base + off);
    },
    async unlocked_ioctl(k, _file, cmd, arg) {
      if (cmd === 1) return SIZE;
      if (cmd === 2) return k.put_user(0xabcd, arg as never, 4);
      return -ENOTTY;
    },
  };
  const misc: MiscDevice = { minor: MISC_DYNAMIC_MINOR, name: "scratch", fops };
  return { misc, buf, opened };
}

describe("char devices", () => {
  it("assigns misc minors from 63 down and chrdev majors from 254 down, like Linux", () => {
    const kit = bootProcKit();
    const k = kit.facade("numbers");
    const a: MiscDevice = { minor: MISC_DYNAMIC_MINOR, name: "a", fops: {} };
    const b: MiscDevice = { minor: MISC_DYNAMIC_MINOR, name: "b", fops: {} };
    const fixed: MiscDevice = { minor: 63, name: "c", fops: {} };
    expect(k.misc_register(a)).toBe(0);
    expect(k.misc_register(b)).toBe(0);
    expect([a.minor, b.minor]).toEqual([63, 62]);
    expect(k.misc_register(fixed)).toBe(-EBUSY);
    expect(k.register_chrdev(0, "dyn", {})).toBe(254);
    expect(k.register_chrdev(0, "dyn2", {})).toBe(253);
    expect(k.register_chrdev(240, "static", {})).toBe(0);
    expect(k.register_chrdev(240, "static2", {})).toBe(-EBUSY);
    expect(kit.chr.lookup("/dev/a")?.inode).toEqual({ i_rdev: 10 * 1048576 + 63, major: 10, minor: 63 });
    expect(kit.chr.lookup("/dev/dyn")?.major).toBe(254);
    k.misc_deregister(a);
    expect(a.minor).toBe(MISC_DYNAMIC_MINOR);
    expect(kit.chr.lookup("/dev/a")).toBeUndefined();
  });

  it("keeps registrations in the ledger until deregistered", () => {
    const kit = bootProcKit();
    const k = kit.facade("leaky");
    const m: MiscDevice = { minor: MISC_DYNAMIC_MINOR, name: "leak", fops: {} };
    k.misc_register(m);
    k.register_chrdev(0, "leakchr", {});
    expect(kit.core.ledger.outstanding("leaky").map((e) => e.kind)).toEqual(["misc", "chrdev"]);
    k.misc_deregister(m);
    k.unregister_chrdev(254, "leakchr");
    expect(kit.core.ledger.outstanding("leaky")).toEqual([]);
    k.unregister_chrdev(254, "leakchr");
    expect(kit.core.reports("warn")[0]!.title).toMatch(/unregister_chrdev: no char device leakchr/);
  });

  it("round-trips read/write/llseek/ioctl through a process", async () => {
    const kit = bootProcKit();
    const k = kit.facade("scratch");
    const d = scratchDriver(k);
    expect(k.misc_register(d.misc)).toBe(0);
    const p = kit.procs.spawn("rt");
    expect(await p.open("/dev/nothing", O_RDWR)).toBe(-ENOENT);
    const fd = await p.open("/dev/scratch", O_RDWR);
    expect(fd).toBe(3);
    expect(d.opened).toEqual(["open 10:63 true"]);
    const ubuf = await p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(ubuf).toBeGreaterThan(0);
    p.writeBytes(ubuf, new TextEncoder().encode("hello, driver"));
    expect(await p.write(fd, ubuf, 13)).toBe(13);
    expect(await p.lseek(fd, 0, SEEK_CUR)).toBe(13);
    expect(await p.lseek(fd, 7, SEEK_SET)).toBe(7);
    expect(await p.read(fd, ubuf + 100, 6)).toBe(6);
    expect(new TextDecoder().decode(p.readBytes(ubuf + 100, 6))).toBe("driver");
    expect(await p.ioctl(fd, 1, 0)).toBe(SIZE);
    expect(await p.ioctl(fd, 2, ubuf + 200)).toBe(0);
    expect(p.load32(ubuf + 200)).toBe(0xabcd);
    expect(await p.ioctl(fd, 9, 0)).toBe(-ENOTTY);
    // A bad user pointer: the driver's copy fails, no oops.
    expect(await p.read(fd, 0x1000, 4)).toBe(-EFAULT);
    expect(await p.write(fd, 2 ** 60, 4)).toBe(-EFAULT);
    const ro = await p.open("/dev/scratch", O_RDONLY);
    expect(await p.write(ro, ubuf, 1)).toBe(-EBADF);
    expect(await p.close(fd)).toBe(0);
    expect(await p.close(fd)).toBe(-EBADF);
    expect(d.opened).toEqual(["open 10:63 true", "open 10:63 true", "release"]);
    expect(kit.core.reports()).toEqual([]);
  });

  it("reports an oops in a fop, fails the syscall and kills the process", async () => {
    const kit = bootProcKit();
    const k = kit.facade("crashy");
    const misc: MiscDevice = {
      minor: MISC_DYNAMIC_MINOR,
      name: "crashy",
      fops: {
        read(k) {
          k.mem.read32(0 as KernelVA);
          return 0;
        },
      },
    };
    k.misc_register(misc);
    const p = kit.procs.spawn("victim");
    const fd = await p.open("/dev/crashy", O_RDONLY);
    expect(await p.read(fd, 0x10000, 4)).toBe(-EFAULT);
    const oops = kit.core.reports("oops");
    expect(oops).toHaveLength(1);
    expect(oops[0]!.title).toMatch(/NULL pointer dereference|Oops/);
    expect(p.alive).toBe(false);
    expect(await p.read(fd, 0x10000, 4)).toBe(-ESRCH);
  });
});
