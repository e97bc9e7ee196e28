import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { admitPublish, type CameraDeps, placeCamera, WAITING_SECONDS } from "../../lambdas/core/cameras";
import { learnCpuProfile } from "../../lambdas/core/cpu-profile";
import { NodeRefusedError } from "../../lambdas/core/fleet";
import { onLifecycle } from "../../lambdas/core/lifecycle";
import type { CpuProfile } from "../../lambdas/core/model";
import type { InstanceAddresses, NodeCredentials } from "../../lambdas/core/ports";
import {
  makeConfig,
  makeGroup,
  makeHarness,
  makeNode,
  RecordingScaleOut,
  TestClock,
  testNodeSecret,
} from "../support/builders";

/** One ACTIVE node in an in-process group, unprotected, with room for one stream. */
async function oneNode() {
  const registry = new MemoryRegistry();
  const clock = new TestClock();
  const { group } = makeGroup(registry, clock, { desired: 1 });
  await group.converge();
  await group.setProtection(["i-1"], false);
  await registry.applyChange({
    nodeId: "i-1",
    when: {},
    set: { state: "ACTIVE", protectedFromScaleIn: false, rtmpBaseUrl: "rtmp://i-1.test:1935/live", hasRoom: true },
  });
  const scaleOut = new RecordingScaleOut();
  const deps: CameraDeps = {
    registry,
    fleet: group,
    config: makeConfig({ maxStreamsPerNode: 1 }),
    now: clock.now,
    scaleOut,
  };
  const isProtected = async () => (await group.describe()).instances[0]?.protectedFromScaleIn;
  return { registry, group, deps, scaleOut, isProtected };
}

const failing = (message: string) => async () => {
  throw new Error(message);
};

describe("placeCamera", () => {
  it("protects the node of a new reservation at once", async () => {
    const { deps, isProtected, registry } = await oneNode();
    expect(await placeCamera(deps, "cam")).toMatchObject({ kind: "placed", nodeProtected: true, followUpErrors: [] });
    expect(await isProtected()).toBe(true);
    expect((await registry.getNode("i-1"))?.protectedFromScaleIn).toBe(true);
  });

  it("notes the camera waiting and asks for a scale-out when no node has room", async () => {
    const { deps, scaleOut, registry } = await oneNode();
    await placeCamera(deps, "first");
    expect(await placeCamera(deps, "second")).toMatchObject({ kind: "no_room", followUpErrors: [] });
    expect(scaleOut.reasons).toEqual(["no room for stream second"]);
    const until = deps.now() + WAITING_SECONDS * 1000;
    expect(await registry.waitingCameras(deps.now(), 10)).toEqual([{ stream: "second", until }]);
  });

  it("notes no camera waiting when it places it", async () => {
    const { deps, registry } = await oneNode();
    await placeCamera(deps, "first");
    expect(await registry.waitingCameras(deps.now(), 10)).toEqual([]);
  });

  it("returns a failed waiting note, and still asks for a scale-out", async () => {
    const { deps, scaleOut, registry } = await oneNode();
    await placeCamera(deps, "first");
    registry.noteWaiting = failing("throttled");
    expect(await placeCamera(deps, "second")).toMatchObject({
      kind: "no_room",
      followUpErrors: [new Error("throttled")],
    });
    expect(scaleOut.reasons).toEqual(["no room for stream second"]);
  });

  it("returns a failed protection instead of failing: the reservation stands", async () => {
    const { deps, group, registry } = await oneNode();
    group.setProtection = failing("throttled");
    const outcome = await placeCamera(deps, "cam");
    expect(outcome).toMatchObject({ kind: "placed", nodeProtected: false, followUpErrors: [new Error("throttled")] });
    expect(Object.keys((await registry.getNode("i-1"))?.streams ?? {})).toEqual(["cam"]);
  });

  it("returns a failed scale-out request, and the answer is still no room", async () => {
    const { deps, scaleOut } = await oneNode();
    await placeCamera(deps, "first");
    scaleOut.request = failing("lambda unreachable");
    expect(await placeCamera(deps, "second")).toMatchObject({
      kind: "no_room",
      followUpErrors: [new Error("lambda unreachable")],
    });
  });
});

