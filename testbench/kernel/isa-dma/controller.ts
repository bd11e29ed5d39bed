/**
 * Plugging the board's 8237 pair. The controller is an ordinary device model on the device host
 * (its port ranges go on the bus and, reserved by the platform, into /proc/ioports as `dma1`,
 * `dma page reg` and `dma2`); its guest errors are also tapped so that the device-side wrap check
 * sees the address counter wrapping inside a page.
 */
import type { DeviceContext, IsaDmaController } from "../../../sdk/index.js";
import { I8237Device } from "../../../devices/i8237/index.js";
import type { DeviceHost } from "../bus/device-host.js";

/** Plug an 8237 pair into `host`; `onGuestError` sees every guest error it logs. @internal */
export function plugI8237(host: DeviceHost, onGuestError: (message: string) => void): IsaDmaController {
  const dev = new I8237Device();
  const attach = dev.attach.bind(dev);
  dev.attach = (ctx: DeviceContext) => attach(tapGuestErrors(ctx, onGuestError));
  host.plug(dev);
  return dev;
}

/** The same context with guest errors also passed to `tap`. */
function tapGuestErrors(ctx: DeviceContext, tap: (message: string) => void): DeviceContext {
  const log = ctx.log;
  return {
    ...ctx,
    log: {
      guestError: (m: string) => {
        log.guestError(m);
        tap(m);
      },
      unimplemented: (m: string) => log.unimplemented(m),
      info: (m: string) => log.info(m),
    },
  };
}
