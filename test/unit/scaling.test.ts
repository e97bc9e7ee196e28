import type { FleetConfig } from "../../lambdas/core/config";
import type { GroupInstance } from "../../lambdas/core/group";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import type { MachineSign } from "../../lambdas/core/ports";
import {
  decideScaling,
  fateOf,
  idleSince,
  raisedCapacity,
  type ScalingPlan,
  scaleInCandidates,
  scaleOut,
  silenceBreaker,
  waitingLimit,
  wantedCapacity,
} from "../../lambdas/core/scaling-plan";
import { makeConfig, makeNode, T0 } from "../support/builders";

const MIN = 60_000;
const NOW = T0 + 60 * MIN; // an hour after the nodes launched

const live = (n: number, prefix = "cam"): Record<string, StreamSlot> =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { state: "LIVE", since: T0, clientId: String(i) }]),
  );
const reserved = (expiresAt: number): Record<string, StreamSlot> => ({
  r: { state: "RESERVED", since: T0, expiresAt },
});

/** A node that heartbeats, launched `age` minutes before NOW (older nodes fill first). */
function node(id: string, overrides: Partial<MediaNode> = {}, ageMinutes = 60): MediaNode {
  return makeNode({ nodeId: id, launchedAt: NOW - ageMinutes * MIN, lastHeartbeatAt: NOW - 5000, ...overrides });
}

interface Case {
  nodes: MediaNode[];
  desired?: number;
  /** Instances: by default one InService instance per node, protected when it holds streams. */
  instances?: GroupInstance[];
  config?: Partial<FleetConfig>;
  groupMax?: number;
  groupMin?: number;
  /** Streams of the cameras refused for want of room lately. */
  waiting?: string[];
}

function plan(c: Case): ScalingPlan {
  const instances =
    c.instances ??
    c.nodes.map((n) => ({
      instanceId: n.nodeId,
      lifecycleState: n.state === "PENDING" ? "Pending:Wait" : "InService",
      protectedFromScaleIn: true,
    }));
  return decideScaling({
    nodes: c.nodes,
    group: { desired: c.desired ?? instances.length, min: c.groupMin ?? 0, max: c.groupMax ?? 50, instances },
    // maxStreamsPerNode 4 keeps "full" readable; idle 10 minutes before scale-in.
    config: makeConfig({ maxStreamsPerNode: 4, scaleInIdleSeconds: 600, ...c.config }),
    now: NOW,
    waiting: c.waiting,
  });
}

describe("decideScaling: scale-out", () => {
  it.each<[string, Case, number | undefined]>([
    ["an empty fleet gets minNodes + bufferNodes", { nodes: [], desired: 0 }, 2],
    ["one node in use keeps one empty spare", { nodes: [node("a", { streams: live(1) })] }, 2],
    [
      "a spare that is already ready: nothing",
      { nodes: [node("a", { streams: live(1) }), node("b", {}, 30)] },
      undefined,
    ],
    [
      "a spare that is launching counts: no double launch",
      { nodes: [node("a", { streams: live(1) }), node("b", { state: "PENDING" }, 1)] },
      undefined,
    ],
    [
      "capacity asked for but not launched yet counts",
      { nodes: [node("a", { streams: live(1) })], desired: 2 },
      undefined,
    ],
    [
      "the spare got its first camera: a new spare",
      { nodes: [node("a", { streams: live(4) }), node("b", { streams: live(1) }, 30)] },
      3,
    ],
    ["bufferNodes 2 keeps two spares", { nodes: [node("a", { streams: live(1) })], config: { bufferNodes: 2 } }, 3],
    [
      "bufferNodes 0: the filling node has room, nothing",
      { nodes: [node("a", { streams: live(3) })], config: { bufferNodes: 0 } },
      undefined,
    ],
    [
      "bufferNodes 0: the filling node is full, launch one",
      { nodes: [node("a", { streams: live(4) })], config: { bufferNodes: 0 } },
      2,
    ],
    [
      "bufferNodes 0: full by CPU alone, launch one",
      {
        nodes: [node("a", { streams: live(1), cpu: { percent: 85, at: NOW, streams: 1 } })],
        config: { bufferNodes: 0 },
      },
      2,
    ],
    [
      "bufferNodes 0: full, and the next is booting: nothing",
      { nodes: [node("a", { streams: live(4) }), node("b", { state: "PENDING" }, 1)], config: { bufferNodes: 0 } },
      undefined,
    ],
    [
      "never beyond maxNodes",
      { nodes: [node("a", { streams: live(4) }), node("b", { streams: live(4) })], config: { maxNodes: 2 } },
      undefined,
    ],
    ["never beyond the group's max", { nodes: [node("a", { streams: live(1) })], groupMax: 1 }, undefined],
    ["minNodes 3 with one in use: 3 + 1", { nodes: [node("a", { streams: live(1) })], config: { minNodes: 3 } }, 4],
    [
      "a dead node still in the group is not capacity",
      { nodes: [node("a", { streams: live(1) }), node("b", { state: "DEAD" })], desired: 2 },
      3,
    ],
    [
      "an instance that boots without a record yet counts",
      {
        nodes: [node("a", { streams: live(1) })],
        instances: [
          { instanceId: "a", lifecycleState: "InService", protectedFromScaleIn: true },
          { instanceId: "new", lifecycleState: "Pending", protectedFromScaleIn: true },
        ],
      },
      undefined,
    ],
  ])("%s", (_, c, desired) => {
    expect(plan(c).desiredCapacity).toBe(desired);
  });
});

