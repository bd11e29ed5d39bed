/**
 * Per-device DMA state, as `struct device` holds it: the streaming and coherent masks (32-bit by
 * default, as Linux sets for PCI and platform devices), the segment limits used by dma_map_sg,
 * the IOMMU requester id and domain, and an optional wired addressing limit given by the device
 * host (what the hardware can drive, independent of what the driver claims).
 */

/** One device's DMA parameters. @internal */
export class DeviceDmaState {
  dmaMask = 0xffffffff;
  coherentMask = 0xffffffff;
  maxSegSize = 0x10000;
  segBoundary = 0xffffffff;
  /** Addressing limit wired by the host (highest bus address), or undefined: the DMA mask applies. */
  wiredLimit: number | undefined;
  /** IOMMU requester id, when known. */
  requester: number | undefined;
  /** IOMMU domain id once created. */
  domain: number | undefined;
  /** Driver currently bound (for reports from the device side). */
  driver = "";
  /** Bumped at every map/unmap so cached lookups can be revalidated cheaply. */
  generation = 0;

  constructor(readonly name: string) {}

  /** Highest bus address the device can drive. */
  get addressLimit(): number {
    return this.wiredLimit ?? this.dmaMask;
  }
}

/** Registry of device DMA states by device name. @internal */
export class DeviceDmaStates {
  private readonly states = new Map<string, DeviceDmaState>();
  private nextPlatformRequester = 0x10000;

  get(name: string): DeviceDmaState {
    let s = this.states.get(name);
    if (!s) this.states.set(name, (s = new DeviceDmaState(name)));
    return s;
  }

  /** Every device with DMA state. */
  entries(): IterableIterator<[string, DeviceDmaState]> {
    return this.states.entries();
  }

  peek(name: string): DeviceDmaState | undefined {
    return this.states.get(name);
  }

  /** A requester id for a device without one from its bus (platform, ISA). */
  allocRequester(): number {
    return this.nextPlatformRequester++;
  }
}
