/** Registration of the scheduler pump. */
import type { DependencyContainer } from "../../soc/di.js";
import { registerDefault } from "../register.js";
import { SCHEDULER } from "../tokens.js";
import { Scheduler } from "./scheduler.js";

/** Register the scheduler (a container singleton unless the container has its own). @internal */
export function registerSched(c: DependencyContainer): void {
  registerDefault(c, SCHEDULER, Scheduler);
}
