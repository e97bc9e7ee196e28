import {
  fleetProfile,
  idleCpu,
  learnCpuProfile,
  SETTLED_READINGS,
  streamCpuCost,
  withFleetStart,
} from "../../lambdas/core/cpu-profile";
import type { CpuProfile, MediaNode, StreamSlot } from "../../lambdas/core/model";
import { nextCpuSample } from "../../lambdas/core/model";
import {
  chooseNode,
  estimatedCpu,
  isFull,
  newNodeSlotLimit,
  settledCpu,
  slotLimit,
} from "../../lambdas/core/placement";
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
    [{ percent: 1, streams: 10 }, 10, undefined, 40], // cheap streams, but no profile yet: 80% / 2%
  ])("cpu %j with %i streams, cap %p → limit %i", (sample, streams, cap, expected) => {
    const node = makeNode({
      nodeId: "n1",
      cpu: sample && { percent: sample.percent, streams: sample.streams, at: T0 },
      streams: live(streams),
    });
    expect(slotLimit(node, makeConfig({ maxStreamsPerNode: cap }))).toBe(expected);
  });

  it("counts slots not yet visible in the CPU sample at the estimated cost", () => {
    const node = makeNode({ nodeId: "a", cpu: { percent: 30, streams: 10, at: T0 } });
    expect(estimatedCpu(node, 10, config)).toBe(30);
    expect(estimatedCpu(node, 15, config)).toBe(40);
    expect(estimatedCpu(node, 5, config)).toBe(20); // streams that ended since the sample no longer cost
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
    // No profile yet: 2% a stream, the default. The reading before, at 30 streams, carried forward 10 streams.
    ["the reading before carried to more streams", 64, 40, { percent: 50, streams: 30 }, 70],
    ["the reading before carried to fewer streams", 40, 25, { percent: 60, streams: 30 }, 50],
  ])("%s", (_, percent, streams, previous, expected) => {
    expect(settledCpu(withSample(percent, streams, previous), config)).toBeCloseTo(expected, 5);
  });

  it("a low reading opens no room that the reading before says is not there", () => {
    const profile = learned([[0, 5], ...repeat(120, [45, 77])]); // 1.6% a stream above 5% idle: 47 fit
    const noisy = makeNode({ ...withSample(74, 45, { percent: 79, streams: 45 }), cpuProfile: profile });
    expect(slotLimit(noisy, config)).toBe(46);
    expect(slotLimit({ ...withSample(74, 45), cpuProfile: profile }, config)).toBe(47);
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

/** The profile learned from readings of [streams, CPU percent], in order. */
function learned(readings: readonly (readonly [number, number])[]): CpuProfile | undefined {
  return readings.reduce<CpuProfile | undefined>(
    (profile, [streams, percent], i) => learnCpuProfile(profile, { streams, percent, at: T0 + i * 15_000 }),
    undefined,
  );
}

function repeat(times: number, reading: readonly [number, number]): (readonly [number, number])[] {
  return Array.from({ length: times }, () => reading);
}

/** A node that learned `readings` and holds as many streams as the last one saw, its latest sample. */
function profiledNode(readings: readonly (readonly [number, number])[]): MediaNode {
  const [streams, percent] = readings[readings.length - 1] ?? [0, 0];
  return makeNode({
    nodeId: "n",
    cpuProfile: learned(readings),
    cpu: readings.length > 0 ? { percent, streams, at: T0 } : undefined,
    streams: live(streams),
  });
}

describe("the CPU profile: a node's room from its own idle CPU and cost a stream", () => {
  const config = makeConfig();
  // A node of the simulator's model: 5% idle, 1.6% a stream: 47 streams reach 80% (46.875).
  const atCpu = (streams: number) => 5 + 1.6 * streams;

  it.each<[string, (readonly [number, number])[], number, number, number]>([
    // [readings, idle CPU, cost a stream, slot limit]
    ["no reading: the default cost, no idle", [], 0, 2, 40],
    ["one reading with no stream: its idle CPU", [[0, 5]], 5, 2, 37],
    [
      "one busy reading weighs little, and its spread widens the cost",
      [
        [0, 5],
        [20, atCpu(20)],
      ],
      5,
      2.4,
      31,
    ],
    [
      "10 readings at 46 streams: short of the threshold while the evidence settles",
      [[0, 5], ...repeat(10, [46, atCpu(46)])],
      5,
      1.66,
      45,
    ],
    ["40 readings (10 min) at 46 streams: still one short", [[0, 5], ...repeat(40, [46, atCpu(46)])], 5, 1.62, 46],
    [
      "120 readings (30 min) at 46 streams: what the node holds",
      [[0, 5], ...repeat(120, [46, atCpu(46)])],
      5,
      1.61,
      47,
    ],
    [
      "a half-full node is not full: its idle CPU is not counted as cost",
      [[0, 5], ...repeat(240, [20, atCpu(20)])],
      5,
      1.61,
      47,
    ],
    ["no idle reading: the idle CPU counts as cost, the safe side", repeat(40, [46, atCpu(46)]), 0, 1.72, 47],
  ])("%s", (_, readings, idle, cost, limit) => {
    const node = profiledNode(readings);
    expect(idleCpu(node)).toBeCloseTo(idle, 5);
    expect(streamCpuCost(node, config)).toBeCloseTo(cost, 2);
    expect(slotLimit(node, config)).toBe(limit);
  });

  it("a full node does not reopen on one low reading: no ratchet past the threshold", () => {
    const settled = [[0, 5], ...repeat(120, [47, atCpu(47)])] as const;
    // The 48th stream would take it to 81.8%; a reading 6 points low says 74.2% at 47 streams.
    const low = profiledNode([...settled, [47, atCpu(47) - 6]]);
    expect(slotLimit(low, config)).toBe(47);
    expect(isFull(low, T0, config)).toBe(true);
    // The rule it replaces, the latest reading per stream with the idle CPU in it, would let 4 more in.
    const latestOnly = 47 + Math.ceil((80 - (atCpu(47) - 6)) / ((atCpu(47) - 6) / 47));
    expect(latestOnly).toBe(51);
  });

  it("follows a node whose streams got heavier, fading old readings", () => {
    const light = [[0, 5], ...repeat(240, [40, 5 + 1.6 * 40])] as const;
    const heavier = profiledNode([...light, ...repeat(480, [40, 5 + 2 * 40])]);
    expect(streamCpuCost(heavier, config)).toBeGreaterThan(1.9);
  });
});

describe("a new node inherits the fleet's learned CPU profile", () => {
  const config = makeConfig();
  const atCpu = (streams: number) => 5 + 1.6 * streams;
  const settled = (idle: number, cost: number) =>
    profiledNode([[0, idle], ...repeat(120, [40, idle + cost * 40] as const)]);
  // 30 heartbeats of streams: fewer than SETTLED_READINGS.
  const young = profiledNode([[0, 5], ...repeat(30, [20, atCpu(20)] as const)]);
  // `count` idle readings at `percent`, and nothing else.
  const learnIdle = (count: number, percent: number) =>
    repeat(count, [0, percent]).reduce<CpuProfile | undefined>(
      (p, [streams], i) => learnCpuProfile(p, { streams, percent, at: T0 + i * 15_000 }),
      undefined,
    ) as CpuProfile;

  it.each<[string, MediaNode[], number | undefined, number | undefined, number]>([
    // [fleet, its idle CPU, its cost a stream, a new node's slot limit]
    ["an empty fleet: the configured default (80% / 2%)", [], undefined, undefined, 40],
    [
      "nodes that only measured their idle CPU: the default cost from that idle",
      [profiledNode([[0, 5]])],
      5,
      undefined,
      37,
    ],
    ["a node with fewer than SETTLED_READINGS readings of streams does not count", [young], 5, undefined, 37],
    ["a settled node: what it learned (5% idle, 1.6% a stream)", [settled(5, 1.6)], 5, 1.6, 47],
    [
      "the median idle CPU: one odd node does not set every new node's",
      [settled(5, 1.6), settled(5, 1.6), settled(9, 1.6)],
      5,
      1.6,
      47,
    ],
    [
      "one fit over every node's readings: a node carrying 2 streams weighs as little as it knows",
      [settled(5, 1.6), profiledNode([[0, 5], ...repeat(120, [2, 5 + 3 * 2] as const)])],
      5,
      1.62,
      46,
    ],
  ])("%s", (_, nodes, idle, cost, limit) => {
    const fleet = fleetProfile(nodes);
    expect(fleet.idlePercent).toBe(idle);
    if (cost === undefined) expect(fleet.costPercent).toBeUndefined();
    else expect(fleet.costPercent).toBeCloseTo(cost, 2);
    expect(newNodeSlotLimit(nodes, config)).toBe(limit);
  });

  it.each<[string, MediaNode[], number, number]>([
    // [fleet, the new node's first (idle) reading, its slot limit after it]
    ["in an empty fleet, the default cost: short of what it holds", [], 5, 37],
    ["in a settled fleet, what the fleet learned: right from its first camera", [settled(5, 1.6)], 5, 47],
    ["in a settled fleet, a first idle reading 4 points low opens no room", [settled(5, 1.6)], 1, 47],
  ])("a node registered %s", (_, nodes, idle, limit) => {
    const profile = learnCpuProfile(withFleetStart(undefined, fleetProfile(nodes)), {
      streams: 0,
      percent: idle,
      at: T0,
    });
    const node = makeNode({ nodeId: "new", cpuProfile: profile, cpu: { percent: idle, streams: 0, at: T0 } });
    expect(slotLimit(node, config)).toBe(limit);
  });

  it.each<[string, CpuProfile | undefined, number | undefined]>([
    // [the node's profile, its idle CPU after the start (undefined: no start given)]
    ["no reading yet: the fleet's idle CPU", undefined, 5],
    [
      "10 idle readings of its own at 10%: weighed against the fleet's 40",
      learnIdle(10, 10),
      (5 * SETTLED_READINGS + 10 * 10) / (SETTLED_READINGS + 10),
    ],
    ["a start given already: none again", { ...learnIdle(1, 9), priorCostPercent: 2 }, undefined],
  ])("a start from a settled fleet: %s", (_, profile, idle) => {
    const start = withFleetStart(profile, fleetProfile([settled(5, 1.6)]));
    if (idle === undefined) return expect(start).toBeUndefined();
    expect(start?.idlePercent).toBeCloseTo(idle, 5);
    expect(start?.priorCostPercent).toBeCloseTo(1.6, 2);
  });

  it("no start while no node has settled a cost", () => {
    expect(withFleetStart(undefined, fleetProfile([young]))).toBeUndefined();
  });

  it("a new node whose streams cost more than the fleet's learns its own cost", () => {
    const inherited = withFleetStart(undefined, fleetProfile([settled(5, 1.6)]));
    const heavier = [[0, 5], ...repeat(40, [30, 5 + 2.4 * 30] as const)] as const;
    const profile = heavier.reduce(
      (p, [streams, percent], i) => learnCpuProfile(p, { streams, percent, at: T0 + i * 15_000 }),
      inherited,
    );
    const node = makeNode({ nodeId: "new", cpuProfile: profile, cpu: { percent: 77, streams: 30, at: T0 } });
    expect(streamCpuCost(node, config)).toBeGreaterThan(2.3);
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