describe("decideScaling: free slots on the nodes in use count toward the spare", () => {
  // maxStreamsPerNode 4: bufferNodes 1 is 4 slots' worth of room, bufferNodes 2 is 8.
  it.each<[string, Case, number | undefined]>([
    [
      "one node in use with 3 free slots: one empty node for the fourth",
      { nodes: [node("a", { streams: live(1) })] },
      2,
    ],
    [
      "two nodes in use with 6 free slots: no empty node",
      { nodes: [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 30)] },
      undefined,
    ],
    [
      "two nodes in use with 2 free slots: one empty node",
      { nodes: [node("a", { streams: live(3) }), node("b", { streams: live(3) }, 30)] },
      3,
    ],
    [
      "bufferNodes 2, 6 free slots: one empty node for the other 2",
      { nodes: [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 30)], config: { bufferNodes: 2 } },
      3,
    ],
    [
      "bufferNodes 2, 3 free slots: two empty nodes",
      { nodes: [node("a", { streams: live(4) }), node("b", { streams: live(1) }, 30)], config: { bufferNodes: 2 } },
      4,
    ],
    [
      "full nodes have no free slot: one empty node",
      { nodes: [node("a", { streams: live(4) }), node("b", { streams: live(4) }, 30)] },
      3,
    ],
  ])("%s", (_, c, desired) => {
    expect(plan(c).desiredCapacity).toBe(desired);
  });

  it("reports the spare it wants in its summary", () => {
    const nodes = [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 30)];
    expect(plan({ nodes }).summary).toMatchObject({ inUse: 2, spare: 0, wanted: 2 });
  });
});

describe("decideScaling: the cameras waiting for room count toward the spare", () => {
  // maxStreamsPerNode 4, bufferNodes 1: the spare carries the waiting cameras plus 4 slots' worth.
  const waiting = (n: number, prefix = "w") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  it.each<[string, Case, number | undefined]>([
    ["none waiting, a full node: one empty node", { nodes: [node("a", { streams: live(4) })] }, 2],
    [
      "2 waiting within the 6 free slots of the nodes in use, with bufferNodes' worth beside them: nothing",
      { nodes: [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 30)], waiting: waiting(2) },
      undefined,
    ],
    [
      "3 waiting, 6 free slots: one empty node for the one slot short",
      { nodes: [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 30)], waiting: waiting(3) },
      3,
    ],
    [
      "10 waiting beyond a full node: 14 slots' worth of empty nodes at once, not one",
      { nodes: [node("a", { streams: live(4) })], waiting: waiting(10) },
      5,
    ],
    [
      "10 waiting, bufferNodes 0: the nodes for them alone",
      { nodes: [node("a", { streams: live(4) })], waiting: waiting(10), config: { bufferNodes: 0 } },
      4,
    ],
    [
      "waiting cameras already held, live or reserved, count no more",
      {
        nodes: [node("a", { streams: live(4) }), node("b", { streams: reserved(NOW + 1000) }, 30)],
        waiting: ["cam0", "cam1", "cam2", "cam3", "r"],
      },
      3,
    ],
    [
      "a waiting camera whose reservation expired still waits",
      {
        nodes: [node("a", { streams: live(4) }), node("b", { streams: reserved(NOW - 1) }, 30)],
        waiting: ["r", ...waiting(4)],
      },
      4,
    ],
    [
      "launching nodes count: nothing is launched twice",
      { nodes: [node("a", { streams: live(4) }), node("b", { state: "PENDING" }, 1)], waiting: waiting(4), desired: 3 },
      undefined,
    ],
    [
      "capped by maxNodes",
      { nodes: [node("a", { streams: live(4) })], waiting: waiting(40), config: { maxNodes: 5 } },
      5,
    ],
  ])("%s", (_, c, desired) => {
    expect(plan(c).desiredCapacity).toBe(desired);
  });

  it("reports the cameras waiting in its summary and in the scale-out event", () => {
    const decided = plan({ nodes: [node("a", { streams: live(4) })], waiting: ["cam0", "w1", "w2"] });
    expect(decided.summary).toMatchObject({ inUse: 1, waiting: 2, spare: 2, wanted: 3 });
    expect(decided.events.map((e) => e.message)).toEqual([
      "desired capacity 1 → 3: 1 in use, 1 ready or launching, policy wants 3, 2 camera(s) waiting",
    ]);
  });

  it("reads and counts at most what maxNodes new nodes hold", () => {
    expect(waitingLimit([node("a")], makeConfig({ maxStreamsPerNode: 4, maxNodes: 5 }))).toBe(20);
  });
});

