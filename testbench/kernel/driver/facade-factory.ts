/** Builds the kernel facade of one owner from every registered facade slice. */
import type { Kernel } from "../../../sdk/index.js";
import type { Owner } from "../facade.js";

/** @public */
export class FacadeFactory {
  constructor(private readonly build: (owner: Owner) => Kernel) {}

  /** A fresh facade bound to `owner`. */
  facade(owner: Owner): Kernel {
    return this.build(owner);
  }
}
