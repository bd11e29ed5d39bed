import { describe, expect, it } from "vitest";
import type { Kernel } from "../../sdk/index.js";
import { asFastFacade, withMissingGuard } from "./facade.js";

describe("withMissingGuard", () => {
  it("reports a call to a function no subsystem provides, leaving provided ones and plain object behaviour alone", async () => {
    const k = withMissingGuard({ readl: () => 7 } as unknown as Kernel, (name) => {
      throw new Error(`missing ${name}`);
    });
    expect(k.readl(0 as never)).toBe(7);
    expect(Object.prototype.hasOwnProperty.call(k, "readl")).toBe(true);
    expect(() => (k as unknown as { frobnicate(): void }).frobnicate()).toThrow("missing frobnicate");
    expect((k as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(k)).toBe(k);
    expect(JSON.stringify(k)).toBe("{}");
    expect(String(k)).toBe("[object Object]");
  });

  it("guards a fast facade at the end of its chain, keeping its methods on the prototype", () => {
    const methods = { readl: () => 9 } as unknown as Kernel;
    const k = withMissingGuard(asFastFacade(methods), (name) => {
      throw new Error(`missing ${name}`);
    });
    expect(Object.getPrototypeOf(k)).toBe(methods);
    expect(k.readl(0 as never)).toBe(9);
    expect(() => (k as unknown as { nope(): void }).nope()).toThrow("missing nope");
  });
});
