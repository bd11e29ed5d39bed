import { describe, expect, it } from "vitest";
import { LeakLedger } from "./ledger.js";

describe("LeakLedger storage", () => {
  it("matches a Map model under random churn: get, size and outstanding order", () => {
    const l = new LeakLedger();
    const model = new Map<number, string>();
    let x = 12345;
    const rnd = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const live: number[] = [];
    const keep = l.add("kmalloc", "probe", "long-lived", {}, 0, 0x1000, 64);
    model.set(keep, "probe");
    for (let step = 0; step < 60000; step++) {
      const r = rnd(100);
      if (r < 45 || live.length === 0) {
        const owner = r < 5 ? "b" : "a";
        const id = r < 10 ? l.add("irq", owner, "x", {}, step) : l.add("pinned-pages", owner, "p", {}, step, step * 4096, 4096);
        model.set(id, owner);
        live.push(id);
      } else {
        // Mostly FIFO (unpin order), sometimes LIFO or random.
        const k = r < 80 ? 0 : r < 90 ? live.length - 1 : rnd(live.length);
        const id = live.splice(k, 1)[0]!;
        l.remove(id);
        l.remove(id);
        model.delete(id);
      }
      if (step % 997 === 0) {
        expect(l.size).toBe(model.size);
        expect(l.outstanding().map((e) => e.id)).toEqual([...model.keys()]);
        expect(l.outstanding("b").map((e) => e.id)).toEqual([...model].filter(([, o]) => o === "b").map(([id]) => id));
      }
      if (step % 499 === 0 && live.length) {
        const id = live[rnd(live.length)]!;
        expect(l.get(id)?.id).toBe(id);
      }
    }
    expect(l.get(keep)?.label).toBe("long-lived");
    expect(l.get(0)).toBeUndefined();
    l.remove(0);
    for (const id of live) l.remove(id);
    expect(l.outstanding().map((e) => e.id)).toEqual([keep]);
    expect(l.size).toBe(1);
  });

  it("keeps entries without address or size without those properties", () => {
    const l = new LeakLedger();
    const id = l.add("irq", "drv", "irq 11", {}, 5);
    expect(Object.keys(l.get(id)!)).toEqual(["id", "kind", "owner", "device", "label", "site", "time"]);
    const id2 = l.add("pages", { driver: "drv", device: "0000:00:01.0" }, "p", {}, 6, 0x2000, 4096);
    expect(Object.keys(l.get(id2)!)).toEqual(["id", "kind", "owner", "device", "label", "site", "time", "address", "size"]);
    // The device the acquirer names, when it names one.
    expect([l.get(id)!.device, l.get(id2)!.device]).toEqual([undefined, "0000:00:01.0"]);
  });
});
