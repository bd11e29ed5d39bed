/** Registration of char devices and /dev. */
import type { DependencyContainer } from "../../soc/di.js";
import { buildFacade, registerApiPart } from "../register.js";
import { CHAR_DEVICES } from "../tokens.js";
import { CharDevices } from "./chrdev.js";

/**
 * Register the char-device registry (a facade slice). Its fops get the registering driver's
 * facade, built from every KERNEL_API_PART of the container.
 * @internal
 */
export function registerVfs(c: DependencyContainer): void {
  registerApiPart(c, CHAR_DEVICES, CharDevices);
  c.afterResolution(CHAR_DEVICES, (_t, chr) => {
    const one = Array.isArray(chr) ? (chr[0] as CharDevices) : chr;
    one.setFacadeFactory((owner) => buildFacade(c, owner));
  }, { frequency: "Once" });
}
