/**
 * The driver core: registered drivers, plugged devices, binding by id table, `probe` and `remove`
 * run on simulated time through the scheduler, devres unwinding, and the leak check at unbind.
 * Also the driver-core slice of the facade: drvdata, `dev_name`, `devm_k*alloc`, `devm_add_action`.
 */
import { inject, injectable } from "../../soc/di.js";
import { ENODEV, ENOMEM, ENXIO, formatAddr } from "../../../sdk/index.js";
import type { Device, Driver, Gfp, Kernel, KernelVA, PciDev, VirtualDevice } from "../../../sdk/index.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { withMissingGuard } from "../facade.js";
import { isNull, kernelBug, KernelOops, nullDeref } from "../oops.js";
import type { Scheduler } from "../sched/scheduler.js";
import type { CallSite } from "../stack.js";
import { siteFrames } from "../stack.js";
import { DEVICE_HOST, DEVRES, FACADE_FACTORY, KERNEL_CORE, LEAK_RECLAIMERS, SCHEDULER } from "../tokens.js";
import type { DeviceHost, HostedDevice } from "../bus/device-host.js";
import type { Devres } from "./devres.js";
import type { FacadeFactory } from "./facade-factory.js";
import { leakReport } from "./leaks.js";
import { driverMatches } from "./match.js";
import type { LeakReclaimers } from "./reclaim.js";

/** A device bound to a driver. @public */
export interface Binding {
  readonly device: HostedDevice;
  readonly driver: Driver;
  readonly owner: Owner;
  /** The facade the driver was given. */
  readonly k: Kernel;
}

/** What `bind`/`unbind` accept: a hosted device, the model, the driver-facing device or its name. @public */
export type DeviceRef = HostedDevice | VirtualDevice | Device | string;

