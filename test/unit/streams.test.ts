import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { NodeRefusedError } from "../../lambdas/core/fleet";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import { type ChangeOutcome, ChangeRefusedError, type NodeChange, type Registry } from "../../lambdas/core/registry";
import { listingRepair } from "../../lambdas/core/room-index";
import {
  decidePublish,
  ENDED_RETENTION_MS,
  endStream,
  MAX_ATTEMPTS,
  publishStream,
  resolveStream,
  type StreamDeps,
} from "../../lambdas/core/streams";
import { makeConfig, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

async function fleet(nodes: MediaNode[], config = makeConfig({ maxStreamsPerNode: 2 })) {
  const registry = new MemoryRegistry();
  for (const node of nodes) await registry.createNode(node);
  const clock = new TestClock();
  const deps: StreamDeps = { registry, config, now: clock.now };
  return { registry, clock, deps };
}

/** What a node's next heartbeat or the scaler's next tick does to its listing among the nodes with room. */
async function relist(deps: StreamDeps, nodeId: string): Promise<void> {
  const node = await deps.registry.getNode(nodeId);
  const repair = node && listingRepair(node, deps.now(), deps.config);
  if (repair) await deps.registry.applyChange(repair);
}

const twoNodes = () => [makeNode({ nodeId: "a" }), makeNode({ nodeId: "b", launchedAt: T0 + 1000 })];

describe("resolveStream", () => {
  it("fills the oldest node first, then the next: no round robin", async () => {
    const { deps } = await fleet(twoNodes());
    const placed = [];
    for (const cam of ["c1", "c2", "c3", "c4"]) {
      const outcome = await resolveStream(deps, cam);
      placed.push(outcome.kind === "placed" ? outcome.stream.nodeId : outcome.kind);
    }
    expect(placed).toEqual(["a", "a", "b", "b"]);
    expect((await resolveStream(deps, "c5")).kind).toBe("no_room");
  });

  it("reserves for reservationTtlSeconds and answers the same node again while the reservation holds", async () => {
    const { deps, registry, clock } = await fleet(twoNodes());
    const first = await resolveStream(deps, "cam");
    expect(first).toMatchObject({
      kind: "placed",
      created: true,
      stream: { state: "RESERVED", expiresAt: T0 + 60_000 },
    });
    clock.advance(30);
    expect(await resolveStream(deps, "cam")).toMatchObject({ kind: "placed", created: false, stream: { nodeId: "a" } });
    expect(Object.keys((await registry.getNode("a"))?.streams ?? {})).toEqual(["cam"]);
  });

  it("answers a live stream with its current node", async () => {
    const live: StreamSlot = { state: "LIVE", since: T0, clientId: "7" };
    const { deps } = await fleet([
      makeNode({ nodeId: "a" }),
      makeNode({ nodeId: "b", launchedAt: T0 + 1, streams: { cam: live } }),
    ]);
    expect(await resolveStream(deps, "cam")).toMatchObject({
      kind: "placed",
      created: false,
      stream: { nodeId: "b", state: "LIVE" },
    });
  });

  it("sweeps expired reservations and reuses their room once the node is listed again", async () => {
    const { deps, registry, clock } = await fleet([makeNode({ nodeId: "a" })]);
    await resolveStream(deps, "x1");
    await resolveStream(deps, "x2");
    expect((await resolveStream(deps, "x3")).kind).toBe("no_room");
    clock.advance(61);
    // An expiry writes nothing: the node's next heartbeat (or the scaler's tick) lists it again.
    expect((await resolveStream(deps, "x3")).kind).toBe("no_room");
    await relist(deps, "a");
    expect(await resolveStream(deps, "x3")).toMatchObject({ kind: "placed", stream: { nodeId: "a" } });
    expect(Object.keys((await registry.getNode("a"))?.streams ?? {}).sort()).toEqual(["x3"]);
  });

  it("re-reserves a stream whose own reservation expired, without counting it twice", async () => {
    const { deps, registry, clock } = await fleet([makeNode({ nodeId: "a" })]);
    await resolveStream(deps, "x1");
    await resolveStream(deps, "x2");
    clock.advance(61);
    await relist(deps, "a");
    await resolveStream(deps, "x1");
    await resolveStream(deps, "x2");
    const node = await registry.getNode("a");
    expect(Object.keys(node?.streams ?? {}).sort()).toEqual(["x1", "x2"]);
    expect(node?.streams.x1?.expiresAt).toBe(clock.ms + 60_000);
  });

  it("decides again on a fresh read when a concurrent writer took the slot", async () => {
    const { deps, registry } = await fleet(twoNodes());
    let calls = 0;
    const racing: Registry = Object.create(registry);
    racing.applyChange = async (change: NodeChange): Promise<ChangeOutcome> => {
      calls++;
      // Another resolver fills node a between our read and our write, once.
      if (calls === 1) {
        await registry.applyChange({ ...change, putStreams: { other1: { state: "LIVE", since: T0, clientId: "1" } } });
        await registry.applyChange({
          ...change,
          when: {},
          putStreams: { other2: { state: "LIVE", since: T0, clientId: "2" } },
        });
      }
      return registry.applyChange(change);
    };
    const outcome = await resolveStream({ ...deps, registry: racing }, "cam");
    expect(outcome).toMatchObject({ kind: "placed", stream: { nodeId: "b" } });
  });

  it("reports contention after MAX_ATTEMPTS lost races plus one per node, rather than looping forever", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const losing: Registry = Object.create(registry);
    let attempts = 0;
    losing.applyChange = async () => {
      attempts++;
      return { applied: false, conflict: "node" };
    };
    expect(await resolveStream({ ...deps, registry: losing }, "cam")).toEqual({ kind: "contended", refusedNodes: [] });
    expect(attempts).toBe(MAX_ATTEMPTS + 2);
  });

  it("passes over a node whose record the store refuses to change, for the next one in fill order", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const refusing: Registry = Object.create(registry);
    refusing.applyChange = async (change) => {
      if (change.nodeId === "a") throw new ChangeRefusedError("a", "its record would pass the item size limit");
      return registry.applyChange(change);
    };
    const outcome = await resolveStream({ ...deps, registry: refusing }, "cam");
    expect(outcome).toMatchObject({ kind: "placed", stream: { nodeId: "b" }, refusedNodes: ["a"] });
  });

  it("answers no room when every node with room refuses its write, naming them", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const refusing: Registry = Object.create(registry);
    refusing.applyChange = async (change) => {
      throw new ChangeRefusedError(change.nodeId, "too large");
    };
    expect(await resolveStream({ ...deps, registry: refusing }, "cam")).toEqual({
      kind: "no_room",
      refusedNodes: ["a", "b"],
    });
  });

  it("decides 'no room' only on a second read of the nodes with room (one may have just been listed)", async () => {
    const { deps, registry } = await fleet([makeNode({ nodeId: "a", state: "PENDING" })]);
    await registry.applyChange({ nodeId: "a", when: {}, set: { state: "ACTIVE", hasRoom: true } });
    const stale: Registry = Object.create(registry);
    let reads = 0;
    stale.nodesWithRoom = async (limit) => (reads++ === 0 ? [] : registry.nodesWithRoom(limit));
    expect(await resolveStream({ ...deps, registry: stale }, "cam")).toMatchObject({
      kind: "placed",
      stream: { nodeId: "a" },
    });
  });

  it("never chooses a node that is not ACTIVE", async () => {
    const { deps } = await fleet([
      makeNode({ nodeId: "p", state: "PENDING" }),
      makeNode({ nodeId: "d", state: "DRAINING" }),
      makeNode({ nodeId: "x", state: "DEAD" }),
    ]);
    expect((await resolveStream(deps, "cam")).kind).toBe("no_room");
  });
});