describe("decideScaling: protection", () => {
  const unprotected = (ids: string[]): GroupInstance[] =>
    ids.map((id) => ({ instanceId: id, lifecycleState: "InService", protectedFromScaleIn: false }));
  it.each<[string, MediaNode[], string[]]>([
    ["a node with a stream", [node("a", { streams: live(1) })], ["a"]],
    ["a node with a live reservation", [node("a", { streams: reserved(NOW + 1000) })], ["a"]],
    ["not a node whose reservation expired", [node("a", { streams: reserved(NOW - 1) })], []],
    ["not an empty node", [node("a")], []],
    ["a draining node that got a stream", [node("a", { state: "DRAINING", streams: live(1) })], ["a"]],
  ])("protects %s", (_, nodes, expected) => {
    expect(plan({ nodes, instances: unprotected(nodes.map((n) => n.nodeId)) }).protect).toEqual(expected);
  });

  it("leaves an instance that is already protected alone", () => {
    expect(plan({ nodes: [node("a", { streams: live(2) })] }).protect).toEqual([]);
  });
});

describe("decideScaling: a spare sized from arrivals (spareLeadSeconds)", () => {
  /** `n` streams that arrived a minute ago, within the 3-minute lead. */
  const recent = (n: number, prefix = "new") =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { state: "LIVE", since: NOW - MIN, clientId: `n${i}` }]),
    ) as Record<string, StreamSlot>;
  const adaptive = { bufferNodes: 0, spareLeadSeconds: 180 };
  it.each<[string, Case, number | undefined]>([
    ["no recent arrival: no spare", { nodes: [node("a", { streams: live(3) })], config: adaptive }, undefined],
    [
      "3 arrivals, room for 1 on the node in use: one empty node for the other 2",
      { nodes: [node("a", { streams: recent(3) })], config: adaptive },
      2,
    ],
    [
      "7 arrivals, room for 1: two empty nodes of 4 slots",
      {
        nodes: [node("a", { streams: recent(4) }), node("b", { streams: recent(3, "b") }, 30)],
        config: adaptive,
      },
      4,
    ],
    [
      "arrivals older than the lead do not count",
      { nodes: [node("a", { streams: recent(3) })], config: { ...adaptive, spareLeadSeconds: 30 } },
      undefined,
    ],
    ["0 turns it off", { nodes: [node("a", { streams: recent(3) })], config: { bufferNodes: 0 } }, undefined],
    [
      "bufferNodes stays the floor",
      { nodes: [node("a", { streams: recent(3) })], config: { ...adaptive, bufferNodes: 2 } },
      3,
    ],
  ])("%s", (_, c, desired) => {
    expect(plan(c).desiredCapacity).toBe(desired);
  });

  it("scales the spare back in once arrivals stop", () => {
    const idle = { streamsChangedAt: NOW - 20 * MIN, stateChangedAt: NOW - 60 * MIN };
    const fleet = (streams: Record<string, StreamSlot>) => [
      node("a", { streams }),
      node("b", idle, 40),
      node("c", idle, 30),
    ];
    expect(plan({ nodes: fleet(recent(3)), config: adaptive }).drain).toEqual(["c"]);
    expect(plan({ nodes: fleet(live(3)), config: adaptive }).drain).toEqual(["c", "b"]);
  });
});

