/**
 * The nodes with room (D16 in docs/ARCHITECTURE.md): resolve and publish read the first few nodes
 * listed with room instead of the fleet, the core's writes keep each node's listing right, and fill
 * order holds over the listing.
 */
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import type { Registry } from "../../lambdas/core/registry";
import { ROOM_READ_LIMIT } from "../../lambdas/core/room-index";
import { endStream, publishStream, resolveStream, type StreamDeps } from "../../lambdas/core/streams";
import { makeConfig, makeHarness, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

const live = (count: number, prefix: string): Record<string, StreamSlot> =>
  Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`${prefix}-${i}`, { state: "LIVE", since: T0, clientId: String(i) }]),
  );

async function fleet(nodes: MediaNode[], config = makeConfig({ maxStreamsPerNode: 2 })) {
  const registry = new MemoryRegistry();
  for (const node of nodes) await registry.createNode(node);
  const clock = new TestClock();
  const deps: StreamDeps = { registry, config, now: clock.now };
  const listed = async () => (await registry.nodesWithRoom(10)).map((n) => n.nodeId);
  return { registry, clock, deps, listed };
}

/** The registry, counting the node records each call hands back. */
function counting(registry: Registry) {
  const counted: Registry = Object.create(registry);
  const reads = { items: 0 };
  counted.listNodes = async (options) => {
    const nodes = await registry.listNodes(options);
    reads.items += nodes.length;
    return nodes;
  };
  counted.nodesWithRoom = async (limit) => {
    const nodes = await registry.nodesWithRoom(limit);
    reads.items += nodes.length;
    return nodes;
  };
  counted.getNode = async (nodeId) => {
    const node = await registry.getNode(nodeId);
    if (node) reads.items++;
    return node;
  };
  return { counted, reads };
}

describe("the listing of nodes with room", () => {
  it("lists the first nodes with room in fill order (launch time, then id), at most the limit asked", async () => {
    const { registry } = await fleet([
      makeNode({ nodeId: "c", launchedAt: T0 + 2 }),
      makeNode({ nodeId: "b", launchedAt: T0 }),
      makeNode({ nodeId: "a", launchedAt: T0 }),
      makeNode({ nodeId: "z", launchedAt: T0 - 1, hasRoom: undefined }),
    ]);
    expect((await registry.nodesWithRoom(2)).map((n) => n.nodeId)).toEqual(["a", "b"]);
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).toEqual(["a", "b", "c"]);
  });

  it("the write that takes a node's last slot unlists it, and the next camera goes to the next node", async () => {
    const { deps, listed } = await fleet([makeNode({ nodeId: "a" }), makeNode({ nodeId: "b", launchedAt: T0 + 1 })]);
    await resolveStream(deps, "c1");
    expect(await listed()).toEqual(["a", "b"]);
    await resolveStream(deps, "c2");
    expect(await listed()).toEqual(["b"]);
    expect(await resolveStream(deps, "c3")).toMatchObject({ kind: "placed", stream: { nodeId: "b" } });
  });

  it.each([
    [1, ["a", "b"], "a"],
    [2, ["b"], "b"],
  ])(
    "with reopenSlots %i, one stream's end on a full node of 2 lists it %j: the next camera goes to %s",
    async (reopenSlots, after, next) => {
      const full = makeNode({ nodeId: "a", streams: live(2, "cam"), hasRoom: undefined });
      const config = makeConfig({ maxStreamsPerNode: 2, reopenSlots });
      const { deps, listed } = await fleet([full, makeNode({ nodeId: "b", launchedAt: T0 + 1 })], config);
      expect(await listed()).toEqual(["b"]);
      await endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: "cam-0", clientId: "0" });
      expect(await listed()).toEqual(after);
      expect(await resolveStream(deps, "next")).toMatchObject({ kind: "placed", stream: { nodeId: next } });
    },
  );

  it("a full node reopens once reopenSlots of its slots are free, and fills in order again", async () => {
    const full = makeNode({ nodeId: "a", streams: live(4, "cam"), hasRoom: undefined });
    const config = makeConfig({ maxStreamsPerNode: 4, reopenSlots: 2 });
    const { deps, listed } = await fleet([full, makeNode({ nodeId: "b", launchedAt: T0 + 1 })], config);
    const end = (i: number) =>
      endStream(deps, { nodeId: "a", secret: testNodeSecret("a"), stream: `cam-${i}`, clientId: `${i}` });
    await end(0);
    expect(await listed()).toEqual(["b"]);
    await end(1);
    expect(await listed()).toEqual(["a", "b"]);
    // Listed, it takes both cameras, not only the first.
    expect(await resolveStream(deps, "n1")).toMatchObject({ stream: { nodeId: "a" } });
    expect(await resolveStream(deps, "n2")).toMatchObject({ stream: { nodeId: "a" } });
    expect(await resolveStream(deps, "n3")).toMatchObject({ stream: { nodeId: "b" } });
  });

  it("a publish that fills its node unlists it", async () => {
    const { deps, listed } = await fleet([makeNode({ nodeId: "a", streams: live(1, "cam") })]);
    const report = { nodeId: "a", secret: testNodeSecret("a"), stream: "walk-in", clientId: "9" };
    expect(await publishStream(deps, report)).toMatchObject({ kind: "allowed" });
    expect(await listed()).toEqual([]);
  });

  it("a node is listed by the heartbeat that makes it ACTIVE, and the scaler's tick lists one whose reservations expired", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    // Heartbeats far apart: the nodes stay in good standing while the reservations expire.
    const config = makeConfig({ maxStreamsPerNode: 2, bufferNodes: 1, minNodes: 1, heartbeatSeconds: 300 });
    const { group, harness } = makeHarness(registry, clock, config);
    await harness.tick();
    expect(await registry.nodesWithRoom(10)).toEqual([]);
    for (const { instanceId } of (await group.describe()).instances) {
      await harness.heartbeat(instanceId, { cpuPercent: 5, streams: [] });
    }
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).toEqual(["i-1", "i-2"]);
    await harness.place("r1");
    await harness.place("r2");
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).toEqual(["i-2"]);
    // The two reservations expire unused: an expiry writes nothing, the scaler's next tick lists i-1 again.
    clock.advance(config.reservationTtlSeconds + 1);
    await harness.tick();
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).toEqual(["i-1", "i-2"]);
  });

  it("the scaler's tick unlists a node listed without room (a listing a lost write left behind)", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const config = makeConfig({ maxStreamsPerNode: 2 });
    const { group, harness } = makeHarness(registry, clock, config);
    await harness.tick();
    const [first] = (await group.describe()).instances;
    await harness.heartbeat(first?.instanceId ?? "", { cpuPercent: 5, streams: [] });
    await registry.applyChange({ nodeId: "i-1", when: {}, putStreams: live(2, "cam"), set: { hasRoom: true } });
    await harness.tick();
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).not.toContain("i-1");
  });
});