describe("admitPublish", () => {
  it("protects the node of an allowed publish", async () => {
    const { deps, isProtected } = await oneNode();
    const outcome = await admitPublish(deps, {
      nodeId: "i-1",
      secret: testNodeSecret("i-1"),
      stream: "cam",
      clientId: "1",
    });
    expect(outcome).toMatchObject({ kind: "allowed", nodeProtected: true });
    expect(await isProtected()).toBe(true);
  });

  it("protects nothing for a denied publish", async () => {
    const { deps, isProtected, registry } = await oneNode();
    await registry.applyChange({ nodeId: "i-1", when: {}, set: { state: "DRAINING" } });
    const outcome = await admitPublish(deps, {
      nodeId: "i-1",
      secret: testNodeSecret("i-1"),
      stream: "cam",
      clientId: "1",
    });
    expect(outcome).toMatchObject({ kind: "denied", reason: "node_not_active", nodeProtected: false });
    expect(await isProtected()).toBe(false);
  });

  /** The camera publishes on i-1 without resolving, as behind the fixed ingest address. */
  const unresolved = (stream: string, clientId: string) => ({
    nodeId: "i-1",
    secret: testNodeSecret("i-1"),
    stream,
    clientId,
  });

  it("a camera that did not resolve, refused because no node has room, waits as a resolve's does", async () => {
    const { deps, scaleOut, registry } = await oneNode();
    await admitPublish(deps, unresolved("first", "1"));
    expect(await admitPublish(deps, unresolved("second", "2"))).toMatchObject({
      kind: "denied",
      reason: "node_full",
      followUpErrors: [],
    });
    expect(scaleOut.reasons).toEqual(["no room for stream second"]);
    const until = deps.now() + WAITING_SECONDS * 1000;
    expect(await registry.waitingCameras(deps.now(), 10)).toEqual([{ stream: "second", until }]);
  });

  it("a camera refused because an older node has room does not wait", async () => {
    const { deps, scaleOut, registry } = await oneNode();
    await registry.createNode(makeNode({ nodeId: "i-2", launchedAt: deps.now() + 1 }));
    const outcome = await admitPublish(deps, {
      ...unresolved("cam", "1"),
      nodeId: "i-2",
      secret: testNodeSecret("i-2"),
    });
    expect(outcome).toMatchObject({ kind: "denied", reason: "not_first_in_fill_order" });
    expect(scaleOut.reasons).toEqual([]);
    expect(await registry.waitingCameras(deps.now(), 10)).toEqual([]);
  });

  it.each([
    ["an unknown node", "unknown", testNodeSecret("unknown")],
    ["another node's secret", "i-1", testNodeSecret("i-2")],
  ])("refuses a publish in the name of %s, and protects nothing", async (_, nodeId, secret) => {
    const { deps, isProtected } = await oneNode();
    await expect(admitPublish(deps, { nodeId, secret, stream: "cam", clientId: "1" })).rejects.toBeInstanceOf(
      NodeRefusedError,
    );
    expect(await isProtected()).toBe(false);
  });
});

