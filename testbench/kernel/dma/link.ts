/**
 * Wiring of the DMA layer into the device host and the driver core, done once per testbench when
 * DMA_API is first resolved: the device-side check on every device DMA access (addressing limit
 * and live-mapping cross-check), requester ids of plugged devices, and the leak reclaimers for
 * "dma-mapping", "dma-coherent" and "dma-pool".
 */
import { DmaStatus } from "../../../sdk/index.js";
import type { DeviceHost } from "../bus/device-host.js";
import type { LeakReclaimers } from "../driver/reclaim.js";
import type { DmaApi } from "./dma-api.js";

/** Register the DMA check with the device host and learn every device's requester id. @internal */
export function linkDeviceHost(dma: DmaApi, host: DeviceHost): void {
  for (const h of host.devices()) dma.registerDevice(h.name, { requester: h.requester });
  host.onPlug((h) => dma.registerDevice(h.name, { requester: h.requester }));
  const det = dma.detectors;
  host.dmaChecks.add((a) => {
    const s = det.checkAccess(a.device, a.addr, a.len, a.write);
    return s === DmaStatus.OK ? DmaStatus.OK : (s as DmaStatus);
  });
  host.dmaChecks.observe((device, addr, buf, write, status) => det.afterAccess(device, addr, buf, write, status));
}

/** Let the driver core's leak reclaim free DMA resources a driver left behind. @internal */
export function linkReclaimers(dma: DmaApi, reclaimers: LeakReclaimers): void {
  const fn = (e: { id: number }) => dma.reclaim(e.id);
  reclaimers.register("dma-mapping", fn);
  reclaimers.register("dma-coherent", fn);
  reclaimers.register("dma-pool", fn);
  // DMA-API debug reports mappings still pending at unbind, in the kernel's wording.
  reclaimers.onDeviceUnbound((device, driver) => dma.onDeviceUnbound(device, driver));
}