describe("fill order over the listing", () => {
  it.each<[string, MediaNode[], string]>([
    [
      "the oldest listed node with room, whatever order the nodes were listed in",
      [makeNode({ nodeId: "new", launchedAt: T0 + 9 }), makeNode({ nodeId: "old", launchedAt: T0 + 1 })],
      "old",
    ],
    [
      "past an older node listed without room (a stale listing)",
      [makeNode({ nodeId: "full", streams: live(2, "cam") }), makeNode({ nodeId: "next", launchedAt: T0 + 1 })],
      "next",
    ],
    [
      "past an older node listed that is not ACTIVE",
      [
        makeNode({ nodeId: "draining", state: "DRAINING", hasRoom: true }),
        makeNode({ nodeId: "b", launchedAt: T0 + 1 }),
      ],
      "b",
    ],
  ])("a camera goes to %s", async (_, nodes, expected) => {
    const { deps } = await fleet(nodes);
    expect(await resolveStream(deps, "cam")).toMatchObject({ kind: "placed", stream: { nodeId: expected } });
  });
});

describe("a control plane flat in fleet size", () => {
  /** `size` nodes of 46 live streams each, room for 50 (at 1% CPU a stream): the listing holds them all. */
  async function bigFleet(size: number) {
    const nodes = Array.from({ length: size }, (_, i) =>
      makeNode({ nodeId: `n${String(i).padStart(3, "0")}`, launchedAt: T0 + i, streams: live(46, `n${i}`) }),
    );
    return fleet(nodes, makeConfig({ maxStreamsPerNode: 50, streamCpuCostPercent: 1 }));
  }

  async function readsOf(size: number) {
    const { registry, deps } = await bigFleet(size);
    const { counted, reads } = counting(registry);
    const placed = await resolveStream({ ...deps, registry: counted }, "new-cam");
    const resolve = reads.items;
    if (placed.kind !== "placed") throw new Error(`resolve answered ${placed.kind}`);
    const nodeId = placed.stream.nodeId;
    await publishStream(
      { ...deps, registry: counted },
      { nodeId, secret: testNodeSecret(nodeId), stream: "new-cam", clientId: "1" },
    );
    return { resolve, publish: reads.items - resolve };
  }

  it("a resolve and a publish read as many node records at 500 nodes as at 10, at most the listing's first few and one", async () => {
    const small = await readsOf(10);
    const large = await readsOf(500);
    expect(large).toEqual(small);
    expect(small.resolve).toBeLessThanOrEqual(ROOM_READ_LIMIT);
    expect(small.publish).toBeLessThanOrEqual(ROOM_READ_LIMIT + 1);
  });
});

describe("the upgrade to node items of their own (docs/DEPLOY.md)", () => {
  it("a fleet whose node records are gone is rebuilt: the scaler registers each instance, its next heartbeat brings its live streams back, listed", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    // A rebuilt node is not listed yet: with one slot to reopen, its one free slot lists it.
    const config = makeConfig({ maxStreamsPerNode: 2, bufferNodes: 1, minNodes: 1, reopenSlots: 1 });
    const { group, harness } = makeHarness(registry, clock, config);
    const instances = async () => (await group.describe()).instances.map((i) => i.instanceId);
    await harness.tick();
    for (const id of await instances()) await harness.heartbeat(id, { cpuPercent: 5, streams: [] });
    expect(await harness.camera("cam1")).toBe("i-1");
    const publishing = new Map<string, Awaited<ReturnType<typeof harness.registeredStreams>>>();
    for (const id of await instances()) publishing.set(id, await harness.registeredStreams(id));
    // The new code reads no `pk = NODE` item: to it, every record is gone.
    for (const id of await instances()) await registry.deleteNode(id, ["ACTIVE"]);
    await harness.tick();
    for (const id of await instances())
      await harness.heartbeat(id, { cpuPercent: 5, streams: publishing.get(id) ?? [] });
    const nodes = await registry.listNodes();
    expect(nodes.map((n) => [n.nodeId, n.state, Object.keys(n.streams)])).toEqual([
      ["i-1", "ACTIVE", ["cam1"]],
      ["i-2", "ACTIVE", []],
    ]);
    expect(await registry.claimOf("cam1")).toMatchObject({ nodeId: "i-1" });
    expect((await registry.nodesWithRoom(10)).map((n) => n.nodeId)).toEqual(["i-1", "i-2"]);
  });
});
