import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { NodeRefusedError } from "../../lambdas/core/fleet";
import {
  type HeartbeatReport,
  MAX_STREAMS_ADDED_PER_BEAT,
  reconcile,
  reconcileGraceMs,
  recordHeartbeat,
} from "../../lambdas/core/heartbeat";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import { applyEdits, conditionHolds } from "../../lambdas/core/registry";
import { makeConfig, makeGroup, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

const config = makeConfig();
const NOW = T0 + 3_600_000;
const report = (streams: [string, string][], overrides: Partial<HeartbeatReport> = {}): HeartbeatReport => ({
  nodeId: "n1",
  secret: testNodeSecret(overrides.nodeId ?? "n1"),
  ready: true,
  cpuPercent: 30,
  streams: streams.map(([name, clientId]) => ({ name, clientId })),
  ...overrides,
});
const liveSlot = (clientId: string, extra: Partial<StreamSlot> = {}): StreamSlot => ({
  state: "LIVE",
  since: T0,
  clientId,
  ...extra,
});

/** Applies the reconcile change to the node, checking its conditions hold against the node read. */
function reconciled(node: MediaNode, r: HeartbeatReport, elsewhere: string[] = []): MediaNode {
  const change = reconcile(node, r, NOW, config, new Set(elsewhere));
  expect(conditionHolds(node, change.when)).toBe(true);
  return applyEdits(node, change);
}

describe("reconcile: the registry follows rtmp_stat", () => {
  const node = (streams: Record<string, StreamSlot>, overrides: Partial<MediaNode> = {}) =>
    makeNode({ nodeId: "n1", rtmpBaseUrl: "rtmp://n1.test:1935/live", streams, ...overrides });

  it.each<[string, Record<string, StreamSlot>, [string, string][], Record<string, Partial<StreamSlot> | undefined>]>([
    [
      "a listed live stream stays as it is",
      { a: liveSlot("1") },
      [["a", "1"]],
      { a: { state: "LIVE", clientId: "1", since: T0 } },
    ],
    [
      "a stream the registry lacks is added live",
      {},
      [["a", "7"]],
      { a: { state: "LIVE", clientId: "7", since: NOW } },
    ],
    [
      "a reservation listed as publishing becomes live",
      { a: { state: "RESERVED", since: T0, expiresAt: NOW + 1 } },
      [["a", "3"]],
      { a: { state: "LIVE", clientId: "3" } },
    ],
    [
      "a reconnect updates the client id",
      { a: liveSlot("1") },
      [["a", "9"]],
      { a: { state: "LIVE", clientId: "9", since: T0 } },
    ],
    [
      "a missing live stream is marked missing first",
      { a: liveSlot("1") },
      [],
      { a: { state: "LIVE", missingSince: NOW } },
    ],
    [
      "a stream missing within the grace stays",
      { a: liveSlot("1", { missingSince: NOW - reconcileGraceMs(config) + 1 }) },
      [],
      { a: { missingSince: NOW - reconcileGraceMs(config) + 1 } },
    ],
    [
      "a stream missing past the grace is removed",
      { a: liveSlot("1", { missingSince: NOW - reconcileGraceMs(config) }) },
      [],
      { a: undefined },
    ],
    [
      "a stream listed again is no longer missing",
      { a: liveSlot("1", { missingSince: NOW - 1000 }) },
      [["a", "1"]],
      { a: { state: "LIVE" } },
    ],
    [
      "a reservation not listed is left to expire",
      { a: { state: "RESERVED", since: T0, expiresAt: NOW + 1 } },
      [],
      { a: { state: "RESERVED" } },
    ],
  ])("%s", (_, streams, listed, expected) => {
    const result = reconciled(node(streams), report(listed));
    for (const [name, slot] of Object.entries(expected)) {
      if (slot === undefined) expect(result.streams[name]).toBeUndefined();
      else expect(result.streams[name]).toMatchObject(slot);
      if (slot && listed.some(([n]) => n === name)) expect(result.streams[name]?.missingSince).toBeUndefined();
    }
  });

  const grace = reconcileGraceMs(config);
  it.each<[string, StreamSlot, number | undefined, Partial<StreamSlot>]>([
    [
      "a lost play_done is repaired: the node's count, once no callback changed it for the grace period",
      liveSlot("1", { viewers: 3, viewersChangedAt: NOW - grace }),
      1,
      { viewers: 1, viewersChangedAt: NOW },
    ],
    [
      "a count a play or play_done changed within the grace period is left: the node's figure may predate it",
      liveSlot("1", { viewers: 3, viewersChangedAt: NOW - grace + 1 }),
      1,
      { viewers: 3, viewersChangedAt: NOW - grace + 1 },
    ],
    [
      "players the registry never counted (a camera's slot taken over) are counted",
      liveSlot("1"),
      2,
      { viewers: 2, viewersChangedAt: NOW },
    ],
    ["an agent that does not count players changes no count", liveSlot("1", { viewers: 3 }), undefined, { viewers: 3 }],
    [
      "a reconnect keeps the count: players stay attached to the name",
      liveSlot("0", { viewers: 2, viewersChangedAt: NOW - 1 }),
      2,
      { clientId: "1", viewers: 2, viewersChangedAt: NOW - 1 },
    ],
  ])("%s", (_, slot, viewers, expected) => {
    const r: HeartbeatReport = { ...report([]), streams: [{ name: "a", clientId: "1", viewers }] };
    expect(reconciled(node({ a: slot }), r).streams.a).toMatchObject(expected);
  });

  it("does not add a stream that is live on another node", () => {
    expect(reconciled(node({}), report([["a", "1"]]), ["a"]).streams).toEqual({});
  });

  it("pairs the CPU with the streams live through the whole period it averages", () => {
    // a was live before the period began; b arrived within it (its cost is only partly in the CPU);
    // c is new to the registry.
    const streams = { a: liveSlot("1", { since: NOW - 60_000 }), b: liveSlot("2", { since: NOW - 5_000 }) };
    const result = reconciled(
      node(streams),
      report([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]),
    );
    expect(result.cpu).toEqual({ percent: 30, at: NOW, streams: 1 });
  });

  it("pairs the CPU with the agent's average stream count over the period when it sends one", () => {
    const result = reconciled(node({ a: liveSlot("1") }), report([["a", "1"]], { streamsAverage: 7.5 }));
    expect(result.cpu).toEqual({ percent: 30, at: NOW, streams: 7.5 });
  });

  it("teaches the node's CPU profile: its idle CPU from a reading with no stream, the fit from the others", () => {
    const idle = reconciled(node({}), report([], { cpuPercent: 4, streamsAverage: 0 }));
    expect(idle.cpuProfile).toMatchObject({ idlePercent: 4, idleReadings: 1, readings: 0 });
    const busy = reconciled(idle, report([["a", "1"]], { cpuPercent: 36, streamsAverage: 20 }));
    expect(busy.cpuProfile).toMatchObject({ idlePercent: 4, readings: 1, streams: 20, streamsTimesPercent: 720 });
    // A heartbeat without a CPU figure teaches nothing.
    expect(reconciled(busy, report([["a", "1"]], { cpuPercent: undefined })).cpuProfile).toEqual(busy.cpuProfile);
  });

  it("ignores the stream list and does not count as alive when nginx does not answer", () => {
    const result = reconciled(node({ a: liveSlot("1") }, { lastHeartbeatAt: T0 }), report([], { ready: false }));
    expect(result.streams.a).toEqual(liveSlot("1"));
    expect(result.lastHeartbeatAt).toBe(T0);
  });

  it.each<[string, MediaNode["state"], boolean, MediaNode["state"]]>([
    ["a PENDING node that is ready becomes ACTIVE", "PENDING", true, "ACTIVE"],
    ["a PENDING node not yet ready stays PENDING", "PENDING", false, "PENDING"],
    ["a SILENT node heard from again is ACTIVE", "SILENT", true, "ACTIVE"],
    ["a DRAINING node stays DRAINING", "DRAINING", true, "DRAINING"],
  ])("%s", (_, state, ready, expected) => {
    expect(reconciled(node({}, { state }), report([], { ready })).state).toBe(expected);
  });
});

describe("recordHeartbeat", () => {
  async function setup() {
    const registry = new MemoryRegistry();
    const clock = new TestClock(NOW);
    const { group } = makeGroup(registry, clock, { desired: 1 });
    await group.converge();
    const nodeId = (await group.describe()).instances[0]?.instanceId as string;
    return { registry, clock, group, nodeId, deps: { registry, fleet: group, config, now: clock.now } };
  }

  it("makes a launching node ACTIVE and lets its launch continue", async () => {
    const { deps, group, nodeId, registry } = await setup();
    expect((await registry.getNode(nodeId))?.state).toBe("PENDING");
    expect((await group.describe()).instances[0]?.lifecycleState).toBe("Pending:Wait");
    await recordHeartbeat(deps, report([], { nodeId, ready: false }));
    expect((await registry.getNode(nodeId))?.state).toBe("PENDING");
    const outcome = await recordHeartbeat(deps, report([], { nodeId }));
    // Its address is the one registered from the cloud, never one from a report.
    expect(outcome).toMatchObject({
      becameActive: true,
      node: { state: "ACTIVE", rtmpBaseUrl: `rtmp://${nodeId}.test:1935/live` },
    });
    expect((await group.describe()).instances[0]?.lifecycleState).toBe("InService");
  });

  it.each([
    ["an unknown id: it creates nothing", "i-unknown", testNodeSecret("i-unknown")],
    ["a registered node with another node's secret", "i-1", testNodeSecret("i-2")],
  ])("refuses a heartbeat from %s", async (_, nodeId, secret) => {
    const { deps, registry } = await setup();
    const before = await registry.listNodes();
    await expect(recordHeartbeat(deps, { ...report([["cam", "1"]], { nodeId }), secret })).rejects.toBeInstanceOf(
      NodeRefusedError,
    );
    expect(await registry.listNodes()).toEqual(before);
  });

  it("refuses a terminated node's secret: DEAD voids it", async () => {
    const { deps, registry, group, nodeId } = await setup();
    await recordHeartbeat(deps, report([], { nodeId }));
    await group.terminate(nodeId, false); // the terminate hook marks it DEAD
    expect((await registry.getNode(nodeId))?.state).toBe("DEAD");
    await expect(recordHeartbeat(deps, report([["cam7", "1"]], { nodeId }))).rejects.toBeInstanceOf(NodeRefusedError);
    expect((await registry.getNode(nodeId))?.state).toBe("DEAD");
  });

  it("never adds a stream that another node holds, live or reserved", async () => {
    const { deps, registry, nodeId } = await setup();
    await recordHeartbeat(deps, report([], { nodeId }));
    await registry.createNode(
      makeNode({
        nodeId: "other",
        streams: {
          cam7: { state: "LIVE", since: NOW, clientId: "3" },
          cam8: { state: "RESERVED", since: NOW, expiresAt: NOW + 60_000 },
        },
      }),
    );
    await recordHeartbeat(
      deps,
      report(
        [
          ["cam7", "1"],
          ["cam8", "2"],
          ["cam9", "3"],
        ],
        { nodeId },
      ),
    );
    expect(Object.keys((await registry.getNode(nodeId))?.streams ?? {})).toEqual(["cam9"]);
  });

  it(`adds at most ${MAX_STREAMS_ADDED_PER_BEAT} streams a heartbeat (a lying node cannot take names in bulk)`, async () => {
    const { deps, registry, nodeId } = await setup();
    await recordHeartbeat(deps, report([], { nodeId }));
    const many = Array.from({ length: 20 }, (_, i): [string, string] => [`cam${i}`, String(i + 1)]);
    await recordHeartbeat(deps, report(many, { nodeId }));
    expect(Object.keys((await registry.getNode(nodeId))?.streams ?? {})).toHaveLength(MAX_STREAMS_ADDED_PER_BEAT);
  });

  it("records the heartbeat even when continuing the launch fails, and reports the failure", async () => {
    const { deps, group, nodeId, registry } = await setup();
    group.completeLaunch = async () => {
      throw new Error("throttled");
    };
    const outcome = await recordHeartbeat(deps, report([], { nodeId }));
    expect(outcome).toMatchObject({ becameActive: true, followUpErrors: [new Error("throttled")] });
    expect((await registry.getNode(nodeId))?.state).toBe("ACTIVE");
  });

  it("protects a node on which the heartbeat found a stream", async () => {
    const { deps, group, nodeId, registry } = await setup();
    await group.setProtection([nodeId], false);
    await registry.applyChange({ nodeId, when: {}, set: { protectedFromScaleIn: false } });
    await recordHeartbeat(deps, report([["cam", "4"]], { nodeId }));
    expect((await group.describe()).instances[0]?.protectedFromScaleIn).toBe(true);
  });
});