describe("onLifecycle", () => {
  /** Records what was issued and revoked, in order. */
  const recording = () => {
    const calls: string[] = [];
    const credentials: NodeCredentials = {
      issue: async (nodeId, candidate) => {
        calls.push(`issue ${nodeId}`);
        return candidate;
      },
      revoke: async (nodeId) => void calls.push(`revoke ${nodeId}`),
    };
    const addresses: InstanceAddresses = { rtmpBaseUrl: async (nodeId) => `rtmp://${nodeId}.test:1935/live` };
    return { calls, credentials, addresses };
  };

  it("launching: issues the node's secret, registers it PENDING and records the event", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group } = makeGroup(registry, clock);
    const { calls, credentials, addresses } = recording();
    const deps = { registry, fleet: group, now: clock.now, credentials, addresses };
    const event = await onLifecycle(deps, { kind: "launching", instanceId: "i-9", launchedAt: clock.ms });
    expect(calls).toEqual(["issue i-9"]);
    expect(await registry.getNode("i-9")).toMatchObject({
      state: "PENDING",
      protectedFromScaleIn: true,
      rtmpBaseUrl: "rtmp://i-9.test:1935/live",
      credentialHash: expect.any(String),
    });
    expect(await registry.recentEvents(5)).toEqual([event]);
    expect(event).toMatchObject({ kind: "launch", nodeId: "i-9" });
  });

  it("warming (a launch into the warm pool): registers nothing, issues no secret, answers no hook, records the event", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group } = makeGroup(registry, clock);
    const { calls, credentials, addresses } = recording();
    group.completeLaunch = async (instanceId, result) => void calls.push(`${result} ${instanceId}`);
    const deps = { registry, fleet: group, now: clock.now, credentials, addresses };
    const event = await onLifecycle(deps, { kind: "warming", instanceId: "i-9" });
    expect(calls).toEqual([]);
    expect(await registry.getNode("i-9")).toBeUndefined();
    expect(await registry.recentEvents(5)).toEqual([event]);
    expect(event).toMatchObject({ kind: "warming", nodeId: "i-9" });
  });

  it("launching reads no other node; the scaler's next tick starts it from the cost a stream the fleet has learned", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group, harness } = makeHarness(registry, clock, makeConfig());
    const { credentials, addresses } = recording();
    const deps = { registry, fleet: group, now: clock.now, credentials, addresses };
    // A settled node: 5% idle, 1.6% a stream, over 120 readings of 40 streams.
    const readings = [{ streams: 0, percent: 5 }, ...Array.from({ length: 120 }, () => ({ streams: 40, percent: 69 }))];
    const cpuProfile = readings.reduce<CpuProfile | undefined>(
      (p, r, i) => learnCpuProfile(p, { ...r, at: clock.ms + i * 15_000 }),
      undefined,
    );
    await registry.createNode(makeNode({ nodeId: "i-1", cpuProfile }));
    const listNodes = jest.spyOn(registry, "listNodes");
    await onLifecycle(deps, { kind: "launching", instanceId: "i-9", launchedAt: clock.ms });
    expect(listNodes).not.toHaveBeenCalled();
    expect((await registry.getNode("i-9"))?.cpuProfile).toBeUndefined();
    await harness.tick();
    expect((await registry.getNode("i-9"))?.cpuProfile?.priorCostPercent).toBeCloseTo(1.6, 5);
  });

  it("terminating: the node is DEAD without its streams, the termination continues, its secret is withdrawn", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group } = makeGroup(registry, clock, { desired: 1 });
    await group.converge();
    await registry.applyChange({
      nodeId: "i-1",
      when: {},
      set: { state: "ACTIVE" },
      putStreams: { cam: { state: "LIVE", since: clock.ms, clientId: "1" } },
    });
    const { calls, credentials, addresses } = recording();
    group.completeTermination = async (instanceId) => void calls.push(`continue ${instanceId}`);
    const deps = { registry, fleet: group, now: clock.now, credentials, addresses };
    const event = await onLifecycle(deps, { kind: "terminating", instanceId: "i-1" });
    expect(await registry.getNode("i-1")).toMatchObject({ state: "DEAD", streams: {} });
    expect(calls).toEqual(["continue i-1", "revoke i-1"]);
    expect((await registry.recentEvents(1))[0]).toEqual(event);
    expect(event).toMatchObject({ kind: "terminated", nodeId: "i-1" });
  });
});
