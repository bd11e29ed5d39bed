/** Matching drivers to devices by id table, as the PCI, platform and ISA buses do. */
import { PCI_ANY_ID } from "../../../sdk/index.js";
import type { DeviceDecl, Driver, PciDeviceId } from "../../../sdk/index.js";

function field(want: number | undefined, have: number): boolean {
  return want === undefined || want === PCI_ANY_ID || want === have;
}

/** `pci_match_one_device`. @internal */
export function pciIdMatches(id: PciDeviceId, decl: DeviceDecl & { bus: "pci" }): boolean {
  const i = decl.identity;
  const classMask = id.classMask ?? (id.class !== undefined ? 0xffffff : 0);
  return (
    field(id.vendor, i.vendor) &&
    field(id.device, i.device) &&
    field(id.subvendor, i.subsystemVendor ?? 0) &&
    field(id.subdevice, i.subsystemDevice ?? 0) &&
    (((id.class ?? 0) ^ i.classCode) & classMask) === 0
  );
}

/** True when `driver` can bind a device declared as `decl`. @internal */
export function driverMatches(driver: Driver, decl: DeviceDecl): boolean {
  switch (driver.bus) {
    case "pci":
      return decl.bus === "pci" && driver.idTable.some((id) => pciIdMatches(id, decl));
    case "platform":
      return decl.bus === "platform" && decl.compatible.some((c) => driver.ofMatchTable.includes(c));
    case "isa":
      return decl.bus === "isa" && driver.idTable.includes(decl.isaId);
  }
}
