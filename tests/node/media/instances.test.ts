/** The media pool's choice of instance (src/media/instances.ts): spread, stability and failover order. */
import { describe, expect, it } from "vitest";
import { containerName, hash32, instanceOrder, mediaTargets } from "../../../src/media/instances.ts";

// Ids shaped like the workflow's media job ids (`<shootId>-<kind>-<scope>-<attempt>`), fixed so the test is not random.
const ids = Array.from(
  { length: 10_000 },
  (_, i) => `sh_${hash32(`shoot-${i >> 3}`).toString(36)}-${["crop", "reframe", "stitch", "check"][i % 4]}-${i % 8}-1`,
);

describe("media instances", () => {
  it("spreads jobs evenly over the pool", () => {
    for (const n of [2, 3, 4]) {
      const counts = new Array<number>(n).fill(0);
      for (const id of ids) counts[instanceOrder(id, n)[0]!]!++;
      const expected = ids.length / n;
      for (const c of counts) expect(Math.abs(c - expected) / expected, `n=${n}: ${counts.join("/")}`).toBeLessThan(0.05);
    }
  });

  it("gives one job the same order every time, each instance once", () => {
    for (const id of ids.slice(0, 200)) {
      const order = instanceOrder(id, 4);
      expect(instanceOrder(id, 4)).toEqual(order);
      expect([...order].sort()).toEqual([0, 1, 2, 3]);
    }
  });

  it("fails over evenly: a dead instance's jobs spread over the others", () => {
    const next = new Array<number>(4).fill(0);
    for (const id of ids) {
      const order = instanceOrder(id, 4);
      if (order[0] === 2) next[order[1]!]!++;
    }
    expect(next[2]).toBe(0);
    const moved = next[0]! + next[1]! + next[3]!;
    for (const i of [0, 1, 3]) expect(next[i]! / moved).toBeGreaterThan(0.28);
  });

  it("moves only the jobs whose first choice changes when the pool grows", () => {
    let moved = 0;
    for (const id of ids) {
      const before = instanceOrder(id, 3)[0]!;
      const after = instanceOrder(id, 4)[0]!;
      if (before !== after) {
        moved++;
        expect(after).toBe(3); // a job only ever moves to the new instance
      }
    }
    expect(moved / ids.length).toBeGreaterThan(0.2);
    expect(moved / ids.length).toBeLessThan(0.3);
  });

  it("reads the targets: local URLs, else the container pool", () => {
    expect(mediaTargets("http://a:1/, http://b:2", "4")).toEqual({ kind: "urls", urls: ["http://a:1", "http://b:2"] });
    expect(mediaTargets("", "4")).toEqual({ kind: "containers", count: 4 });
    expect(mediaTargets(undefined, "zero")).toEqual({ kind: "containers", count: 1 });
    expect(instanceOrder("any", 1)).toEqual([0]);
    expect(containerName(3)).toBe("media-3");
  });
});
