import type { StreamSlot } from "../../lambdas/core/model";
import { nextCpuSample } from "../../lambdas/core/model";
import { chooseNode, estimatedCpu, isFull, settledCpu, slotLimit, streamCpuCost } from "../../lambdas/core/placement";
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
    expect(estimatedCpu(node, 5, config)).toBe(15); // streams that ended since the sample no longer cost
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

describe("settled CPU: a lower reading counts only once two readings in a row show it", () => {
  const config = makeConfig();
  const withSample = (percent: number, streams: number, previous?: { percent: number; streams: number }) =>
    makeNode({
      nodeId: "n",
      cpu: { percent, at: T0, streams, previous: previous && { ...previous, at: T0 - 15_000 } },
      streams: live(streams),
    });

  it.each<[string, number, number, { percent: number; streams: number } | undefined, number]>([
    ["one reading", 60, 30, undefined, 60],
    ["a reading lower than the one before, same streams: the one before", 56, 30, { percent: 60, streams: 30 }, 60],
    ["a reading higher than the one before: the new one", 64, 30, { percent: 60, streams: 30 }, 64],
    // 40 streams at 64% cost 1.6 each: the reading before, at 30 streams, carried forward 10 streams.
    ["the reading before carried to more streams", 64, 40, { percent: 50, streams: 30 }, 66],
    ["the reading before carried to fewer streams", 40, 25, { percent: 60, streams: 30 }, 52],
  ])("%s", (_, percent, streams, previous, expected) => {
    expect(settledCpu(withSample(percent, streams, previous), config)).toBeCloseTo(expected, 5);
  });

  it("a low reading opens no room that the reading before says is not there", () => {
    const noisy = withSample(74, 45, { percent: 79, streams: 45 });
    expect(slotLimit(noisy, config)).toBe(46);
    expect(slotLimit(withSample(74, 45), config)).toBe(49);
  });

  it("keeps the reading it replaces only while it is recent", () => {
    const first = { percent: 60, at: T0, streams: 30 };
    expect(nextCpuSample(first, { percent: 58, at: T0 + 15_000, streams: 30 }, 30_000).previous).toEqual(first);
    expect(nextCpuSample(first, { percent: 58, at: T0 + 31_000, streams: 30 }, 30_000).previous).toBeUndefined();
    // Only one reading back: the previous one's own previous is dropped.
    const second = nextCpuSample(first, { percent: 58, at: T0 + 15_000, streams: 30 }, 30_000);
    expect(nextCpuSample(second, { percent: 57, at: T0 + 30_000, streams: 30 }, 30_000).previous).toEqual({
      percent: 58,
      at: T0 + 15_000,
      streams: 30,
    });
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
