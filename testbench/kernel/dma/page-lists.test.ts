import { describe, expect, it } from "vitest";
import { PageLists } from "./page-lists.js";

describe("PageLists", () => {
  it("gets, sets and deletes like a Map, across leaves, and drops empty leaves", () => {
    const m = new PageLists<string>();
    expect(m.get(5)).toBeUndefined();
    m.set(5, ["a"]);
    m.set(1023, ["b"]);
    m.set(1024, ["c"]);
    m.set(2 ** 36 + 3, ["d"]);
    expect(m.get(5)).toEqual(["a"]);
    expect(m.get(1023)).toEqual(["b"]);
    expect(m.get(1024)).toEqual(["c"]);
    expect(m.get(2 ** 36 + 3)).toEqual(["d"]);
    expect(m.get(6)).toBeUndefined();
    m.set(5, ["a", "e"]);
    expect(m.get(5)).toEqual(["a", "e"]);
    m.delete(1024); // last page of its leaf
    expect(m.get(1024)).toBeUndefined();
    expect(m.get(5)).toEqual(["a", "e"]);
    m.delete(5);
    m.delete(5);
    expect(m.get(1023)).toEqual(["b"]);
    m.delete(1023);
    expect(m.get(1023)).toBeUndefined();
    m.set(7, ["f"]);
    expect(m.get(7)).toEqual(["f"]);
    expect(m.get(2 ** 36 + 3)).toEqual(["d"]);
  });
});
