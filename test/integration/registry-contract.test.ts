/**
 * One contract, two adapters: the in-memory registry (local mode, simulator) and the DynamoDB
 * registry against moto must agree on every condition and edit. The last case replays the same
 * random changes through both and compares every outcome and the final records.
 */
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import type { MediaNode, NodeState, StreamSlot } from "../../lambdas/core/model";
import type { NodeChange, Registry } from "../../lambdas/core/registry";
import { Random } from "../../sim/random";
import { makeNode, T0 } from "../support/builders";
import { useMoto } from "../support/moto";
import { freshDynamoRegistry } from "../support/registry-table";

useMoto();

const adapters: [string, () => Promise<Registry>][] = [
  ["memory", async () => new MemoryRegistry()],
  ["dynamodb (moto)", async () => (await freshDynamoRegistry("contract")).registry],
];

const live = (clientId: string): StreamSlot => ({ state: "LIVE", since: T0, clientId });
const reserved = (expiresAt: number): StreamSlot => ({ state: "RESERVED", since: T0, expiresAt });

describe.each(adapters)("registry contract: %s", (_, make) => {
  let registry: Registry;
  const base = makeNode({
    nodeId: "i-1",
    cpu: { percent: 20, streams: 1, at: T0 },
    streams: { cam1: live("1"), cam2: reserved(T0 + 60_000) },
  });

  beforeEach(async () => {
    registry = await make();
    expect(await registry.createNode(base)).toBe(true);
  });

  it("creates, reads and lists nodes; refuses a duplicate id", async () => {
    expect(await registry.createNode({ ...base, state: "DEAD" })).toBe(false);
    expect(await registry.getNode("i-1")).toEqual(base);
    expect(await registry.getNode("nope")).toBeUndefined();
    await registry.createNode(makeNode({ nodeId: "i-2" }));
    expect((await registry.listNodes({ consistent: true })).map((n) => n.nodeId).sort()).toEqual(["i-1", "i-2"]);
  });

  it("lists the nodes marked hasRoom in fill order (launch time, then id), the first `limit`; a change lists and unlists", async () => {
    await registry.applyChange({ nodeId: "i-1", when: {}, set: { hasRoom: false } });
    await registry.createNode(makeNode({ nodeId: "i-3", launchedAt: T0 + 5 }));
    await registry.createNode(makeNode({ nodeId: "i-2b", launchedAt: T0 + 1 }));
    await registry.createNode(makeNode({ nodeId: "i-2a", launchedAt: T0 + 1 }));
    await registry.createNode(makeNode({ nodeId: "i-0", launchedAt: T0 - 1, hasRoom: undefined }));
    const listed = async (limit: number) => (await registry.nodesWithRoom(limit)).map((n) => n.nodeId);
    expect(await listed(2)).toEqual(["i-2a", "i-2b"]);
    expect(await registry.getNode("i-1")).toEqual({ ...base, hasRoom: undefined });
    await registry.applyChange({ nodeId: "i-2a", when: {}, set: { hasRoom: false } });
    await registry.applyChange({ nodeId: "i-1", when: {}, set: { hasRoom: true } });
    expect(await listed(10)).toEqual(["i-1", "i-2b", "i-3"]);
    expect((await registry.nodesWithRoom(1))[0]).toEqual({ ...base, hasRoom: true });
  });

  it.each<[string, NodeChange["when"], boolean]>([
    ["no condition", {}, true],
    ["state in ACTIVE", { states: ["ACTIVE"] }, true],
    ["state in PENDING, DEAD", { states: ["PENDING", "DEAD"] }, false],
    ["the CPU sample unchanged", { cpuAt: T0 }, true],
    ["another CPU sample", { cpuAt: T0 + 1 }, false],
    ["no CPU sample", { cpuAt: null }, false],
    ["fewer than 3 slots", { slotsBelow: 3 }, true],
    ["fewer than 2 slots", { slotsBelow: 2 }, false],
    ["exactly 2 slots", { slotsEqual: 2 }, true],
    ["exactly 0 slots", { slotsEqual: 0 }, false],
    ["cam3 absent", { streams: { cam3: { absent: true } } }, true],
    ["cam1 absent", { streams: { cam1: { absent: true } } }, false],
    ["cam1 live on client 1", { streams: { cam1: { state: "LIVE", clientId: "1" } } }, true],
    ["cam1 live on client 2", { streams: { cam1: { state: "LIVE", clientId: "2" } } }, false],
    ["cam2 reserved until T0+60s", { streams: { cam2: { state: "RESERVED", expiresAt: T0 + 60_000 } } }, true],
    ["cam2 reserved until another time", { streams: { cam2: { state: "RESERVED", expiresAt: T0 } } }, false],
    ["cam2 live", { streams: { cam2: { state: "LIVE" } } }, false],
    [
      "cam1 live with fewer than 1 viewer (none counted yet)",
      { streams: { cam1: { state: "LIVE", viewers: { below: 1 } } } },
      true,
    ],
    ["cam1 live with at least 1 viewer", { streams: { cam1: { state: "LIVE", viewers: { atLeast: 1 } } } }, false],
    ["cam1 live with fewer than 0 viewers", { streams: { cam1: { state: "LIVE", viewers: { below: 0 } } } }, false],
    [
      "cam1 live with exactly 0 viewers",
      { streams: { cam1: { state: "LIVE", viewers: { atLeast: 0, below: 1 } } } },
      true,
    ],
    [
      "all of them together",
      { states: ["ACTIVE"], cpuAt: T0, slotsBelow: 3, streams: { cam3: { absent: true } } },
      true,
    ],
  ])("applies a change only when its condition holds: %s → %p", async (_, when, applies) => {
    const outcome = await registry.applyChange({ nodeId: "i-1", when, set: { lastHeartbeatAt: T0 + 5 } });
    expect(outcome.applied).toBe(applies);
    expect((await registry.getNode("i-1"))?.lastHeartbeatAt).toBe(applies ? T0 + 5 : undefined);
  });

  it("applies every kind of edit at once and returns the node as written", async () => {
    const outcome = await registry.applyChange({
      nodeId: "i-1",
      when: { states: ["ACTIVE"] },
      set: {
        state: "DRAINING",
        stateChangedAt: T0 + 1,
        cpu: { percent: 50, streams: 2, at: T0 + 2 },
        protectedFromScaleIn: true,
      },
      putStreams: { cam3: live("3"), "name.with-dots_1": reserved(T0 + 9) },
      removeStreams: ["cam2"],
      putEnded: { "4/cam4": T0 + 3 },
      claim: { cam3: "3" },
      basis: base,
    });
    const expected: MediaNode = {
      ...base,
      state: "DRAINING",
      stateChangedAt: T0 + 1,
      cpu: { percent: 50, streams: 2, at: T0 + 2 },
      protectedFromScaleIn: true,
      streams: { cam1: live("1"), cam3: live("3"), "name.with-dots_1": reserved(T0 + 9) },
    };
    expect(outcome).toEqual({ applied: true, node: expected });
    expect(await registry.getNode("i-1")).toEqual(expected);
    expect(await registry.claimOf("cam3")).toEqual({ stream: "cam3", nodeId: "i-1", clientId: "3" });
  });

  it("counts a stream's viewers in one conditional write: a burst passes its cap by none", async () => {
    const CAP = 3;
    const join = (at: number) =>
      registry.applyChange({
        nodeId: "i-1",
        when: { streams: { cam1: { state: "LIVE", viewers: { below: CAP } } } },
        viewers: { cam1: { by: 1, at } },
      });
    const joined = await Promise.all(Array.from({ length: 2 * CAP }, (_, i) => join(T0 + i)));
    expect(joined.filter((o) => o.applied)).toHaveLength(CAP);
    const refused = joined.find((o) => !o.applied);
    expect(refused && !refused.applied && refused.node?.streams.cam1?.viewers).toBe(CAP);
    const leave = await registry.applyChange({
      nodeId: "i-1",
      when: { streams: { cam1: { state: "LIVE", viewers: { atLeast: 1 } } } },
      viewers: { cam1: { by: -1, at: T0 + 99 } },
    });
    expect(leave.applied && leave.node.streams.cam1).toEqual({
      ...live("1"),
      viewers: CAP - 1,
      viewersChangedAt: T0 + 99,
    });
    expect((await registry.getNode("i-1"))?.streams.cam1).toEqual({
      ...live("1"),
      viewers: CAP - 1,
      viewersChangedAt: T0 + 99,
    });
  });

  it("applies nothing to a node that does not exist", async () => {
    expect(await registry.applyChange({ nodeId: "ghost", when: {}, putEnded: { "1/a": T0 } })).toEqual({
      applied: false,
      conflict: "node",
    });
    expect(await registry.getNode("ghost")).toBeUndefined();
  });

  it("keeps tombstones out of the node's record; one refuses its connection until its time", async () => {
    await registry.applyChange({ nodeId: "i-1", when: {}, putEnded: { "4/cam4": T0 + 100 } });
    expect(await registry.getNode("i-1")).toEqual(base);
    const goLive = (at: number) =>
      registry.applyChange({
        nodeId: "i-1",
        when: { notEnded: { keys: ["4/cam4"], at } },
        putStreams: { cam4: live("4") },
        claim: { cam4: "4" },
      });
    expect(await goLive(T0 + 99)).toEqual({ applied: false, conflict: "ended" });
    expect(await registry.claimOf("cam4")).toBeUndefined();
    expect(await goLive(T0 + 100)).toMatchObject({ applied: true, node: { streams: { cam4: live("4") } } });
    // Another node's tombstone of the same connection key does not count here.
    await registry.createNode(makeNode({ nodeId: "i-2" }));
    await registry.applyChange({ nodeId: "i-2", when: {}, putEnded: { "5/cam5": T0 + 100 } });
    expect(
      (
        await registry.applyChange({
          nodeId: "i-1",
          when: { notEnded: { keys: ["5/cam5"], at: T0 } },
          putStreams: { cam5: live("5") },
        })
      ).applied,
    ).toBe(true);
  });

  it("holds a stream name's claim for one node: another node's claim or release of it fails", async () => {
    await registry.createNode(makeNode({ nodeId: "i-2" }));
    expect(
      await registry.applyChange({ nodeId: "i-1", when: {}, putStreams: { cam9: live("1") }, claim: { cam9: "1" } }),
    ).toMatchObject({ applied: true });
    const taken = await registry.applyChange({
      nodeId: "i-2",
      when: {},
      putStreams: { cam9: live("2") },
      claim: { cam9: "2" },
    });
    expect(taken).toMatchObject({ applied: false, conflict: "claimed", claimedBy: "i-1" });
    expect((await registry.getNode("i-2"))?.streams).toEqual({});
    expect(
      await registry.applyChange({ nodeId: "i-2", when: {}, set: { lastHeartbeatAt: T0 }, unclaim: ["cam9"] }),
    ).toMatchObject({
      applied: false,
      conflict: "claimed",
    });
    // The holder takes it again (a new connection), then gives it back; then anyone may.
    expect(
      (await registry.applyChange({ nodeId: "i-1", when: {}, set: { lastHeartbeatAt: T0 }, claim: { cam9: "7" } }))
        .applied,
    ).toBe(true);
    expect(await registry.claimOf("cam9")).toEqual({ stream: "cam9", nodeId: "i-1", clientId: "7" });
    expect(
      (await registry.applyChange({ nodeId: "i-1", when: {}, removeStreams: ["cam9"], unclaim: ["cam9"] })).applied,
    ).toBe(true);
    expect(await registry.claimOf("cam9")).toBeUndefined();
    expect(
      (await registry.applyChange({ nodeId: "i-2", when: {}, putStreams: { cam9: live("2") }, claim: { cam9: "2" } }))
        .applied,
    ).toBe(true);
  });

  it("a failed node condition takes no claim and writes no tombstone", async () => {
    const failed = await registry.applyChange({
      nodeId: "i-1",
      when: { states: ["DEAD"] },
      putStreams: { cam6: live("6") },
      claim: { cam6: "6" },
      putEnded: { "6/x": T0 + 100 },
    });
    expect(failed).toMatchObject({ applied: false, conflict: "node", node: base });
    expect(await registry.claimOf("cam6")).toBeUndefined();
    expect(
      (
        await registry.applyChange({
          nodeId: "i-1",
          when: { notEnded: { keys: ["6/x"], at: T0 } },
          set: { lastHeartbeatAt: T0 },
        })
      ).applied,
    ).toBe(true);
  });

  it("releases the claims of a node with more streams than one atomic write holds", async () => {
    const names = Array.from({ length: 120 }, (_, i) => `cam-${i}`);
    const streams = Object.fromEntries(names.map((name, i) => [name, live(String(i))]));
    await registry.applyChange({
      nodeId: "i-1",
      when: {},
      putStreams: streams,
      claim: Object.fromEntries(names.slice(0, 90).map((n, i) => [n, String(i)])),
    });
    await registry.applyChange({
      nodeId: "i-1",
      when: {},
      claim: Object.fromEntries(names.slice(90).map((n, i) => [n, String(i + 90)])),
    });
    expect(await registry.claimOf("cam-119")).toMatchObject({ nodeId: "i-1" });
    const dead = await registry.applyChange({
      nodeId: "i-1",
      when: {},
      set: { state: "DEAD" },
      removeStreams: names,
      unclaim: names,
    });
    expect(dead.applied).toBe(true);
    for (const name of ["cam-0", "cam-98", "cam-99", "cam-119"]) expect(await registry.claimOf(name)).toBeUndefined();
  });

  it("stores stream names that are JavaScript object members like any other", async () => {
    const names = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    const streams = Object.fromEntries(names.map((name, i) => [name, live(String(i))]));
    const node = makeNode({ nodeId: "i-3", streams });
    expect(await registry.createNode(node)).toBe(true);
    const read = await registry.getNode("i-3");
    expect(Object.keys(read?.streams ?? {}).sort()).toEqual([...names].sort());
    expect(Object.hasOwn(read?.streams ?? {}, "__proto__")).toBe(true);
    const removed = await registry.applyChange({
      nodeId: "i-3",
      when: { streams: { __proto__: { state: "LIVE", clientId: "0" } } as never },
      removeStreams: ["__proto__"],
    });
    expect(removed.applied).toBe(true);
    expect(Object.keys((await registry.getNode("i-3"))?.streams ?? {}).sort()).toEqual(names.slice(1).sort());
  });

  it("lists a camera noted waiting until its time, not after", async () => {
    await registry.noteWaiting("cam9", T0 + 60_000);
    expect(await registry.waitingCameras(T0, 10)).toEqual([{ stream: "cam9", until: T0 + 60_000 }]);
    expect(await registry.waitingCameras(T0 + 59_999, 10)).toEqual([{ stream: "cam9", until: T0 + 60_000 }]);
    expect(await registry.waitingCameras(T0 + 60_000, 10)).toEqual([]);
  });

  it("lists a camera noted twice once, with the later time", async () => {
    await registry.noteWaiting("cam9", T0 + 60_000);
    await registry.noteWaiting("cam9", T0 + 75_000);
    expect(await registry.waitingCameras(T0 + 60_000, 10)).toEqual([{ stream: "cam9", until: T0 + 75_000 }]);
  });

  it("lists the first `limit` waiting cameras in stream name order, past the expired ones", async () => {
    for (const name of ["c", "a", "e", "b", "d"]) await registry.noteWaiting(name, T0 + 60_000);
    for (const name of ["a0", "a1", "a2"]) await registry.noteWaiting(name, T0 - 1);
    const listed = async (limit: number) => (await registry.waitingCameras(T0, limit)).map((w) => w.stream);
    expect(await listed(10)).toEqual(["a", "b", "c", "d", "e"]);
    expect(await listed(2)).toEqual(["a", "b"]);
    // The waiting cameras are not nodes, and no node's record changed.
    expect((await registry.listNodes({ consistent: true })).map((n) => n.nodeId)).toEqual(["i-1"]);
  });

  it("deletes a node only in the given states", async () => {
    expect(await registry.deleteNode("i-1", ["DEAD"])).toBe(false);
    expect(await registry.deleteNode("i-1", ["ACTIVE", "DEAD"])).toBe(true);
    expect(await registry.getNode("i-1")).toBeUndefined();
    expect(await registry.deleteNode("i-1", ["ACTIVE"])).toBe(false);
  });
});

