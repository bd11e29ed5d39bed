/**
 * Character devices and `/dev`: `misc_register`/`misc_deregister` (major 10) and
 * `register_chrdev`/`unregister_chrdev`, with the numbering rules of Linux:
 *
 * - misc dynamic minors count down from 63 (`DYNAMIC_MINORS` = 64, as drivers/char/misc.c);
 *   once those are used, minors 256 and up are handed out counting up. A static minor that is
 *   taken fails with -EBUSY, a `/dev` name that is taken with -EEXIST.
 * - `register_chrdev(0, ...)` picks a dynamic major from 254 down to 234, then 511 down to 384
 *   (fs/char_dev.c `find_dynamic_major`) and returns it; a static major returns 0 on success and
 *   -EBUSY when taken. Each registration owns minors 0..255.
 * - `register_chrdev` also creates `/dev/NAME` (minor 0), standing in for the `mknod`/udev step
 *   a real system performs, so that test processes can open it.
 *
 * Every registration is a ledger entry ("misc" / "chrdev") of the registering driver, so a driver
 * that forgets to deregister shows it in its leak report.
 */
import { inject, injectable } from "tsyringe";
import type { FileOperations, Inode, Kernel, MiscDevice } from "../../../sdk/index.js";
import { EBUSY, EEXIST, EINVAL, ENOMEM } from "../../../sdk/errno.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { isNull, nullDeref } from "../oops.js";
import type { CallSite } from "../stack.js";
import { KERNEL_CORE } from "../tokens.js";

/** The misc major. @public */
export const MISC_MAJOR = 10;
const MISC_DYNAMIC_MINOR = 255;
const DYNAMIC_MINORS = 64;
const MINORMASK = (1 << 20) - 1;

/** `MKDEV(major, minor)` as the kernel's 32-bit dev_t (12-bit major, 20-bit minor). @public */
export function mkdev(major: number, minor: number): number {
  return major * 1048576 + minor;
}

/** A node under /dev and what opening it reaches. @public */
export interface CharNode {
  /** Path, e.g. `/dev/testmisc`. */
  readonly path: string;
  readonly major: number;
  readonly minor: number;
  readonly fops: FileOperations;
  /** The driver that registered it (its facade is passed to the fops). */
  readonly owner: Owner;
  /** For misc devices, the `struct miscdevice` (misc_open puts it in `file->private_data`). */
  readonly misc?: MiscDevice;
  /** Inode number shown in /proc/<pid>/maps. */
  readonly ino: number;
  readonly inode: Inode;
}

interface Registration {
  readonly node: CharNode;
  readonly ledgerId: number;
  readonly site: CallSite;
}

/** Builds the kernel facade of an owner (for calling fops with the driver's own `k`). @public */
export type FacadeFactory = (owner: Owner) => Kernel;

/**
 * The char-device registry and /dev.
 * @public
 */
@injectable()
export class CharDevices implements KernelApiPart {
  private readonly nodes = new Map<string, Registration>();
  private readonly miscByObject = new Map<MiscDevice, Registration>();
  private readonly chrdevMajors = new Map<number, Registration>();
  private readonly miscMinors = new Set<number>();
  private nextIno = 300;
  private facadeFactory: FacadeFactory | null = null;
  private readonly facades = new Map<string, Kernel>();

  constructor(@inject(KERNEL_CORE) private readonly core: KernelCore) {}

  /** Set how an owner's facade is built (the register step wires the container's parts). */
  setFacadeFactory(f: FacadeFactory): void {
    this.facadeFactory = f;
    this.facades.clear();
  }

  /** The facade handed to the fops of `owner`'s devices (cached per owner). */
  facadeOf(owner: Owner): Kernel {
    const key = `${owner.driver}\u0000${owner.device ?? ""}`;
    let k = this.facades.get(key);
    if (!k) {
      if (!this.facadeFactory) throw new Error("CharDevices: no facade factory (registerVfs wires one)");
      k = this.facadeFactory(owner);
      this.facades.set(key, k);
    }
    return k;
  }

  api(owner: Owner): Partial<Kernel> {
    return {
      misc_register: (misc: MiscDevice) => this.miscRegister(owner, misc, this.core.site()),
      misc_deregister: (misc: MiscDevice) => this.miscDeregister(owner, misc, this.core.site()),
      register_chrdev: (major: number, name: string, fops: FileOperations) => this.registerChrdev(owner, major, name, fops, this.core.site()),
      unregister_chrdev: (major: number, name: string) => this.unregisterChrdev(owner, major, name, this.core.site()),
    };
  }

  /** Look up a /dev path. */
  lookup(path: string): CharNode | undefined {
    return this.nodes.get(path)?.node;
  }

