/** `/proc/slabinfo` version 2.1 as mm/slab_common.c prints it under SLUB. */

/** One cache's counters. @public */
export interface SlabCacheState {
  readonly name: string;
  readonly activeObjs: number;
  readonly numObjs: number;
  readonly objSize: number;
  readonly objPerSlab: number;
  readonly pagesPerSlab: number;
  readonly activeSlabs: number;
  readonly numSlabs: number;
}

/** Render `/proc/slabinfo` (version 2.1; SLUB prints zero tunables and shared counts). @public */
export function renderSlabinfo(caches: readonly SlabCacheState[]): string {
  let out = "slabinfo - version: 2.1\n";
  out += "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
  for (const c of caches) {
    out += `${c.name.padEnd(17)} ${pad(c.activeObjs, 6)} ${pad(c.numObjs, 6)} ${pad(c.objSize, 6)} ${pad(c.objPerSlab, 4)} ${pad(c.pagesPerSlab, 4)}`;
    out += ` : tunables ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)}`;
    out += ` : slabdata ${pad(c.activeSlabs, 6)} ${pad(c.numSlabs, 6)} ${pad(0, 6)}\n`;
  }
  return out;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w);
}