describe("decideScaling: scale-in", () => {
  const idle = (minutes: number) => ({ streamsChangedAt: NOW - minutes * MIN, stateChangedAt: NOW - 60 * MIN });
  it.each<[string, Case, string[]]>([
    [
      "an idle surplus node, idle long enough",
      { nodes: [node("a", { streams: live(1) }), node("b", idle(20), 40), node("c", idle(20), 30)] },
      ["c"],
    ],
    ["newest first", { nodes: [node("a", idle(20)), node("b", idle(20), 40), node("c", idle(20), 30)] }, ["c"]],
    [
      "not before scaleInIdleSeconds",
      { nodes: [node("a", { streams: live(1) }), node("b", idle(5), 40), node("c", idle(5), 30)] },
      [],
    ],
    ["never below minNodes + bufferNodes", { nodes: [node("a", idle(20)), node("b", idle(20), 40)] }, []],
    [
      "never a node with a stream",
      { nodes: [node("a", { streams: live(3) }), node("b", { streams: live(3) }, 40), node("c", idle(20), 30)] },
      [],
    ],
    [
      "the spare, once the nodes in use have a node's worth of free slots",
      { nodes: [node("a", { streams: live(1) }), node("b", { streams: live(1) }, 40), node("c", idle(20), 30)] },
      ["c"],
    ],
    [
      "never a node with a live reservation",
      { nodes: [node("a", idle(20)), node("b", idle(20), 40), node("c", { streams: reserved(NOW + 1) }, 30)] },
      ["b"],
    ],
    [
      "a node whose reservation expired long ago",
      {
        nodes: [
          node("a", idle(20)),
          node("b", idle(20), 40),
          node("c", { ...idle(20), streams: reserved(NOW - 20 * MIN) }, 30),
        ],
      },
      ["c"],
    ],
    [
      "not a node whose reservation expired just now",
      {
        nodes: [
          node("a", idle(20)),
          node("b", { streams: live(1) }, 40),
          node("c", { ...idle(20), streams: reserved(NOW - MIN) }, 30),
        ],
      },
      ["a"],
    ],
    [
      "never a PENDING node",
      { nodes: [node("a", idle(20)), node("b", idle(20), 40), node("c", { ...idle(20), state: "PENDING" }, 30)] },
      [],
    ],
    [
      "two surplus nodes at once",
      { nodes: [node("a", idle(20)), node("b", idle(20), 40), node("c", idle(20), 30), node("d", idle(20), 20)] },
      ["d", "c"],
    ],
    [
      "none with bufferNodes 0 while every node in use is full",
      { nodes: [node("a", { streams: live(4) }), node("b", idle(20), 30)], config: { bufferNodes: 0 } },
      [],
    ],
    [
      "the spare with bufferNodes 0 once the filling node has room",
      { nodes: [node("a", { streams: live(3) }), node("b", idle(20), 30)], config: { bufferNodes: 0 } },
      ["b"],
    ],
  ])("drains %s", (_, c, expected) => {
    expect(plan(c).drain).toEqual(expected);
  });

  it("computes idle time from the last change of streams or state, and expired reservations", () => {
    expect(idleSince(node("a", { streams: live(1) }), NOW)).toBeUndefined();
    expect(idleSince(node("a", { streamsChangedAt: NOW - 5 * MIN, stateChangedAt: NOW - 9 * MIN }), NOW)).toBe(
      NOW - 5 * MIN,
    );
    expect(idleSince(node("a", { streamsChangedAt: T0, stateChangedAt: T0, streams: reserved(NOW - 1000) }), NOW)).toBe(
      NOW - 1000,
    );
  });
});