  /** Every /dev node, sorted by path. */
  list(): CharNode[] {
    return [...this.nodes.values()].map((r) => r.node).sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** `misc_register`: 0 or a negative errno; a dynamic minor is written back to `misc.minor`. */
  miscRegister(owner: Owner, misc: MiscDevice, site: CallSite): number {
    if (isNull(misc)) throw nullDeref(this.core, "misc_register", "struct miscdevice", misc, site, owner.driver);
    if (this.core.faults.shouldFail("chrdev", owner.driver, site)) return -ENOMEM;
    if (this.miscByObject.has(misc)) {
      this.warn(owner, `misc_register: "${misc.name}" is already registered`, site);
      return -EBUSY;
    }
    if (!misc.name) return -EINVAL;
    const path = `/dev/${misc.name}`;
    let minor = misc.minor;
    if (minor === MISC_DYNAMIC_MINOR) {
      minor = this.dynamicMiscMinor();
      if (minor < 0) return -EBUSY;
    } else if (!(minor >= 0 && minor <= MINORMASK) || this.miscMinors.has(minor)) {
      return -EBUSY;
    }
    if (this.nodes.has(path)) return -EEXIST;
    const node = this.makeNode(path, MISC_MAJOR, minor, misc.fops, owner, misc);
    const ledgerId = this.core.ledger.add("misc", owner, `misc device ${misc.name} (${MISC_MAJOR}:${minor})`, site, this.core.now());
    const reg: Registration = { node, ledgerId, site };
    this.miscMinors.add(minor);
    this.miscByObject.set(misc, reg);
    this.nodes.set(path, reg);
    misc.minor = minor;
    return 0;
  }

  /** `misc_deregister`. A device that is not registered gets a warning. */
  miscDeregister(owner: Owner, misc: MiscDevice, site: CallSite): void {
    if (isNull(misc)) throw nullDeref(this.core, "misc_deregister", "struct miscdevice", misc, site, owner.driver);
    const reg = this.miscByObject.get(misc);
    if (!reg) {
      this.warn(owner, `misc_deregister: "${misc.name}" is not registered`, site);
      return;
    }
    this.miscByObject.delete(misc);
    this.miscMinors.delete(reg.node.minor);
    this.nodes.delete(reg.node.path);
    this.core.ledger.remove(reg.ledgerId);
    // A dynamic minor goes back to MISC_DYNAMIC_MINOR, as misc_deregister does.
    if (reg.node.minor < DYNAMIC_MINORS || reg.node.minor > MISC_DYNAMIC_MINOR) misc.minor = MISC_DYNAMIC_MINOR;
  }

  /** `register_chrdev`: the dynamic major, 0 for a static one, or a negative errno. */
  registerChrdev(owner: Owner, major: number, name: string, fops: FileOperations, site: CallSite): number {
    if (this.core.faults.shouldFail("chrdev", owner.driver, site)) return -ENOMEM;
    if (!(major >= 0 && major <= 511) || !name) return -EINVAL;
    let m = major;
    if (m === 0) {
      m = this.dynamicMajor();
      if (m < 0) return -EBUSY;
    } else if (this.chrdevMajors.has(m) || m === MISC_MAJOR) {
      return -EBUSY;
    }
    const path = `/dev/${name}`;
    if (this.nodes.has(path)) return -EBUSY;
    const node = this.makeNode(path, m, 0, fops, owner);
    const ledgerId = this.core.ledger.add("chrdev", owner, `char device ${name} (major ${m})`, site, this.core.now());
    const reg: Registration = { node, ledgerId, site };
    this.chrdevMajors.set(m, reg);
    this.nodes.set(path, reg);
    return major === 0 ? m : 0;
  }

  /** `unregister_chrdev`. */
  unregisterChrdev(owner: Owner, major: number, name: string, site: CallSite): void {
    const reg = this.chrdevMajors.get(major);
    if (!reg || reg.node.path !== `/dev/${name}`) {
      this.warn(owner, `unregister_chrdev: no char device ${name} with major ${major}`, site);
      return;
    }
    this.chrdevMajors.delete(major);
    this.nodes.delete(reg.node.path);
    this.core.ledger.remove(reg.ledgerId);
  }

  private makeNode(path: string, major: number, minor: number, fops: FileOperations, owner: Owner, misc?: MiscDevice): CharNode {
    const inode: Inode = { i_rdev: mkdev(major, minor), major, minor };
    return { path, major, minor, fops, owner, ino: this.nextIno++, inode, ...(misc ? { misc } : {}) };
  }

  private dynamicMiscMinor(): number {
    for (let i = 0; i < DYNAMIC_MINORS; i++) {
      const minor = DYNAMIC_MINORS - i - 1;
      if (!this.miscMinors.has(minor)) return minor;
    }
    for (let minor = MISC_DYNAMIC_MINOR + 1; minor <= MINORMASK; minor++) if (!this.miscMinors.has(minor)) return minor;
    return -1;
  }

  private dynamicMajor(): number {
    for (let m = 254; m >= 234; m--) if (!this.chrdevMajors.has(m)) return m;
    for (let m = 511; m >= 384; m--) if (!this.chrdevMajors.has(m)) return m;
    return -1;
  }

  private warn(owner: Owner, title: string, site: CallSite): void {
    this.core.report({ kind: "warn", title: `WARNING: ${title}`, driver: owner.driver, ...(owner.device ? { device: owner.device } : {}) }, site);
  }
}
