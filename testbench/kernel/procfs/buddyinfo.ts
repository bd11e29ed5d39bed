/** `/proc/buddyinfo` in mm/vmstat.c's format: free blocks per order for each populated zone. */

/** One zone's free-block counts, order 0 first. @public */
export interface BuddyZoneState {
  readonly name: string;
  readonly nrFree: ArrayLike<number>;
}

/**
 * Render `/proc/buddyinfo`: `Node 0, zone %8s ` then `%6lu ` per order, then a newline (each line
 * ends with a space before the newline, as the kernel prints it).
 * @public
 */
export function renderBuddyinfo(zones: readonly BuddyZoneState[], node = 0): string {
  let out = "";
  for (const z of zones) {
    out += `Node ${node}, zone ${z.name.padStart(8)} `;
    for (let o = 0; o < z.nrFree.length; o++) out += `${String(z.nrFree[o]).padStart(6)} `;
    out += "\n";
  }
  return out;
}
