import { describe, expect, it } from "vitest";
import { powerOfTwoSize } from "./size.js";

describe("powerOfTwoSize", () => {
  const bounds = { fallback: 16 << 20, min: 64 << 10, max: 256 << 20 };

  it("rounds up to the next power of two", () => {
    expect(powerOfTwoSize(3 << 20, bounds)).toBe(4 << 20);
    expect(powerOfTwoSize(4 << 20, bounds)).toBe(4 << 20);
    expect(powerOfTwoSize((4 << 20) + 1, bounds)).toBe(8 << 20);
  });

  it("stays inside min and max", () => {
    expect(powerOfTwoSize(1, bounds)).toBe(64 << 10);
    expect(powerOfTwoSize(0, bounds)).toBe(64 << 10);
    expect(powerOfTwoSize(-5, bounds)).toBe(64 << 10);
    expect(powerOfTwoSize(1 << 30, bounds)).toBe(256 << 20);
  });

  it("gives the fallback for a missing or non-finite size", () => {
    for (const v of [undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(powerOfTwoSize(v, bounds)).toBe(16 << 20);
  });
});
