/**
 * devres: per-device managed resources. Every `devm_*` call adds a release action; on unbind or a
 * failed probe the actions run in reverse order of acquisition, as Linux's devres does.
 */
import { inject, injectable } from "../../soc/di.js";
import type { Device } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import { KERNEL_CORE } from "../tokens.js";
import type { CallSite } from "../stack.js";

/** One managed resource. @public */
export interface DevresEntry {
  readonly id: number;
  /** What it is, e.g. `devm_ioremap febf0000-febfffff`. */
  readonly label: string;
  readonly site: CallSite;
  readonly release: () => void;
}

/** @public */
@injectable()
export class Devres {
  private readonly lists = new Map<Device, DevresEntry[]>();
  private nextId = 1;

  constructor(@inject(KERNEL_CORE) private readonly core: KernelCore) {}

  /** Register a release action for `dev`. */
  add(dev: Device, label: string, release: () => void, site: CallSite): DevresEntry {
    const entry: DevresEntry = { id: this.nextId++, label, site, release };
    let list = this.lists.get(dev);
    if (!list) this.lists.set(dev, (list = []));
    list.push(entry);
    return entry;
  }

  /** Forget an entry without running it (e.g. `devm_kfree` after it freed the memory itself). */
  remove(dev: Device, entry: DevresEntry): boolean {
    const list = this.lists.get(dev);
    const i = list ? list.indexOf(entry) : -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    return true;
  }

  /** Find the newest entry matching `pred` (e.g. the devm_ioremap of an address). */
  find(dev: Device, pred: (e: DevresEntry) => boolean): DevresEntry | undefined {
    const list = this.lists.get(dev) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (pred(list[i]!)) return list[i];
    return undefined;
  }

  /** Run and forget one entry now. */
  release(dev: Device, entry: DevresEntry): void {
    if (this.remove(dev, entry)) entry.release();
  }

  /**
   * Release everything of `dev`, newest first. A release action that throws is reported and the
   * rest still run, so one broken action cannot leak the others.
   */
  releaseAll(dev: Device): number {
    const list = this.lists.get(dev);
    if (!list) return 0;
    this.lists.delete(dev);
    let n = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i]!;
      try {
        e.release();
      } catch (err) {
        this.core.report({
          kind: "warn",
          title: `WARNING: devres release "${e.label}" of ${dev.name} failed: ${(err as Error).message}`,
        }, e.site);
      }
      n++;
    }
    return n;
  }

  /** Entries still held by `dev`, oldest first. */
  entries(dev: Device): readonly DevresEntry[] {
    return this.lists.get(dev) ?? [];
  }
}