/** @public */
@injectable()
export class DriverCore implements KernelApiPart {
  private readonly drivers: Driver[] = [];
  private readonly bindings = new Map<HostedDevice, Binding>();
  private readonly drvdata = new WeakMap<Device, unknown>();
  /** Facades by owner key, so devm_* allocations go through the owner's own kmalloc. */
  private readonly facades = new Map<string, Kernel>();
  /** Per driver: ledger ids already reported at the unbind of one of its devices, not yet reclaimed. */
  private readonly reportedLeaks = new Map<string, Set<number>>();

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(DEVRES) private readonly devres: Devres,
    @inject(DEVICE_HOST) private readonly host: DeviceHost,
    @inject(SCHEDULER) private readonly sched: Scheduler,
    @inject(FACADE_FACTORY) private readonly factory: FacadeFactory,
    @inject(LEAK_RECLAIMERS) private readonly reclaimers: LeakReclaimers,
  ) {}

  // ---- registry -------------------------------------------------------------------------

  /** Plug a device model (see {@link DeviceHost.plug}). */
  plugDevice(model: VirtualDevice): HostedDevice {
    return this.host.plug(model);
  }

  /** Register a driver; binding happens on {@link DriverCore.bind}. */
  registerDriver(driver: Driver): void {
    if (this.drivers.some((d) => d.name === driver.name)) throw new RangeError(`driver "${driver.name}" is already registered`);
    this.drivers.push(driver);
  }

  registeredDrivers(): readonly Driver[] {
    return this.drivers;
  }

  devices(): readonly HostedDevice[] {
    return this.host.devices();
  }

  /** The binding of a device, if bound. */
  bindingOf(ref: DeviceRef): Binding | undefined {
    const h = this.resolve(ref);
    return h ? this.bindings.get(h) : undefined;
  }

  /** Every binding, in bind order. */
  boundDevices(): readonly Binding[] {
    return [...this.bindings.values()];
  }

  /** The hosted device for a reference. */
  resolve(ref: DeviceRef): HostedDevice | undefined {
    if (typeof ref === "string") return this.host.find(ref);
    // A device model declares itself; check that first: models may well have `ctx`/`model` fields.
    if (typeof (ref as VirtualDevice).describe === "function") return this.host.find(ref as VirtualDevice);
    if ("requester" in ref && "decl" in ref) return ref;
    return this.host.of(ref as Device);
  }

  // ---- bind / unbind --------------------------------------------------------------------

  /**
   * Bind one device (returns its probe result, or -ENODEV when no driver matches or the device was
   * surprise-removed), or, without an argument, every unbound device still present that has a
   * matching driver (returns 0, or the first failure).
   */
  async bind(ref?: DeviceRef): Promise<number> {
    if (ref !== undefined) {
      const h = this.resolve(ref);
      if (!h) throw new RangeError(`no such device: ${String(typeof ref === "string" ? ref : (ref as { name?: string }).name)}`);
      if (this.bindings.has(h)) return 0;
      // Gone from the bus: as a write to a driver's sysfs bind file for an absent device.
      if (this.host.isRemoved(h)) return -ENODEV;
      const driver = this.drivers.find((d) => driverMatches(d, h.decl));
      return driver ? this.probe(h, driver) : -ENODEV;
    }
    let first = 0;
    for (const h of this.host.devices()) {
      if (this.bindings.has(h) || this.host.isRemoved(h)) continue;
      const driver = this.drivers.find((d) => driverMatches(d, h.decl));
      if (!driver) continue;
      const r = await this.probe(h, driver);
      if (r !== 0 && first === 0) first = r;
    }
    return first;
  }

  /** Unbind one device, or every bound device (newest first) without an argument. */
  async unbind(ref?: DeviceRef): Promise<void> {
    if (ref === undefined) return this.unbindAll();
    const h = this.resolve(ref);
    const b = h ? this.bindings.get(h) : undefined;
    if (b) await this.remove(b);
  }

  async unbindAll(): Promise<void> {
    const all = [...this.bindings.values()].reverse();
    for (const b of all) await this.remove(b);
  }

  private ownerKey(o: Owner): string {
    return `${o.driver}\u0000${o.device ?? ""}`;
  }

  /** The facade of an owner (created on first use). */
  facadeFor(owner: Owner): Kernel {
    const key = this.ownerKey(owner);
    let k = this.facades.get(key);
    if (!k) {
      k = withMissingGuard(this.factory.facade(owner), (name) => {
        throw kernelBug(this.core, `vdtb: ${owner.driver} called ${name}(), which this testbench does not provide`, [], this.core.site(), owner.driver);
      });
      this.facades.set(key, k);
    }
    return k;
  }

  private async probe(h: HostedDevice, driver: Driver): Promise<number> {
    const owner: Owner = Object.freeze({ driver: driver.name, device: h.name });
    const k = this.facadeFor(owner);
    const binding: Binding = { device: h, driver, owner, k };
    this.bindings.set(h, binding);
    let ret = await this.callDriver(driver, h.name, "probe", () => (driver.probe as (k: Kernel, d: Device) => number | Promise<number>)(k, h.dev));
    if (ret === undefined) ret = Number.NaN;
    if (typeof ret !== "number" || !Number.isInteger(ret) || ret > 0) {
      this.core.report({
        kind: "warn",
        title: `vdtb: ${driver.name}: probe of ${h.name} returned ${String(ret)}; probe must return 0 or a negative errno`,
        driver: driver.name,
        device: h.name,
      });
      ret = Number.NaN;
    }
    if (ret === 0) return 0;
    const err = Number.isNaN(ret) ? -ENXIO : (ret as number);
    if (err === -ENODEV || err === -ENXIO) this.core.dmesg.log("debug", `${driver.name} ${h.name}: probe with driver ${driver.name} rejects match ${err}`);
    else this.core.dmesg.log("warn", `${driver.name} ${h.name}: probe with driver ${driver.name} failed with error ${err}`);
    this.devres.releaseAll(h.dev);
    this.finish(binding);
    return err;
  }

  private async remove(b: Binding): Promise<void> {
    await this.callDriver(b.driver, b.device.name, "remove", () => (b.driver.remove as (k: Kernel, d: Device) => void | Promise<void>)(b.k, b.device.dev));
    this.devres.releaseAll(b.device.dev);
    this.finish(b);
  }

  /** Run a driver callback to completion; any exception becomes an oops report and `undefined`. */
  private async callDriver<T>(driver: Driver, device: string, what: "probe" | "remove", fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await this.sched.run(fn, { comm: what === "probe" ? "modprobe" : "rmmod" });
    } catch (e) {
      if (!(e instanceof KernelOops)) {
        const err = e instanceof Error ? e : new Error(String(e));
        const frames = siteFrames({ stack: err.stack ?? "" } as CallSite);
        this.core.report({
          kind: "oops",
          title: `vdtb: ${driver.name}.${what} threw ${err.name}: ${err.message}`,
          driver: driver.name,
          device,
          stack: frames,
        });
      }
      return undefined;
    }
  }

  /**
   * After remove or a failed probe: leak check, reclaim, forget drvdata and the binding. While the
   * driver still has other devices bound, only what this device's own kernel calls acquired is
   * reported, and nothing is reclaimed yet (it may be state the driver shares between its
   * devices); the driver's last unbind reports the rest and reclaims everything.
   */
  private finish(b: Binding): void {
    this.bindings.delete(b.device);
    this.drvdata.delete(b.device.dev);
    this.facades.delete(this.ownerKey(b.owner));
    this.reclaimers.deviceUnbound(b.device.name, b.driver.name);
    const driver = b.driver.name;
    const left = this.core.ledger.outstanding(driver);
    let reported = this.reportedLeaks.get(driver);
    const stillBound = [...this.bindings.values()].some((o) => o.driver.name === driver);
    if (stillBound) {
      const mine = left.filter((e) => e.device === b.device.name && !reported?.has(e.id));
      if (mine.length === 0) return;
      if (!reported) this.reportedLeaks.set(driver, (reported = new Set()));
      for (const e of mine) reported.add(e.id);
      if (this.core.detectors.leakLedger) this.core.report(leakReport(driver, b.device.name, mine));
      return;
    }
    this.reportedLeaks.delete(driver);
    if (left.length === 0) return;
    const fresh = reported ? left.filter((e) => !reported.has(e.id)) : left;
    if (fresh.length > 0 && this.core.detectors.leakLedger) this.core.report(leakReport(driver, b.device.name, fresh));
    for (const e of left) {
      this.reclaimers.reclaim(e);
      this.core.ledger.remove(e.id);
    }
  }

  // ---- facade slice -----------------------------------------------------------------------

  private devmAlloc(owner: Owner, dev: Device, what: string, size: number, alloc: (k: Kernel) => KernelVA | null, site: CallSite): KernelVA | null {
    const k = this.facadeFor(owner);
    const p = alloc(k);
    if (p === null) return null;
    this.devres.add(dev, `${what} ${formatAddr(p)} (${size} bytes)`, () => k.kfree(p), site);
    return p;
  }

  private devmFree(owner: Owner, dev: Device, p: KernelVA, site: CallSite): void {
    if (isNull(dev)) throw nullDeref(this.core, "devm_kfree", "struct device", dev, site, owner.driver);
    const tag = ` ${formatAddr(p)} (`;
    const e = this.devres.find(dev, (x) => x.label.startsWith("devm_k") && x.label.includes(tag));
    if (!e) {
      this.core.report({ kind: "warn", title: `WARNING: devm_kfree of ${formatAddr(p)}: not a managed allocation of ${dev.name}`, driver: owner.driver, device: dev.name, address: p }, site);
      return;
    }
    this.devres.release(dev, e);
  }

  private addAction(owner: Owner, dev: Device, action: (data: unknown) => void, data: unknown, reset: boolean, site: CallSite): number {
    if (this.core.faults.shouldFail("devres", owner.driver, site)) {
      if (reset) action(data);
      return -ENOMEM;
    }
    this.devres.add(dev, `devm_add_action ${action.name || "(anonymous)"}`, () => action(data), site);
    return 0;
  }

  api(owner: Owner): Partial<Kernel> {
    const core = this.core;
    return {
      dev_set_drvdata: (dev: Device, data: unknown) => void this.drvdata.set(dev, data),
      dev_get_drvdata: <T>(dev: Device) => this.drvdata.get(dev) as T,
      pci_set_drvdata: (pdev: PciDev, data: unknown) => void this.drvdata.set(pdev, data),
      pci_get_drvdata: <T>(pdev: PciDev) => this.drvdata.get(pdev) as T,
      dev_name: (dev: Device) => {
        if (isNull(dev)) throw nullDeref(core, "dev_name", "struct device", dev, core.site(), owner.driver);
        return dev.name;
      },
      devm_kmalloc: (dev: Device, size: number, flags: Gfp) => this.devmAlloc(owner, dev, "devm_kmalloc", size, (k) => k.kmalloc(size, flags), core.site()),
      devm_kzalloc: (dev: Device, size: number, flags: Gfp) => this.devmAlloc(owner, dev, "devm_kzalloc", size, (k) => k.kzalloc(size, flags), core.site()),
      devm_kcalloc: (dev: Device, n: number, size: number, flags: Gfp) => this.devmAlloc(owner, dev, "devm_kcalloc", n * size, (k) => k.kcalloc(n, size, flags), core.site()),
      devm_kfree: (dev: Device, p: KernelVA) => this.devmFree(owner, dev, p, core.site()),
      devm_add_action: (dev: Device, action: (data: unknown) => void, data: unknown) => this.addAction(owner, dev, action, data, false, core.site()),
      devm_add_action_or_reset: (dev: Device, action: (data: unknown) => void, data: unknown) => this.addAction(owner, dev, action, data, true, core.site()),
    };
  }
}