describe("decidePublish", () => {
  const config = makeConfig({ maxStreamsPerNode: 2 });
  const reserved = (expiresAt = T0 + 60_000): StreamSlot => ({ state: "RESERVED", since: T0, expiresAt });
  const live = (clientId: string): StreamSlot => ({ state: "LIVE", since: T0, clientId });
  const report = { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "5" };

  it.each<[string, MediaNode[], string, boolean]>([
    ["an unknown node", [makeNode({ nodeId: "b" })], "deny:unknown_node", false],
    ["a PENDING node", [makeNode({ nodeId: "a", state: "PENDING" })], "deny:node_not_active", false],
    ["a DRAINING node", [makeNode({ nodeId: "a", state: "DRAINING" })], "deny:node_not_active", false],
    ["a DEAD node", [makeNode({ nodeId: "a", state: "DEAD" })], "deny:node_not_active", false],
    ["a full node", [makeNode({ nodeId: "a", streams: { x: live("1"), y: live("2") } })], "deny:node_full", false],
    [
      "a stream live on another node",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "b", streams: { cam: live("9") } })],
      "deny:live_elsewhere",
      false,
    ],
    [
      "a duplicate on_publish of the same connection",
      [makeNode({ nodeId: "a", streams: { cam: live("5") } })],
      "allow",
      false,
    ],
    ["the reservation made here", [makeNode({ nodeId: "a", streams: { cam: reserved() } })], "allow", true],
    [
      "an expired reservation made here (its slot still counts)",
      [makeNode({ nodeId: "a", streams: { cam: reserved(T0 - 1) } })],
      "allow",
      true,
    ],
    [
      "a second publisher of a name live here",
      [makeNode({ nodeId: "a", streams: { cam: live("3") } })],
      "deny:already_live",
      false,
    ],
    [
      "a reconnect once rtmp_stat no longer lists the old connection",
      [makeNode({ nodeId: "a", streams: { cam: { ...live("3"), missingSince: T0 - 1000 } } })],
      "allow",
      true,
    ],
    ["a camera with no reservation, room here", [makeNode({ nodeId: "a" })], "allow", true],
    [
      "a camera reserved elsewhere, room here",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "b", streams: { cam: reserved() } })],
      "allow",
      true,
    ],
    [
      "a camera with no reservation, room here but an older node has room too",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "old", launchedAt: T0 - 1000 })],
      "deny:not_first_in_fill_order",
      false,
    ],
    [
      "a camera with no reservation, behind an older node that is full",
      [
        makeNode({ nodeId: "a" }),
        makeNode({ nodeId: "old", launchedAt: T0 - 1000, streams: { x: live("1"), y: live("2") } }),
      ],
      "allow",
      true,
    ],
    [
      "a camera with no reservation, behind an older node that is DRAINING",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "old", launchedAt: T0 - 1000, state: "DRAINING" })],
      "allow",
      true,
    ],
    [
      "a camera reserved on an older node with room",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "old", launchedAt: T0 - 1000, streams: { cam: reserved() } })],
      "deny:not_first_in_fill_order",
      false,
    ],
    [
      "a camera reserved here, behind an older node with room (resolved cameras are not re-ordered)",
      [makeNode({ nodeId: "a", streams: { cam: reserved() } }), makeNode({ nodeId: "old", launchedAt: T0 - 1000 })],
      "allow",
      true,
    ],
  ])("publish on %s: %s", (_, nodes, expected, writes) => {
    const decision = decidePublish(nodes, report, T0, config);
    expect(decision.kind === "deny" ? `deny:${decision.reason}` : "allow").toBe(expected);
    expect(decision.kind === "allow" && decision.change !== undefined).toBe(writes);
  });

  it.each<[string, string, MediaNode[]]>([
    ["a full node, no other", "node_full waits", [makeNode({ nodeId: "a", streams: { x: live("1"), y: live("2") } })]],
    [
      "a full node, an older node with room",
      "node_full",
      [
        makeNode({ nodeId: "a", streams: { x: live("1"), y: live("2") } }),
        makeNode({ nodeId: "old", launchedAt: T0 - 1000 }),
      ],
    ],
    [
      "a node behind an older one with room",
      "not_first_in_fill_order",
      [makeNode({ nodeId: "a" }), makeNode({ nodeId: "old", launchedAt: T0 - 1000 })],
    ],
    [
      "a node short of the slots to reopen, no other",
      "not_first_in_fill_order waits",
      [makeNode({ nodeId: "a", hasRoom: undefined, streams: { x: live("1") } })],
    ],
    [
      "a full node, the camera reserved on another full node",
      "node_full",
      [
        makeNode({ nodeId: "a", streams: { x: live("1"), y: live("2") } }),
        makeNode({ nodeId: "b", streams: { cam: reserved(), z: live("3") } }),
      ],
    ],
  ])(
    "a camera refused on %s waits for room only when it holds no slot and no node has room: %s",
    (_, expected, nodes) => {
      const decision = decidePublish(nodes, report, T0, makeConfig({ maxStreamsPerNode: 2, reopenSlots: 2 }));
      const waits = decision.kind === "deny" && decision.waitsForRoom ? " waits" : "";
      expect(decision.kind === "deny" ? `${decision.reason}${waits}` : "allow").toBe(expected);
    },
  );

  it("moves a reservation from the node the camera was given to the node it chose", () => {
    const nodes = [makeNode({ nodeId: "a" }), makeNode({ nodeId: "b", streams: { cam: reserved() } })];
    const decision = decidePublish(nodes, report, T0, config);
    expect(decision).toMatchObject({
      kind: "allow",
      releaseFrom: { nodeId: "b", stream: "cam", state: "RESERVED" },
    });
  });
});

