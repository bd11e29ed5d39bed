/**
 * Plugging the board's 8237 pair. The controller is an ordinary device model on the device host
 * (its port ranges go on the bus and, reserved by the platform, into /proc/ioports as `dma1`,
 * `dma page reg` and `dma2`). Two taps on its context:
 * - guest errors also go to the ISA DMA rules (the device-side wrap check);
 * - its memory accesses are made through the DMA port of the ISA device that holds the channel
 *   being served (requester, live-mapping cross-check, coherency), since on the ISA bus the
 *   controller only drives the address lines for that device. A channel no driver holds keeps
 *   the controller's own port.
 */
import type { DeviceContext, DmaAddr, DmaPort, IsaDmaController } from "../../../sdk/index.js";
import { I8237Device } from "../../../devices/i8237/index.js";
import type { DeviceHost } from "../bus/device-host.js";

/** What the plug step needs from the ISA DMA subsystem. @internal */
export interface I8237Taps {
  /** Every guest error the controller logs. */
  guestError(message: string): void;
  /** Name of the device whose driver holds `channel` (undefined when none). */
  deviceOfChannel(channel: number): string | undefined;
}

/** Plug an 8237 pair into `host` with the taps. @internal */
export function plugI8237(host: DeviceHost, taps: I8237Taps): IsaDmaController {
  const dev = new I8237Device();
  let serving = -1;
  const transfer = dev.transfer.bind(dev);
  dev.transfer = (channel: number, toDevice: boolean, buf: Uint8Array) => {
    const prev = serving;
    serving = channel;
    try {
      return transfer(channel, toDevice, buf);
    } finally {
      serving = prev;
    }
  };
  const attach = dev.attach.bind(dev);
  dev.attach = (ctx: DeviceContext) => {
    const portFor = (): DmaPort => {
      const name = serving >= 0 ? taps.deviceOfChannel(serving) : undefined;
      return (name !== undefined ? host.find(name)?.dma : undefined) ?? ctx.dma;
    };
    const log = ctx.log;
    attach({
      ...ctx,
      dma: {
        read: (addr: DmaAddr, dst: Uint8Array) => portFor().read(addr, dst),
        write: (addr: DmaAddr, src: Uint8Array) => portFor().write(addr, src),
      },
      log: {
        guestError: (m: string) => {
          log.guestError(m);
          taps.guestError(m);
        },
        unimplemented: (m: string) => log.unimplemented(m),
        info: (m: string) => log.info(m),
      },
    });
  };
  host.plug(dev);
  return dev;
}
