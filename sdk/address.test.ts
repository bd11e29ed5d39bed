import { describe, expect, expectTypeOf, it } from "vitest";
import { addrAdd, formatAddr, ioMem, kernelVA, pageAlignDown, pageAlignUp, physAddr, type IoMem, type KernelVA, type PhysAddr } from "./address.js";

function takesPhys(_a: PhysAddr): void {}
function takesIoMem(_a: IoMem): void {}

describe("address kinds", () => {
  it("do not mix without an explicit conversion (compile-time)", () => {
    const pa = physAddr(0x1000);
    const va = kernelVA(0xffff8880_0000_1000 - 2 ** 64);
    takesPhys(pa);
    // @ts-expect-error a kernel virtual address is not a physical address
    takesPhys(va);
    // @ts-expect-error a plain number is not an ioremapped address
    takesIoMem(0x1000);
    takesIoMem(ioMem(0x1000));
    expectTypeOf(addrAdd(pa, 8)).toEqualTypeOf<PhysAddr>();
    expectTypeOf(addrAdd(va, 8)).toEqualTypeOf<KernelVA>();
    expectTypeOf<PhysAddr>().not.toEqualTypeOf<KernelVA>();
  });

  it("format like the kernel, including negative canonical x86_64 addresses", () => {
    expect(formatAddr(0xfee00000)).toBe("fee00000");
    expect(formatAddr(0x1_0000_0000)).toBe("0000000100000000");
    expect(formatAddr(-(2 ** 47))).toBe("ffff800000000000");
    expect(formatAddr(0x1000, 16)).toBe("0000000000001000");
  });

  it("align above 2^32 without bit masks", () => {
    expect(pageAlignUp(2 ** 33 + 1)).toBe(2 ** 33 + 4096);
    expect(pageAlignDown(2 ** 33 + 4095)).toBe(2 ** 33);
  });
});
