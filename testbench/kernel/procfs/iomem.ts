/** `/proc/iomem`: the memory resource tree in kernel/resource.c's `r_show` format. */
import type { IoResources } from "../io/resources.js";
import { renderResourceTree } from "../io/resource-tree.js";

/** The text of /proc/iomem. @public */
export function procIomem(resources: IoResources): string {
  return renderResourceTree(resources.iomem);
}
