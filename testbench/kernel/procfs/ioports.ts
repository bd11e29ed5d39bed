/** `/proc/ioports`: the port resource tree in kernel/resource.c's `r_show` format (4 hex digits). */
import type { IoResources } from "../io/resources.js";
import { renderResourceTree } from "../io/resource-tree.js";

/** The text of /proc/ioports (empty on boards without a port space). @public */
export function procIoports(resources: IoResources): string {
  return renderResourceTree(resources.ioport);
}