describe("publishStream and endStream", () => {
  it("marks the stream LIVE with its connection, and done removes it", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await resolveStream(deps, "cam");
    expect(
      await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" }),
    ).toMatchObject({ kind: "allowed" });
    expect((await registry.getNode("a"))?.streams.cam).toMatchObject({ state: "LIVE", clientId: "1" });
    expect(
      await endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" }),
    ).toMatchObject({ kind: "removed" });
    expect((await registry.getNode("a"))?.streams).toEqual({});
  });

  it("a player's done (another clientid) leaves the live camera registered", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" });
    expect(await endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "2" })).toEqual({
      kind: "ignored",
    });
    expect((await registry.getNode("a"))?.streams.cam).toMatchObject({ state: "LIVE", clientId: "1" });
  });

  it("a done from another node leaves the stream registered", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" });
    expect(await endStream(deps, { nodeId: "b", secret: testNodeSecret("b"), stream: "cam", clientId: "1" })).toEqual({
      kind: "ignored",
    });
    expect((await registry.getNode("a"))?.streams.cam?.state).toBe("LIVE");
  });

  it("duplicate callbacks change nothing more", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const report = { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" };
    await publishStream(deps, report);
    await publishStream(deps, report);
    expect(Object.keys((await registry.getNode("a"))?.streams ?? {})).toEqual(["cam"]);
    await endStream(deps, report);
    expect(await endStream(deps, report)).toEqual({ kind: "ignored" });
    expect((await registry.getNode("a"))?.streams).toEqual({});
  });

  it("done before publish: the late publish is refused and nothing stays registered", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const report = { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" };
    expect(await endStream(deps, report)).toEqual({ kind: "ignored" });
    expect(await publishStream(deps, report)).toEqual({ kind: "denied", reason: "already_ended" });
    expect((await registry.getNode("a"))?.streams).toEqual({});
    // Another connection of the same camera is not affected by the tombstone.
    expect(await publishStream(deps, { ...report, clientId: "2" })).toMatchObject({ kind: "allowed" });
  });

  it.each([
    ["an unknown node", "zz", testNodeSecret("zz")],
    ["another node's secret", "a", testNodeSecret("b")],
  ])("refuses a done in the name of %s, and writes nothing", async (_, nodeId, secret) => {
    const { deps, registry } = await fleet(twoNodes());
    await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" });
    const before = await registry.listNodes();
    await expect(endStream(deps, { nodeId, secret, stream: "cam", clientId: "1" })).rejects.toBeInstanceOf(
      NodeRefusedError,
    );
    await expect(endStream(deps, { nodeId, secret, stream: "other", clientId: "9" })).rejects.toBeInstanceOf(
      NodeRefusedError,
    );
    expect(await registry.listNodes()).toEqual(before);
  });

  it("refuses a done in the name of a DEAD node (its credential is void)", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await registry.applyChange({ nodeId: "a", when: {}, set: { state: "DEAD" } });
    await expect(
      endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" }),
    ).rejects.toBeInstanceOf(NodeRefusedError);
  });

  it("a camera that publishes to the node first in fill order, not the one it was given, moves its reservation there", async () => {
    const { deps, registry } = await fleet(twoNodes(), makeConfig({ maxStreamsPerNode: 2, reopenSlots: 1 }));
    await resolveStream(deps, "c1");
    await resolveStream(deps, "c2");
    await resolveStream(deps, "cam"); // reserved on b: a is full
    await registry.applyChange({ nodeId: "a", when: {}, removeStreams: ["c2"] }); // a has room again
    expect(
      await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "4" }),
    ).toMatchObject({
      kind: "allowed",
      movedFrom: "b",
    });
    expect((await registry.getNode("b"))?.streams).toEqual({});
    expect((await registry.getNode("a"))?.streams.cam).toMatchObject({ state: "LIVE", clientId: "4" });
  });

  it("a camera that publishes to a node behind the first in fill order is refused, its reservation kept", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await resolveStream(deps, "cam"); // reserved on a
    const before = await registry.listNodes();
    expect(
      await publishStream(deps, { nodeId: "b", secret: testNodeSecret("b"), stream: "cam", clientId: "4" }),
    ).toEqual({ kind: "denied", reason: "not_first_in_fill_order", waitsForRoom: false });
    expect(await registry.listNodes()).toEqual(before);
  });

  it("a full node refuses a camera that resolved elsewhere", async () => {
    const { deps, registry } = await fleet(twoNodes());
    await resolveStream(deps, "c1");
    await resolveStream(deps, "c2");
    await resolveStream(deps, "c3"); // on b
    expect(
      await publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "c3", clientId: "9" }),
    ).toEqual({
      kind: "denied",
      reason: "node_full",
      waitsForRoom: false,
    });
    expect((await registry.getNode("b"))?.streams.c3?.state).toBe("RESERVED");
  });

  it("a tombstone refuses the late publish for ENDED_RETENTION_MS, not after", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const report = { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" };
    await endStream(deps, report);
    const later = { ...deps, now: () => T0 + ENDED_RETENTION_MS - 1 };
    expect(await publishStream(later, report)).toEqual({ kind: "denied", reason: "already_ended" });
    // Past it, a connection of that id is another one (nginx restarted and counts ids from 1 again).
    const past = { ...deps, now: () => T0 + ENDED_RETENTION_MS };
    expect(await publishStream(past, report)).toMatchObject({ kind: "allowed" });
    expect((await registry.getNode("a"))?.streams.cam).toMatchObject({ state: "LIVE", clientId: "1" });
  });

  it("a done writes nothing into the node's record, whatever it names", async () => {
    const { deps, registry } = await fleet(twoNodes());
    const before = await registry.getNode("a");
    for (let i = 0; i < 50; i++)
      await endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: `cam${i}`, clientId: String(i) });
    expect(await registry.getNode("a")).toEqual(before);
  });

  it("one name is live on one node only: a concurrent publish elsewhere is refused by the claim", async () => {
    // Reserved on b, so that b admits it; a, first in fill order, admits it too.
    const [a, b] = twoNodes();
    const reservation: StreamSlot = { state: "RESERVED", since: T0, expiresAt: T0 + 60_000 };
    const { deps, registry } = await fleet([a as MediaNode, { ...(b as MediaNode), streams: { cam: reservation } }]);
    // Both publishes read the fleet before either writes.
    const [first, second] = await Promise.all([
      publishStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam", clientId: "1" }),
      publishStream(deps, { nodeId: "b", secret: testNodeSecret("b"), stream: "cam", clientId: "2" }),
    ]);
    expect([first.kind, second.kind].sort()).toEqual(["allowed", "denied"]);
    expect(second.kind === "denied" ? second.reason : first.kind === "denied" && first.reason).toBe("live_elsewhere");
    const holders = (await registry.listNodes()).filter((n) => n.streams.cam?.state === "LIVE");
    expect(holders).toHaveLength(1);
    expect(await registry.claimOf("cam")).toMatchObject({ nodeId: holders[0]?.nodeId });
  });
});

