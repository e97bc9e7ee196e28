import type { StreamSlot } from "../../lambdas/core/model";
import { chooseNode, estimatedCpu, isFull, slotLimit, streamCpuCost } from "../../lambdas/core/placement";
import { makeConfig, makeNode, T0 } from "../support/builders";

const live = (n: number): Record<string, StreamSlot> =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`cam${i}`, { state: "LIVE", since: T0, clientId: String(i) }]),
  );

describe("capacity", () => {
  const config = makeConfig();

  it.each([
    // [cpu sample, streams in the sample, maxStreamsPerNode, expected slot limit]
    [undefined, 0, undefined, 40], // no sample: 80% / 2% default cost
    [{ percent: 10, streams: 0 }, 0, undefined, 35], // idle load 10%, default cost 2% → 70/2
    [{ percent: 40, streams: 20 }, 20, undefined, 40], // 2% a stream → 20 more
    [{ percent: 78, streams: 39 }, 39, undefined, 40], // exactly one more reaches 80%
    [{ percent: 79.9, streams: 39 }, 39, undefined, 40], // still under: one more
    [{ percent: 80, streams: 40 }, 40, undefined, 0], // at the threshold: full
    [{ percent: 95, streams: 10 }, 10, undefined, 0], // over: full
    [{ percent: 30, streams: 10 }, 10, 12, 12], // the hard cap wins
    [{ percent: 1, streams: 10 }, 10, undefined, 800], // cheap streams: CPU alone is the limit
  ])("cpu %j with %i streams, cap %p → limit %i", (sample, streams, cap, expected) => {
    const node = makeNode({
      nodeId: "n1",
      cpu: sample && { percent: sample.percent, streams: sample.streams, at: T0 },
      streams: live(streams),
    });
    expect(slotLimit(node, makeConfig({ maxStreamsPerNode: cap }))).toBe(expected);
  });

  it("estimates a stream's cost from the node's own CPU per stream, or the default", () => {
    expect(streamCpuCost(makeNode({ nodeId: "a" }), config)).toBe(2);
    expect(streamCpuCost(makeNode({ nodeId: "a", cpu: { percent: 30, streams: 10, at: T0 } }), config)).toBe(3);
    expect(streamCpuCost(makeNode({ nodeId: "a", cpu: { percent: 0, streams: 10, at: T0 } }), config)).toBe(2);
  });

  it("counts slots not yet visible in the CPU sample at the estimated cost", () => {
    const node = makeNode({ nodeId: "a", cpu: { percent: 30, streams: 10, at: T0 } });
    expect(estimatedCpu(node, 10, config)).toBe(30);
    expect(estimatedCpu(node, 15, config)).toBe(45);
    expect(estimatedCpu(node, 5, config)).toBe(30); // ended streams are not subtracted: the safe side
  });

  it("ignores expired reservations when deciding whether a node is full", () => {
    const streams: Record<string, StreamSlot> = {
      a: { state: "LIVE", since: T0, clientId: "1" },
      b: { state: "RESERVED", since: T0, expiresAt: T0 + 1000 },
    };
    const node = makeNode({ nodeId: "n", streams });
    const cap2 = makeConfig({ maxStreamsPerNode: 2 });
    expect(isFull(node, T0, cap2)).toBe(true);
    expect(isFull(node, T0 + 1000, cap2)).toBe(false);
  });
});

describe("chooseNode: fill in order", () => {
  const config = makeConfig({ maxStreamsPerNode: 2 });
  const node = (nodeId: string, launchedSecondsAfterT0: number, streams: number, state = "ACTIVE" as const) =>
    makeNode({ nodeId, launchedAt: T0 + launchedSecondsAfterT0 * 1000, streams: live(streams), state });

  it.each([
    ["the oldest node while it has room", [node("b", 10, 0), node("a", 0, 1)], "a"],
    ["the next oldest once the oldest is full", [node("a", 0, 2), node("c", 20, 0), node("b", 10, 1)], "b"],
    ["node id breaks a tie of launch times", [node("y", 0, 0), node("x", 0, 0)], "x"],
    ["never a PENDING node", [makeNode({ nodeId: "p", state: "PENDING", launchedAt: T0 - 1 }), node("a", 0, 0)], "a"],
    ["never a DRAINING node", [makeNode({ nodeId: "d", state: "DRAINING", launchedAt: T0 - 1 }), node("a", 0, 0)], "a"],
    ["never a DEAD node", [makeNode({ nodeId: "x", state: "DEAD", launchedAt: T0 - 1 }), node("a", 0, 0)], "a"],
    ["nothing when every node is full", [node("a", 0, 2), node("b", 10, 2)], undefined],
    ["nothing in an empty fleet", [], undefined],
  ])("chooses %s", (_, nodes, expected) => {
    expect(chooseNode(nodes, T0, config)?.nodeId).toBe(expected);
  });

  it("skips a node whose CPU is at the threshold even with few streams", () => {
    const hot = makeNode({ nodeId: "a", cpu: { percent: 85, streams: 1, at: T0 }, streams: live(1) });
    const cool = makeNode({ nodeId: "b", launchedAt: T0 + 1 });
    expect(chooseNode([hot, cool], T0, makeConfig())?.nodeId).toBe("b");
  });
});
