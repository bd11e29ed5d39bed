/**
 * The one place that imports tsyringe: it loads the Reflect polyfill first, which tsyringe needs
 * at import time. (No decorator metadata is emitted; every parameter uses an explicit `@inject`.)
 * @internal
 */
import "reflect-metadata";

export { container, inject, injectable, Lifecycle } from "tsyringe";
export type { DependencyContainer, InjectionToken } from "tsyringe";