describe("a burst against one registry", () => {
  it("places 1000 simultaneous resolves over 30 nodes, filling them in order, none lost or over room", async () => {
    const registry = new MemoryRegistry();
    for (let i = 0; i < 30; i++)
      await registry.createNode(makeNode({ nodeId: `n${String(i).padStart(2, "0")}`, launchedAt: T0 + i }));
    // Every resolve reads the nodes with room before any writes: the worst case, everyone races for n00 first.
    const reads: (() => void)[] = [];
    const racing: Registry = Object.create(registry);
    let first = true;
    racing.nodesWithRoom = async (limit) => {
      const nodes = await registry.nodesWithRoom(limit);
      if (first) await new Promise<void>((resolve) => reads.push(resolve));
      return nodes;
    };
    const deps = { registry: racing, config: makeConfig({ maxStreamsPerNode: 40 }), now: () => T0 };
    const all = Array.from({ length: 1000 }, (_, i) => resolveStream(deps, `cam${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    first = false;
    for (const release of reads) release();
    const outcomes = await Promise.all(all);
    expect(outcomes.filter((o) => o.kind === "placed")).toHaveLength(1000);
    const nodes = await registry.listNodes();
    expect(nodes.map((n) => Object.keys(n.streams).length).filter((count) => count > 40)).toEqual([]);
    expect(nodes.filter((n) => Object.keys(n.streams).length === 40).map((n) => n.nodeId)).toEqual(
      Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, "0")}`),
    );
  });
});
