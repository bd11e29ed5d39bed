import { describe, expect, it } from "vitest";
import { mailbox, mailboxDriver } from "../../../examples/mailbox/index.js";
import { Testbench } from "../../harness/testbench.js";

describe("device references", () => {
  it("binds and unbinds by model object, even one with ctx/model fields, and by name", async () => {
    const m = mailbox();
    const tb = await Testbench.boot({ devices: [m], drivers: [mailboxDriver], bind: false });
    expect("ctx" in m && "model" in m).toBe(true);
    expect(await tb.bind(m)).toBe(0);
    expect(tb.drivers.bindingOf(m)?.driver.name).toBe("mailbox");
    await tb.unbind(m);
    expect(tb.drivers.bindingOf(m)).toBeUndefined();
    const name = tb.drivers.devices().find((d) => d.model === m)!.name;
    expect(await tb.bind(name)).toBe(0);
    await tb.unbindAll();
    expect(tb.reports()).toEqual([]);
    await tb.dispose();
  });
});