describe("decideScaling: draining nodes", () => {
  it("terminates a drained node that is empty", () => {
    const p = plan({ nodes: [node("a", { streams: live(1) }), node("b"), node("c", { state: "DRAINING" })] });
    expect(p.terminate).toEqual(["c"]);
    expect(p.undrain).toEqual([]);
  });

  it("takes a draining node back when a stream appeared on it, never terminating it", () => {
    const p = plan({ nodes: [node("a"), node("b"), node("c", { state: "DRAINING", streams: live(1) })] });
    expect(p.undrain).toEqual(["c"]);
    expect(p.terminate).toEqual([]);
  });

  it("takes a draining node back rather than launching when capacity is needed", () => {
    const p = plan({ nodes: [node("a", { streams: live(1) }), node("c", { state: "DRAINING" })] });
    expect(p.undrain).toEqual(["c"]);
    expect(p.desiredCapacity).toBeUndefined();
    expect(p.terminate).toEqual([]);
  });
});

describe("decideScaling: liveness", () => {
  const heartbeat = (secondsAgo: number) => ({ lastHeartbeatAt: NOW - secondsAgo * 1000 });
  it.each<[string, MediaNode, boolean]>([
    ["an ACTIVE node silent for more than 4 periods (60 s) is DEAD", node("a", heartbeat(61)), true],
    ["an ACTIVE node silent for exactly 4 periods is not yet", node("a", heartbeat(60)), false],
    ["a DRAINING node silent too long is DEAD", node("a", { state: "DRAINING", ...heartbeat(61) }), true],
    [
      "a PENDING node is not DEAD for silence (its launch hook decides)",
      node("a", { state: "PENDING", lastHeartbeatAt: undefined }),
      false,
    ],
    [
      "a node that never sent a heartbeat counts from its state change",
      node("a", { lastHeartbeatAt: undefined, stateChangedAt: NOW - 61_000 }),
      true,
    ],
  ])("%s", (_, n, dead) => {
    expect(plan({ nodes: [n] }).markDead).toEqual(dead ? [n.nodeId] : []);
  });

  it("declares DEAD a node whose instance left the group, whatever its state", () => {
    const nodes = [node("a", { streams: live(2) }), node("b", { state: "PENDING" })];
    const p = plan({
      nodes,
      instances: [{ instanceId: "a", lifecycleState: "Terminating:Wait", protectedFromScaleIn: true }],
    });
    expect(p.markDead).toEqual(["a", "b"]);
  });

  it("forgets a DEAD node whose instance is gone, and terminates one still in the group after 8 periods", () => {
    const nodes = [
      node("gone", { state: "DEAD", lastHeartbeatAt: NOW - 10 * MIN }),
      node("stuck", { state: "DEAD", lastHeartbeatAt: NOW - 121_000 }),
      node("recent", { state: "DEAD", lastHeartbeatAt: NOW - 90_000 }),
    ];
    const instances = ["stuck", "recent"].map((id) => ({
      instanceId: id,
      lifecycleState: "InService",
      protectedFromScaleIn: true,
    }));
    const p = plan({ nodes, instances });
    expect(p.forget).toEqual(["gone"]);
    expect(p.terminate).toEqual(["stuck"]);
  });

  it("replaces a dead instance at once when the group is at its maximum and capacity is needed", () => {
    const nodes = [
      node("a", { streams: live(4) }),
      node("b", { streams: live(1) }),
      node("dead", { state: "DEAD", lastHeartbeatAt: NOW - 70_000 }),
    ];
    const p = plan({ nodes, groupMax: 3, desired: 3 });
    expect(p.replace).toEqual(["dead"]);
    expect(p.terminate).toEqual([]);
    expect(p.desiredCapacity).toBeUndefined();
    // Below the maximum, the dead instance keeps its grace and a new one is launched instead.
    expect(plan({ nodes, groupMax: 4, desired: 3 })).toMatchObject({ replace: [], desiredCapacity: 4 });
  });

  it("continues the launch of an ACTIVE node whose instance still waits in the launch hook", () => {
    const nodes = [node("a", { streams: live(1) }), node("b"), node("c", { state: "PENDING" })];
    const instances = [
      { instanceId: "a", lifecycleState: "InService", protectedFromScaleIn: true },
      { instanceId: "b", lifecycleState: "Pending:Wait", protectedFromScaleIn: true },
      { instanceId: "c", lifecycleState: "Pending:Wait", protectedFromScaleIn: true },
    ];
    expect(plan({ nodes, instances }).continueLaunch).toEqual(["b"]);
  });

  it("explains each decision in an event", () => {
    const p = plan({ nodes: [node("a", { streams: live(1) })] });
    expect(p.events).toEqual([
      expect.objectContaining({ kind: "scale-out", message: expect.stringContaining("desired capacity 1 → 2") }),
    ]);
  });
});

