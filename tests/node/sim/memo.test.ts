import { describe, expect, it } from "vitest";
import { Memo, memoKey } from "../../../sim/memo.ts";

describe("simulator memo", () => {
  it("makes each distinct output once, shares a run in flight, and forgets the least recently used past its budget", async () => {
    let made = 0;
    const evicted: string[] = [];
    const memo = new Memo<string>(
      10,
      (v) => v.length,
      (v) => evicted.push(v),
    );
    const make = (v: string) => async () => {
      made++;
      return v;
    };
    const [a1, a2] = await Promise.all([memo.get("a", make("aaaa")), memo.get("a", make("aaaa"))]);
    expect([a1, a2, made]).toEqual(["aaaa", "aaaa", 1]);
    await memo.get("b", make("bbbb"));
    await memo.get("a", make("aaaa")); // a is now the most recent
    await memo.get("c", make("cccc")); // 12 bytes > 10: b goes
    await Promise.resolve();
    expect(evicted).toEqual(["bbbb"]);
    expect(made).toBe(3);
    await memo.get("b", make("bbbb"));
    expect(made).toBe(4);
  });

  it("does not keep a failed run", async () => {
    const memo = new Memo<string>(100, (v) => v.length);
    await expect(memo.get("x", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await memo.get("x", async () => "ok")).toBe("ok");
  });

  it("keys on every part, in order", () => {
    expect(memoKey("a", 1, new Uint8Array([1]))).toBe(memoKey("a", 1, new Uint8Array([1])));
    expect(memoKey("a", 1)).not.toBe(memoKey("a1"));
    expect(memoKey("a", undefined)).not.toBe(memoKey("a"));
  });
});
