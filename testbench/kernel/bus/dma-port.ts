/**
 * A device's DMA port: bus-master gate, then the access checks ({@link DeviceDmaPort.checkAccess}),
 * then the IOMMU (domain of the requester id; identity without an IOMMU) and the SoC's device
 * memory port with its coherency rule. It never throws on a bad access: the device gets a status.
 */
import type { Iommu } from "../../soc/iommu.js";
import { DmaStatus as SocDmaStatus } from "../../soc/device-port.js";
import { TraceKind } from "../../soc/trace.js";
import type { TraceRing } from "../../soc/trace.js";
import { DmaStatus } from "../../../sdk/index.js";
import type { DmaAddr, DmaPort } from "../../../sdk/index.js";

/** One device DMA access, as the checks see it. @public */
export interface DmaAccess {
  /** Requester id: PCI `bus << 8 | devfn`, or the platform/ISA id. */
  readonly requester: number;
  /** Device name, e.g. `0000:00:01.0`. */
  readonly device: string;
  readonly addr: number;
  readonly len: number;
  /** True when the device writes memory. */
  readonly write: boolean;
}

/**
 * A check run on every device DMA access before it reaches the IOMMU (the DMA subsystem adds the
 * live-mapping cross-check and the device addressing limit here). Returns `DmaStatus.OK` to let
 * the access through, or the status the device sees.
 * @public
 */
export type DmaAccessCheck = (access: DmaAccess) => DmaStatus;

/**
 * Called after a device DMA access with the bytes moved and the status the device got (the DMA
 * subsystem patches reads for stores still in the weak-ordering store buffer and reports IOMMU
 * faults here).
 * @public
 */
export type DmaAccessObserver = (device: string, addr: number, buf: Uint8Array, write: boolean, status: DmaStatus) => void;

/** The shared list of checks (one per testbench, owned by the device host). @public */
export class DmaChecks {
  private list: DmaAccessCheck[] = [];
  private observers: DmaAccessObserver[] = [];
  /** Add an observer of completed accesses; returns a function removing it. */
  observe(fn: DmaAccessObserver): () => void {
    this.observers = [...this.observers, fn];
    return () => {
      this.observers = this.observers.filter((o) => o !== fn);
    };
  }
  /** Tell every observer about a completed access; returns `status`. */
  after(device: string, addr: number, buf: Uint8Array, write: boolean, status: DmaStatus): DmaStatus {
    const o = this.observers;
    for (let i = 0; i < o.length; i++) o[i]!(device, addr, buf, write, status);
    return status;
  }
  /** True when someone observes completed accesses. */
  get observed(): boolean {
    return this.observers.length !== 0;
  }
  get length(): number {
    return this.list.length;
  }
  /** Add a check; returns a function removing it. */
  add(check: DmaAccessCheck): () => void {
    this.list = [...this.list, check];
    return () => {
      this.list = this.list.filter((c) => c !== check);
    };
  }
  /** Run every check; the first refusal wins. */
  run(access: DmaAccess): DmaStatus {
    const l = this.list;
    for (let i = 0; i < l.length; i++) {
      const s = l[i]!(access);
      if (s !== DmaStatus.OK) return s;
    }
    return DmaStatus.OK;
  }
}

function fromSoc(s: number): DmaStatus {
  return s === SocDmaStatus.Ok ? DmaStatus.OK : s === SocDmaStatus.IommuFault ? DmaStatus.IOMMU_FAULT : DmaStatus.MASTER_ABORT;
}

/**
 * A device-level fault hook on one port (set by the testbench's device fault injection): called
 * first on every access; anything but `DmaStatus.OK` aborts the access with that status, no data
 * moved.
 * @public
 */
export type DmaFaultHook = (addr: number, len: number, write: boolean) => DmaStatus;

/** @public */
export class DeviceDmaPort implements DmaPort {
  /** Device-level fault injection (null unless a device fault is armed for this device). */
  fault: DmaFaultHook | null = null;

  constructor(
    readonly requester: number,
    readonly device: string,
    private readonly iommu: Iommu,
    private readonly trace: TraceRing,
    private readonly checks: DmaChecks,
    /** The PCI command register's bus-master bit; null on buses without one. */
    private readonly busMaster: (() => boolean) | null,
  ) {}

  read(addr: DmaAddr, dst: Uint8Array): DmaStatus {
    if (this.fault !== null) {
      const f = this.fault(addr, dst.length, false);
      if (f !== DmaStatus.OK) return f;
    }
    const s = this.checkAccess(addr, dst.length, false);
    if (s !== DmaStatus.OK) return s;
    const r = fromSoc(this.iommu.dmaRead(this.requester, addr, dst));
    return this.checks.observed ? this.checks.after(this.device, addr, dst, false, r) : r;
  }

  write(addr: DmaAddr, src: Uint8Array): DmaStatus {
    if (this.fault !== null) {
      const f = this.fault(addr, src.length, true);
      if (f !== DmaStatus.OK) return f;
    }
    const s = this.checkAccess(addr, src.length, true);
    if (s !== DmaStatus.OK) return s;
    const r = fromSoc(this.iommu.dmaWrite(this.requester, addr, src));
    return this.checks.observed ? this.checks.after(this.device, addr, src, true, r) : r;
  }

  /**
   * Everything a DMA access must pass before it reaches the IOMMU: bus mastering enabled, then the
   * registered {@link DmaAccessCheck}s (live mappings, addressing limit). A refusal is a guest
   * error in the trace, attributed to the requester.
   */
  checkAccess(addr: number, len: number, write: boolean): DmaStatus {
    if (this.busMaster !== null && !this.busMaster()) {
      this.trace.record(TraceKind.GuestError, addr, len, write ? 1 : 0, this.requester, `${this.device}: DMA ${write ? "write" : "read"} with bus mastering disabled`);
      return DmaStatus.BUS_MASTER_DISABLED;
    }
    if (this.checks.length === 0) return DmaStatus.OK;
    return this.checks.run({ requester: this.requester, device: this.device, addr, len, write });
  }
}