describe("the steps of the decision, each on its own", () => {
  const config = makeConfig({ maxStreamsPerNode: 4, scaleInIdleSeconds: 600 });
  const inService = (id: string, protectedFromScaleIn = true): GroupInstance => ({
    instanceId: id,
    lifecycleState: "InService",
    protectedFromScaleIn,
  });

  const silentFor61 = { lastHeartbeatAt: NOW - 61_000 };
  const traffic: MachineSign = { kind: "traffic", reason: "it received 0 bytes" };
  const machine: MachineSign = { kind: "machine", reason: "EC2 says it is stopped" };
  it.each<[string, MediaNode, GroupInstance | undefined, MachineSign | undefined, boolean, string]>([
    ["a node that reports lives", node("a"), inService("a"), undefined, false, "alive"],
    [
      "a silent node carrying a stream, nothing else known, is SILENT",
      node("a", { ...silentFor61, streams: live(1) }),
      inService("a"),
      undefined,
      false,
      "silent",
    ],
    [
      "a silent node carrying nothing is dead",
      node("a", silentFor61),
      inService("a"),
      undefined,
      false,
      "dead: no heartbeat for 61 s, and it carries no stream",
    ],
    [
      "a silent node carrying a stream that receives no traffic is dead",
      node("a", { ...silentFor61, streams: live(1) }),
      inService("a"),
      traffic,
      false,
      "dead: no heartbeat for 61 s, and it received 0 bytes",
    ],
    [
      "a silent node whose machine is gone is dead",
      node("a", { ...silentFor61, streams: live(1) }),
      inService("a"),
      machine,
      false,
      "dead: no heartbeat for 61 s, and EC2 says it is stopped",
    ],
    [
      "a silent node whose instance Auto Scaling found unhealthy is dead",
      node("a", { ...silentFor61, streams: live(1) }),
      { ...inService("a"), unhealthy: true },
      undefined,
      false,
      "dead: no heartbeat for 61 s, and Auto Scaling's health check found its instance unhealthy",
    ],
    [
      "a silent PENDING node is its launch hook's to judge",
      node("a", { state: "PENDING", lastHeartbeatAt: NOW - 600_000 }),
      inService("a"),
      undefined,
      false,
      "alive",
    ],
    ["a node whose instance left is dead", node("a"), undefined, undefined, false, "dead: its instance left the group"],
    ["breaker open: a silent empty node is SILENT", node("a", silentFor61), inService("a"), undefined, true, "silent"],
    [
      "breaker open: no traffic says nothing, the node is SILENT",
      node("a", { ...silentFor61, streams: live(1) }),
      inService("a"),
      traffic,
      true,
      "silent",
    ],
    [
      "breaker open: a machine that is gone is still dead",
      node("a", { ...silentFor61, streams: live(1) }),
      inService("a"),
      machine,
      true,
      "dead: no heartbeat for 61 s, and EC2 says it is stopped",
    ],
  ])("fateOf: %s", (_, n, instance, sign, breakerOpen, expected) => {
    const fate = fateOf(n, instance, sign, breakerOpen, config, NOW);
    expect(fate.kind === "dead" ? `dead: ${fate.cause}` : fate.kind).toBe(expected);
  });

  const silentSince = (ids: string[], at: (i: number) => number) =>
    ids.map((id, i) => node(id, { lastHeartbeatAt: at(i), streams: live(1) }));
  it.each<[string, MediaNode[], boolean]>([
    [
      "1 of 10 silent: closed",
      [
        ...silentSince(["s1"], () => NOW - 61_000),
        ...silentSince(["a", "b", "c", "d", "e", "f", "g", "h", "i"], () => NOW),
      ],
      false,
    ],
    [
      "2 of 10 silent together: closed (30% is 3)",
      [
        ...silentSince(["s1", "s2"], () => NOW - 61_000),
        ...silentSince(["a", "b", "c", "d", "e", "f", "g", "h"], () => NOW),
      ],
      false,
    ],
    [
      "3 of 10 silent together: open",
      [
        ...silentSince(["s1", "s2", "s3"], (i) => NOW - 61_000 - i * 5000),
        ...silentSince(["a", "b", "c", "d", "e", "f", "g"], () => NOW),
      ],
      true,
    ],
    [
      "3 of 10 silent, minutes apart: closed (nodes failing one by one)",
      [
        ...silentSince(["s1", "s2", "s3"], (i) => NOW - 61_000 - i * 120_000),
        ...silentSince(["a", "b", "c", "d", "e", "f", "g"], () => NOW),
      ],
      false,
    ],
    [
      "2 of 3 silent together: open (at least 2)",
      [...silentSince(["s1", "s2"], () => NOW - 61_000), ...silentSince(["a"], () => NOW)],
      true,
    ],
    ["1 of 1 silent: closed (at least 2)", silentSince(["s1"], () => NOW - 61_000), false],
    [
      "every node silent together for ten minutes: open",
      silentSince(["a", "b", "c", "d"], (i) => NOW - 600_000 - i * 1000),
      true,
    ],
  ])("silenceBreaker: %s", (_, nodes, open) => {
    expect(silenceBreaker(nodes, config, NOW).open).toBe(open);
  });

  it("wantedCapacity counts in use, launching and the spare", () => {
    const nodes = [node("a", { streams: live(4) }), node("b", { streams: live(1) }), node("c", { state: "PENDING" })];
    const group = { desired: 4, min: 0, max: 10, instances: ["a", "b", "c"].map((id) => inService(id)) };
    expect(wantedCapacity(nodes, nodes, group, config, NOW)).toMatchObject({
      summary: { inUse: 2, active: 2, launching: 2, wanted: 3, allInUseFull: false, spare: 1, waiting: 0 },
      serving: 4,
    });
  });

  it("scaleOut takes a draining node back before it launches one, and reports what is still short", () => {
    const nodes = [node("a", { streams: live(4) }), node("d", { state: "DRAINING" })];
    const group = { desired: 2, min: 0, max: 10, instances: ["a", "d"].map((id) => inService(id)) };
    const capacity = wantedCapacity(nodes, nodes, group, config, NOW);
    expect(capacity.summary.wanted - capacity.serving).toBe(1);
    expect(scaleOut(nodes, [], group, capacity, NOW)).toMatchObject({
      undrain: ["d"],
      replace: [],
      desiredCapacity: undefined,
      shortfall: 0,
    });
  });

  it("raisedCapacity never passes the group's maximum, and does nothing when nothing is short", () => {
    const group = { desired: 3, min: 0, max: 4, instances: [] };
    const capacity = wantedCapacity([], [], group, config, NOW);
    expect(raisedCapacity(group, 3, capacity, NOW).desiredCapacity).toBe(4);
    expect(raisedCapacity(group, 0, capacity, NOW)).toEqual({ events: [] });
    expect(raisedCapacity({ ...group, desired: 4 }, 1, capacity, NOW)).toEqual({ events: [] });
  });

  it("scaleInCandidates: idle long enough, in service, newest first", () => {
    const idle = { streamsChangedAt: NOW - 20 * MIN, stateChangedAt: NOW - 60 * MIN };
    const nodes = [
      node("old", idle, 50),
      node("young", idle, 10),
      node("busy", { streams: live(1) }, 20),
      node("recent", { streamsChangedAt: NOW - MIN, stateChangedAt: NOW - 60 * MIN }, 30),
      node("booting", idle, 40),
    ];
    const instances = new Map(nodes.map((n) => [n.nodeId, inService(n.nodeId)]));
    instances.set("booting", { instanceId: "booting", lifecycleState: "Pending:Wait", protectedFromScaleIn: true });
    expect(scaleInCandidates(nodes, instances, config, NOW).map((n) => n.nodeId)).toEqual(["young", "old"]);
  });
});

describe("wantedCapacity: every node in use is full as placement sees it", () => {
  it("launches a node when the nodes in use are short of the slots to reopen, with no spare asked for", () => {
    const config = makeConfig({ maxStreamsPerNode: 10, reopenSlots: 3, bufferNodes: 0 });
    // It was full; 2 of its 10 slots are free again, short of the 3 that reopen it.
    const closed = node("a", { hasRoom: undefined, streams: live(8) });
    const group = { desired: 1, min: 0, max: 10, instances: [] };
    expect(wantedCapacity([closed], [closed], group, config, NOW).summary).toMatchObject({
      allInUseFull: true,
      wanted: 2,
    });
  });
});