describe("both adapters agree on random change sequences", () => {
  /** A seeded source of numbers in [0, 1) (the simulator's), so a failure is reproducible from its seed. */
  const rng = (seed: number) => {
    const random = new Random(seed);
    return () => random.next();
  };
  const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  function randomChange(random: () => number, step: number): NodeChange {
    const names = ["a", "b", "c", "d"];
    const states: NodeState[] = ["PENDING", "ACTIVE", "DRAINING", "DEAD"];
    const name = pick(random, names);
    const when: Record<string, unknown> = {};
    if (random() < 0.4) when.states = [pick(random, states), pick(random, states)];
    if (random() < 0.3) when.slotsBelow = Math.floor(random() * 5);
    if (random() < 0.2) when.slotsEqual = Math.floor(random() * 3);
    if (random() < 0.2) when.cpuAt = random() < 0.5 ? null : T0 + Math.floor(random() * 3);
    if (random() < 0.5) {
      when.streams = {
        [name]:
          random() < 0.5
            ? { absent: true }
            : {
                state: pick(random, ["LIVE", "RESERVED"] as const),
                clientId: random() < 0.5 ? String(Math.floor(random() * 3)) : undefined,
              },
      };
    }
    if (random() < 0.2) when.notEnded = { keys: [`${Math.floor(random() * 3)}/${name}`], at: T0 + step };
    const other = pick(
      random,
      names.filter((n) => n !== name),
    );
    const clientId = String(Math.floor(random() * 3));
    return {
      nodeId: pick(random, ["i-1", "i-1", "i-2", "i-missing"]),
      when: when as NodeChange["when"],
      set:
        random() < 0.5
          ? { state: pick(random, states), cpu: { percent: step, streams: 0, at: T0 + Math.floor(random() * 3) } }
          : { lastHeartbeatAt: T0 + step },
      putStreams:
        random() < 0.6
          ? { [name]: random() < 0.5 ? live(String(Math.floor(random() * 3))) : reserved(T0 + step) }
          : undefined,
      removeStreams: random() < 0.4 ? [other] : undefined,
      putEnded: random() < 0.2 ? { [`${Math.floor(random() * 3)}/${name}`]: T0 + step + 5 } : undefined,
      claim: random() < 0.3 ? { [name]: clientId } : undefined,
      unclaim: random() < 0.2 ? [other] : undefined,
    };
  }

  it.each([1, 2, 3])("seed %i: 60 random changes give the same outcomes and the same record", async (seed) => {
    const memory = new MemoryRegistry();
    const { registry: dynamo } = await freshDynamoRegistry("differential");
    for (const start of [makeNode({ nodeId: "i-1" }), makeNode({ nodeId: "i-2" })]) {
      await memory.createNode(start);
      await dynamo.createNode(start);
    }
    const random = rng(seed);
    for (let step = 0; step < 60; step++) {
      const change = randomChange(random, step);
      const [m, d] = await Promise.all([memory.applyChange(change), dynamo.applyChange(change)]);
      const summary = (o: typeof m) => ({ step, applied: o.applied, conflict: o.applied ? undefined : o.conflict });
      expect(summary(d)).toEqual(summary(m));
    }
    for (const id of ["i-1", "i-2"]) expect(await dynamo.getNode(id)).toEqual(await memory.getNode(id));
    for (const name of ["a", "b", "c", "d"]) expect(await dynamo.claimOf(name)).toEqual(await memory.claimOf(name));
  });
});
