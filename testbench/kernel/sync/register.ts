/** Registration of the sync subsystem (the KernelSync facade slice). */
import type { DependencyContainer } from "../../soc/di.js";
import { registerApiPart } from "../register.js";
import { registerSched } from "../sched/register.js";
import { SYNC } from "../tokens.js";
import { SyncSubsystem } from "./sync.js";

const done = new WeakSet<DependencyContainer>();

/** Register the sync subsystem (and the scheduler it needs). @internal */
export function registerSync(c: DependencyContainer): void {
  registerSched(c);
  if (done.has(c)) return;
  done.add(c);
  registerApiPart(c, SYNC, SyncSubsystem);
}
