/**
 * The per-driver kernel facade. Each kernel subsystem contributes a slice of the `Kernel`
 * interface bound to an {@link Owner}; a driver's facade is all slices merged, so every call knows
 * which driver made it (for leak attribution, fault-injection filters and reports).
 *
 * Subsystems register under {@link KERNEL_API_PART} (tsyringe multi-registration); the facade
 * factory resolves them all.
 */
import type { InjectionToken } from "../soc/di.js";
import type { Kernel } from "../../sdk/index.js";

/** Who is calling the kernel: a driver (and the device it is bound to), or the kernel itself. @public */
export interface Owner {
  /** Driver name, or "kernel" for the testbench's own calls. */
  readonly driver: string;
  /** Device name when the call is made on behalf of a bound device. */
  readonly device?: string;
}

/** The owner of the testbench's own calls. @public */
export const KERNEL_OWNER: Owner = Object.freeze({ driver: "kernel" });

/** A subsystem's contribution to the facade. @public */
export interface KernelApiPart {
  /** The slice of the facade this subsystem implements, bound to `owner`. */
  api(owner: Owner): Partial<Kernel>;
}

/** Multi-registration token: every facade slice. @public */
export const KERNEL_API_PART: InjectionToken<KernelApiPart> = Symbol("vdtb.kernel.apiPart");

/**
 * Merge slices into one facade object, keeping getters live (e.g. `jiffies`). Later slices do not
 * override earlier ones silently: a duplicate name is a wiring error.
 * @internal
 */
export function mergeFacade(parts: readonly Partial<Kernel>[]): Kernel {
  const out = {};
  for (const part of parts) {
    for (const key of Object.getOwnPropertyNames(part)) {
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new Error(`kernel facade: "${key}" is provided twice`);
      Object.defineProperty(out, key, Object.getOwnPropertyDescriptor(part, key)!);
    }
  }
  return out as Kernel;
}

// Names that JSON, promises and test frameworks probe on any object: they read as undefined.
const PROBED = new Set(["then", "toJSON", "asymmetricMatch", "$$typeof", "nodeType"]);

/**
 * A facade that reports every call to a function no subsystem provides yet, instead of failing
 * with "k.foo is not a function". The guard is the facade's prototype, not a Proxy around it, so
 * the facade's own methods (every `k.readl`) resolve directly and only unknown names reach it.
 * @internal
 */
export function withMissingGuard(k: Kernel, onMissing: (name: string) => never): Kernel {
  // Attach the guard at the end of k's own chain (after the methods object of a fast facade).
  let holder: object = k;
  for (let p = Object.getPrototypeOf(holder) as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(holder) as object | null) holder = p;
  const fallback = new Proxy(Object.prototype, {
    get(target, prop, receiver) {
      // Object.prototype members and symbols behave as usual; probed names stay undefined (so a
      // facade is never mistaken for a promise).
      if (typeof prop !== "string" || prop in target || PROBED.has(prop)) return Reflect.get(target, prop, receiver);
      return () => onMissing(prop);
    },
  });
  Object.setPrototypeOf(holder, fallback);
  return k;
}

/**
 * A facade whose methods live on its prototype. A merged facade has hundreds of properties, which
 * V8 keeps in slow dictionary mode on an ordinary object but in fast mode on a prototype, so every
 * `k.readl(...)` a driver writes is an inline-cached lookup.
 * @internal
 */
export function asFastFacade(methods: Kernel): Kernel {
  return Object.create(methods) as Kernel;
}

/**
 * The last line of defence at the facade boundary: wrap every function of `k` so that an error
 * escaping it goes through `convert` (which turns a kernel-mode PageFault into a filed KernelOops
 * and returns anything else unchanged); a returned promise is converted the same way. Subsystems
 * convert their own faults first; this only catches a path that missed it.
 * @internal
 */
export function withFaultGuard(k: Kernel, convert: (e: unknown) => unknown): Kernel {
  const out = k as unknown as Record<string, unknown>;
  const rethrow = (e: unknown): never => {
    throw convert(e);
  };
  for (const key of Object.getOwnPropertyNames(out)) {
    const d = Object.getOwnPropertyDescriptor(out, key)!;
    if (typeof d.value !== "function") continue;
    const fn = d.value as (...a: unknown[]) => unknown;
    d.value = function guarded(this: unknown, ...args: unknown[]): unknown {
      let r: unknown;
      try {
        r = fn.apply(this, args);
      } catch (e) {
        return rethrow(e);
      }
      return r instanceof Promise ? r.catch(rethrow) : r;
    };
    Object.defineProperty(out, key, d);
  }
  return k;
}
